//! The storage contract as executable checks; every backend must pass them.
//!
//! Backends call [`run`] from their tests with a fresh, empty store. Each
//! check uses its own URLs, so they can run one after another on one store.
//! It panics on a broken contract, so it is compiled only with the
//! `test-support` feature: the package's dev-dependency on itself turns it
//! on for `cargo test` and `cargo clippy --all-targets`, and a plain or
//! release build leaves it out.

mod aliases;
mod blocked;
mod followers;
mod jobs;
mod mentions;
mod migrate;
mod posts;
mod search;
mod secrets;
mod sent;
mod shared;
mod threads;

use std::sync::Arc;

use super::Store;

/// How racing writers are decided: what the concurrency checks demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decisions {
    /// One winner per claim, one mention per pair, one holder per job
    /// (SQLite, PostgreSQL, S3 with atomic conditional writes).
    Exclusive,
    /// S3 on a provider whose conditional writes are not atomic: racing
    /// claimants may all win. Only the concurrent checks differ, and each
    /// still demands that nothing is lost:
    /// - posts: at least one of the racing claims wins (not exactly one);
    /// - mentions: racing receives of one pair may each keep a record, but
    ///   one mention is shown, with an id one of them answered;
    /// - jobs: racing workers may both hold a job and racing enqueues of one
    ///   dedupe key may both make one, so each job runs at least once (not
    ///   exactly once) and none is left; every job an enqueue answered with
    ///   (created or merged into, also while a worker claims it) still runs;
    ///   a worker whose claim a racing merge undid finds its lease lost;
    /// - sent: two attempts on one post and target at once may count as
    ///   one, but every target's record is kept;
    /// - secrets: callers racing on a secret's first use may each get their
    ///   own value, but once the race is over every caller reads one value.
    ///
    /// The sequential checks, and the search, thread, blocked and migrate
    /// checks, are the same in both modes. `docs/s3-layout.md` ("On
    /// providers whose conditional writes are not atomic") says why.
    AtLeastOnce,
}

/// Runs every check against `store`.
pub async fn run(store: Arc<dyn Store>) {
    run_with(store, Decisions::Exclusive).await;
}

/// Runs every check against `store`, the concurrency checks as `decisions`
/// says.
pub async fn run_with(store: Arc<dyn Store>, decisions: Decisions) {
    posts::run(Arc::clone(&store), decisions).await;
    mentions::run(Arc::clone(&store), decisions).await;
    threads::run(Arc::clone(&store)).await;
    blocked::run(&*store).await;
    aliases::run(&*store).await;
    search::run(&*store).await;
    jobs::run(Arc::clone(&store), decisions).await;
    migrate::run(&*store).await;
    secrets::run(Arc::clone(&store), decisions).await;
    followers::run(&*store).await;
    sent::run(Arc::clone(&store), decisions).await;
    store.ping().await.expect("ping");
}

/// Runs the checks for two instances on one fresh, empty database.
pub async fn run_shared(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    shared::run(one, two).await;
}
