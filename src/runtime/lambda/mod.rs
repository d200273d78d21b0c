//! AWS Lambda: the same binary, started by Lambda as `bootstrap` (runtime
//! `provided.al2023`), serves the Router through the Lambda Runtime API.
//!
//! Each invocation is one event, recognised by its shape (`event`): an HTTP
//! request from API Gateway (REST, or HTTP API) or a Function URL goes to
//! the same `App::router()` as every other runtime, with the stage or base
//! path taken off (`path`), and comes back in its source's response format
//! (`response`); an EventBridge scheduled event runs the background jobs
//! until shortly before the invocation's deadline (`scheduled`). Anything
//! else gets an error result, and the process waits for the next event.
//!
//! No background workers run here: Lambda freezes the process between
//! invocations. A webmention is in the store before its 201 goes out, and
//! is verified by the next scheduled run, or inside its own request when
//! `webmention.verify_inline` is on.
//!
//! The Runtime API client is `lambda_runtime` (re-exported by
//! `lambda_http`); the HTTP event types are `aws_lambda_events`'. The
//! `lambda_http` adapter itself is not used: it takes only HTTP events,
//! routes on the stage-prefixed path, and panics on a malformed body.

mod environment;
mod event;
mod path;
mod request;
mod response;
mod scheduled;

use std::io;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use lambda_http::lambda_runtime::{LambdaEvent, Runtime};
use serde_json::Value;
use tower::ServiceExt;
use tracing::Instrument;

use crate::App;
use crate::config::DatabaseUrl;

pub use environment::is_lambda_environment;
use event::{Invocation, InvocationError};

/// Serves invocations until the Runtime API goes away. Fails at once,
/// naming the variable, when Lambda's variables are missing or broken.
pub async fn run(app: Arc<App>) -> io::Result<()> {
    environment::check()?;
    if let DatabaseUrl::Sqlite(path) = &app.config.database {
        tracing::warn!(
            path = %path.display(),
            "the store is a SQLite file, which lives only as long as this Lambda execution \
             environment; set DATABASE_URL to dynamodb://… or s3://… to keep what is received"
        );
    }
    let router = app.router();
    let handler = tower::service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        let router = router.clone();
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async move { handle(&app, router, event).await }.instrument(span)
    });
    Runtime::new(handler)
        .run()
        .await
        .map_err(|error| io::Error::other(format!("the Lambda runtime stopped: {error}")))
}

async fn handle(
    app: &App,
    router: Router,
    event: LambdaEvent<Value>,
) -> Result<Value, InvocationError> {
    let LambdaEvent { payload, context } = event;
    answer(app, router, payload, context.deadline())
        .await
        .inspect_err(|error| tracing::warn!(%error, "invocation refused"))
}

async fn answer(
    app: &App,
    router: Router,
    payload: Value,
    deadline: SystemTime,
) -> Result<Value, InvocationError> {
    let invocation = Invocation::parse(payload)?;
    tracing::debug!(kind = invocation.kind(), "invocation");
    let prepared = match invocation {
        Invocation::Scheduled => return Ok(scheduled::run(app, deadline).await),
        Invocation::RestApi(event) => request::from_rest_api(*event)?,
        Invocation::HttpApi(event) => request::from_http_api(*event)?,
    };
    let Ok(answer) = router.oneshot(prepared.request).await;
    response::to_event_result(answer, prepared.format, &prepared.public_prefix).await
}

/// For the fuzz targets (`crate::fuzzing`): an event recognised and turned
/// into the Router's request as [`answer`] does it; `Some(true)` for a
/// request, `Some(false)` for a scheduled run, `None` when refused.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_request(event: Value) -> Option<bool> {
    let prepared = match Invocation::parse(event).ok()? {
        Invocation::Scheduled => return Some(false),
        Invocation::RestApi(event) => request::from_rest_api(*event),
        Invocation::HttpApi(event) => request::from_http_api(*event),
    };
    prepared.ok().map(|_| true)
}
