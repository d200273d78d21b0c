//! A web action's parameters → the HTTP request the Router serves
//! (OpenWhisk `docs/webactions.md`, "HTTP Context").
//!
//! The controller passes `__ow_method` (lower-case), `__ow_headers`
//! (lower-cased names), `__ow_path` (what follows the action's name in the
//! URL, often empty) and the body:
//! - a "raw" web action (`web: raw`) gets the query string in `__ow_query`
//!   and the body in `__ow_body` (base64 unless textual, see [`media`]);
//! - a plain web action (`web: true`, the seed's choice) gets query
//!   parameters as top-level parameters, and a JSON-object or form body
//!   merged into them as well; any other body comes in `__ow_body`.
//!
//! In the plain case a form or JSON body is rebuilt from the top-level
//! parameters (the query's fields end up in it too: the controller merged
//! them and the split is lost); otherwise they become the query string.

use axum::body::Body;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Map, Value};

use super::media;

/// Characters that cannot stand in a request path or query as given.
const UNSAFE_IN_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^');
const UNSAFE_IN_PATH: &AsciiSet = &UNSAFE_IN_URI.add(b'?').add(b'#');
const UNSAFE_IN_QUERY: &AsciiSet = &UNSAFE_IN_URI.add(b'#');

#[derive(Debug, thiserror::Error)]
pub enum WebRequestError {
    #[error("`__ow_method` is missing or not an HTTP method")]
    Method,
    #[error("`__ow_path` and the query do not make a request URI: {0}")]
    Uri(#[source] http::Error),
}

/// Builds the request; `None` when the activation is not a web request.
pub fn to_request(params: &Map<String, Value>) -> Result<Option<Request<Body>>, WebRequestError> {
    let Some(method) = params.get("__ow_method") else {
        return Ok(None);
    };
    let method = method
        .as_str()
        .and_then(|m| Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok())
        .ok_or(WebRequestError::Method)?;
    let headers = headers(params.get("__ow_headers"));
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (query, body) = query_and_body(params, &method, content_type.as_deref());
    let path = match params.get("__ow_path").and_then(Value::as_str) {
        Some(path) if path.starts_with('/') => path.to_owned(),
        Some(path) => format!("/{path}"),
        None => "/".to_owned(),
    };
    let mut target = utf8_percent_encode(&path, UNSAFE_IN_PATH).to_string();
    if !query.is_empty() {
        target.push('?');
        target.extend(utf8_percent_encode(&query, UNSAFE_IN_QUERY));
    }
    let uri: Uri = target
        .parse()
        .map_err(|e: http::uri::InvalidUri| WebRequestError::Uri(e.into()))?;
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .map_err(WebRequestError::Uri)?;
    *request.headers_mut() = headers;
    Ok(Some(request))
}

/// The request headers, names lower-cased; the framing headers are dropped
/// because the body is rebuilt here.
fn headers(given: Option<&Value>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some(Value::Object(given)) = given else {
        return headers;
    };
    for (name, value) in given {
        let value = match value {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        match (
            HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) if name != CONTENT_LENGTH && name != TRANSFER_ENCODING => {
                headers.append(name, value);
            }
            (Ok(_), Ok(_)) => {}
            _ => tracing::debug!(header = %name, "dropped a header that is not valid HTTP"),
        }
    }
    headers
}

fn query_and_body(
    params: &Map<String, Value>,
    method: &Method,
    content_type: Option<&str>,
) -> (String, Vec<u8>) {
    let body = params
        .get("__ow_body")
        .map(|b| decode_body(b, content_type));
    if let Some(raw_query) = params.get("__ow_query") {
        // A raw web action: the query and the body as they came.
        let query = match raw_query {
            Value::String(text) => text.clone(),
            Value::Object(fields) => form_encode(fields.iter()),
            _ => String::new(),
        };
        return (query, body.unwrap_or_default());
    }
    let fields = params.iter().filter(|(key, _)| !key.starts_with("__ow_"));
    if let Some(body) = body {
        return (form_encode(fields), body);
    }
    let has_body = !matches!(*method, Method::GET | Method::HEAD | Method::DELETE);
    match content_type {
        Some(ct) if has_body && media::is_json_family(ct) => {
            let object: Map<String, Value> = fields.map(|(k, v)| (k.clone(), v.clone())).collect();
            (
                String::new(),
                Value::Object(object).to_string().into_bytes(),
            )
        }
        ct if has_body && is_form(ct) => (String::new(), form_encode(fields).into_bytes()),
        _ => (form_encode(fields), Vec::new()),
    }
}

fn decode_body(body: &Value, content_type: Option<&str>) -> Vec<u8> {
    match body {
        Value::String(text) if media::request_body_is_base64(content_type) => {
            // A controller that judged the type textual sent it as it was.
            media::decode(text).unwrap_or_else(|| text.clone().into_bytes())
        }
        // A form body never looks like base64 (its `&` and inner `=` see to
        // that), so one that does was encoded on the way: decode it too.
        Value::String(text) if is_form(content_type) && media::looks_like_base64(text) => {
            media::decode(text).unwrap_or_else(|| text.clone().into_bytes())
        }
        Value::String(text) => text.clone().into_bytes(),
        Value::Null => Vec::new(),
        // A JSON body that is not an object (an array, a number) arrives parsed.
        other => other.to_string().into_bytes(),
    }
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| media::essence(ct) == "application/x-www-form-urlencoded")
}

