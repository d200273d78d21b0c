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
mod jobs;
mod mentions;
mod migrate;
mod posts;
mod search;
mod sent;
mod shared;
mod threads;

use std::sync::Arc;

use super::Store;

/// Runs every check against `store`.
pub async fn run(store: Arc<dyn Store>) {
    posts::run(Arc::clone(&store)).await;
    mentions::run(Arc::clone(&store)).await;
    threads::run(Arc::clone(&store)).await;
    blocked::run(&*store).await;
    aliases::run(&*store).await;
    search::run(&*store).await;
    jobs::run(Arc::clone(&store)).await;
    migrate::run(&*store).await;
    sent::run(Arc::clone(&store)).await;
    store.ping().await.expect("ping");
}

/// Runs the checks for two instances on one fresh, empty database.
pub async fn run_shared(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    shared::run(one, two).await;
}
