//! Cached Mastodon threads: `.backfeed/threads/<sha256(post url)>.json`,
//! replaced whole on every save (the last write wins, as on SQLite).
//!
//! Invariant: it is a cache; a record that cannot be read is an error to
//! report, never a reason to guess, and losing it costs one fetch.

use serde::{Deserialize, Serialize};

use super::objects::{Record, write_id};
use super::{S3Store, from_millis, millis};
use crate::domain::PostUrl;
use crate::domain::thread::{Reply, TootSummary};
use crate::storage::{CachedThread, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ThreadObject {
    url: String,
    toot: TootSummary,
    replies: Vec<Reply>,
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
    Ok(Some(CachedThread {
        url: url.clone(),
        toot: thread.toot,
        replies: thread.replies,
        fetched_at: from_millis(thread.fetched_at).ok_or_else(|| corrupt("bad fetched_at"))?,
        fresh_until: from_millis(thread.fresh_until).ok_or_else(|| corrupt("bad fresh_until"))?,
    }))
}

pub async fn save(store: &S3Store, thread: &CachedThread) -> Result<(), StoreError> {
    let mut record = ThreadObject {
        url: thread.url.as_str().to_owned(),
        toot: thread.toot.clone(),
        replies: thread.replies.clone(),
        fetched_at: millis(thread.fetched_at),
        fresh_until: millis(thread.fresh_until),
        write_id: String::new(),
    };
    store
        .objects
        .overwrite(&store.layout.thread(&thread.url), &mut record)
        .await
}
