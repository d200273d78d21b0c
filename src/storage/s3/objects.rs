//! JSON records in S3 objects, and compare-and-swap on them.
//!
//! Every record this backend keeps (except the seed's post objects, see
//! `seed.rs`) is one small JSON object. Changing one means: read it with its
//! ETag, compute the next value, write it back with `If-Match: <etag>`
//! (`PutMode::Update`) or, for a new one, `If-None-Match: *`
//! (`PutMode::Create`); a refused write means someone else got there first,
//! so read again and decide again ([`Objects::modify`], bounded).
//!
//! Invariant: every write of a record changes its body ([`Record::restamp`]
//! sets a fresh `write_id`), because an S3 ETag is the MD5 of the body: were
//! an old body written again, a stale compare-and-swap would succeed.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Error as OsError, GetOptions, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload,
    UpdateVersion,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::dynamo_objects;
use crate::storage::StoreError;
use crate::storage::dynamodb::items::{Items, Range};

/// Far longer than any writer takes between creating an index entry and
/// writing the record it serves: an entry (or pair object) whose record is
/// still missing or different after this is left over from a crash.
pub const STALE_AFTER: Duration = Duration::from_secs(60);

/// Whether an object last written at `last_modified_ms` (the provider's
/// clock) is older than [`STALE_AFTER`] at `now`.
pub fn is_stale(last_modified_ms: i64, now: time::OffsetDateTime) -> bool {
    let age = super::millis(now) - last_modified_ms;
    age > i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX)
}

/// How often a compare-and-swap is retried before the operation gives up
/// with `Unavailable` (the caller may retry it later).
const MAX_ATTEMPTS: u32 = 60;

/// A JSON record kept in one object.
pub trait Record: Serialize + DeserializeOwned + Clone + Send + Sync {
    /// Gives the record a fresh write id, so its next body (and ETag) is new.
    fn restamp(&mut self);
}

/// A fresh, unique write id.
pub fn write_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A record as read, with what a compare-and-swap needs.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    version: UpdateVersion,
    /// When the object was last written, by the provider's clock.
    pub last_modified_ms: i64,
}

impl<T> Versioned<T> {
    #[cfg(test)]
    pub fn for_tests(value: T) -> Self {
        Self {
            value,
            version: UpdateVersion {
                e_tag: None,
                version: None,
            },
            last_modified_ms: 0,
        }
    }

    /// The ETag this version was read with.
    pub fn e_tag(&self) -> Option<&str> {
        self.version.e_tag.as_deref()
    }
}

/// What a [`Objects::modify`] step decided.
pub enum Step<T, R> {
    /// Write this value (create it when there was none) and return `R`.
    Write(T, R),
    /// Leave the object as it is and return `R`.
    Done(R),
}

/// One listed object.
#[derive(Debug, Clone)]
pub struct Listed {
    pub location: Path,
    /// The last part of the key, as stored (percent-encoded).
    pub name: String,
    pub last_modified_ms: i64,
    /// The object's ETag as listed: equal to the one a read gives for the
    /// same version, so a copy read earlier can be checked without a read.
    pub e_tag: Option<String>,
    pub size: u64,
}

pub struct Objects {
    backend: Backend,
    /// `false` when the provider refuses conditional-write headers outright:
    /// every write is then a plain overwrite (and start-up said so).
    conditional: bool,
}

/// Where the objects live: an S3 bucket, or items of a DynamoDB table
/// (`dynamo_objects.rs`).
enum Backend {
    S3(AmazonS3),
    Dynamo(Arc<Items>),
}

impl Objects {
    pub fn new(store: AmazonS3, conditional: bool) -> Self {
        Self {
            backend: Backend::S3(store),
            conditional,
        }
    }

    /// Objects as items of a DynamoDB table, whose writes are always
    /// conditional.
    pub fn on_dynamodb(items: Arc<Items>) -> Self {
        Self {
            backend: Backend::Dynamo(items),
            conditional: true,
        }
    }

