//! Time limits on every request, in every runtime: an answer within
//! `http.request_timeout`, a request body within `http.body_timeout`.
//!
//! They sit inside the CORS and panic layers, so a request cut short still
//! gets the seed's JSON error shape and `Access-Control-Allow-Origin`. A
//! handler whose work must outlive its reader (posting a toot) already runs
//! that work in its own task; cutting the request only stops the waiting.
//! The socket server adds the limits only a socket has (request heads, idle
//! connections, how many at once): `runtime::server`.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// A request that broke one of the limits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitError {
    #[error("the request took too long; try again shortly")]
    TooSlow,
    #[error("the request body did not arrive in time")]
    BodyTooSlow,
    #[error("the request body is too large")]
    BodyTooLarge,
}

/// Answers `request` within `limit`, or with [`LimitError::TooSlow`].
pub async fn answer_within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::from(LimitError::TooSlow).into_response(),
    }
}

/// Why reading a request body (capped with `axum::body::to_bytes`) failed:
/// the body deadline (`tower_http`'s `DeadlineBody`) ran out, or the body was
/// too large (or broke off, which a client cannot tell apart from its side).
pub fn body_error(error: &axum::Error) -> LimitError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return LimitError::BodyTooSlow;
        }
        cause = error.source();
    }
    LimitError::BodyTooLarge
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_handler_slower_than_the_limit_gets_a_json_503() {
        async fn slow() -> &'static str {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            "done"
        }
        let routes =
            Router::new()
                .route("/slow", get(slow))
                .layer(axum::middleware::from_fn_with_state(
                    Duration::from_secs(1),
                    answer_within,
                ));
        let response = routes
            .oneshot(Request::get("/slow").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(
            &body[..],
            br#"{"code":503,"error":"the request took too long; try again shortly"}"#
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_error_is_told_apart_by_its_cause() {
        let never_ends = || {
            Body::from_stream(futures_util::stream::pending::<
                Result<bytes::Bytes, std::io::Error>,
            >())
        };
        let late = Body::new(tower_http::timeout::DeadlineBody::new(
            Duration::from_secs(1),
            never_ends(),
        ));
        let error = axum::body::to_bytes(late, 1024).await.unwrap_err();
        assert_eq!(body_error(&error), LimitError::BodyTooSlow);

        let large = Body::from(vec![b'x'; 2048]);
        let error = axum::body::to_bytes(large, 1024).await.unwrap_err();
        assert_eq!(body_error(&error), LimitError::BodyTooLarge);
    }
}
