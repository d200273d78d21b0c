//! Received mentions: receiving (and re-receiving), reading, querying,
//! moderating and removing them.
//!
//! Keys: the record `mentions/by-id/<id>.json` (see `mention_record.rs`),
//! the pair index `mentions/by-pair/<sha256(source, target)>.json` → id (the
//! one place that decides which id a source and target get), and one empty
//! entry per mention under `mentions/by-target/<sha256(target)>/` (what the
//! read API lists). Ids come from a counter object bumped by
//! compare-and-swap.
//!
//! Invariants: indexes, and the verification job (on the job queue), are
//! written before the record they point at, and every reader skips an index
//! entry whose record is missing or removed; a verification job that finds
//! no record yet tries once more a minute later. A pair entry whose record
//! is missing is given `objects::STALE_AFTER` for its writer to finish before it
//! counts as abandoned; only then does a re-sent webmention take a new id.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::S3Store;
use super::jobs;
use super::layout::parse_id;
use super::mention_record::MentionObject;
use super::millis;
use super::objects::{
    Record, Step, Versioned, contended, contention_pause, is_stale, max_attempts, write_id,
};
use crate::domain::job::NewJob;
use crate::domain::mention::{Mention, MentionId, Moderation, Transition};
use crate::storage::mentions::{MentionQuery, SortDirection, SortField, host_prefixes};
use crate::storage::{Settled, StoreError};
use object_store::path::Path;

/// `mentions/by-pair/…`: which id a source and target have.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairObject {
    pub id: i64,
    write_id: String,
}

impl PairObject {
    pub fn new(id: i64) -> Self {
        Self {
            id,
            write_id: String::new(),
        }
    }
}

impl Record for PairObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// `counters/…`: the next id to hand out.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counter {
    next: i64,
    write_id: String,
}

