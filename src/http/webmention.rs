//! The webmention endpoint (Webmention §3.2) and its status resource, plus
//! the seed receiver's routes as aliases (`/web-mentions`, …).

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::ApiError;
use super::limits;
use super::rate_limit::client_ip;
use crate::domain::mention::{Mention, MentionId};
use crate::webmention::{ReceiveError, Receiver};

/// Form bodies larger than this are refused; two URLs never need more.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// `POST /webmention` (and `/web-mentions`): 201 with `Location`.
pub async fn receive(State(app): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let receiver = receiver(&app)?;
    let (parts, body) = request.into_parts();
    let client = client_ip(
        &parts.headers,
        &parts.extensions,
        app.config.trust_x_forwarded_for,
    );
    app.rate_limits.check_client(client).map_err(too_many)?;
    let body = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|e| ApiError::from(limits::body_error(&e)))?;
    let form = form_fields(&parts.headers, &body)?;
    if let Some(domain) = field(&form, "source").and_then(source_domain) {
        app.rate_limits.check_domain(&domain).map_err(too_many)?;
    }
    let received = receiver
        .receive(field(&form, "source"), field(&form, "target"))
        .await?;
    let location = format!("/webmention/status/{}", received.id);
    let mut response = (
        StatusCode::CREATED,
        Json(Accepted {
            code: 201,
            id: received.id.0,
            status: received.state.label(),
            location: &location,
        }),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[derive(Serialize)]
struct Accepted<'a> {
    code: u16,
    id: i64,
    status: &'a str,
    location: &'a str,
}

/// `GET /webmention/status/{id}`: pending, verified, rejected or deleted.
pub async fn status(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let receiver = receiver(&app)?;
    let id = id
        .parse::<i64>()
        .map(MentionId)
        .map_err(|_| ApiError::not_found())?;
    let mention = receiver
        .mention(id)
        .await
        .map_err(ReceiveError::from)?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(StatusBody::from(&mention)).into_response())
}

/// A mention's state, as the status resource and the admin API show it.
#[derive(Serialize)]
pub(super) struct StatusBody {
    id: i64,
    source: String,
    target: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    moderation: &'static str,
    received: String,
    updated: String,
}

impl From<&Mention> for StatusBody {
    fn from(mention: &Mention) -> Self {
        let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Self {
            id: mention.id.0,
            source: mention.source.to_string(),
            target: mention.target.to_string(),
            status: mention.verification.label(),
            reason: mention.verification.reason().map(str::to_owned),
            moderation: mention.moderation.label(),
            received: time(mention.received_at),
            updated: time(mention.updated_at),
        }
    }
}

fn source_domain(source: &str) -> Option<String> {
    url::Url::parse(source.trim())
        .ok()?
        .host_str()
        .map(str::to_owned)
}

fn too_many(wait: std::time::Duration) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too many webmentions; try again later",
    )
    .with_retry_after(wait)
}

fn receiver(app: &AppState) -> Result<&Receiver, ApiError> {
    app.receiver
        .as_deref()
        .ok_or_else(|| ReceiveError::NotConfigured.into())
}

/// Webmention requests are `application/x-www-form-urlencoded` (§3.1.2);
/// a `charset` parameter is fine.
fn form_fields(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the request body must be application/x-www-form-urlencoded with `source` and `target`, not `{}`",
                if essence.is_empty() {
                    "(none)"
                } else {
                    essence
                }
            ),
        ));
    }
    Ok(url::form_urlencoded::parse(body).into_owned().collect())
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}
