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

use crate::activitypub::InboxError;
use crate::activitypub::operator::FollowersError;
use crate::announce::AnnounceError;
use crate::clients::mastodon::MastodonError;
use crate::images::ImageError;
use crate::jobs::operator::JobsError;
use crate::publish::PublishError;
use crate::storage::StoreError;
use crate::threads::ThreadError;
use crate::webmention::{ModerationError, ReceiveError};

use super::admin_pages::AdminPageError;
use super::limits::LimitError;

/// What can go wrong with a request itself, whatever it asked for.
#[derive(Debug, thiserror::Error)]
pub enum RequestProblem {
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed on this resource")]
    MethodNotAllowed,
    /// A handler panicked (caught; the cause is in the log).
    #[error("internal error")]
    Internal,
    #[error("too many {what}; try again later")]
    TooMany { what: &'static str, wait: Duration },
    #[error("the admin API is off: set BACKFEED_ADMIN_TOKEN to turn it on")]
    AdminOff,
    #[error("a valid admin bearer token is required")]
    Unauthorized,
    /// A serverless platform's time limit ran out before the answer.
    #[error("the request did not finish within the function's time limit")]
    OutOfTime,
    #[error("the answer is too large for a web action result")]
    AnswerTooLarge,
}

impl From<RequestProblem> for ApiError {
    fn from(problem: RequestProblem) -> Self {
        let message = problem.to_string();
        match problem {
            RequestProblem::NotFound => Self::new(StatusCode::NOT_FOUND, message),
            RequestProblem::MethodNotAllowed => Self::new(StatusCode::METHOD_NOT_ALLOWED, message),
            RequestProblem::Internal | RequestProblem::AnswerTooLarge => {
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
            }
            RequestProblem::TooMany { wait, .. } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(wait)
            }
            RequestProblem::AdminOff | RequestProblem::OutOfTime => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
            }
            RequestProblem::Unauthorized => {
                let mut error = Self::new(StatusCode::UNAUTHORIZED, message);
                error.www_authenticate = true;
                error
            }
        }
    }
}

