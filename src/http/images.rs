//! `GET /img?url=…&sig=…`: the image proxy (`images/`), so readers'
//! browsers load a thread's images from here, not from servers strangers
//! chose.
//!
//! The answer is made to be cached (the URL names one image, signed) and to
//! be inert: the sniffed type, `nosniff`, and a sandboxing CSP in case
//! someone opens it directly.

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::ApiError;
use super::extract::Query;

/// A day: long enough for browsers and CDNs to spare the remote, short
/// enough that a changed avatar shows within one.
const CACHE_CONTROL: &str = "public, max-age=86400";

pub async fn image(
    State(app): State<AppState>,
    Query(params): Query,
) -> Result<Response, ApiError> {
    let image = app
        .images
        .fetch(params.get("url"), params.get("sig"))
        .await?;
    let mut response = image.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(image.kind.mime()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    // The widget shows these on the blog's origin, not ours.
    headers.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("cross-origin"),
    );
    Ok(response)
}