fn form_encode<'a>(fields: impl Iterator<Item = (&'a String, &'a Value)>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in fields {
        match value {
            Value::String(text) => form.append_pair(key, text),
            other => form.append_pair(key, &other.to_string()),
        };
    }
    form.finish()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(params: Value) -> Request<Body> {
        let Value::Object(params) = params else {
            panic!("params are an object")
        };
        to_request(&params).unwrap().expect("a web request")
    }

    async fn body_text(request: Request<Body>) -> String {
        let bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn an_activation_without_a_method_is_not_a_web_request() {
        let params = json!({"url": "x"});
        assert!(to_request(params.as_object().unwrap()).unwrap().is_none());
    }

    #[test]
    fn query_parameters_of_a_plain_web_action_become_the_query_string() {
        let request = request(json!({
            "__ow_method": "get",
            "__ow_path": "",
            "__ow_headers": {"Accept": "application/json", "x-forwarded-for": "203.0.113.9"},
            "url": "https://blog.example/posts/a b/?x=1",
        }));
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri().path(), "/");
        let query: Vec<(String, String)> =
            url::form_urlencoded::parse(request.uri().query().unwrap().as_bytes())
                .into_owned()
                .collect();
        assert_eq!(
            query,
            [("url".into(), "https://blog.example/posts/a b/?x=1".into())]
        );
        assert_eq!(request.headers()["accept"], "application/json");
        assert_eq!(request.headers()["x-forwarded-for"], "203.0.113.9");
    }

    #[tokio::test]
    async fn a_form_merged_into_the_parameters_is_rebuilt_as_the_body() {
        let request = request(json!({
            "__ow_method": "post",
            "__ow_path": "/webmention",
            "__ow_headers": {"content-type": "application/x-www-form-urlencoded", "content-length": "999"},
            "source": "https://a.example/reply",
            "target": "https://blog.example/posts/a/",
        }));
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "/webmention");
        assert!(request.headers().get("content-length").is_none());
        assert_eq!(
            body_text(request).await,
            "source=https%3A%2F%2Fa.example%2Freply&target=https%3A%2F%2Fblog.example%2Fposts%2Fa%2F"
        );
    }

    #[tokio::test]
    async fn a_json_object_body_merged_into_the_parameters_is_rebuilt_as_json() {
        let request = request(json!({
            "__ow_method": "post",
            "__ow_path": "/admin/blocks",
            "__ow_headers": {"content-type": "application/json"},
            "domain": "spam.example",
            "count": 2,
        }));
        let body: Value = serde_json::from_str(&body_text(request).await).unwrap();
        assert_eq!(body, json!({"domain": "spam.example", "count": 2}));
    }

    #[tokio::test]
    async fn a_raw_web_action_keeps_its_query_and_decodes_a_base64_body() {
        let request = request(json!({
            "__ow_method": "post",
            "__ow_path": "/webmention",
            "__ow_query": "a=1&b=two",
            "__ow_headers": {"content-type": "application/octet-stream"},
            "__ow_body": media::encode(&[0, 159, 146, 150]),
            "ignored": "an action parameter",
        }));
        assert_eq!(request.uri(), "/webmention?a=1&b=two");
        let bytes = axum::body::to_bytes(request.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&bytes[..], &[0, 159, 146, 150]);
    }

    #[tokio::test]
    async fn a_textual_body_is_taken_as_it_is() {
        let request = request(json!({
            "__ow_method": "post",
            "__ow_path": "/webmention",
            "__ow_query": "",
            "__ow_headers": {"content-type": "application/x-www-form-urlencoded"},
            "__ow_body": "source=a&target=b",
        }));
        assert_eq!(request.uri(), "/webmention");
        assert_eq!(body_text(request).await, "source=a&target=b");
    }

    #[tokio::test]
    async fn a_base64_encoded_form_is_decoded() {
        let request = request(json!({
            "__ow_method": "post",
            "__ow_path": "/webmention",
            "__ow_query": "",
            "__ow_headers": {"content-type": "application/x-www-form-urlencoded"},
            "__ow_body": media::encode(b"source=a&target=b"),
        }));
        assert_eq!(body_text(request).await, "source=a&target=b");
    }

    #[test]
    fn a_path_without_a_leading_slash_or_with_spaces_still_makes_a_uri() {
        let request = request(json!({"__ow_method": "GET", "__ow_path": "api/count x"}));
        assert_eq!(request.uri().path(), "/api/count%20x");
    }

    #[test]
    fn an_unknown_method_is_an_error() {
        let params = json!({"__ow_method": "not a method"});
        assert!(matches!(
            to_request(params.as_object().unwrap()),
            Err(WebRequestError::Method)
        ));
    }
}
