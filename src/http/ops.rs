//! Operations routes: `GET /status` (the seed's health check) and `GET /metrics`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;

#[derive(Serialize)]
struct Status<'a> {
    code: u16,
    message: &'a str,
    rev: &'a str,
}

/// `{"code":200,"message":"OK","rev":…}`; 503 when the store cannot be reached,
/// so that a platform's health check restarts or drains the instance.
pub async fn status(State(app): State<AppState>) -> Response {
    let (code, message) = match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "OK"),
        Err(error) => {
            tracing::error!(%error, "health check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "store unavailable")
        }
    };
    let body = Status {
        code: code.as_u16(),
        message,
        rev: &app.config.version,
    };
    (code, Json(body)).into_response()
}

pub async fn metrics(State(app): State<AppState>) -> Response {
    let text = app.metrics.render();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
