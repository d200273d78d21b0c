//! The admin API's view of the job queue (behind the admin token, like the
//! rest of `/admin`): `GET /admin/jobs` (filters `kind`, `state`, `limit`,
//! `before`; with the queue's counts per kind), `POST
//! /admin/jobs/{id}/retry`, `DELETE /admin/jobs/{id}`. The same use cases
//! as `backfeed jobs`.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::Query;
use crate::jobs::operator::{self, JobView, ListRequest};

pub async fn list(State(app): State<AppState>, Query(params): Query) -> Result<Response, ApiError> {
    let filter = ListRequest {
        kind: params.get("kind"),
        state: params.get("state"),
        before: params.get("before"),
        limit: params.get("limit"),
    }
    .parse()?;
    let jobs = operator::list(&app, &filter).await?;
    let next = (jobs.len() == filter.limit)
        .then(|| jobs.last().map(|job| job.id.to_string()))
        .flatten();
    let views: Vec<JobView> = jobs.iter().map(JobView::from).collect();
    Ok(Json(serde_json::json!({
        "jobs": views,
        "next_before": next,
        "counts": operator::counts(&app).await?,
    }))
    .into_response())
}

pub async fn retry(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let job = operator::retry(&app, &operator::parse_id(&id)?).await?;
    Ok(Json(serde_json::json!({
        "code": 200,
        "result": "queued",
        "job": JobView::from(&job),
    }))
    .into_response())
}

pub async fn drop(
    State(app): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    operator::drop(&app, &operator::parse_id(&id)?).await?;
    Ok(Json(serde_json::json!({ "code": 200, "result": "dropped" })).into_response())
}
