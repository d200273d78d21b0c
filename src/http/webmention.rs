//! The webmention endpoint (Webmention §3.2) and its status resource, plus
//! the seed receiver's routes as aliases (`/web-mentions`, …).
//!
//! The status resource is public, so it is reached by an unguessable token
//! (`webmention::status_token`), never by the bare id, and says only what a
//! sender may know: the state, a fixed public phrase for a refusal, and
//! whether the owner shows the mention (a hidden one reads as pending).
//! The detail is in the logs and the admin API ([`StatusBody`]).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::{ApiError, RequestProblem};
use super::extract::Form;
use super::rate_limit::client_key;
use crate::domain::mention::{Mention, Moderation, Verification};
use crate::webmention::{ReceiveError, Receiver};

/// `POST /webmention` (and `/web-mentions`): 201 with `Location`. The
/// body is `application/x-www-form-urlencoded` (§3.1.2; a `charset`
/// parameter is fine).
pub async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form,
) -> Result<Response, ApiError> {
    let receiver = receiver(&app)?;
    let client = client_key(&headers, &extensions, app.config.trust_x_forwarded_for);
    app.rate_limits.check_client(client).map_err(too_many)?;
    if let Some(domain) = form.get("source").and_then(source_domain) {
        app.rate_limits.check_domain(&domain).map_err(too_many)?;
    }
    let id = receiver
        .receive(form.get("source"), form.get("target"))
        .await?;
    let state = if receiver.verifies_inline() {
        // Stored already: a failure here leaves it queued. Two fetches fit
        // the budget, as the queue may hold an older job first.
        crate::jobs::verify_inline(&app, id, app.config.fetch.total_timeout * 2).await
    } else {
        Verification::Pending
    };
    let token = receiver
        .status_token(id)
        .await
        .map_err(ReceiveError::from)?;
    let location = format!("/webmention/status/{token}");
    let mut response = (
        StatusCode::CREATED,
        Json(Accepted {
            code: 201,
            id: id.0,
            status: state.label(),
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

/// `GET /webmention/status/{token}` (and `/web-mentions/status/{token}`):
/// pending, verified, rejected or deleted. An unknown token, and a bare
/// mention id (what earlier versions handed out), is a 404. A token that is
/// not ours may be another receiver's status id, kept by `backfeed migrate`
/// (pfych/web-mentions' UUIDs).
pub async fn status(
    State(app): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let receiver = receiver(&app)?;
    let found = match receiver.mention_by_token(&token).await {
        Ok(None) if token.len() <= 200 => receiver.mention_by_alias(&token).await,
        found => found,
    };
    let mention = found
        .map_err(ReceiveError::from)?
        .ok_or_else(ApiError::not_found)?;
    Ok(Json(PublicStatus::from(&mention)).into_response())
}

/// What the public status resource shows of a mention.
#[derive(Serialize)]
struct PublicStatus {
    id: i64,
    source: String,
    target: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// `approved` or `pending`: a sender need not learn that the owner hid
    /// its mention.
    moderation: &'static str,
    received: String,
    updated: String,
}

impl From<&Mention> for PublicStatus {
    fn from(mention: &Mention) -> Self {
        let time = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        let moderation = match mention.moderation {
            Moderation::Approved => Moderation::Approved,
            Moderation::Pending | Moderation::Hidden => Moderation::Pending,
        };
        Self {
            id: mention.id.0,
            source: mention.source.to_string(),
            target: mention.target.to_string(),
            status: mention.verification.label(),
            reason: mention.verification.public_reason(),
            moderation: moderation.label(),
            received: time(mention.received_at),
            updated: time(mention.updated_at),
        }
    }
}

/// A mention's state with the full reason, as the admin API shows it.
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
    RequestProblem::TooMany {
        what: "webmentions",
        wait,
    }
    .into()
}

fn receiver(app: &AppState) -> Result<&Receiver, ApiError> {
    app.receiver
        .as_deref()
        .ok_or_else(|| ReceiveError::NotConfigured.into())
}
