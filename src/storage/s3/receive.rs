//! Receiving a mention (and importing one): which id a source and target
//! get, and writing a new mention so that no provider can lose it.
//!
//! Keys: the record `mentions/by-id/<id>.json`, the pair index
//! `mentions/by-pair/<sha256(source, target)>.json` → id (which gives a
//! re-sent webmention its id), one entry per mention under
//! `mentions/by-target/<sha256(target)>/`, and its verification job.
//!
//! A new mention is written target entry → record → pair → verification
//! job, all before the sender hears 201. The id is new (`ids.rs`) and is
//! the mention's only once its record was created with `If-None-Match`
//! *and* read back as ours; otherwise another id is taken. Only then is the
//! pair index pointed at it, and read back. Two receivers of the same pair
//! racing each write a record; the one whose pair write does not stand
//! turns its record into a tombstone and answers with the other's id, so
//! only the one that stands queues a verification. A crash before the job
//! leaves a pending record that a re-send (the sender heard no 201) queues.
//!
//! Invariants: a new record's key is an id its writer made and no other
//! writer in this process can make, so on a provider without atomic
//! conditional writes the worst a same-pair race does is leave two live
//! records for one pair (both verified: a duplicate verification);
//! `mentions::settle` and `mentions::query` keep only the one the pair
//! index names. The one residual risk there: two processes making the same
//! id in the same millisecond, where the other's create lands after this
//! one's read-back (`docs/s3-layout.md`, "Mention ids"). A re-send
//! updates the record first and queues its verification after, so that
//! verification always reads the re-sent record.

use time::OffsetDateTime;
use url::Url;

use super::S3Store;
use super::jobs;
use super::mention_record::MentionObject;
use super::millis;
use super::objects::{
    Record, Versioned, contended, contention_pause, is_stale, max_attempts, write_id,
};
use crate::domain::job::NewJob;
use crate::domain::mention::{MentionId, Moderation};
use crate::storage::StoreError;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

/// `mentions/by-pair/…`: which id a source and target have.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PairObject {
    pub id: i64,
    write_id: String,
}

impl Record for PairObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// What the pair index says about a source and target.
pub enum Pair {
    /// A live mention has them.
    Live(Box<Versioned<MentionObject>>),
    /// No live mention: a new one may take the pair (replacing `current`,
    /// if any).
    Free(Option<Versioned<PairObject>>),
    /// Written by a receiver (of an earlier version, which wrote the pair
    /// before the record) that has not written its record yet.
    InFlight,
}

pub async fn look(
    store: &S3Store,
    source: &Url,
    target: &Url,
    now: OffsetDateTime,
) -> Result<Pair, StoreError> {
    let key = store.layout.pair(source, target);
    let Some(pair) = store.objects.read::<PairObject>(&key).await? else {
        return Ok(Pair::Free(None));
    };
    let record = store
        .objects
        .read::<MentionObject>(&store.layout.mention(pair.value.id))
        .await?;
    let belongs = |r: &MentionObject| r.source == source.as_str() && r.target == target.as_str();
    Ok(match record {
        Some(record) if belongs(&record.value) && record.value.is_live() => {
            Pair::Live(Box::new(record))
        }
        Some(record) if belongs(&record.value) => Pair::Free(Some(pair)),
        // Missing, or another mention's: the pair's writer had the id
        // taken from under it and has not pointed the pair elsewhere yet.
        _ if is_stale(pair.last_modified_ms, now) => Pair::Free(Some(pair)),
        _ => Pair::InFlight,
    })
}