impl Record for Counter {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// Hands out the next id of a counter (1, 2, 3, …; never twice).
pub async fn allocate_id(store: &S3Store, counter: &Path) -> Result<i64, StoreError> {
    allocate_ids(store, counter, 1).await
}

/// Hands out `count` consecutive ids at once (one compare-and-swap) and
/// returns the first.
pub async fn allocate_ids(store: &S3Store, counter: &Path, count: i64) -> Result<i64, StoreError> {
    store
        .objects
        .modify::<Counter, _>(counter, |current| {
            let id = current.map_or(1, |c| c.next.max(1));
            Ok(Step::Write(
                Counter {
                    next: id + count.max(1),
                    write_id: String::new(),
                },
                id,
            ))
        })
        .await
}

pub async fn receive(
    store: &S3Store,
    source: &Url,
    target: &Url,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<MentionId, StoreError> {
    let pair_key = store.layout.pair(source, target);
    let mut fresh_id = None;
    for attempt in 0..max_attempts() {
        match store.objects.read::<PairObject>(&pair_key).await? {
            None => {
                let id = take_fresh_id(store, &mut fresh_id).await?;
                let mut pair = PairObject::new(id);
                if store.objects.create(&pair_key, &mut pair).await? {
                    let record = MentionObject::received(id, source, target, moderation, now);
                    write_new(store, target, record, Some(now)).await?;
                    return Ok(MentionId(id));
                }
            }
            Some(pair) => {
                let id = pair.value.id;
                let record = store
                    .objects
                    .read::<MentionObject>(&store.layout.mention(id))
                    .await?;
                let abandoned = match &record {
                    Some(record) if record.value.is_live() => {
                        if requeue(store, record, now).await? {
                            return Ok(MentionId(id));
                        }
                        false
                    }
                    Some(_removed) => true,
                    None => is_stale(pair.last_modified_ms, now),
                };
                if abandoned {
                    let id = take_fresh_id(store, &mut fresh_id).await?;
                    let mut next = PairObject::new(id);
                    if store.objects.replace(&pair_key, &mut next, &pair).await? {
                        let record = MentionObject::received(id, source, target, moderation, now);
                        write_new(store, target, record, Some(now)).await?;
                        return Ok(MentionId(id));
                    }
                }
            }
        }
        contention_pause(attempt).await;
    }
    Err(contended(&pair_key))
}

pub async fn take_fresh_id(store: &S3Store, fresh: &mut Option<i64>) -> Result<i64, StoreError> {
    if let Some(id) = *fresh {
        return Ok(id);
    }
    let id = allocate_id(store, &store.layout.mention_counter()).await?;
    *fresh = Some(id);
    Ok(id)
}

/// Writes a new record (its id just taken, its `by-pair` entry written):
/// its `by-target` entry and, with `verify_at`, its verification job first,
/// the record last.
pub async fn write_new(
    store: &S3Store,
    target: &Url,
    mut record: MentionObject,
    verify_at: Option<OffsetDateTime>,
) -> Result<(), StoreError> {
    let id = record.id;
    store
        .objects
        .touch(&store.layout.target_entry(target, id))
        .await?;
    if let Some(at) = verify_at {
        jobs::enqueue(store, &NewJob::verify_mention(MentionId(id), at), at).await?;
    }
    // Ids are handed out once, so nothing can be there yet.
    store
        .objects
        .create(&store.layout.mention(id), &mut record)
        .await
        .map(|_| ())
}

/// A re-sent webmention: verify it again (one queued verification per
/// mention, so a re-send while one waits merges into it), then mark the
/// record received again. `false` when the record changed meanwhile (the
/// caller starts over).
async fn requeue(
    store: &S3Store,
    record: &Versioned<MentionObject>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let id = MentionId(record.value.id);
    jobs::enqueue(store, &NewJob::verify_mention(id, now), now).await?;
    let mut next = record.value.clone();
    next.updated_at = millis(now);
    store
        .objects
        .replace(&store.layout.mention(id.0), &mut next, record)
        .await
}

/// Applies a verification attempt's outcome unless the record changed
/// since `seen` (one compare-and-swap).
pub async fn settle(
    store: &S3Store,
    id: MentionId,
    transition: &Transition,
    seen: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Settled, StoreError> {
    store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => match transition {
                    Transition::Keep(_) | Transition::Retry(_) => Step::Done(Settled::Settled),
                    _ if record.updated_at != millis(seen) => Step::Done(Settled::Changed),
                    _ => {
                        let mut next = record.clone();
                        next.apply(transition, now);
                        Step::Write(next, Settled::Settled)
                    }
                },
                _ => Step::Done(Settled::Gone),
            })
        })
        .await
}

pub async fn find(store: &S3Store, id: MentionId) -> Result<Option<Mention>, StoreError> {
    let record = store
        .objects
        .read::<MentionObject>(&store.layout.mention(id.0))
        .await?;
    match record {
        Some(record) if record.value.is_live() => Ok(Some(record.value.to_mention()?)),
        _ => Ok(None),
    }
}

pub async fn query(store: &S3Store, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
    let mut records = matching(store, query).await?;
    sort(&mut records, query.sort, query.direction);
    let skip = (query.page as usize).saturating_mul(query.per_page as usize);
    records
        .iter()
        .skip(skip)
        .take(query.per_page as usize)
        .map(MentionObject::to_mention)
        .collect()
}

pub async fn count(store: &S3Store, query: &MentionQuery) -> Result<u64, StoreError> {
    Ok(matching(store, query).await?.len() as u64)
}

