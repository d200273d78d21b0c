//! Extractors for what clients send: query strings and form bodies, parsed
//! once, the same way, for every handler.
//!
//! Both keep every `name=value` pair in order (webmention.io's API repeats
//! names, e.g. `target[]`), percent-decoded. A malformed body is refused
//! here with a JSON 400 like every other client mistake (`error.rs`), never
//! axum's plain-text rejection.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;

/// Every form body this service reads is small (a webmention is two URLs);
/// a larger one is refused before it is read whole.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Name → value pairs, in order.
#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(encoded: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// The first value of `name`, trimmed; `None` when absent.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
    }

    /// Every value of `name` and of its array forms (`name[]`, `name[0]`,
    /// as webmention.io's Sinatra reads them), in order, trimmed.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| {
                k == name
                    || k.strip_prefix(name)
                        .is_some_and(|rest| rest.starts_with('[') && rest.ends_with(']'))
            })
            .map(|(_, v)| v.trim())
    }

    /// A whole number in `name`, `default` when absent; a clear 400 when it
    /// is not one.
    pub fn number<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, ApiError> {
        match self.get(name) {
            None | Some("") => Ok(default),
            Some(text) => text.parse().map_err(|_| {
                ApiError::bad_request(format!("`{name}` must be a whole number, not `{text}`"))
            }),
        }
    }
}

/// The query string (empty when there is none).
#[derive(Debug, Clone, Default)]
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(Params::parse(
            parts.uri.query().unwrap_or_default().as_bytes(),
        )))
    }
}

/// An `application/x-www-form-urlencoded` body (a `charset` parameter is
/// fine), at most [`MAX_FORM_BYTES`].
#[derive(Debug, Clone, Default)]
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let essence = content_type(&request);
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(ApiError::bad_request(format!(
                "the request body must be application/x-www-form-urlencoded (with `source` and `target` for a webmention), not `{}`",
                if essence.is_empty() {
                    "(none)"
                } else {
                    &essence
                }
            )));
        }
        let body = read_body(request).await?;
        Ok(Self(Params::parse(&body)))
    }
}

/// A form body, or a JSON object whose string members are read as fields
/// (the admin API takes either).
#[derive(Debug, Clone, Default)]
pub struct FormOrJson(pub Params);

impl<S: Send + Sync> FromRequest<S> for FormOrJson {
    type Rejection = ApiError;

    async fn from_request(request: Request, _: &S) -> Result<Self, Self::Rejection> {
        let is_json = content_type(&request).eq_ignore_ascii_case("application/json");
        let body = read_body(request).await?;
        if !is_json {
            return Ok(Self(Params::parse(&body)));
        }
        let json: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("the body is not a JSON object: {e}")))?;
        Ok(Self(Params(
            json.into_iter()
                .filter_map(|(k, v)| Some((k, v.as_str()?.to_owned())))
                .collect(),
        )))
    }
}

/// Whether the request says its body is a form.
pub fn is_form(request: &Request) -> bool {
    content_type(request).eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

fn content_type(request: &Request) -> String {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

async fn read_body(request: Request) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(request.into_body(), MAX_FORM_BYTES)
        .await
        .map_err(|error| ApiError::from(super::limits::body_error(&error)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_reads_a_name_and_its_array_forms_in_order() {
        let params = Params::parse(b"t=1&t[]=2&x=9&t[5]=3&tt=4&t[=5");
        assert_eq!(params.all("t").collect::<Vec<_>>(), ["1", "2", "3"]);
        assert_eq!(params.get("t"), Some("1"));
    }
}
