//! The durable webhook delivery queue: `.backfeed/deliveries/<id>.json`
//! records, found through `.backfeed/jobs/deliver/<due>-<id>` entries.
//!
//! Claiming and settling are compare-and-swaps on the record, checked by
//! token, as for verification jobs (see `verify.rs` and `queue.rs`).
//!
//! Invariant: a finished delivery stays behind as a small `done` tombstone
//! instead of being deleted, so that replaying an outbox entry (after a
//! crash between recording an event and emptying the outbox) finds it and
//! never sends the same event twice.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::S3Store;
use super::mention_record::OutboxEntry;
use super::millis;
use super::objects::{Record, contended, contention_pause, max_attempts, write_id};
use super::queue::{self, Entry};
use crate::domain::mention::{MentionEvent, MentionId};
use crate::storage::{Delivery, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DeliveryObject {
    id: i64,
    mention_id: i64,
    event: String,
    attempts: u32,
    due_at: i64,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    claimed_until: Option<i64>,
    #[serde(default)]
    done: bool,
    write_id: String,
}

impl Record for DeliveryObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// Creates the delivery an outbox entry describes, unless it exists (or
/// existed: see the tombstones above). Entry first, record last.
pub async fn create(
    store: &S3Store,
    mention_id: i64,
    entry: &OutboxEntry,
) -> Result<(), StoreError> {
    store
        .objects
        .touch(&store.layout.delivery_entry(entry.due_at, entry.delivery_id))
        .await?;
    let mut record = DeliveryObject {
        id: entry.delivery_id,
        mention_id,
        event: entry.event.clone(),
        attempts: 0,
        due_at: entry.due_at,
        token: None,
        claimed_until: None,
        done: false,
        write_id: String::new(),
    };
    store
        .objects
        .create(&store.layout.delivery(entry.delivery_id), &mut record)
        .await
        .map(|_| ())
}

pub async fn claim(
    store: &S3Store,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<Delivery>, StoreError> {
    let token = uuid::Uuid::new_v4().to_string();
    let queue = store.layout.delivery_queue();
    for entry in queue::due(&store.objects, &queue, now).await? {
        if let Some(delivery) = claim_entry(store, &entry, now, lease, &token).await? {
            return Ok(Some(delivery));
        }
    }
    Ok(None)
}

async fn claim_entry(
    store: &S3Store,
    entry: &Entry,
    now: OffsetDateTime,
    lease: Duration,
    token: &str,
) -> Result<Option<Delivery>, StoreError> {
    let key = store.layout.delivery(entry.id);
    for attempt in 0..max_attempts() {
        let current = store.objects.read::<DeliveryObject>(&key).await?;
        let Some(record) = current.filter(|r| !r.value.done && r.value.due_at == entry.due_at)
        else {
            queue::discard_stale(&store.objects, entry).await?;
            return Ok(None);
        };
        if record
            .value
            .claimed_until
            .is_some_and(|until| until > millis(now))
        {
            return Ok(None);
        }
        let event = MentionEvent::parse(&record.value.event).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "delivery {}: unknown event `{}`",
                entry.id, record.value.event
            ))
        })?;
        let mut next = record.value.clone();
        next.token = Some(token.to_owned());
        next.claimed_until = Some(millis(now + lease));
        if store.objects.replace(&key, &mut next, &record).await? {
            return Ok(Some(Delivery {
                id: entry.id,
                mention_id: MentionId(record.value.mention_id),
                event,
                attempts: record.value.attempts,
                token: token.to_owned(),
            }));
        }
        contention_pause(attempt).await;
    }
    Ok(None)
}

pub async fn settle(
    store: &S3Store,
    delivery: &Delivery,
    retry_after: Option<Duration>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let key = store.layout.delivery(delivery.id);
    let retry_due = retry_after.map(|delay| millis(now + delay));
    let mut entry_written = false;
    for attempt in 0..max_attempts() {
        let Some(record) = store.objects.read::<DeliveryObject>(&key).await? else {
            return Ok(false);
        };
        if record.value.done || record.value.token.as_deref() != Some(delivery.token.as_str()) {
            return Ok(false);
        }
        let mut next = record.value.clone();
        next.token = None;
        next.claimed_until = None;
        match retry_due {
            Some(due) => {
                if !entry_written {
                    store
                        .objects
                        .touch(&store.layout.delivery_entry(due, delivery.id))
                        .await?;
                    entry_written = true;
                }
                next.attempts += 1;
                next.due_at = due;
            }
            None => next.done = true,
        }
        if store.objects.replace(&key, &mut next, &record).await? {
            if retry_due != Some(record.value.due_at) {
                store
                    .objects
                    .delete(
                        &store
                            .layout
                            .delivery_entry(record.value.due_at, delivery.id),
                    )
                    .await?;
            }
            return Ok(true);
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}
