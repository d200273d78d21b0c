//! The scheduled invocation (an EventBridge rule, every few minutes): the
//! background work the socket server runs continuously (pending
//! verifications, webhook deliveries, stale threads), here for as long as
//! the invocation may run, less a margin for answering. Its result is the
//! [`JobsReport`] as JSON, visible in the invocation's logs and metrics.

use std::time::SystemTime;

use serde_json::Value;

use crate::App;
use crate::jobs::{self, JobsReport};

/// Runs the due work until [`jobs::PLATFORM_MARGIN`] before the
/// invocation's deadline.
pub async fn run(app: &App, invocation_deadline: SystemTime) -> Value {
    to_value(&jobs::run_before(app, invocation_deadline).await)
}

fn to_value(report: &JobsReport) -> Value {
    serde_json::to_value(report).unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot serialise the jobs report");
        Value::Null
    })
}
