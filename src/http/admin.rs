//! The admin API, behind `Authorization: Bearer $BACKFEED_ADMIN_TOKEN`.
//!
//! `GET /admin/mentions` (filters: `status`, `moderation`, `target`, `page`,
//! `per-page`), `POST /admin/mentions/{id}/approve`, `POST
//! /admin/mentions/{id}/hide`, `DELETE /admin/mentions/{id}`, `GET
//! /admin/blocks`, `POST /admin/blocks` (form or JSON `domain`), `DELETE
//! /admin/blocks/{domain}`, `POST|DELETE /admin/replies/{status id}/hide`,
//! `POST|DELETE /admin/accounts/{user@domain}/hide`. The token is compared
//! in constant time.

use axum::Json;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use subtle::ConstantTimeEq;
use url::Url;

use super::AppState;
use super::error::{ApiError, RequestProblem};
use super::extract::{FormOrJson, Query};
use super::webmention::StatusBody;
use crate::domain::mention::{Mention, MentionId, Moderation, VerificationState};
use crate::protocol::jf2;
use crate::storage::MentionQuery;
use crate::webmention::{ReceiveError, Receiver};

/// Refuses every admin request without the right bearer token.
pub async fn require_token(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(expected) = &app.config.admin_token else {
        return ApiError::from(RequestProblem::AdminOff).into_response();
    };
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        return next.run(request).await;
    }
    ApiError::from(RequestProblem::Unauthorized).into_response()
}

fn receiver(app: &AppState) -> Result<&Receiver, ApiError> {
    app.receiver
        .as_deref()
        .ok_or_else(|| ReceiveError::NotConfigured.into())
}

#[derive(Serialize)]
struct AdminMention {
    #[serde(flatten)]
    status: StatusBody,
    /// The mention as the public API shows it (JF2).
    entry: serde_json::Value,
}

impl From<&Mention> for AdminMention {
    fn from(mention: &Mention) -> Self {
        Self {
            status: StatusBody::from(mention),
            entry: jf2::entry(mention),
        }
    }
}

pub async fn list(State(app): State<AppState>, Query(params): Query) -> Result<Response, ApiError> {
    let receiver = receiver(&app)?;
    let moderation = params
        .get("moderation")
        .map(|m| {
            Moderation::parse(m).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`moderation` must be approved, pending or hidden, not `{m}`"
                ))
            })
        })
        .transpose()?;
    let verification = params
        .get("status")
        .map(|s| {
            VerificationState::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`status` must be pending, verified, rejected or deleted, not `{s}`"
                ))
            })
        })
        .transpose()?;
    let targets = params
        .get("target")
        .map(|t| {
            Url::parse(t)
                .map_err(|e| ApiError::bad_request(format!("`target` is not a valid URL: {e}")))
        })
        .transpose()?
        .into_iter()
        .collect();
    let query = MentionQuery {
        targets,
        visible_only: false,
        moderation,
        verification,
        page: params.number("page", 0)?,
        per_page: params.number("per-page", 50u32)?.clamp(1, 1000),
        ..MentionQuery::default()
    };
    let mentions = receiver.list(&query).await?;
    let rows: Vec<AdminMention> = mentions.iter().map(AdminMention::from).collect();
    Ok(Json(serde_json::json!({ "mentions": rows })).into_response())
}

fn mention_id(id: &str) -> Result<MentionId, ApiError> {
    id.parse().map(MentionId).map_err(|_| ApiError::not_found())
}

pub async fn approve(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    receiver(&app)?.approve(mention_id(&id)?).await?;
    Ok(done("approved"))
}

pub async fn hide(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    receiver(&app)?.hide(mention_id(&id)?).await?;
    Ok(done("hidden"))
}

pub async fn delete(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    receiver(&app)?.delete(mention_id(&id)?).await?;
    Ok(done("deleted"))
}

pub async fn blocks(State(app): State<AppState>) -> Result<Response, ApiError> {
    let domains = receiver(&app)?.blocked_domains().await?;
    Ok(Json(serde_json::json!({ "domains": domains })).into_response())
}

pub async fn block(
    State(app): State<AppState>,
    FormOrJson(fields): FormOrJson,
) -> Result<Response, ApiError> {
    let domain = fields
        .get("domain")
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad_request("the `domain` field is missing"))?;
    let hidden = receiver(&app)?.block(&domain).await?;
    Ok(
        Json(
            serde_json::json!({ "blocked": domain.trim().to_ascii_lowercase(), "hidden": hidden }),
        )
        .into_response(),
    )
}

pub async fn unblock(
    State(app): State<AppState>,
    Path(domain): Path<String>,
) -> Result<Response, ApiError> {
    if receiver(&app)?.unblock(&domain).await? {
        Ok(done("unblocked"))
    } else {
        Err(ApiError::not_found())
    }
}

fn done(what: &'static str) -> Response {
    Json(serde_json::json!({ "code": 200, "result": what })).into_response()
}

pub async fn hide_reply(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    app.threads.hide_reply(&id).await?;
    Ok(done("hidden"))
}

pub async fn unhide_reply(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if app.threads.unhide_reply(&id).await? {
        Ok(done("shown"))
    } else {
        Err(ApiError::not_found())
    }
}

pub async fn hide_account(
    State(app): State<AppState>,
    Path(acct): Path<String>,
) -> Result<Response, ApiError> {
    app.threads.hide_account(&acct).await?;
    Ok(done("hidden"))
}

pub async fn unhide_account(
    State(app): State<AppState>,
    Path(acct): Path<String>,
) -> Result<Response, ApiError> {
    if app.threads.unhide_account(&acct).await? {
        Ok(done("shown"))
    } else {
        Err(ApiError::not_found())
    }
}
