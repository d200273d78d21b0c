//! The thread part of the storage contract: cached Mastodon reply threads,
//! and the replies and accounts the owner hid.
//!
//! The cache is a cache: losing it costs one fetch from Mastodon. What the
//! owner hid is not: it is kept like every other record.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;
use crate::domain::PostUrl;
use crate::domain::thread::{HiddenReplies, Reply, TootSummary};

/// A post's Mastodon thread as last fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedThread {
    pub url: PostUrl,
    pub toot: TootSummary,
    /// Every descendant as fetched (already sanitised), before filtering.
    pub replies: Vec<Reply>,
    pub fetched_at: OffsetDateTime,
    /// After this, serve it but refresh it in the background.
    pub fresh_until: OffsetDateTime,
}

#[async_trait]
pub trait ThreadStore: Send + Sync {
    async fn load_thread(&self, url: &PostUrl) -> Result<Option<CachedThread>, StoreError>;

    /// Replaces the cached thread of `thread.url`.
    async fn save_thread(&self, thread: &CachedThread) -> Result<(), StoreError>;

    /// Hides one reply (a Mastodon status id) from every thread.
    async fn hide_reply(&self, status_id: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// `false` when it was not hidden.
    async fn unhide_reply(&self, status_id: &str) -> Result<bool, StoreError>;

    /// Hides every reply from an account (`user@domain`, case-insensitive).
    async fn hide_account(&self, acct: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// `false` when it was not hidden.
    async fn unhide_account(&self, acct: &str) -> Result<bool, StoreError>;

    async fn hidden_replies(&self) -> Result<HiddenReplies, StoreError>;

    /// A token that changes whenever anything a comment thread shows changes
    /// (mentions, hidden replies and accounts, blocked domains, a post's toot
    /// or fediverse object), for processes that share this store to know
    /// when the threads they rendered are out of date. `None`: the store
    /// keeps none (then a rendered thread is re-read after `threads.ttl`).
    async fn shown_version(&self) -> Result<Option<String>, StoreError> {
        Ok(None)
    }
}
