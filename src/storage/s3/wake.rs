//! The job queue's wake time (`queue/wake.json`): no due entry is earlier,
//! so a claim before it needs no listing. A scheduled run with nothing due
//! then costs one GET ($0.0004 per thousand on S3) instead of one LIST
//! ($0.005 per thousand): 8,640 runs a month cost a third of a cent, not
//! four cents.
//!
//! Invariant: once every writer in flight has finished, `at` is at most the
//! due time of every entry under `queue/due/` (no object means "list").
//! - Every writer of a due entry lowers it *after* the entry is written
//!   ([`lower`]: read, and compare-and-swap when it is later).
//! - A claim that listed nothing due raises it to the first entry's due time
//!   by one compare-and-swap on the version it read *before* listing, then
//!   lists once more and lowers it to any entry now earlier ([`raise`]).
//!   An entry written before that second listing starts is seen by it; one
//!   written after it started was written after the raise, so its writer's
//!   [`lower`] reads the raised value and lowers it.
//!
//! A wake time is trusted for six hours after the listing that wrote it
//! ([`TRUSTED_FOR_MS`]), so were the invariant ever broken, a job would be
//! late, never lost.
//!
//! Only on S3 with atomic conditional writes (`S3Store::uses_wake`): on
//! DynamoDB a query of nothing due costs what a read does, and where racing
//! compare-and-swaps may all pass, a lost lowering could hide a job.

use serde::{Deserialize, Serialize};

use super::S3Store;
use super::layout::parse_due_entry;
use super::objects::{Record, Versioned, contended, contention_pause, max_attempts, write_id};
use crate::storage::StoreError;

/// `at` of an empty queue: nothing to list until an entry lowers it.
pub const NEVER: i64 = i64::MAX;

/// A wake time is trusted for this long after the listing that wrote it
/// (ms): then a claim lists again whatever it says. A bound on what a
/// broken invariant could cost (a provider whose conditional writes the
/// start-up probe took for atomic when they are not): a job late by six
/// hours, never lost. An idle month pays 120 claims that list for it (two
/// LISTs and a PUT each, $0.0018).
pub const TRUSTED_FOR_MS: i64 = 6 * 3_600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WakeObject {
    /// Milliseconds since the epoch.
    at: i64,
    /// When the listing that wrote `at` ran (ms); lowering keeps it.
    #[serde(default)]
    listed_at: i64,
    write_id: String,
}

impl Record for WakeObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// What a claim reads before listing: `None` when the store keeps no wake
/// time (the claim lists), else the object as it stands (absent or not).
pub async fn read(store: &S3Store) -> Result<Option<Option<Versioned<WakeObject>>>, StoreError> {
    if !store.uses_wake() {
        return Ok(None);
    }
    Ok(Some(
        store
            .objects
            .read::<WakeObject>(&store.layout.queue_wake())
            .await?,
    ))
}

/// Whether nothing can be due at `now_ms`: the claim need not list.
pub fn asleep(wake: Option<&Versioned<WakeObject>>, now_ms: i64) -> bool {
    wake.is_some_and(|w| {
        now_ms < w.value.at && now_ms < w.value.listed_at.saturating_add(TRUSTED_FOR_MS)
    })
}

/// After a due entry at `due_ms` was written: the wake time is no later.
pub async fn lower(store: &S3Store, due_ms: i64) -> Result<(), StoreError> {
    if !store.uses_wake() {
        return Ok(());
    }
    let key = store.layout.queue_wake();
    for attempt in 0..max_attempts() {
        let Some(current) = store.objects.read::<WakeObject>(&key).await? else {
            return Ok(());
        };
        if current.value.at <= due_ms {
            return Ok(());
        }
        let mut next = WakeObject {
            at: due_ms,
            listed_at: current.value.listed_at,
            write_id: String::new(),
        };
        if store.objects.replace(&key, &mut next, &current).await? {
            return Ok(());
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

/// After a listing (begun after `read` was read) found nothing due and
/// `at` the first entry's due time ([`NEVER`] for none): the wake time
/// becomes `at` unless someone wrote it meanwhile, then the second listing.
pub async fn raise(
    store: &S3Store,
    read: Option<&Versioned<WakeObject>>,
    at: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let key = store.layout.queue_wake();
    let mut next = WakeObject {
        at,
        listed_at: now_ms,
        write_id: String::new(),
    };
    if !store.objects.write(&key, &mut next, read).await? {
        // Lowered or raised by someone else since: theirs stands.
        return Ok(());
    }
    let first = store
        .objects
        .list_while(&store.layout.due_jobs(), "~", 1, |_| true)
        .await?;
    if let Some(entry) = first.first() {
        // An entry whose name does not parse is listed on every claim.
        let due = parse_due_entry(&entry.name).map_or(0, |(due, _)| due);
        if due < at {
            lower(store, due).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_before_the_wake_time_sleeps_and_no_object_means_list() {
        let wake = |at| {
            Versioned::for_tests(WakeObject {
                at,
                listed_at: 0,
                write_id: String::new(),
            })
        };
        assert!(asleep(Some(&wake(1_000)), 999));
        assert!(!asleep(Some(&wake(1_000)), 1_000));
        assert!(asleep(Some(&wake(NEVER)), TRUSTED_FOR_MS - 1));
        assert!(!asleep(None, 0));
    }

    #[test]
    fn a_wake_time_is_trusted_for_six_hours_after_its_listing_only() {
        let wake = Versioned::for_tests(WakeObject {
            at: NEVER,
            listed_at: 5_000,
            write_id: String::new(),
        });
        assert!(asleep(Some(&wake), 5_000 + TRUSTED_FOR_MS - 1));
        assert!(!asleep(Some(&wake), 5_000 + TRUSTED_FOR_MS));
    }
}