pub async fn receive(
    store: &S3Store,
    source: &Url,
    target: &Url,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<MentionId, StoreError> {
    let make = |id| MentionObject::received(id, source, target, moderation, now);
    for attempt in 0..max_attempts() {
        match look(store, source, target, now).await? {
            Pair::Live(record) => {
                if requeue(store, &record, now).await? {
                    return Ok(MentionId(record.value.id));
                }
            }
            Pair::InFlight => {}
            Pair::Free(pair) => {
                let id = write_record(store, target, make, now).await?;
                if take_pair(store, source, target, pair.as_ref(), id).await? {
                    verify(store, id, now, now).await?;
                    return Ok(MentionId(id));
                }
                // Another receiver of the same webmention got the pair: its
                // mention stands for ours, which goes (the next look finds
                // its record, written before its pair).
                drop_duplicate(store, target, id).await?;
            }
        }
        contention_pause(attempt).await;
    }
    Err(contended(&store.layout.pair(source, target)))
}

/// Queues the verification of mention `id`, due at `at`.
pub async fn verify(
    store: &S3Store,
    id: i64,
    at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    jobs::enqueue(store, &NewJob::verify_mention(MentionId(id), at), now)
        .await
        .map(|_| ())
}

/// Writes a new mention's record under an id no one else holds, its
/// target entry first; returns the id. `make` builds the record for a
/// given id.
pub async fn write_record(
    store: &S3Store,
    target: &Url,
    make: impl Fn(i64) -> MentionObject,
    now: OffsetDateTime,
) -> Result<i64, StoreError> {
    for _ in 0..max_attempts() {
        let id = store.ids.next(now);
        store
            .objects
            .touch(&store.layout.target_entry(target, id))
            .await?;
        let key = store.layout.mention(id);
        let mut record = make(id);
        if store.objects.create(&key, &mut record).await? && owns(store, &key, &record).await? {
            return Ok(id);
        }
        // Another process made the same id at the same millisecond. The
        // target entry above either is that mention's own or names a
        // record of another target, which readers skip.
        tracing::warn!(
            id,
            "a new mention id was taken by another writer; taking another"
        );
    }
    Err(contended(&store.layout.mentions()))
}

/// Whether the record at `key` is the one this writer just wrote (a
/// provider that does not decide conditional writes atomically may have let
/// another writer's body land over or after it).
async fn owns(store: &S3Store, key: &Path, written: &MentionObject) -> Result<bool, StoreError> {
    let found = store.objects.read::<MentionObject>(key).await?;
    Ok(found.is_some_and(|f| f.value.write_id == written.write_id))
}

/// Points the pair at `id` (create, or replace `current`), then reads it
/// back; `false` when another writer's pair stands.
pub async fn take_pair(
    store: &S3Store,
    source: &Url,
    target: &Url,
    current: Option<&Versioned<PairObject>>,
    id: i64,
) -> Result<bool, StoreError> {
    let key = store.layout.pair(source, target);
    let mut pair = PairObject {
        id,
        write_id: String::new(),
    };
    if !store.objects.write(&key, &mut pair, current).await? {
        return Ok(false);
    }
    let found = store.objects.read::<PairObject>(&key).await?;
    Ok(found.is_some_and(|f| f.value.write_id == pair.write_id))
}

/// Turns a mention this receiver just wrote, and that lost its pair, into
/// a tombstone, and removes its target entry (its queued verification finds
/// the tombstone and ends).
pub async fn drop_duplicate(store: &S3Store, target: &Url, id: i64) -> Result<(), StoreError> {
    super::mentions::tombstone(store, MentionId(id)).await?;
    store
        .objects
        .delete(&store.layout.target_entry(target, id))
        .await
}

/// A re-sent webmention: mark the record received again, then verify it
/// again (one queued verification per mention, so a re-send while one
/// waits merges into it). `false` when the record changed meanwhile (the
/// caller starts over).
async fn requeue(
    store: &S3Store,
    record: &Versioned<MentionObject>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let id = MentionId(record.value.id);
    let mut next = record.value.clone();
    next.updated_at = millis(now);
    if !store
        .objects
        .replace(&store.layout.mention(id.0), &mut next, record)
        .await?
    {
        return Ok(false);
    }
    jobs::enqueue(store, &NewJob::verify_mention(id, now), now).await?;
    Ok(true)
}
