//! The blog actor's followers (ActivityPub): who follows, and where their
//! server takes deliveries.
//!
//! Invariant: one record per follower actor id; following again only
//! refreshes the inboxes (the first follow's time stays), so a re-sent
//! `Follow` is harmless.

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    /// The follower's actor id.
    pub actor: String,
    /// Its personal inbox (where the `Accept` goes).
    pub inbox: String,
    /// Its server's shared inbox, when it has one (where posts go).
    pub shared_inbox: Option<String>,
    pub followed_at: OffsetDateTime,
}

impl Follower {
    /// Where posts are delivered: the shared inbox, else the personal one.
    pub fn delivery_inbox(&self) -> &str {
        self.shared_inbox.as_deref().unwrap_or(&self.inbox)
    }
}

#[async_trait]
pub trait FollowerStore: Send + Sync {
    /// Stores a follower; `true` when it was not following before.
    async fn add_follower(&self, follower: &Follower) -> Result<bool, StoreError>;

    /// Removes a follower; `false` when it was not following.
    async fn remove_follower(&self, actor: &str) -> Result<bool, StoreError>;

    async fn find_follower(&self, actor: &str) -> Result<Option<Follower>, StoreError>;

    /// Every follower, newest first.
    async fn list_followers(&self) -> Result<Vec<Follower>, StoreError>;
}