    pub fn dynamodb_usage(&self) -> Option<crate::storage::dynamodb::client::UsageSnapshot> {
        self.s3().err().map(|items| items.client().usage())
    }

    pub fn is_s3(&self) -> bool {
        self.s3().is_ok()
    }

    fn s3(&self) -> Result<&AmazonS3, &Items> {
        match &self.backend {
            Backend::S3(store) => Ok(store),
            Backend::Dynamo(items) => Err(items),
        }
    }

    pub async fn read<T: Record>(&self, key: &Path) -> Result<Option<Versioned<T>>, StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => {
                let Some(item) = dynamo_objects::read(items, key).await? else {
                    return Ok(None);
                };
                let value = serde_json::from_str(item.body.as_deref().unwrap_or_default())
                    .map_err(|e| StoreError::Corrupt(format!("DynamoDB item {key}: {e}")))?;
                return Ok(Some(Versioned {
                    value,
                    version: UpdateVersion {
                        e_tag: Some(item.version),
                        version: None,
                    },
                    last_modified_ms: item.modified_ms,
                }));
            }
        };
        let result = match store.get_opts(key, GetOptions::default()).await {
            Ok(result) => result,
            Err(OsError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable("read", key, e)),
        };
        let version = UpdateVersion {
            e_tag: result.meta.e_tag.clone(),
            version: result.meta.version.clone(),
        };
        let last_modified_ms = result.meta.last_modified.timestamp_millis();
        let body = match result.bytes().await {
            Ok(body) => body,
            // Deleted between the answer's headers and its body.
            Err(OsError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable("read", key, e)),
        };
        let value = serde_json::from_slice(&body)
            .map_err(|e| StoreError::Corrupt(format!("S3 object {key}: {e}")))?;
        Ok(Some(Versioned {
            value,
            version,
            last_modified_ms,
        }))
    }

    /// Writes `value` as a new object; `false` when one already exists.
    pub async fn create<T: Record>(&self, key: &Path, value: &mut T) -> Result<bool, StoreError> {
        value.restamp();
        self.put(key, json(key, value)?, PutMode::Create).await
    }

    /// Writes `value` over `current`; `false` when the object changed (or
    /// vanished) since `current` was read.
    pub async fn replace<T: Record>(
        &self,
        key: &Path,
        value: &mut T,
        current: &Versioned<T>,
    ) -> Result<bool, StoreError> {
        value.restamp();
        let mode = PutMode::Update(current.version.clone());
        self.put(key, json(key, value)?, mode).await
    }

    /// Creates (`current` is `None`) or replaces the object.
    pub async fn write<T: Record>(
        &self,
        key: &Path,
        value: &mut T,
        current: Option<&Versioned<T>>,
    ) -> Result<bool, StoreError> {
        match current {
            None => self.create(key, value).await,
            Some(current) => self.replace(key, value, current).await,
        }
    }

    /// Writes `value` whatever is there (for caches and sets, where the last
    /// write may win).
    pub async fn overwrite<T: Record>(&self, key: &Path, value: &mut T) -> Result<(), StoreError> {
        value.restamp();
        self.put(key, json(key, value)?, PutMode::Overwrite)
            .await
            .map(|_| ())
    }

    /// Writes an empty object unless one exists (index entries).
    pub async fn touch(&self, key: &Path) -> Result<(), StoreError> {
        self.put(key, Bytes::new(), PutMode::Create)
            .await
            .map(|_| ())
    }

    async fn put(&self, key: &Path, body: Bytes, mode: PutMode) -> Result<bool, StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => return dynamo_objects::put(items, key, &body, &mode).await,
        };
        let options = PutOptions {
            mode: if self.conditional {
                mode
            } else {
                PutMode::Overwrite
            },
            ..PutOptions::default()
        };
        match store
            .put_opts(key, PutPayload::from_bytes(body), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(
                OsError::AlreadyExists { .. }
                | OsError::Precondition { .. }
                | OsError::NotFound { .. },
            ) => Ok(false),
            Err(e) => Err(unavailable("write", key, e)),
        }
    }

    pub async fn exists(&self, key: &Path) -> Result<bool, StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => return Ok(dynamo_objects::read(items, key).await?.is_some()),
        };
        match store.head(key).await {
            Ok(_) => Ok(true),
            Err(OsError::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable("look up", key, e)),
        }
    }

    /// Deletes the object; deleting a missing one is not an error.
    pub async fn delete(&self, key: &Path) -> Result<(), StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => return dynamo_objects::delete(items, key).await,
        };
        match store.delete(key).await {
            Ok(()) | Err(OsError::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable("delete", key, e)),
        }
    }

    /// Every object directly or indirectly under `dir`, in key order, on
    /// DynamoDB too (where [`Self::list`] sees one directory's objects
    /// only, and this is a Scan of the table: an operator's listing only).
    pub async fn list_tree(&self, dir: &Path) -> Result<Vec<Listed>, StoreError> {
        match self.s3() {
            Ok(_) => self.list(dir).await,
            Err(items) => dynamo_objects::list_tree(items, dir).await,
        }
    }

    /// Every object directly or indirectly under `dir`, in key order (on
    /// DynamoDB, directly in `dir` only: one partition's query).
    pub async fn list(&self, dir: &Path) -> Result<Vec<Listed>, StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => return dynamo_objects::list(items, dir, Range::default()).await,
        };
        let mut listed = Vec::new();
        let mut stream = store.list(Some(dir));
        while let Some(meta) = stream.next().await {
            let meta = meta.map_err(|e| unavailable("list", dir, e))?;
            listed.push(Listed {
                location: meta.location.clone(),
                name: meta
                    .location
                    .filename()
                    .map(str::to_owned)
                    .unwrap_or_default(),
                last_modified_ms: meta.last_modified.timestamp_millis(),
                e_tag: meta.e_tag.clone(),
                size: meta.size,
            });
        }
        listed.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(listed)
    }

    /// The objects under `dir` in key order, up to (not including) the
    /// first one `wanted` refuses, and at most `limit`: S3 lists in key
    /// order, a page of up to 1,000 keys per request, and the next page is
    /// asked for only when this one is used up, so stopping early saves
    /// requests (a queue with nothing due costs one). On DynamoDB only
    /// names below `below` are read at all (the query's key condition), so
    /// the request reads only what is wanted.
    pub async fn list_while(
        &self,
        dir: &Path,
        below: &str,
        limit: usize,
        wanted: impl Fn(&Listed) -> bool,
    ) -> Result<Vec<Listed>, StoreError> {
        Ok(self.list_until(dir, below, limit, wanted).await?.0)
    }

    /// [`Self::list_while`], and the first object `wanted` refused when the
    /// listing read it anyway (on S3, in the same page; never on DynamoDB,
    /// whose query stops at `below`).
    pub async fn list_until(
        &self,
        dir: &Path,
        below: &str,
        limit: usize,
        wanted: impl Fn(&Listed) -> bool,
    ) -> Result<(Vec<Listed>, Option<Listed>), StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => {
                let range = Range {
                    below: Some(below),
                    limit: Some(limit),
                    ..Range::default()
                };
                let listed = dynamo_objects::list(items, dir, range).await?;
                return Ok((listed.into_iter().take_while(wanted).collect(), None));
            }
        };
        let mut stream = store.list(Some(dir));
        let mut listed = Vec::new();
        while listed.len() < limit {
            let Some(meta) = stream.next().await else {
                break;
            };
            let meta = meta.map_err(|e| unavailable("list", dir, e))?;
            let item = Listed {
                name: meta
                    .location
                    .filename()
                    .map(str::to_owned)
                    .unwrap_or_default(),
                last_modified_ms: meta.last_modified.timestamp_millis(),
                e_tag: meta.e_tag,
                size: meta.size,
                location: meta.location,
            };
            if !wanted(&item) {
                return Ok((listed, Some(item)));
            }
            listed.push(item);
        }
        Ok((listed, None))
    }

    /// The first `limit` objects under `dir` whose keys sort after `after`
    /// (all of them without it), in key order: S3 lists in key order and
    /// starts after a key itself, so only what is returned is listed.
    pub async fn list_after(
        &self,
        dir: &Path,
        after: Option<&Path>,
        limit: usize,
    ) -> Result<Vec<Listed>, StoreError> {
        let store = match self.s3() {
            Ok(store) => store,
            Err(items) => {
                let range = Range {
                    after: after.and_then(Path::filename),
                    limit: Some(limit),
                    ..Range::default()
                };
                return dynamo_objects::list(items, dir, range).await;
            }
        };
        let mut stream = match after {
            Some(offset) => store.list_with_offset(Some(dir), offset),
            None => store.list(Some(dir)),
        };
        let mut listed = Vec::new();
        while listed.len() < limit {
            let Some(meta) = stream.next().await else {
                break;
            };
            let meta = meta.map_err(|e| unavailable("list", dir, e))?;
            listed.push(Listed {
                name: meta
                    .location
                    .filename()
                    .map(str::to_owned)
                    .unwrap_or_default(),
                last_modified_ms: meta.last_modified.timestamp_millis(),
                e_tag: meta.e_tag,
                size: meta.size,
                location: meta.location,
            });
        }
        listed.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(listed)
    }

    /// Reads many objects, 16 at a time, with their versions; missing ones
    /// are left out.
    pub async fn read_many_versioned<T: Record>(
        &self,
        keys: Vec<Path>,
    ) -> Result<Vec<Versioned<T>>, StoreError> {
        let reads = futures_util::stream::iter(keys)
            .map(|key| async move { self.read::<T>(&key).await })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        let mut found = Vec::with_capacity(reads.len());
        for read in reads {
            found.extend(read?);
        }
        Ok(found)
    }

    /// Reads many records at once (a few requests in flight), skipping the
    /// missing ones; the result is in no particular order.
    pub async fn read_many<T: Record>(&self, keys: Vec<Path>) -> Result<Vec<T>, StoreError> {
        let reads = futures_util::stream::iter(keys)
            .map(|key| async move { self.read::<T>(&key).await })
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await;
        let mut found = Vec::with_capacity(reads.len());
        for read in reads {
            if let Some(record) = read? {
                found.push(record.value);
            }
        }
        Ok(found)
    }

    /// Read → decide → compare-and-swap, again from the start whenever
    /// another writer got there first. `decide` sees the current record.
    pub async fn modify<T: Record, R>(
        &self,
        key: &Path,
        mut decide: impl FnMut(Option<&T>) -> Result<Step<T, R>, StoreError>,
    ) -> Result<R, StoreError> {
        for attempt in 0..MAX_ATTEMPTS {
            let current = self.read::<T>(key).await?;
            match decide(current.as_ref().map(|c| &c.value))? {
                Step::Done(result) => return Ok(result),
                Step::Write(mut next, result) => {
                    if self.write(key, &mut next, current.as_ref()).await? {
                        return Ok(result);
                    }
                }
            }
            contention_pause(attempt).await;
        }
        Err(contended(key))
    }
}

fn json<T: Serialize>(key: &Path, value: &T) -> Result<Bytes, StoreError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode S3 object {key}: {e}")))
}

pub fn unavailable(what: &str, key: &Path, error: OsError) -> StoreError {
    StoreError::Unavailable(format!("S3: cannot {what} {key}: {error}"))
}

pub fn contended(key: &Path) -> StoreError {
    StoreError::Unavailable(format!(
        "S3: {key} kept changing under {MAX_ATTEMPTS} attempts to update it"
    ))
}

/// A short, growing, jittered pause between compare-and-swap attempts, so
/// that racing writers spread out.
pub async fn contention_pause(attempt: u32) {
    let ceiling = 2u64 << attempt.min(6);
    let jitter = (uuid::Uuid::new_v4().as_u128() % u128::from(ceiling)) as u64;
    tokio::time::sleep(Duration::from_millis(1 + jitter)).await;
}

/// The bound on retry loops outside [`Objects::modify`].
pub fn max_attempts() -> u32 {
    MAX_ATTEMPTS
}
