//! The storage contract as executable checks; every backend must pass them.
//!
//! Backends call [`run`] from their tests with a fresh, empty store. Each
//! check uses its own URLs, so they can run one after another on one store.
//! It panics on a broken contract, so it is compiled only with the
//! `test-support` feature: the package's dev-dependency on itself turns it
//! on for `cargo test` and `cargo clippy --all-targets`, and a plain or
//! release build leaves it out.

mod blocked;
mod jobs;
mod mentions;
mod migrate;
mod posts;
mod search;
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
    /// claimants may all win, so the checks demand at least one winner,
    /// every job done at least once, and a pair's mention shown once.
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
    search::run(&*store).await;
    jobs::run(Arc::clone(&store), decisions).await;
    migrate::run(&*store).await;
    store.ping().await.expect("ping");
}
