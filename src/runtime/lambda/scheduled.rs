//! The scheduled invocation (an EventBridge rule, every few minutes): the
//! background work the socket server runs continuously (pending
//! verifications, webhook deliveries, stale threads), here for as long as
//! the invocation may run, less a margin for answering. Its result is the
//! [`JobsReport`] as JSON, visible in the invocation's logs and metrics.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tokio::time::Instant;

use crate::App;
use crate::jobs::{self, JobsReport};

/// Kept back from the invocation's deadline: answering, and the store's
/// last writes, must finish before Lambda stops the function.
const SAFETY_MARGIN: Duration = Duration::from_secs(2);

pub async fn run(app: &App, invocation_deadline: SystemTime) -> Value {
    let deadline = jobs_deadline(invocation_deadline, SystemTime::now(), Instant::now());
    let report = jobs::run_until(app, deadline).await;
    to_value(&report)
}

/// The invocation's wall-clock deadline as a monotonic instant, less the
/// margin; already passed when the invocation has no time left.
fn jobs_deadline(
    invocation_deadline: SystemTime,
    now: SystemTime,
    now_instant: Instant,
) -> Instant {
    let left = invocation_deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO);
    now_instant + left.saturating_sub(SAFETY_MARGIN)
}

fn to_value(report: &JobsReport) -> Value {
    serde_json::to_value(report).unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot serialise the jobs report");
        Value::Null
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jobs_stop_a_safety_margin_before_the_invocation_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let instant = Instant::now();
        let deadline = jobs_deadline(now + Duration::from_secs(30), now, instant);
        assert_eq!(deadline - instant, Duration::from_secs(28));
    }

    #[test]
    fn an_invocation_without_time_left_runs_no_jobs() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let instant = Instant::now();
        for left in [Duration::from_secs(1), Duration::ZERO] {
            assert_eq!(jobs_deadline(now + left, now, instant), instant);
        }
        let past = now - Duration::from_secs(5);
        assert_eq!(jobs_deadline(past, now, instant), instant);
    }
}
