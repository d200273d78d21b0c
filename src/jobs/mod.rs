//! Background work: one loop over the one durable job queue.
//!
//! A unit of work ([`run_one`]) claims the job due first, whatever its
//! kind, hands it to its kind's handler (verify a webmention, deliver a
//! webhook, refresh a thread, send a webmention, announce a post, poll the
//! feeds), and settles it by the kind's retry policy
//! (`domain::job::RetryPolicy`): done, another attempt later, or dead. The
//! socket server runs a few such loops beside the Router
//! ([`spawn_workers`]); serverless runtimes, whose process is frozen
//! between requests, run them from a scheduled invocation for a bounded
//! time ([`run_until`]); tests call [`run_one`] directly.
//!
//! Invariant: every job settles through its policy, so a failure is retried
//! or ends dead with its error (listed by `backfeed jobs list --state dead`),
//! never silently dropped; a job that kills its worker every time runs out
//! of attempts too, because attempts are counted when claimed.

pub mod operator;
mod queue;

pub use queue::Queue;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use crate::App;
use crate::domain::job::{ClaimedJob, Job, JobId, JobKind, Outcome, RetryPolicy, Settlement};
use crate::domain::mention::{MentionId, Verification};
use crate::storage::StoreError;

/// Workers per process: most work waits on remote servers, so a few run
/// side by side.
const WORKERS: usize = 4;
/// How often one idle worker looks for due retries. The other idle workers
/// wait until new work or a busy worker wakes them, so an idle process
/// makes about one store query a second (one LIST on S3), not four.
const IDLE_WAIT: Duration = Duration::from_secs(1);
const RESERVE_WAIT: Duration = Duration::from_secs(30);
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// Retries of a failed feed poll (the next interval polls anyway).
const POLL_RETRIES: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(300)];
/// Retries of a failed thread refresh: a reader keeps seeing the cached
/// copy meanwhile, and the next view after that queues a new refresh.
const THREAD_REFRESH_RETRIES: [Duration; 3] = [
    Duration::from_secs(60),
    Duration::from_secs(300),
    Duration::from_secs(1_800),
];

/// What one unit of work did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub id: JobId,
    pub kind: JobKind,
    /// `done`, `retry`, `deferred` or `failed`, as the handler reported.
    pub outcome: &'static str,
    /// `false` when the job's lease was taken over meanwhile (its attempt
    /// took longer than the lease): the other worker's settlement stands.
    pub settled: bool,
}

/// Starts the worker loops (`backfeed serve`).
pub fn spawn_workers(app: &Arc<App>) {
    let poller = Arc::clone(app);
    tokio::spawn(async move {
        if let Err(error) = crate::publish::handlers::start_polling(&poller).await {
            tracing::warn!(%error, "cannot queue the feed poll; the next start tries again");
        }
    });
    for worker in 0..WORKERS {
        let idle = if worker == 0 { IDLE_WAIT } else { RESERVE_WAIT };
        tokio::spawn(worker_loop(Arc::clone(app), idle));
    }
}

async fn worker_loop(app: Arc<App>, idle: Duration) {
    loop {
        match run_one(&app).await {
            // There may be more: bring another worker in.
            Ok(Some(_)) => app.queue.wake(),
            Ok(None) => app.queue.wait(idle).await,
            Err(error) => {
                tracing::warn!(%error, "job worker: store error; pausing");
                app.clock.sleep(ERROR_PAUSE).await;
            }
        }
    }
}

/// How long a worker holds a claimed job: longer than one attempt of any
/// kind can take (two remote calls at the most), so only a dead worker
/// loses it.
pub fn lease(app: &App) -> Duration {
    let mastodon = app
        .config
        .announce
        .as_ref()
        .map_or(Duration::ZERO, |a| a.mastodon.timeout);
    app.config.fetch.total_timeout.max(mastodon) * 2 + Duration::from_secs(2)
}

/// The retry policy of each kind.
pub fn policy(app: &App, kind: JobKind) -> RetryPolicy {
    match kind {
        JobKind::VerifyMention | JobKind::DeliverWebhook => app
            .config
            .webmention
            .as_ref()
            .map_or_else(RetryPolicy::patient, |w| w.retry.clone()),
        JobKind::RefreshThread => RetryPolicy::new(THREAD_REFRESH_RETRIES.to_vec()),
        JobKind::ProcessActivity => RetryPolicy::new(THREAD_REFRESH_RETRIES.to_vec()),
        JobKind::DeliverActivity => RetryPolicy::new(crate::activitypub::deliver::RETRIES.to_vec()),
        JobKind::SendWebmention | JobKind::AnnouncePost => RetryPolicy::patient(),
        JobKind::PollFeeds => RetryPolicy::new(POLL_RETRIES.to_vec()),
    }
}

