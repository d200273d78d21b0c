//! The durable verification queue: claiming and settling jobs.
//!
//! A job lives inside its mention's record (`mention_record.rs`); the queue
//! `.backfeed/jobs/verify/<due>-<id>-<seq>` only says which records to look at,
//! in due order (see `queue.rs`). Claiming is a compare-and-swap of the
//! record that puts a fresh token and a lease in its job; settling is one
//! compare-and-swap that checks the token, applies the transition, finishes
//! or reschedules the job and, with `notify`, appends the webhook event to
//! the record's outbox.
//!
//! Invariant: an event is recorded atomically with the settlement and is
//! turned into a delivery object afterwards ([`flush_outbox`]); a crash in
//! between leaves it in the outbox, where the next claimer that passes the
//! record finds it (once it has been left alone for `STALE_AFTER`) and
//! delivers it. Delivery ids are allocated before the settlement, so
//! flushing twice creates the same delivery once.

use std::collections::BTreeSet;
use std::time::Duration;

use time::OffsetDateTime;

use super::S3Store;
use super::deliveries;
use super::mention_record::{JobObject, MentionObject, OutboxEntry, parse_url};
use super::mentions::allocate_id;
use super::millis;
use super::objects::{contended, contention_pause, max_attempts};
use super::queue::{self, Entry, STALE_AFTER};
use crate::domain::mention::{MentionEvent, MentionId, Transition};
use crate::storage::{StoreError, VerificationJob};

pub async fn claim(
    store: &S3Store,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<VerificationJob>, StoreError> {
    let token = uuid::Uuid::new_v4().to_string();
    let queue = store.layout.verify_queue();
    for entry in queue::due(&store.objects, &queue, now).await? {
        if let Some(job) = claim_entry(store, &entry, now, lease, &token).await? {
            return Ok(Some(job));
        }
    }
    Ok(None)
}

/// Claims the job an entry names, if it is still that job and nobody holds
/// it; `None` to move on to the next entry.
async fn claim_entry(
    store: &S3Store,
    entry: &Entry,
    now: OffsetDateTime,
    lease: Duration,
    token: &str,
) -> Result<Option<VerificationJob>, StoreError> {
    let key = store.layout.mention(entry.id);
    for attempt in 0..max_attempts() {
        let Some(record) = store.objects.read::<MentionObject>(&key).await? else {
            queue::discard_stale(&store.objects, entry).await?;
            return Ok(None);
        };
        if !record.value.outbox.is_empty() {
            if !left_alone(record.last_modified_ms) {
                // Its settler is turning the outbox into deliveries right
                // now; keep the entry (it may be the outbox's only pointer).
                return Ok(None);
            }
            flush_outbox(store, entry.id).await?;
            continue;
        }
        let job = record.value.job.clone().filter(|job| {
            record.value.is_live() && job.due_at == entry.due_at && job.seq == entry.seq
        });
        let Some(job) = job else {
            queue::discard_stale(&store.objects, entry).await?;
            return Ok(None);
        };
        if job.claimed_until.is_some_and(|until| until > millis(now)) {
            return Ok(None);
        }
        let mut next = record.value.clone();
        next.job = Some(JobObject {
            token: Some(token.to_owned()),
            claimed_until: Some(millis(now + lease)),
            ..job.clone()
        });
        if store.objects.replace(&key, &mut next, &record).await? {
            return Ok(Some(VerificationJob {
                mention_id: MentionId(entry.id),
                source: parse_url(&record.value.source)?,
                target: parse_url(&record.value.target)?,
                attempts: job.attempts,
                current: record.value.current()?,
                token: token.to_owned(),
            }));
        }
        contention_pause(attempt).await;
    }
    Ok(None)
}

fn left_alone(last_modified_ms: i64) -> bool {
    let age = millis(OffsetDateTime::now_utc()) - last_modified_ms;
    age > i64::try_from(STALE_AFTER.as_millis()).unwrap_or(i64::MAX)
}

pub async fn settle(
    store: &S3Store,
    job: &VerificationJob,
    transition: &Transition,
    notify: bool,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let id = job.mention_id.0;
    let key = store.layout.mention(id);
    let event = MentionEvent::of(&job.current, transition).filter(|_| notify);
    let retry_due = match transition {
        Transition::RetryAfter(delay) => Some(millis(now + *delay)),
        _ => None,
    };
    let (mut delivery_id, mut entry_written) = (None, None);
    for attempt in 0..max_attempts() {
        let Some(record) = store.objects.read::<MentionObject>(&key).await? else {
            return Ok(false);
        };
        let held =
            record.value.job.clone().filter(|j| {
                record.value.is_live() && j.token.as_deref() == Some(job.token.as_str())
            });
        let Some(old_job) = held else {
            return Ok(false);
        };
        let mut next = record.value.clone();
        next.apply(transition, now);
        let retry = retry_due.map(|due| record.value.next_job(due, old_job.attempts + 1));
        if let Some(job) = retry.as_ref().filter(|job| entry_written != Some(job.seq)) {
            store
                .objects
                .touch(&store.layout.verify_entry(job.due_at, id, job.seq))
                .await?;
            entry_written = Some(job.seq);
        }
        next.start_job(retry);
        if let Some(event) = event {
            let delivery = match delivery_id {
                Some(delivery) => delivery,
                None => {
                    *delivery_id.insert(allocate_id(store, &store.layout.delivery_counter()).await?)
                }
            };
            next.outbox
                .push(OutboxEntry::new(delivery, event, millis(now)));
        }
        if store.objects.replace(&key, &mut next, &record).await? {
            if event.is_some() {
                flush_outbox(store, id).await?;
            }
            store
                .objects
                .delete(&store.layout.verify_entry(old_job.due_at, id, old_job.seq))
                .await?;
            return Ok(true);
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

/// Turns the record's outbox into delivery objects, then empties it.
pub async fn flush_outbox(store: &S3Store, mention_id: i64) -> Result<(), StoreError> {
    let key = store.layout.mention(mention_id);
    for attempt in 0..max_attempts() {
        let Some(record) = store.objects.read::<MentionObject>(&key).await? else {
            return Ok(());
        };
        if record.value.outbox.is_empty() {
            return Ok(());
        }
        for entry in &record.value.outbox {
            deliveries::create(store, mention_id, entry).await?;
        }
        let mut next = record.value.clone();
        next.outbox.clear();
        if store.objects.replace(&key, &mut next, &record).await? {
            return Ok(());
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

/// Jobs not yet settled: the records named in the queue that have a job.
pub async fn pending(store: &S3Store) -> Result<u64, StoreError> {
    let queue = store.layout.verify_queue();
    let ids: BTreeSet<i64> = queue::entries(&store.objects, &queue)
        .await?
        .into_iter()
        .map(|e| e.id)
        .collect();
    let keys = ids.into_iter().map(|id| store.layout.mention(id)).collect();
    let records = store.objects.read_many::<MentionObject>(keys).await?;
    Ok(records
        .iter()
        .filter(|m| m.is_live() && m.job.is_some())
        .count() as u64)
}
