//! Background work: loops around the units of work the use cases expose.
//!
//! Each unit ("verify one mention") is idempotent and durable in the store;
//! these loops only decide *when* to run them. The socket server runs them
//! beside the Router ([`spawn_workers`]); serverless runtimes, whose process
//! is frozen between requests, run them on a schedule for a bounded time
//! ([`run_until`]); tests call the units directly.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use crate::App;
use crate::storage::StoreError;
use crate::webmention::Receiver;

/// Verification workers per process: verification waits on remote sources,
/// so a few run side by side.
const VERIFICATION_WORKERS: usize = 4;
/// How often one idle worker looks for due retries. The other idle workers
/// sleep until a new request or a busy worker wakes them, so an idle
/// process makes about one store query a second (one LIST on S3), not four.
const IDLE_WAIT: Duration = Duration::from_secs(1);
const RESERVE_WAIT: Duration = Duration::from_secs(30);
const ERROR_PAUSE: Duration = Duration::from_secs(5);

/// Starts the background loops of every enabled feature.
pub fn spawn_workers(app: &Arc<App>) {
    if let Some(receiver) = &app.receiver {
        for worker in 0..VERIFICATION_WORKERS {
            let idle = if worker == 0 { IDLE_WAIT } else { RESERVE_WAIT };
            tokio::spawn(verification_loop(Arc::clone(receiver), idle));
        }
        if receiver.has_webhook() {
            tokio::spawn(delivery_loop(Arc::clone(receiver)));
        }
    }
}

async fn verification_loop(receiver: Arc<Receiver>, idle: Duration) {
    loop {
        match receiver.verify_next().await {
            // There may be more: bring another worker in.
            Ok(Some(_)) => receiver.wake_a_worker(),
            Ok(None) => receiver.wait_for_work(idle).await,
            Err(error) => {
                tracing::warn!(%error, "verification worker: store error; pausing");
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

async fn delivery_loop(receiver: Arc<Receiver>) {
    loop {
        match receiver.deliver_next().await {
            Ok(Some(_)) => {}
            Ok(None) => receiver.wait_for_deliveries(IDLE_WAIT).await,
            Err(error) => {
                tracing::warn!(%error, "webhook worker: store error; pausing");
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

/// Kept back from a platform's deadline (Lambda's, an OpenWhisk
/// activation's) so the result and the store's last writes go out in time.
pub const PLATFORM_MARGIN: Duration = Duration::from_secs(2);

/// Stale threads refreshed per scheduled run at most: well inside
/// Mastodon's 300 calls per 5 minutes even with a schedule every minute.
const SCHEDULED_THREAD_REFRESHES: usize = 50;
/// Time kept back for writing results after the last unit.
const SETTLE_MARGIN: Duration = Duration::from_secs(1);

/// What one scheduled run did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct JobsReport {
    /// Verification attempts finished (verified, rejected, deleted or retried later).
    pub verifications: usize,
    pub deliveries: usize,
    pub threads_refreshed: usize,
    /// Verifications still due when the run stopped (more than fitted).
    pub verifications_pending: u64,
}

/// Runs the background work that is due (pending verifications, webhook
/// deliveries, stale threads) and returns before `deadline`: a unit starts
/// only while the longest it can take still fits. Store errors end that
/// kind of work for this run; the next run takes it up again.
pub async fn run_until(app: &App, deadline: Instant) -> JobsReport {
    let mut report = JobsReport::default();
    if let Some(receiver) = &app.receiver {
        let unit = app.config.fetch.total_timeout + SETTLE_MARGIN;
        let loops = (0..VERIFICATION_WORKERS)
            .map(|_| repeat_until("verification", deadline, unit, || receiver.verify_next()));
        report.verifications = futures_util::future::join_all(loops).await.iter().sum();
        if receiver.has_webhook() {
            report.deliveries =
                repeat_until("delivery", deadline, unit, || receiver.deliver_next()).await;
        }
        report.verifications_pending = app.store.pending_verifications().await.unwrap_or(0);
    }
    let call = app
        .config
        .announce
        .as_ref()
        .map_or(Duration::ZERO, |a| a.mastodon.timeout)
        + SETTLE_MARGIN;
    match app
        .threads
        .refresh_stale(SCHEDULED_THREAD_REFRESHES, deadline, call)
        .await
    {
        Ok(refreshed) => report.threads_refreshed = refreshed,
        Err(error) => tracing::warn!(%error, "scheduled thread refresh: store error"),
    }
    tracing::info!(?report, "scheduled run finished");
    report
}

/// [`run_until`] for a scheduled invocation whose platform stops it at the
/// wall-clock `platform_deadline`: the work ends [`PLATFORM_MARGIN`] before.
pub async fn run_before(app: &App, platform_deadline: SystemTime) -> JobsReport {
    let deadline = instant_before(platform_deadline, SystemTime::now(), Instant::now());
    run_until(app, deadline).await
}

/// A wall-clock deadline as a monotonic instant, less the margin; already
/// passed when no time is left.
fn instant_before(platform_deadline: SystemTime, now: SystemTime, now_instant: Instant) -> Instant {
    let left = platform_deadline
        .duration_since(now)
        .unwrap_or(Duration::ZERO);
    now_instant + left.saturating_sub(PLATFORM_MARGIN)
}

fn fits(deadline: Instant, unit: Duration) -> bool {
    deadline.saturating_duration_since(Instant::now()) >= unit
}

/// Runs `unit` until it finds nothing to do, fails, or no longer fits
/// before `deadline`; returns how many units did something.
async fn repeat_until<T, F, Fut>(what: &str, deadline: Instant, budget: Duration, unit: F) -> usize
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Option<T>, StoreError>>,
{
    let mut done = 0;
    while fits(deadline, budget) {
        match unit().await {
            Ok(Some(_)) => done += 1,
            Ok(None) => break,
            Err(error) => {
                tracing::warn!(%error, "scheduled {what}: store error");
                break;
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_stops_a_margin_before_the_platform_deadline() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let instant = Instant::now();
        let deadline = instant_before(now + Duration::from_secs(30), now, instant);
        assert_eq!(deadline - instant, Duration::from_secs(28));
    }

    #[test]
    fn an_invocation_without_time_left_starts_no_work() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let instant = Instant::now();
        for left in [Duration::from_secs(1), Duration::ZERO] {
            assert_eq!(instant_before(now + left, now, instant), instant);
        }
        let past = now - Duration::from_secs(5);
        assert_eq!(instant_before(past, now, instant), instant);
    }
}
