//! `POST /admin/publish` (behind the admin token): the deploy hook. Reads
//! the configured feeds now (and `url`, repeatable, for single posts),
//! queues what changed, and answers with what it found; the workers send
//! (at once under `serve`; serverless runtimes at their next scheduled run).
//! The same scan as `backfeed publish` and the poller.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::Query;
use crate::publish::{self, PublishRequest, Silent};

pub async fn publish(
    State(app): State<AppState>,
    Query(params): Query,
) -> Result<Response, ApiError> {
    let urls = params
        .all("url")
        .map(|u| {
            url::Url::parse(u.trim())
                .map_err(|e| ApiError::bad_request(format!("`url` is not a valid URL: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let request = PublishRequest {
        feeds: app.config.publish.feeds.clone(),
        urls,
        ..PublishRequest::default()
    };
    let report = publish::scan(&app, &request, &Silent).await?;
    Ok(Json(report).into_response())
}
