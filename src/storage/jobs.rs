//! The job part of the storage contract: one durable queue for every kind
//! of background work (see `domain::job`).
//!
//! Invariants every backend keeps:
//! - a job is stored before `enqueue` returns, and stays until it is settled
//!   `Done` (it leaves) or `Dead` (it stays, for an operator);
//! - a claim hands a due job to one worker for its lease and counts the
//!   attempt; after the lease the job is claimable again, and a settlement
//!   by a holder whose lease was taken over changes nothing;
//! - at most one *queued* job per dedupe key: enqueueing a key that a queued
//!   job has merges into it (the earlier due time wins). A running job does
//!   not hold its key, so work asked for while it runs is queued anew;
//! - on a store whose compare-and-swap is not atomic (some S3 providers),
//!   the worst case is a job attempted twice, never a job lost.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::domain::job::{ClaimedJob, Job, JobId, JobKind, JobState, Lease, NewJob, Settlement};

/// What `enqueue` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    Created(JobId),
    /// A queued job with the same dedupe key was there already.
    Merged(JobId),
}

impl Enqueued {
    pub fn id(&self) -> &JobId {
        match self {
            Self::Created(id) | Self::Merged(id) => id,
        }
    }
}

/// Which jobs an operator lists, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub state: Option<JobState>,
    /// Only ids older than this (the next page).
    pub before: Option<JobId>,
    pub limit: usize,
}

/// How many jobs of one kind are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCount {
    pub queued: u64,
    /// Held by a worker, or held by one whose lease ran out.
    pub running: u64,
    pub dead: u64,
}

/// Counts per kind (kinds without jobs left out), in [`JobKind::ALL`] order.
pub type JobCounts = Vec<(JobKind, KindCount)>;

#[async_trait]
pub trait JobStore: Send + Sync {
    /// Stores a job (or merges it into the queued job with its dedupe key).
    async fn enqueue(&self, job: &NewJob, now: OffsetDateTime) -> Result<Enqueued, StoreError>;

    /// Makes the *queued* job with `dedupe_key` due no later than `due_at`
    /// (as enqueueing it again would, but never creating one): `false` when
    /// no job with the key is queued (it runs, finished or is dead). For
    /// work whose turn came early (a deferred verification whose source
    /// host just freed a slot).
    async fn bring_forward(
        &self,
        dedupe_key: &str,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Claims the job due first (`due_at <= now`, ids breaking ties) for
    /// `lease`, counting an attempt; `None` when nothing is due.
    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError>;

    /// Ends a held job's attempt. `false` when the lease was lost (another
    /// worker took the job after it ran out): nothing changes.
    async fn settle_job(
        &self,
        job: &ClaimedJob,
        settlement: &Settlement,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    async fn find_job(&self, id: &JobId) -> Result<Option<Job>, StoreError>;

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError>;

    /// An operator's retry: a dead or queued job becomes due now with a
    /// fresh attempt count. `false` when there is no such job or it is
    /// running.
    async fn retry_job(&self, id: &JobId, now: OffsetDateTime) -> Result<bool, StoreError>;

    /// An operator's drop: the job leaves the queue whatever its state.
    /// `false` when there was none.
    async fn drop_job(&self, id: &JobId) -> Result<bool, StoreError>;

    async fn count_jobs(&self) -> Result<JobCounts, StoreError>;
}

/// A new job id (see [`JobId::compose`]).
pub fn new_job_id(now: OffsetDateTime) -> JobId {
    let random = uuid::Uuid::new_v4().as_u64_pair().0;
    JobId::compose(now, random)
}

/// A new lease token.
pub fn new_lease() -> Lease {
    Lease::new(uuid::Uuid::new_v4().simple().to_string())
}

/// Adds one job to per-kind counts kept in [`JobKind::ALL`] order.
pub fn tally(counts: &mut JobCounts, kind: JobKind, state: JobState, n: u64) {
    let index = match counts.iter().position(|(k, _)| *k == kind) {
        Some(index) => index,
        None => {
            counts.push((kind, KindCount::default()));
            counts.sort_by_key(|(k, _)| *k);
            counts
                .iter()
                .position(|(k, _)| *k == kind)
                .unwrap_or_default()
        }
    };
    let count = &mut counts[index].1;
    match state {
        JobState::Queued => count.queued += n,
        JobState::Running => count.running += n,
        JobState::Dead => count.dead += n,
    }
}
