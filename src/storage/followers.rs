//! The blog actor's followers (ActivityPub): who follows, and where their
//! server takes deliveries; and the posts it published, as served at their
//! ids and in the outbox.
//!
//! Invariant: one record per follower actor id; following again only
//! refreshes the inboxes (the first follow's time stays), so a re-sent
//! `Follow` is harmless. One record per published post URL; publishing it
//! again replaces the object and keeps the first publication's time.

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

/// A post the actor published: its ActivityStreams object as sent, or
/// nothing once it was deleted (then its id answers with a `Tombstone`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedPost {
    /// The post's page URL.
    pub url: String,
    /// The object's JSON; `None` when the post is gone.
    pub object: Option<String>,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
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

    /// Records a post's object (or its deletion); a post published before
    /// keeps its `published_at`.
    async fn save_published(&self, post: &PublishedPost) -> Result<(), StoreError>;

    async fn find_published(&self, url: &str) -> Result<Option<PublishedPost>, StoreError>;

    /// Every published post (deleted ones too), newest publication first.
    async fn list_published(&self) -> Result<Vec<PublishedPost>, StoreError>;
}