/// Runs the job due first, if any: claim, handle, settle.
pub async fn run_one(app: &App) -> Result<Option<Ran>, StoreError> {
    let Some(claimed) = app.store.claim_job(app.clock.now(), lease(app)).await? else {
        return Ok(None);
    };
    let job = &claimed.job;
    let policy = policy(app, job.kind);
    let (outcome, settlement) = match policy.abandoned(job.attempts, job.last_error.as_deref()) {
        Some(settlement) => ("failed", settlement),
        None => {
            let outcome = handle(app, &claimed, policy.is_last(job.attempts)).await;
            let label = outcome.label();
            (label, policy.settle(job.attempts, outcome, app.clock.now()))
        }
    };
    let settled = app
        .store
        .settle_job(&claimed, &settlement, app.clock.now())
        .await?;
    report(&claimed, &settlement, settled);
    if matches!(settlement, Settlement::Defer { .. }) {
        deferred(app, job).await;
    }
    Ok(Some(Ran {
        id: job.id.clone(),
        kind: job.kind,
        outcome,
        settled,
    }))
}

/// Hands a job to its kind's handler.
async fn handle(app: &App, claimed: &ClaimedJob, last: bool) -> Outcome {
    let job = &claimed.job;
    match job.kind {
        JobKind::VerifyMention | JobKind::DeliverWebhook => {
            let Some(receiver) = &app.receiver else {
                return Outcome::Fail {
                    error: "receiving webmentions is not configured (set BACKFEED_SITES)".into(),
                };
            };
            if job.kind == JobKind::VerifyMention {
                receiver.run_verification(job, last).await
            } else {
                receiver.run_webhook_delivery(job).await
            }
        }
        JobKind::RefreshThread => app.threads.run_refresh(job).await,
        JobKind::ProcessActivity | JobKind::DeliverActivity => {
            let Some(federation) = &app.federation else {
                return Outcome::Fail {
                    error: "ActivityPub is off (set BACKFEED_ACTIVITYPUB=true)".into(),
                };
            };
            if job.kind == JobKind::ProcessActivity {
                federation.run_processing(job).await
            } else {
                federation.run_delivery(job, last).await
            }
        }
        JobKind::SendWebmention => {
            // One attempt (a discovery and a POST, each waiting its turn
            // for the host) must end within the lease, or another worker
            // would take the job over and send it a second time.
            let limit = lease(app).saturating_sub(Duration::from_secs(1));
            tokio::time::timeout(limit, crate::publish::send::run_send(app, job, last))
                .await
                .unwrap_or_else(|_| Outcome::retry("the attempt took longer than its lease"))
        }
        JobKind::AnnouncePost => crate::publish::handlers::run_announce(app, job).await,
        JobKind::PollFeeds => crate::publish::handlers::run_poll(app).await,
    }
}

/// Tells a kind's handler that its deferred job is queued again: its turn
/// may have come meanwhile (`webmention::slots`).
async fn deferred(app: &App, job: &Job) {
    if job.kind == JobKind::VerifyMention
        && let Some(receiver) = &app.receiver
    {
        receiver.verification_deferred(job).await;
    }
}

fn report(claimed: &ClaimedJob, settlement: &Settlement, settled: bool) {
    let job = &claimed.job;
    let (label, error) = match settlement {
        Settlement::Done => ("done", None),
        Settlement::Retry { error, .. } => ("retry", Some(error.as_str())),
        Settlement::Defer { .. } => ("deferred", None),
        Settlement::Dead { error } => ("dead", Some(error.as_str())),
    };
    metrics::counter!("backfeed_jobs_total", "kind" => job.kind.label(), "outcome" => label)
        .increment(1);
    match settlement {
        Settlement::Dead { .. } => tracing::warn!(
            id = %job.id, kind = %job.kind, attempts = job.attempts, error = error.unwrap_or_default(),
            settled, "job failed for good; `backfeed jobs retry {}` runs it again", job.id
        ),
        _ => tracing::debug!(
            id = %job.id, kind = %job.kind, attempts = job.attempts, outcome = label,
            error = error.unwrap_or_default(), settled, "job attempt finished"
        ),
    }
}

