//! Due-time queues as directories of empty entries:
//! `.backfeed/jobs/<queue>/<due millis>-<id>[-<job number>]`.
//!
//! An entry is only an index: the record it names (a mention, a delivery)
//! holds the truth, including the due time the entry must match. Writers
//! create the new entry *before* the record change that needs it and
//! delete the old entry *after*, so a due job always has an entry; an entry
//! whose record does not match is stale and is ignored.
//!
//! Invariant: a stale entry is deleted only once it is older than
//! [`STALE_AFTER`], so an entry that a writer has just created for a record
//! change still in flight is never taken for stale.

use object_store::path::Path;
use time::OffsetDateTime;

use super::layout::parse_queue_name;
use super::millis;
use super::objects::Objects;
use crate::storage::StoreError;

/// Far longer than any writer takes between creating an entry and changing
/// the record it serves.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct Entry {
    pub key: Path,
    pub due_at: i64,
    pub id: i64,
    /// The record's job number (verification entries; 0 for deliveries).
    pub seq: u64,
    last_modified_ms: i64,
}

/// Every entry of the queue, in due order (ids break ties).
pub async fn entries(objects: &Objects, queue: &Path) -> Result<Vec<Entry>, StoreError> {
    let mut entries: Vec<Entry> = objects
        .list(queue)
        .await?
        .into_iter()
        .filter_map(|listed| {
            let (due_at, id, seq) = parse_queue_name(&listed.name)?;
            Some(Entry {
                key: listed.location,
                due_at,
                id,
                seq,
                last_modified_ms: listed.last_modified_ms,
            })
        })
        .collect();
    entries.sort_by_key(|e| (e.due_at, e.id));
    Ok(entries)
}

/// The entries due at `now`.
pub async fn due(
    objects: &Objects,
    queue: &Path,
    now: OffsetDateTime,
) -> Result<Vec<Entry>, StoreError> {
    let now = millis(now);
    let mut all = entries(objects, queue).await?;
    all.retain(|e| e.due_at <= now);
    Ok(all)
}

/// Deletes an entry found stale, once it is old enough (see [`STALE_AFTER`]).
pub async fn discard_stale(objects: &Objects, entry: &Entry) -> Result<(), StoreError> {
    let age_ms = millis(OffsetDateTime::now_utc()) - entry.last_modified_ms;
    if age_ms > i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX) {
        objects.delete(&entry.key).await?;
    }
    Ok(())
}
