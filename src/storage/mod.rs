//! Storage behind one small, domain-shaped trait.
//!
//! [`Store`] speaks in domain operations (`claim_post`, `record_toot`, …), not
//! SQL shapes, so that an object store can implement it too. Every backend
//! passes the same `conformance` suite (test code, compiled only with the
//! `test-support` feature, which the tests turn on). Invariant: a backend never
//! half-writes: each operation is atomic, and `claim_post` is the one place
//! that decides who may post a post's toot, across threads and processes.

// Panicking test code: never in the production library.
pub mod aliases;
#[cfg(feature = "test-support")]
pub mod conformance;
pub mod dynamodb;
pub mod followers;
pub mod import;
pub mod jobs;
pub mod mentions;
#[cfg(feature = "postgres")]
pub mod postgres;
pub(crate) mod rows;
pub mod s3;
pub mod secrets;
pub mod sent;
mod sent_rows;
pub mod sqlite;
pub mod thread_record;
pub mod threads;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::config::DatabaseUrl;
use crate::domain::{ClaimOutcome, ClaimToken, PostRecord, PostUrl, TootId};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend cannot be reached or is busy; the operation may succeed
    /// when retried.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    /// The backend holds something this version cannot read.
    #[error("the store holds an unreadable record: {0}")]
    Corrupt(String),
    /// This binary was built without the backend's cargo feature; retrying
    /// cannot help.
    #[error("{0}")]
    NotBuilt(&'static str),
}

/// Why a `postgres://` store cannot be opened by a build without the
/// `postgres` feature.
pub const POSTGRES_NOT_BUILT: &str = "this backfeed was built without PostgreSQL support (the `postgres` cargo feature): \
     build it with `cargo build --release --features postgres` (the Docker image has it), \
     or use a sqlite://, s3:// or dynamodb:// DATABASE_URL";

/// The whole storage contract: one small trait per aggregate, plus a health check.
#[async_trait]
pub trait Store:
    PostStore
    + MentionStore
    + MentionAliasStore
    + ThreadStore
    + JobStore
    + SecretStore
    + FollowerStore
    + SentStore
    + Send
    + Sync
    + 'static
{
    /// A cheap round trip, for health checks.
    async fn ping(&self) -> Result<(), StoreError>;
}

pub use aliases::MentionAliasStore;
pub use followers::{Follower, FollowerStore, PublishedPost};
pub use import::Imported;
pub use jobs::{Enqueued, JobCounts, JobFilter, JobStore, KindCount};
pub use mentions::{MentionQuery, MentionStore, Settled, SortDirection, SortField};
pub use secrets::{CreateSecret, SecretBytes, SecretStore};
pub use sent::SentStore;
pub use threads::{CachedThread, ThreadStore};

/// The URL → toot mapping and its claims.
#[async_trait]
pub trait PostStore: Send + Sync {
    /// Claims `url` for posting unless it is announced, failed, or claimed by
    /// a holder whose lease has not run out. Atomic across processes.
    async fn claim_post(
        &self,
        url: &PostUrl,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError>;

    /// Records the toot for `url` and returns the toot that is now recorded:
    /// the first one recorded wins, so racing holders converge on one id.
    async fn record_toot(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
        toot: &TootId,
        now: OffsetDateTime,
    ) -> Result<TootId, StoreError>;

    /// Marks the post as failed for good (only while `claim` holds it).
    async fn record_failure(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Gives up a claim after a transient failure, so the next request may try.
    async fn release_claim(&self, url: &PostUrl, claim: &ClaimToken) -> Result<(), StoreError>;

    /// Removes a failed record so the post can be claimed again; `false` when
    /// the post is not in the failed state.
    async fn forget_failure(&self, url: &PostUrl) -> Result<bool, StoreError>;

    async fn find_post(&self, url: &PostUrl) -> Result<Option<PostRecord>, StoreError>;

    /// Every post record, oldest first.
    async fn list_posts(&self) -> Result<Vec<PostRecord>, StoreError>;

    /// Copies announced and failed posts from another store, keeping their
    /// times; one outcome per record, in order. Idempotent by URL, under
    /// the rule of [`import::decide_post`]: nothing the store holds is
    /// overwritten but a failure or claim by a toot, and claims are never
    /// imported. Backends write a batch in a few round trips.
    async fn import_posts(&self, posts: &[PostRecord]) -> Result<Vec<Imported>, StoreError>;
}

/// Opens the store a `DATABASE_URL` names, running migrations (`clock`
/// dates what a migration writes).
pub async fn open(url: &DatabaseUrl, clock: &Clock) -> Result<Arc<dyn Store>, StoreError> {
    match url {
        DatabaseUrl::Sqlite(path) => Ok(Arc::new(sqlite::SqliteStore::open(path).await?)),
        #[cfg(feature = "postgres")]
        DatabaseUrl::Postgres(url) => Ok(Arc::new(
            postgres::PostgresStore::connect(url.expose()).await?,
        )),
        #[cfg(not(feature = "postgres"))]
        DatabaseUrl::Postgres(_) => Err(StoreError::NotBuilt(POSTGRES_NOT_BUILT)),
        DatabaseUrl::S3 {
            bucket,
            prefix,
            endpoint,
            region,
        } => Ok(Arc::new(
            s3::S3Store::open(
                bucket,
                prefix,
                endpoint.as_ref(),
                region.as_deref(),
                clock.now(),
            )
            .await?,
        )),
        DatabaseUrl::DynamoDb {
            table,
            endpoint,
            region,
        } => Ok(Arc::new(
            dynamodb::open(table, endpoint.as_ref(), region.as_deref(), clock.now()).await?,
        )),
    }
}

#[cfg(all(test, not(feature = "postgres")))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_build_without_postgres_names_the_feature_it_lacks() {
        let url = DatabaseUrl::parse("postgres://backfeed@127.0.0.1:9/backfeed").unwrap();
        let error = open(&url, &Clock::system()).await.err().unwrap();
        assert!(matches!(error, StoreError::NotBuilt(_)), "{error:?}");
        assert!(
            error.to_string().contains("the `postgres` cargo feature"),
            "{error}"
        );
    }
}