/// Kept back from a platform's deadline (Lambda's, an OpenWhisk
/// activation's) so the result and the store's last writes go out in time.
pub const PLATFORM_MARGIN: Duration = Duration::from_secs(2);
/// Time kept back for writing results after the last unit.
const SETTLE_MARGIN: Duration = Duration::from_secs(1);

/// What one scheduled run did.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct JobsReport {
    /// Attempts run, of every kind.
    pub jobs: usize,
    /// Of which: webmention verifications, webhook deliveries and thread
    /// refreshes.
    pub verifications: usize,
    pub deliveries: usize,
    pub threads_refreshed: usize,
    /// Attempts per kind, by its label.
    pub by_kind: BTreeMap<&'static str, usize>,
    /// The run stopped for lack of time (or a store error) while work may
    /// still have been due; the next run takes it up.
    pub stopped_early: bool,
}

/// Runs due jobs and returns before `deadline`: a unit starts only while
/// the longest it can take still fits. A store error ends the run; the
/// next run takes the work up again.
pub async fn run_until(app: &App, deadline: Instant) -> JobsReport {
    if let Err(error) = crate::publish::handlers::start_polling(app).await {
        tracing::warn!(%error, "scheduled run: cannot queue the feed poll");
    }
    let unit = lease(app) + SETTLE_MARGIN;
    let mut report = JobsReport::default();
    // One look first: with nothing due, a run costs one store query (one
    // LIST on S3), not one per worker.
    let (first, stopped_early) = repeat_until(app, deadline, unit, Some(1)).await;
    let mut results = vec![(first.clone(), stopped_early)];
    if !first.is_empty() && !stopped_early {
        let loops = (0..WORKERS).map(|_| repeat_until(app, deadline, unit, None));
        results.extend(futures_util::future::join_all(loops).await);
    }
    for (ran, stopped_early) in results {
        report.stopped_early |= stopped_early;
        for kind in ran {
            report.jobs += 1;
            *report.by_kind.entry(kind.label()).or_default() += 1;
            match kind {
                JobKind::VerifyMention => report.verifications += 1,
                JobKind::DeliverWebhook => report.deliveries += 1,
                JobKind::RefreshThread => report.threads_refreshed += 1,
                JobKind::ProcessActivity | JobKind::DeliverActivity => {}
                JobKind::SendWebmention | JobKind::AnnouncePost | JobKind::PollFeeds => {}
            }
        }
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

/// Runs units until none is due, the store fails, the next no longer fits
/// before `deadline`, or `at_most` have run; returns the kinds run and
/// whether it stopped before the queue was empty.
async fn repeat_until(
    app: &App,
    deadline: Instant,
    unit: Duration,
    at_most: Option<usize>,
) -> (Vec<JobKind>, bool) {
    let mut ran = Vec::new();
    loop {
        if at_most.is_some_and(|limit| ran.len() >= limit) {
            return (ran, false);
        }
        if !fits(deadline, unit) {
            return (ran, true);
        }
        match run_one(app).await {
            Ok(Some(done)) => ran.push(done.kind),
            Ok(None) => return (ran, false),
            Err(error) => {
                tracing::warn!(%error, "scheduled run: store error");
                return (ran, true);
            }
        }
    }
}

/// Runs due jobs until mention `id` is no longer pending, starting one only
/// while a whole attempt still fits in `budget` (other jobs may be due
/// first); whatever is left stays queued. For `verify_inline`, where a
/// runtime freezes after its answer.
pub async fn verify_inline(app: &App, id: MentionId, budget: Duration) -> Verification {
    let deadline = Instant::now() + budget;
    let attempt = app.config.fetch.total_timeout;
    loop {
        let state = match app.store.find_mention(id).await {
            Ok(found) => found.map_or(Verification::Pending, |m| m.verification),
            Err(error) => {
                tracing::warn!(%id, %error, "inline verification stopped; the mention stays queued");
                return Verification::Pending;
            }
        };
        if state != Verification::Pending || !fits(deadline, attempt) {
            return state;
        }
        match run_one(app).await {
            Ok(Some(_)) => {}
            // Claimed elsewhere (another worker or instance) or due later.
            Ok(None) => return state,
            Err(error) => {
                tracing::warn!(%id, %error, "inline verification stopped; the mention stays queued");
                return state;
            }
        }
    }
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