/// Why the read API (`/api/mentions…`, `/api/count`, `/web-mentions/query`)
/// refused a request.
#[derive(Debug, thiserror::Error)]
pub enum ReadApiError {
    /// A parameter it reads is malformed (said in the message).
    #[error("{0}")]
    Invalid(String),
    #[error("the `target` parameter is missing: name the page whose mentions you want")]
    MissingTarget,
    #[error(
        "a token is needed to list mentions without a `target`: pass `token=` (one of \
         BACKFEED_READ_TOKENS), or name the page with `target=`"
    )]
    TokenMissing,
    #[error("the token is not valid (not one of BACKFEED_READ_TOKENS)")]
    TokenInvalid,
    #[error("at most {max} `target` values may be asked for at once, not {given}")]
    TooManyTargets { given: usize, max: usize },
    #[error(
        "`per-page` may be at most {max} here when more mentions than that remain \
         ({remaining} do): ask for pages of at most {max} and page on with `page`"
    )]
    PageTooLarge { max: u32, remaining: u64 },
    #[error(
        "this page of mentions would be larger than {max_mb} MB: ask for fewer with `per-page`"
    )]
    AnswerTooLarge { max_mb: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An error on its way to becoming an HTTP answer.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
    /// Adds `WWW-Authenticate: Bearer` (a 401 of the admin API).
    www_authenticate: bool,
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
            www_authenticate: false,
        }
    }

    /// A client mistake, said in `message`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found() -> Self {
        RequestProblem::NotFound.into()
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

    /// The safe message clients see (the admin pages show it as text).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `Retry-After` for this error, if it has one.
    pub fn retry_after_header(&self) -> Option<HeaderValue> {
        let seconds = self.retry_after?.as_secs().max(1).to_string();
        HeaderValue::from_str(&seconds).ok()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Json(ErrorBody {
            code: self.status.as_u16(),
            error: &self.message,
        });
        let retry_after = self.retry_after_header();
        let mut response = (self.status, body).into_response();
        if self.www_authenticate {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
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

impl From<ImageError> for ApiError {
    fn from(error: ImageError) -> Self {
        let status = match error {
            ImageError::Store(e) => return e.into(),
            ImageError::Off => StatusCode::NOT_FOUND,
            ImageError::Missing => StatusCode::BAD_REQUEST,
            ImageError::BadSignature => StatusCode::FORBIDDEN,
            // The remote's failure; the message names no address (the
            // detail is logged).
            ImageError::Fetch(_)
            | ImageError::Status(_)
            | ImageError::NotAnImage
            | ImageError::TooLarge(_) => StatusCode::BAD_GATEWAY,
        };
        Self::new(status, error.to_string())
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

impl From<ReadApiError> for ApiError {
    fn from(error: ReadApiError) -> Self {
        match error {
            ReadApiError::Invalid(_)
            | ReadApiError::MissingTarget
            | ReadApiError::TooManyTargets { .. }
            | ReadApiError::PageTooLarge { .. }
            | ReadApiError::AnswerTooLarge { .. } => Self::bad_request(error.to_string()),
            ReadApiError::TokenMissing | ReadApiError::TokenInvalid => {
                Self::new(StatusCode::UNAUTHORIZED, error.to_string())
            }
            ReadApiError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ReadApiError {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
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
impl From<AdminPageError> for ApiError {
    fn from(error: AdminPageError) -> Self {
        let message = error.to_string();
        match error {
            AdminPageError::Off => Self::new(StatusCode::SERVICE_UNAVAILABLE, message),
            AdminPageError::WrongToken | AdminPageError::SignedOut => {
                Self::new(StatusCode::UNAUTHORIZED, message)
            }
            AdminPageError::Throttled { retry_after } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(retry_after)
            }
            AdminPageError::BadCsrf | AdminPageError::CrossOrigin => {
                Self::new(StatusCode::FORBIDDEN, message)
            }
            AdminPageError::Invalid(_) => Self::bad_request(message),
        }
    }
}

/// The OpenWhisk action proxy protocol's refusals: `{"error":"…"}`.
impl IntoResponse for crate::runtime::openwhisk::ProxyError {
    fn into_response(self) -> Response {
        use crate::runtime::openwhisk::ProxyError;
        let status = match &self {
            ProxyError::UnknownPath => StatusCode::NOT_FOUND,
            ProxyError::AlreadyInitialized => StatusCode::FORBIDDEN,
            ProxyError::Unreadable(_) => StatusCode::BAD_REQUEST,
            ProxyError::Environment(_) => StatusCode::BAD_GATEWAY,
            ProxyError::Unusable => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

impl From<InboxError> for ApiError {
    fn from(error: InboxError) -> Self {
        let message = error.to_string();
        match error {
            InboxError::TooLarge => Self::new(StatusCode::PAYLOAD_TOO_LARGE, message),
            InboxError::BadActivity(_) => Self::new(StatusCode::BAD_REQUEST, message),
            // 401 for every signature problem, so that senders knocking with
            // RFC 9421 first fall back to draft-cavage (research §2.2).
            InboxError::Unsigned(_) | InboxError::NotSigner => {
                Self::new(StatusCode::UNAUTHORIZED, message)
            }
            InboxError::Key(cause) => {
                tracing::info!(error = %cause, "inbox: the signing key cannot be used");
                Self::new(StatusCode::UNAUTHORIZED, message)
            }
            InboxError::RateLimited { wait } => {
                Self::new(StatusCode::TOO_MANY_REQUESTS, message).retry_after(wait)
            }
            InboxError::Store(e) => e.into(),
        }
    }
}

impl From<FollowersError> for ApiError {
    fn from(error: FollowersError) -> Self {
        let message = error.to_string();
        match error {
            // Like the actor's own routes when ActivityPub is off: there is
            // nothing here (a 5xx would say the server failed).
            FollowersError::Off => Self::new(StatusCode::NOT_FOUND, message),
            FollowersError::NotFound(_) => Self::new(StatusCode::NOT_FOUND, message),
            FollowersError::Store(e) => e.into(),
        }
    }
}
