//! Followers (see `storage::followers`): one object per follower,
//! `.backfeed/followers/<sha-256 of the actor id>.json`; the list is one
//! listing of that directory (a blog's followers, not the whole bucket).

use serde::{Deserialize, Serialize};

use super::objects::{Record, write_id};
use super::{S3Store, millis};
use crate::storage::rows::from_millis;
use crate::storage::{Follower, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FollowerObject {
    actor: String,
    inbox: String,
    shared_inbox: Option<String>,
    followed_at: i64,
    write_id: String,
}

impl Record for FollowerObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl FollowerObject {
    fn into_follower(self) -> Result<Follower, StoreError> {
        Ok(Follower {
            followed_at: from_millis(self.followed_at)
                .ok_or_else(|| StoreError::Corrupt(format!("follower {}: bad time", self.actor)))?,
            actor: self.actor,
            inbox: self.inbox,
            shared_inbox: self.shared_inbox,
        })
    }
}

pub async fn add(store: &S3Store, f: &Follower) -> Result<bool, StoreError> {
    let key = store.layout.follower(&f.actor);
    let existing = store.objects.read::<FollowerObject>(&key).await?;
    let followed_at = existing
        .as_ref()
        .map_or(millis(f.followed_at), |e| e.value.followed_at);
    let mut object = FollowerObject {
        actor: f.actor.clone(),
        inbox: f.inbox.clone(),
        shared_inbox: f.shared_inbox.clone(),
        followed_at,
        write_id: String::new(),
    };
    store.objects.overwrite(&key, &mut object).await?;
    Ok(existing.is_none())
}

pub async fn remove(store: &S3Store, actor: &str) -> Result<bool, StoreError> {
    let key = store.layout.follower(actor);
    if !store.objects.exists(&key).await? {
        return Ok(false);
    }
    store.objects.delete(&key).await?;
    Ok(true)
}

pub async fn find(store: &S3Store, actor: &str) -> Result<Option<Follower>, StoreError> {
    let key = store.layout.follower(actor);
    store
        .objects
        .read::<FollowerObject>(&key)
        .await?
        .map(|found| found.value.into_follower())
        .transpose()
}

pub async fn list(store: &S3Store) -> Result<Vec<Follower>, StoreError> {
    let keys = store
        .objects
        .list(&store.layout.followers())
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect();
    let mut followers = store
        .objects
        .read_many::<FollowerObject>(keys)
        .await?
        .into_iter()
        .map(FollowerObject::into_follower)
        .collect::<Result<Vec<_>, _>>()?;
    followers.sort_by(|a, b| {
        b.followed_at
            .cmp(&a.followed_at)
            .then_with(|| a.actor.cmp(&b.actor))
    });
    Ok(followers)
}
