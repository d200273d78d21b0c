//! Followers (see `storage::followers`): one object per follower,
//! `.backfeed/followers/<sha-256 of the actor id>.json`; the list is one
//! listing of that directory (a blog's followers, not the whole bucket).

use serde::{Deserialize, Serialize};

use super::objects::{Record, write_id};
use super::{S3Store, millis};
use crate::storage::rows::from_millis;
use crate::storage::{Follower, PublishedPost, StoreError};

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

/// A published post: `.backfeed/published/<sha-256 of its URL>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PublishedObject {
    url: String,
    object: Option<String>,
    published_at: i64,
    updated_at: i64,
    write_id: String,
}

impl Record for PublishedObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl PublishedObject {
    fn into_post(self) -> Result<PublishedPost, StoreError> {
        let time = |at: i64| {
            from_millis(at).ok_or_else(|| {
                StoreError::Corrupt(format!("published post {}: bad time", self.url))
            })
        };
        Ok(PublishedPost {
            published_at: time(self.published_at)?,
            updated_at: time(self.updated_at)?,
            url: self.url,
            object: self.object,
        })
    }
}

pub async fn save_published(store: &S3Store, p: &PublishedPost) -> Result<(), StoreError> {
    let key = store.layout.published(&p.url);
    let existing = store.objects.read::<PublishedObject>(&key).await?;
    let mut object = PublishedObject {
        url: p.url.clone(),
        object: p.object.clone(),
        published_at: existing
            .as_ref()
            .map_or(millis(p.published_at), |e| e.value.published_at),
        updated_at: millis(p.updated_at),
        write_id: String::new(),
    };
    store.objects.overwrite(&key, &mut object).await
}

pub async fn find_published(
    store: &S3Store,
    url: &str,
) -> Result<Option<PublishedPost>, StoreError> {
    store
        .objects
        .read::<PublishedObject>(&store.layout.published(url))
        .await?
        .map(|found| found.value.into_post())
        .transpose()
}

pub async fn list_published(store: &S3Store) -> Result<Vec<PublishedPost>, StoreError> {
    let keys = store
        .objects
        .list(&store.layout.published_all())
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect();
    let mut posts = store
        .objects
        .read_many::<PublishedObject>(keys)
        .await?
        .into_iter()
        .map(PublishedObject::into_post)
        .collect::<Result<Vec<_>, _>>()?;
    posts.sort_by(|a, b| {
        b.published_at
            .cmp(&a.published_at)
            .then_with(|| a.url.cmp(&b.url))
    });
    Ok(posts)
}
