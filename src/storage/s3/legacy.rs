//! Moving a bucket written before the one job queue onto it, once.
//!
//! Earlier versions kept two queues of their own: `jobs/verify/<due>-<id>…`
//! entries pointing at mention records, and `jobs/deliver/<due>-<id>`
//! entries pointing at `deliveries/<id>.json` records. At start-up, unless
//! the marker `queue/format-1` exists (one request), each old entry becomes
//! a job on the new queue (a verification for its mention; a webhook
//! delivery for an unfinished delivery record) and is deleted, then the
//! marker is written.
//!
//! Invariant: a job is enqueued before the old entry it replaces is
//! deleted, so a crash half-way moves some entries twice (a verification
//! merges into the queued one; a delivery may be sent twice), never loses
//! one.

use serde::Deserialize;
use time::OffsetDateTime;

use super::S3Store;
use super::jobs;
use super::layout::parse_legacy_entry;
use super::objects::{Record, write_id};
use crate::domain::job::NewJob;
use crate::domain::mention::{MentionEvent, MentionId};
use crate::storage::StoreError;
use crate::storage::rows::from_millis;

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct OldDelivery {
    mention_id: i64,
    event: String,
    #[serde(default)]
    done: bool,
}

impl Record for OldDelivery {
    fn restamp(&mut self) {}
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
struct Marker {
    moved_at: i64,
    write_id: String,
}

impl Record for Marker {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn move_old_queues(store: &S3Store, now: OffsetDateTime) -> Result<(), StoreError> {
    let marker = store.layout.queue_format_marker();
    if store.objects.exists(&marker).await? {
        return Ok(());
    }
    let mut moved = 0usize;
    for entry in store
        .objects
        .list(&store.layout.legacy_verify_queue())
        .await?
    {
        if let Some((due, id)) = parse_legacy_entry(&entry.name) {
            let due = from_millis(due).unwrap_or(now);
            jobs::enqueue(store, &NewJob::verify_mention(MentionId(id), due), now).await?;
            moved += 1;
        }
        store.objects.delete(&entry.location).await?;
    }
    for entry in store
        .objects
        .list(&store.layout.legacy_delivery_queue())
        .await?
    {
        if let Some((due, id)) = parse_legacy_entry(&entry.name) {
            let record = store.layout.legacy_delivery(id);
            let old = store.objects.read::<OldDelivery>(&record).await?;
            let unfinished = old.filter(|old| !old.value.done).and_then(|old| {
                let event = MentionEvent::parse(&old.value.event)?;
                Some((MentionId(old.value.mention_id), event))
            });
            if let Some((mention, event)) = unfinished {
                let due = from_millis(due).unwrap_or(now);
                jobs::enqueue(store, &NewJob::deliver_webhook(mention, event, due), now).await?;
                moved += 1;
            }
            store.objects.delete(&record).await?;
        }
        store.objects.delete(&entry.location).await?;
    }
    let mut marker_record = Marker {
        moved_at: super::millis(now),
        write_id: String::new(),
    };
    store.objects.create(&marker, &mut marker_record).await?;
    if moved > 0 {
        tracing::info!(
            moved,
            "moved the bucket's old verification and webhook queues onto the job queue"
        );
    }
    Ok(())
}
