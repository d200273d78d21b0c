//! A fake of the Lambda Runtime API (2018-06-01), written from AWS's
//! documentation of the interface a custom runtime talks to:
//!
//! - `GET /2018-06-01/runtime/invocation/next` answers the next queued event
//!   with `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms`,
//!   `Lambda-Runtime-Invoked-Function-Arn` and `Lambda-Runtime-Trace-Id`;
//!   it blocks while nothing is queued.
//! - `POST …/invocation/{id}/response` and `POST …/invocation/{id}/error`
//!   settle that invocation (202; an unknown id is a 400).
//! - `POST /2018-06-01/runtime/init/error` records a start-up failure.
//!
//! Tests call [`FakeRuntimeApi::invoke`], which queues an event and waits
//! for the function's result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:111122223333:function:backfeed";

/// How the function settled one invocation.
#[derive(Debug)]
pub enum Outcome {
    /// `POST …/response`: the result, as JSON.
    Response(Value),
    /// `POST …/error`: the `Lambda-Runtime-Function-Error-Type` header and
    /// the body (`errorType`, `errorMessage`).
    Error { error_type: String, body: Value },
}

struct Queued {
    id: String,
    number: u64,
    event: Value,
    budget: Duration,
}

struct Shared {
    queue: mpsc::UnboundedSender<Queued>,
    next: tokio::sync::Mutex<mpsc::UnboundedReceiver<Queued>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_errors: Mutex<Vec<Value>>,
    ids: AtomicU64,
}

/// Serves on `127.0.0.1:PORT` until dropped.
pub struct FakeRuntimeApi {
    /// `127.0.0.1:PORT`, the form `AWS_LAMBDA_RUNTIME_API` takes.
    pub address: String,
    shared: Arc<Shared>,
    server: tokio::task::AbortHandle,
}

impl FakeRuntimeApi {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the fake Runtime API binds a loopback port");
        let address = listener.local_addr().expect("bound").to_string();
        let (queue, next) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            queue,
            next: tokio::sync::Mutex::new(next),
            waiting: Mutex::default(),
            init_errors: Mutex::default(),
            ids: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(invocation_response),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(invocation_error),
            )
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            address,
            shared,
            server: server.abort_handle(),
        }
    }

    /// Queues `event` with `budget` until its deadline, and waits up to
    /// `wait` for the result; `None` when none came.
    pub async fn invoke(&self, event: Value, budget: Duration, wait: Duration) -> Option<Outcome> {
        let number = self.shared.ids.fetch_add(1, Ordering::Relaxed);
        let id = format!("8476a536-e9f4-11e8-9739-{number:012x}");
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id.clone(), tx);
        self.shared
            .queue
            .send(Queued {
                id,
                number,
                event,
                budget,
            })
            .expect("the fake Runtime API is running");
        tokio::time::timeout(wait, rx).await.ok()?.ok()
    }

    /// Bodies posted to `/init/error`.
    pub fn init_errors(&self) -> Vec<Value> {
        self.shared.init_errors.lock().unwrap().clone()
    }
}

impl Drop for FakeRuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next_invocation(State(shared): State<Arc<Shared>>) -> Response {
    let Some(queued) = shared.next.lock().await.recv().await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    // The deadline runs from when the function receives the event.
    let deadline = SystemTime::now() + queued.budget;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis()
        .to_string();
    let trace = format!("Root=1-6743b000-{:0>24};Sampled=0", queued.number);
    (
        [
            ("lambda-runtime-aws-request-id", queued.id),
            ("lambda-runtime-deadline-ms", deadline_ms),
            (
                "lambda-runtime-invoked-function-arn",
                FUNCTION_ARN.to_owned(),
            ),
            ("lambda-runtime-trace-id", trace),
            ("content-type", "application/json".to_owned()),
        ],
        queued.event.to_string(),
    )
        .into_response()
}

async fn invocation_response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let result = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    settle(&shared, &id, Outcome::Response(result))
}

async fn invocation_error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("Unhandled")
        .to_owned();
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    settle(&shared, &id, Outcome::Error { error_type, body })
}

async fn init_error(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.init_errors.lock().unwrap().push(body);
    accepted()
}

fn settle(shared: &Shared, id: &str, outcome: Outcome) -> Response {
    let Some(waiter) = shared.waiting.lock().unwrap().remove(id) else {
        let body = json!({"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"});
        return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
    };
    let _ = waiter.send(outcome);
    accepted()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}
