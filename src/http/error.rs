//! The one mapping from typed errors to HTTP answers.
//!
//! Invariant: no other module picks a status code for an error. Clients get a
//! safe message in the seed's shape `{"code":…,"error":"…"}`; logs get the
//! cause. Nothing here ever answers a bare 500 without a JSON body.

use std::time::Duration;

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::announce::AnnounceError;
use crate::clients::mastodon::MastodonError;
use crate::jobs::operator::JobsError;
use crate::publish::PublishError;
use crate::storage::StoreError;
use crate::threads::ThreadError;
use crate::webmention::{ModerationError, ReceiveError};

use super::limits::LimitError;

/// An error on its way to becoming an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: u16,
    error: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    /// A client mistake, said in `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "no such resource")
    }

    /// Adds `Retry-After` (whole seconds, at least one).
    pub fn with_retry_after(self, after: Duration) -> Self {
        self.retry_after(after)
    }

    fn retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            code: self.status.as_u16(),
            error: &self.message,
        });
        let mut response = (self.status, body).into_response();
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&seconds) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<AnnounceError> for ApiError {
    fn from(error: AnnounceError) -> Self {
        let message = error.to_string();
        match error {
            AnnounceError::MissingUrl
            | AnnounceError::InvalidUrl(_)
            | AnnounceError::NotHandled
            | AnnounceError::PostMissing { .. }
            | AnnounceError::NotThisBlog(_)
            | AnnounceError::CanonicalMissing { .. }
            | AnnounceError::CanonicalDisagrees { .. } => {
                Self::new(StatusCode::BAD_REQUEST, message)
            }
            AnnounceError::NotAnnounced => Self::new(StatusCode::NOT_FOUND, message),
            AnnounceError::RateLimited { retry_after } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(retry_after)
            }
            AnnounceError::NotConfigured => Self::new(StatusCode::SERVICE_UNAVAILABLE, message),
            AnnounceError::PageUnreachable(_) | AnnounceError::Failed { .. } => {
                Self::new(StatusCode::BAD_GATEWAY, message)
            }
            AnnounceError::Mastodon(e) => Self::from_mastodon(e, message),
            AnnounceError::Busy => Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
                .retry_after(Duration::from_secs(1)),
            AnnounceError::Store(e) => {
                tracing::error!(error = %e, "store error");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is unavailable; try again shortly",
                )
                .retry_after(Duration::from_secs(5))
            }
        }
    }
}

impl ApiError {
    fn from_mastodon(error: MastodonError, message: String) -> Self {
        match error {
            MastodonError::RateLimited { retry_after } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, message).retry_after(retry_after)
            }
            MastodonError::Unavailable { status: 503, .. } => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
                    .retry_after(Duration::from_secs(30))
            }
            MastodonError::Unauthorized { .. }
            | MastodonError::Rejected { .. }
            | MastodonError::Unavailable { .. }
            | MastodonError::Unreachable(_)
            | MastodonError::Unexpected(_) => Self::new(StatusCode::BAD_GATEWAY, message),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "store error");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is unavailable; try again shortly",
        )
        .retry_after(Duration::from_secs(5))
    }
}

impl From<ReceiveError> for ApiError {
    fn from(error: ReceiveError) -> Self {
        match error {
            ReceiveError::Invalid(e) => Self::new(StatusCode::BAD_REQUEST, e.to_string()),
            ReceiveError::NotConfigured => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string())
            }
            ReceiveError::Store(e) => e.into(),
        }
    }
}

impl From<ModerationError> for ApiError {
    fn from(error: ModerationError) -> Self {
        match error {
            ModerationError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            ModerationError::InvalidDomain(_) => {
                Self::new(StatusCode::BAD_REQUEST, error.to_string())
            }
            ModerationError::Store(e) => e.into(),
        }
    }
}

impl From<LimitError> for ApiError {
    fn from(error: LimitError) -> Self {
        let status = match error {
            // The server was slow (or what it waits on was): worth a retry.
            LimitError::TooSlow => StatusCode::SERVICE_UNAVAILABLE,
            LimitError::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            LimitError::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        };
        Self::new(status, error.to_string())
    }
}

impl From<ThreadError> for ApiError {
    fn from(error: ThreadError) -> Self {
        match error {
            ThreadError::Url(e) => e.into(),
            ThreadError::Store(e) => e.into(),
        }
    }
}

impl From<JobsError> for ApiError {
    fn from(error: JobsError) -> Self {
        match error {
            JobsError::UnknownKind(_)
            | JobsError::UnknownState(_)
            | JobsError::InvalidId(_)
            | JobsError::InvalidLimit(_) => Self::bad_request(error.to_string()),
            JobsError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            JobsError::Running(_) => Self::new(StatusCode::CONFLICT, error.to_string()),
            JobsError::Store(e) => e.into(),
        }
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        match error {
            PublishError::NothingToPublish => Self::bad_request(error.to_string()),
            PublishError::Store(e) => e.into(),
        }
    }
}
