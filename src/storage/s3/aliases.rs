//! Mention aliases (see `storage::aliases`): one object per alias,
//! `.backfeed/mentions/aliases/<sha256(alias)>.json`, created only if absent.

use serde::{Deserialize, Serialize};

use super::S3Store;
use super::objects::{Record, write_id};
use crate::domain::mention::MentionId;
use crate::storage::aliases::outcome;
use crate::storage::{Imported, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AliasObject {
    alias: String,
    mention_id: i64,
    #[serde(default)]
    write_id: String,
}

impl Record for AliasObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn alias_mention(
    store: &S3Store,
    alias: &str,
    id: MentionId,
) -> Result<Imported, StoreError> {
    let key = store.layout.mention_alias(alias);
    let mut record = AliasObject {
        alias: alias.to_owned(),
        mention_id: id.0,
        write_id: String::new(),
    };
    if store.objects.create(&key, &mut record).await? {
        return Ok(Imported::Copied);
    }
    Ok(outcome(find(store, alias).await?, id))
}

pub async fn find(store: &S3Store, alias: &str) -> Result<Option<MentionId>, StoreError> {
    let key = store.layout.mention_alias(alias);
    Ok(store
        .objects
        .read::<AliasObject>(&key)
        .await?
        .filter(|r| r.value.alias == alias)
        .map(|r| MentionId(r.value.mention_id)))
}
