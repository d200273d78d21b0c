//! Answers one activation, the same way in both protocols: a web request
//! goes through the Router and comes back as a web action result; any other
//! activation (a scheduled trigger, a direct invoke) runs the background
//! work that is due (`jobs::run_until`) until shortly before the
//! activation's deadline and returns its report. The platform freezes the
//! process between activations, so nothing runs in the background here.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing::Instrument;

use super::activation::Activation;
use super::{web_request, web_result};
use crate::http::error::{ApiError, RequestProblem};
use crate::{App, jobs};

/// A web request gets at least this long, however close the deadline.
const MIN_REQUEST_TIME: Duration = Duration::from_secs(1);
/// The budget of a scheduled run whose activation names no deadline.
const DEFAULT_SCHEDULED_BUDGET: Duration = Duration::from_secs(30);

/// The app and its Router, built once per process (or per `/init`).
#[derive(Clone)]
pub struct Invoker {
    app: Arc<App>,
    router: Router,
}

impl Invoker {
    pub fn new(app: Arc<App>) -> Self {
        let router = app.router();
        Self { app, router }
    }

    /// The activation's result, as the platform expects it: a JSON object.
    pub async fn answer(&self, activation: Activation) -> Value {
        let span = tracing::info_span!(
            "activation",
            id = activation.meta.activation_id.as_deref().unwrap_or("-"),
            action = activation.meta.action_name.as_deref().unwrap_or("-"),
        );
        self.answer_in_span(activation).instrument(span).await
    }

    async fn answer_in_span(&self, activation: Activation) -> Value {
        let time_left = activation
            .meta
            .time_left(SystemTime::now(), jobs::PLATFORM_MARGIN);
        let request = match web_request::to_request(&activation.params) {
            Ok(Some(request)) => request,
            Ok(None) => return self.scheduled_run(activation.meta.deadline()).await,
            Err(error) => return error_result(&error),
        };
        let served = self.router.clone().oneshot(request);
        let response = match time_left {
            None => served.await,
            Some(left) => match tokio::time::timeout(left.max(MIN_REQUEST_TIME), served).await {
                Ok(response) => response,
                Err(_) => Ok(ApiError::from(RequestProblem::OutOfTime).into_response()),
            },
        };
        match response {
            Ok(response) => web_result::to_result(response).await,
            Err(infallible) => match infallible {},
        }
    }

    async fn scheduled_run(&self, deadline: Option<SystemTime>) -> Value {
        let deadline = deadline.unwrap_or_else(|| {
            SystemTime::now() + DEFAULT_SCHEDULED_BUDGET + jobs::PLATFORM_MARGIN
        });
        let report = jobs::run_before(&self.app, deadline).await;
        serde_json::to_value(report).unwrap_or_else(|error| error_result(&error))
    }
}

/// An application error result: OpenWhisk marks the activation failed.
pub fn error_result(error: &dyn std::fmt::Display) -> Value {
    json!({ "error": error.to_string() })
}
