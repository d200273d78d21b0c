//! The object operations of `objects.rs` on DynamoDB items: how an object
//! key becomes an item's key.
//!
//! An object `a/b/c` is the item `pk = "a/b"`, `sk = "c"`: its directory
//! and its name. Every listing the record logic makes is of one directory
//! whose objects sit directly in it (`layout.rs`), so a listing is a query
//! of one partition, in name order as S3 lists; the one exception, the
//! operator's list of everything sent (`list_tree`), is a Scan. An object's ETag is the
//! item's version `v`, written afresh on every write.
//!
//! Invariant: an item under the cached threads' directory carries a time
//! to live; nothing else expires.

use object_store::path::Path;
use object_store::{PutMode, UpdateVersion};

use super::objects::Listed;
use crate::storage::StoreError;
use crate::storage::dynamodb::THREAD_TTL_SECS;
use crate::storage::dynamodb::items::{Condition, Fields, Item, Items, Range};

/// The item key of an object: its directory and its name.
fn split(key: &Path) -> (&str, &str) {
    key.as_ref().rsplit_once('/').unwrap_or((".", key.as_ref()))
}

pub async fn read(items: &Items, key: &Path) -> Result<Option<Item>, StoreError> {
    let (pk, sk) = split(key);
    items.get(pk, sk).await
}

pub async fn put(
    items: &Items,
    key: &Path,
    body: &[u8],
    mode: &PutMode,
) -> Result<bool, StoreError> {
    let (pk, sk) = split(key);
    let body = std::str::from_utf8(body)
        .map_err(|e| StoreError::Corrupt(format!("record {key} is not UTF-8: {e}")))?;
    let condition = match mode {
        PutMode::Overwrite => Condition::None,
        PutMode::Create => Condition::Absent,
        PutMode::Update(UpdateVersion { e_tag, .. }) => {
            Condition::Version(e_tag.as_deref().unwrap_or_default())
        }
    };
    let fields = Fields {
        body: Some(body).filter(|b| !b.is_empty()),
        toot: None,
        expires: pk
            .ends_with(".backfeed/threads")
            .then(|| time::OffsetDateTime::now_utc().unix_timestamp() + THREAD_TTL_SECS),
    };
    items.put(pk, sk, fields, condition).await
}

pub async fn delete(items: &Items, key: &Path) -> Result<(), StoreError> {
    let (pk, sk) = split(key);
    items.delete(pk, sk).await
}

/// The objects directly in `dir` within `range`, in name order.
pub async fn list(items: &Items, dir: &Path, range: Range<'_>) -> Result<Vec<Listed>, StoreError> {
    let found = items.query(dir.as_ref(), range).await?;
    found
        .into_iter()
        .map(|item| listed(dir.as_ref(), item))
        .collect()
}

/// Every object under `dir`, at any depth, in key order (a Scan of the
/// whole table: see `Items::scan_under`).
pub async fn list_tree(items: &Items, dir: &Path) -> Result<Vec<Listed>, StoreError> {
    let found = items.scan_under(dir.as_ref()).await?;
    let mut listed = found
        .into_iter()
        .map(|(pk, item)| listed(&pk, item))
        .collect::<Result<Vec<_>, StoreError>>()?;
    listed.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(listed)
}

/// The item `sk` of partition `pk` as the object `pk/sk` a listing names.
fn listed(pk: &str, item: Item) -> Result<Listed, StoreError> {
    let location = Path::parse(format!("{pk}/{}", item.sk))
        .map_err(|e| StoreError::Corrupt(format!("DynamoDB item {pk}/{}: {e}", item.sk)))?;
    Ok(Listed {
        location,
        size: item.body.as_ref().map_or(0, |b| b.len() as u64),
        last_modified_ms: item.modified_ms,
        e_tag: Some(item.version),
        name: item.sk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_key_is_its_directory_and_its_name() {
        let key = Path::parse("p/.backfeed/queue/due/000000000000042-abc").unwrap();
        assert_eq!(
            split(&key),
            ("p/.backfeed/queue/due", "000000000000042-abc")
        );
    }
}
