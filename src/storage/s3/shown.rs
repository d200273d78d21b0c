//! The version of what comment threads show (`shown.json`), for processes
//! sharing the bucket or table: several warm function instances, each with
//! rendered threads in memory (`threads::Threads`).
//!
//! A process can only see its own writes ([`crate::changes::Changes`]). So
//! every write that a thread shows (a mention received, settled, moderated,
//! removed or imported; a reply or account hidden or shown again; a domain
//! blocked; a post's toot or fediverse object recorded) writes a new random
//! token here *after* its own write, and a process reuses a rendered thread
//! only while the token it was rendered at still stands. Checking costs one
//! GET per view ($0.0004 per thousand on S3), where re-reading what a
//! thread shows costs three LISTs ($0.015 per thousand).
//!
//! Invariant: a reader that reads the token and then the records sees every
//! write made before that token was written. A write whose token write fails
//! is still made (and logged); other processes then see it when the thread
//! is next refreshed from Mastodon.

use serde::{Deserialize, Serialize};

use super::S3Store;
use super::objects::{Record, write_id};
use crate::storage::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ShownObject {
    write_id: String,
}

impl Record for ShownObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// The current token; `"none"` before any write made one.
pub async fn version(store: &S3Store) -> Result<String, StoreError> {
    Ok(store
        .objects
        .read::<ShownObject>(&store.layout.shown())
        .await?
        .map_or_else(|| "none".to_owned(), |shown| shown.value.write_id))
}

/// Passes `result` on, after writing a new token when it is a success.
pub async fn after<T>(store: &S3Store, result: Result<T, StoreError>) -> Result<T, StoreError> {
    if result.is_ok() {
        let mut shown = ShownObject {
            write_id: String::new(),
        };
        if let Err(error) = store
            .objects
            .overwrite(&store.layout.shown(), &mut shown)
            .await
        {
            tracing::warn!(%error, "cannot record that what threads show changed");
        }
    }
    result
}
