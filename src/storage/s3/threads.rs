//! Cached Mastodon threads: `.backfeed/threads/<sha256(post url)>.json`,
//! replaced whole on every save (the last write wins, as on SQLite).
//!
//! The thread itself is the versioned document every backend stores
//! (`thread_record.rs`); a record from an older version is absent, not an
//! error.
//!
//! Invariant: it is a cache; losing it costs one fetch.

use serde::{Deserialize, Serialize};

use super::objects::{Record, write_id};
use super::{S3Store, millis};
use crate::domain::PostUrl;
use crate::storage::rows::{RawThread, thread_payload};
use crate::storage::{CachedThread, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThreadObject {
    url: String,
    /// The versioned document; older records have none (and `toot` and
    /// `replies` fields instead, which are ignored).
    #[serde(default)]
    payload: String,
    fetched_at: i64,
    fresh_until: i64,
    write_id: String,
}

impl Record for ThreadObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn load(store: &S3Store, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
    let Some(found) = store
        .objects
        .read::<ThreadObject>(&store.layout.thread(url))
        .await?
    else {
        return Ok(None);
    };
    let thread = found.value;
    let corrupt = |what: &str| StoreError::Corrupt(format!("cached thread of {url}: {what}"));
    if thread.url != url.as_str() {
        return Err(corrupt(&format!("it belongs to {}", thread.url)));
    }
    RawThread::<i64> {
        payload: thread.payload,
        fetched_at: thread.fetched_at,
        fresh_until: thread.fresh_until,
    }
    .into_thread(url)
}

pub async fn save(store: &S3Store, thread: &CachedThread) -> Result<(), StoreError> {
    let payload = thread_payload(thread).map_err(|e| {
        StoreError::Corrupt(format!("cannot encode the thread of {}: {e}", thread.url))
    })?;
    let mut record = ThreadObject {
        url: thread.url.as_str().to_owned(),
        payload,
        fetched_at: millis(thread.fetched_at),
        fresh_until: millis(thread.fresh_until),
        write_id: String::new(),
    };
    store
        .objects
        .overwrite(&store.layout.thread(&thread.url), &mut record)
        .await
}
