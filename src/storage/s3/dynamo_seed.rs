//! The seed layout's post objects on DynamoDB: one item per announced post.
//!
//! The S3 key `<prefix>.mastodon-meta/<url path without its leading
//! slash>` becomes `pk = "<prefix>.mastodon-meta/"` (one partition for
//! every post, listed in path order) and `sk = "/<url path without its
//! leading slash>"` (a sort key must not be empty, and the blog's root
//! post has an empty path); the toot id is attribute `t`, as the seed keeps
//! it in metadata `toot-id`.
//!
//! Invariant: as on S3, an item here means "announced": it is only ever
//! created (`attribute_not_exists`), never changed.

use std::sync::Arc;

use super::seed::{Created, SeedPost};
use crate::domain::TootId;
use crate::storage::StoreError;
use crate::storage::dynamodb::items::{Condition, Fields, Items, Range};
use crate::storage::rows::from_millis;

pub struct DynamoSeed {
    items: Arc<Items>,
    /// `<prefix>.mastodon-meta/`: the partition of every post item.
    prefix: String,
}

impl DynamoSeed {
    pub fn new(items: Arc<Items>, prefix: String) -> Self {
        Self { items, prefix }
    }

    fn sort_key(&self, key: &str) -> Result<String, StoreError> {
        key.strip_prefix(&self.prefix)
            .map(|path| format!("/{path}"))
            .ok_or_else(|| StoreError::Corrupt(format!("`{key}` is not a post key")))
    }

    pub async fn find(&self, key: &str) -> Result<Option<SeedPost>, StoreError> {
        let Some(item) = self.items.get(&self.prefix, &self.sort_key(key)?).await? else {
            return Ok(None);
        };
        let toot = item
            .toot
            .as_deref()
            .and_then(|t| TootId::new(t.trim()))
            .ok_or_else(|| {
                StoreError::Corrupt(format!("DynamoDB post item {key} has no toot id"))
            })?;
        Ok(Some(SeedPost {
            toot,
            last_modified: from_millis(item.modified_ms),
        }))
    }

    pub async fn create(&self, key: &str, toot: &TootId) -> Result<Created, StoreError> {
        let fields = Fields {
            toot: Some(toot.as_str()),
            ..Fields::default()
        };
        let written = self
            .items
            .put(
                &self.prefix,
                &self.sort_key(key)?,
                fields,
                Condition::Absent,
            )
            .await?;
        Ok(if written {
            Created::Written
        } else {
            Created::Exists
        })
    }

    /// Every post key, in path order (`prefix` is always this store's).
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let items = self.items.query(&self.prefix, Range::default()).await?;
        Ok(items
            .into_iter()
            .map(|item| format!("{prefix}{}", item.sk.strip_prefix('/').unwrap_or(&item.sk)))
            .collect())
    }
}
