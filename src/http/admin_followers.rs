//! The admin API's followers (behind the admin token): `GET
//! /admin/followers` and `DELETE /admin/followers?actor=<actor id>` (actor
//! ids are URLs, so a query parameter rather than a path segment). The same
//! use cases as `backfeed followers`.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use time::format_description::well_known::Rfc3339;

use super::AppState;
use super::error::ApiError;
use super::extract::Query;
use crate::activitypub::Federation;
use crate::activitypub::operator::FollowersError;

fn federation(app: &AppState) -> Result<&Federation, ApiError> {
    app.federation
        .as_deref()
        .ok_or_else(|| FollowersError::Off.into())
}

pub async fn list(State(app): State<AppState>) -> Result<Response, ApiError> {
    let followers = federation(&app)?.followers().await?;
    let items: Vec<_> = followers
        .iter()
        .map(|f| {
            serde_json::json!({
                "actor": f.actor,
                "inbox": f.inbox,
                "shared_inbox": f.shared_inbox,
                "followed_at": f.followed_at.format(&Rfc3339).unwrap_or_default(),
            })
        })
        .collect();
    Ok(Json(serde_json::json!({"count": items.len(), "followers": items})).into_response())
}

pub async fn remove(
    State(app): State<AppState>,
    Query(params): Query,
) -> Result<Response, ApiError> {
    let actor = params
        .get("actor")
        .ok_or_else(|| ApiError::bad_request("the `actor` parameter is missing"))?;
    federation(&app)?.remove(actor).await?;
    Ok(Json(serde_json::json!({"code": 200, "result": "removed"})).into_response())
}
