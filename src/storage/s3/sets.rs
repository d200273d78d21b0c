//! Sets of names, one empty-ish object per member: blocked domains
//! (`.backfeed/blocked/<domain>`), hidden replies
//! (`.backfeed/hidden/replies/<status id>`) and hidden accounts
//! (`.backfeed/hidden/accounts/<acct>`). Reading a set lists its directory.
//!
//! Invariant: adding is idempotent (`If-None-Match`, so the first
//! `created_at` stays). Removing is a look then a delete, not atomic: two
//! operators removing the same member at once may both hear "it was there",
//! which changes nothing but the answer. The empty name cannot be a key, so
//! it is never a member.

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::layout::decode_member;
use super::objects::{Record, write_id};
use super::{S3Store, millis};
use crate::storage::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct MemberObject {
    created_at: i64,
    write_id: String,
}

impl Record for MemberObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn add(
    store: &S3Store,
    set: &Path,
    name: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if name.is_empty() {
        return Ok(());
    }
    let mut member = MemberObject {
        created_at: millis(now),
        write_id: String::new(),
    };
    store
        .objects
        .create(&store.layout.member(set, name), &mut member)
        .await
        .map(|_| ())
}

/// `false` when it was not a member.
pub async fn remove(store: &S3Store, set: &Path, name: &str) -> Result<bool, StoreError> {
    if name.is_empty() {
        return Ok(false);
    }
    let key = store.layout.member(set, name);
    if !store.objects.exists(&key).await? {
        return Ok(false);
    }
    store.objects.delete(&key).await?;
    Ok(true)
}

/// Every member, sorted.
pub async fn members(store: &S3Store, set: &Path) -> Result<Vec<String>, StoreError> {
    let mut names: Vec<String> = store
        .objects
        .list(set)
        .await?
        .iter()
        .map(|listed| decode_member(&listed.name))
        .collect();
    names.sort();
    Ok(names)
}
