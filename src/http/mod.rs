//! The one axum Router that every runtime serves.
//!
//! Handlers are thin: extract, call one use case, map the result. Layers, from
//! the outside in: CORS (so every answer, errors and panics included, carries
//! `Access-Control-Allow-Origin`), panic catching (a JSON 500, never a dropped
//! connection), metrics, tracing.

pub mod error;
mod lookup;
mod metrics;
mod ops;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::App;
use crate::config::CorsOrigins;
use error::ApiError;

pub use metrics::Metrics;

pub type AppState = Arc<App>;

pub fn router(app: AppState) -> Router {
    let cors = cors_layer(&app.config.cors_origins);
    Router::new()
        .route("/", get(lookup::lookup))
        .route("/status", get(ops::status))
        .route("/metrics", get(ops::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(metrics::record))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(cors)
        .with_state(app)
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
        ])
        .max_age(Duration::from_secs(86_400))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this resource",
    )
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}
