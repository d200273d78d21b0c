//! `GET /api/comments?url=…` (one thread per post, docs/comments-api.md) and
//! `GET /widget.js` (the embeddable comment widget).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ApiError, RequestProblem};

/// Browsers may reuse an answer briefly; after that they revalidate with
/// `If-None-Match`, which costs us a hash comparison.
const CACHE_CONTROL: &str = "public, max-age=30, stale-while-revalidate=300";

const WIDGET: &str = include_str!("../../web/backfeed-comments.js");

pub async fn comments(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let raw_url = query
        .as_deref()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "url"))
        .map(|(_, v)| v.into_owned());
    let images = app.images.urls().await?;
    let rendered = app.threads.comments(raw_url.as_deref(), &images).await?;
    // The ETag is hex between quotes, always a valid header value.
    let etag = HeaderValue::from_str(&rendered.etag)
        .map_err(|_| ApiError::from(RequestProblem::Internal))?;
    let cache = HeaderValue::from_static(CACHE_CONTROL);
    if if_none_match(&headers, &rendered.etag) {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache)],
        )
            .into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache),
        ],
        rendered.body,
    )
        .into_response())
}

/// Whether `If-None-Match` names the current ETag (or `*`).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == etag || tag == "*")
}

pub async fn widget() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        WIDGET,
    )
        .into_response()
}
