//! What the operator does with followers: list them and remove one
//! (`backfeed followers list|remove`, `/admin/followers`).
//!
//! Removing a follower also tells its server, with a signed `Reject` of its
//! follow (queued like every delivery), so the account stops showing as
//! following the blog there.

use serde_json::json;

use super::Federation;
use super::documents::AS_CONTEXT;
use crate::storage::{Follower, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FollowersError {
    #[error("ActivityPub is off: set BACKFEED_ACTIVITYPUB=true to turn it on")]
    Off,
    #[error("{0} does not follow the blog")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Federation {
    pub async fn followers(&self) -> Result<Vec<Follower>, FollowersError> {
        Ok(self.store.list_followers().await?)
    }

    /// Removes `actor` and queues a `Reject` of its follow for its inbox.
    pub async fn remove(&self, actor: &str) -> Result<Follower, FollowersError> {
        let follower = self
            .store
            .find_follower(actor)
            .await?
            .ok_or_else(|| FollowersError::NotFound(actor.to_owned()))?;
        self.store.remove_follower(actor).await?;
        let reject = json!({
            "@context": AS_CONTEXT,
            "id": self.urls.new_activity(),
            "type": "Reject",
            "actor": self.urls.actor(),
            "object": {"type": "Follow", "actor": actor, "object": self.urls.actor()},
        });
        self.queue_delivery(&follower.inbox, &reject, None).await?;
        Ok(follower)
    }
}
