//! The publishing part of the storage contract: what each post sent, and
//! what each feed said last time (see `domain::sent`).
//!
//! Invariants every backend keeps:
//! - `record_attempt` is one atomic read-modify-write of the pair, so
//!   attempts count right when several workers send one source's
//!   webmentions at once (on S3 each pair is its own object: where a
//!   provider's conditional writes are not atomic, only two attempts on one
//!   pair at once can count as one), and it never touches the source's
//!   version;
//! - `record_version` never touches the pairs;
//! - a source appears in `find_sent`/`list_sent` once either was written;
//! - reading or writing a feed's state, or one source's record, costs a
//!   number of requests that does not grow with the store (on S3: a feed
//!   is one object; a source is one object plus one listing of its own
//!   targets' objects), so an unchanged feed is cheap to check.

use async_trait::async_trait;
use time::OffsetDateTime;
use url::Url;

use super::StoreError;
use crate::domain::sent::{FeedState, SendAttempt, SentSource};

#[async_trait]
pub trait SentStore: Send + Sync {
    async fn load_feed(&self, feed: &Url) -> Result<Option<FeedState>, StoreError>;

    /// Replaces the state of `state.feed` (the last write wins: one poll of
    /// a feed runs at a time, and a lost write costs a re-read).
    async fn save_feed(&self, state: &FeedState) -> Result<(), StoreError>;

    /// A source with every target it was ever sent to.
    async fn find_sent(&self, source: &Url) -> Result<Option<SentSource>, StoreError>;

    /// Records the content version queued for `source`, the links it had,
    /// and whether it is gone (its deletes queued).
    async fn record_version(
        &self,
        source: &Url,
        version: &str,
        links: &[Url],
        gone: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Records one send attempt of `source` (see `SentTarget::after`).
    async fn record_attempt(
        &self,
        source: &Url,
        attempt: &SendAttempt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;

    /// Every source (or the one given) with its targets, sources in URL
    /// order, targets in URL order.
    async fn list_sent(&self, source: Option<&Url>) -> Result<Vec<SentSource>, StoreError>;
}