/// The live mentions the query selects, unordered. Lists one directory per
/// target and reads the records it names; for every target, lists the
/// records' directory and reads only the records changed since this
/// process last read them (`record_cache.rs`).
async fn matching(store: &S3Store, query: &MentionQuery) -> Result<Vec<MentionObject>, StoreError> {
    let records = if query.targets.is_empty() {
        every_record(store).await?
    } else {
        let mut ids = BTreeSet::new();
        for target in &query.targets {
            for listed in store
                .objects
                .list(&store.layout.target_mentions(target))
                .await?
            {
                ids.extend(parse_id(&listed.name));
            }
        }
        let keys = ids.into_iter().map(|id| store.layout.mention(id)).collect();
        store.objects.read_many::<MentionObject>(keys).await?
    };
    let since = query.since.map(millis);
    Ok(records
        .into_iter()
        .filter(|m| m.is_live())
        .filter(|m| {
            query.targets.is_empty() || query.targets.iter().any(|t| t.as_str() == m.target)
        })
        .filter(|m| {
            query.domain.as_deref().is_none_or(|host| {
                host_prefixes(host)
                    .iter()
                    .any(|p| m.target.starts_with(p.as_str()))
            })
        })
        .filter(|m| {
            !query.visible_only || (m.verification == "verified" && m.moderation == "approved")
        })
        .filter(|m| {
            query.properties.is_empty()
                || m.data
                    .as_ref()
                    .is_some_and(|d| query.properties.iter().any(|p| p == d.property()))
        })
        .filter(|m| {
            query
                .moderation
                .is_none_or(|wanted| m.moderation == wanted.label())
        })
        .filter(|m| {
            query
                .verification
                .is_none_or(|wanted| m.verification == wanted.label())
        })
        .filter(|m| since.is_none_or(|since| m.received_at > since))
        .filter(|m| query.since_id.is_none_or(|since| m.id > since.0))
        .filter(|m| {
            query.search.as_deref().is_none_or(|text| {
                let text = text.to_ascii_lowercase();
                m.source.to_ascii_lowercase().contains(&text)
                    || m.target.to_ascii_lowercase().contains(&text)
            })
        })
        .collect())
}

/// Every mention record: the kept copies the listing confirms, and the
/// others read (and kept for next time).
async fn every_record(store: &S3Store) -> Result<Vec<MentionObject>, StoreError> {
    let listed = store.objects.list(&store.layout.mentions()).await?;
    let lookup = store.records.lookup(&listed);
    let sizes: std::collections::HashMap<i64, u64> = lookup.missing.iter().copied().collect();
    let keys = lookup
        .missing
        .iter()
        .map(|(id, _)| store.layout.mention(*id))
        .collect();
    let mut records = lookup.found;
    for read in store
        .objects
        .read_many_versioned::<MentionObject>(keys)
        .await?
    {
        let size = sizes.get(&read.value.id).copied().unwrap_or(u64::MAX);
        store.records.keep(read.e_tag(), size, &read.value);
        records.push(read.value);
    }
    Ok(records)
}

/// The SQLite backend's order: the field (a missing `published` as the
/// empty string, then the received time), then the id, all in the query's
/// direction.
fn sort(records: &mut [MentionObject], field: SortField, direction: SortDirection) {
    let published = |m: &MentionObject| {
        m.data
            .as_ref()
            .map(|d| d.published().to_owned())
            .unwrap_or_default()
    };
    records.sort_by(|a, b| {
        let by_field = match field {
            SortField::Received => a.received_at.cmp(&b.received_at),
            SortField::Updated => a.updated_at.cmp(&b.updated_at),
            SortField::Published => published(a)
                .cmp(&published(b))
                .then(a.received_at.cmp(&b.received_at)),
        };
        let order = by_field.then(a.id.cmp(&b.id));
        match direction {
            SortDirection::Ascending => order,
            SortDirection::Descending => order.reverse(),
        }
    });
}

pub async fn set_moderation(
    store: &S3Store,
    id: MentionId,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => {
                    let mut next = record.clone();
                    next.moderation = moderation.label().to_owned();
                    next.updated_at = millis(now);
                    Step::Write(next, true)
                }
                _ => Step::Done(false),
            })
        })
        .await
}

/// Turns the record into a tombstone (one compare-and-swap, so it cannot
/// race a settlement), then tidies its index entries away.
pub async fn remove(store: &S3Store, id: MentionId) -> Result<bool, StoreError> {
    let removed = store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => {
                    let mut tombstone = record.clone();
                    tombstone.removed = true;
                    tombstone.data = None;
                    Step::Write(tombstone, Some(record.clone()))
                }
                _ => Step::Done(None),
            })
        })
        .await?;
    let Some(record) = removed else {
        return Ok(false);
    };
    if let Ok(target) = Url::parse(&record.target) {
        store
            .objects
            .delete(&store.layout.target_entry(&target, id.0))
            .await?;
    }
    Ok(true)
}
