//! The one durable job queue in a bucket (see `storage::jobs`).
//!
//! Keys (`layout.rs`): a record per job at `queue/jobs/<id>.json`; an empty
//! entry per queued or running job at `queue/due/<due ms>-<id>`, so that a
//! listing in key order is the queue in due order; an empty entry per dead
//! job at `queue/dead/<id>`; and `queue/keys/<sha256(key)>.json` naming the
//! job that holds a dedupe key. A running job's due time is the end of its
//! lease, so its entry brings it back if its worker dies.
//!
//! Invariants:
//! - the record holds the truth; an entry is only an index. Entries are
//!   written *before* the record change that needs them and deleted
//!   *after*, and a reader skips (and, once it is older than
//!   `objects::STALE_AFTER`, deletes) an entry whose record does not match it;
//! - job ids are time-ordered random strings, never counters, so two
//!   writers can never make the same job, and each claim or retry writes
//!   an entry name never used before (it carries the new due time);
//! - every decision is one compare-and-swap of the job's record. On a
//!   provider that does not honour conditional writes (or, like `s3s-fs`,
//!   checks them and writes in two steps, so racing writers all pass), two
//!   workers may both win a claim, and two enqueues of one dedupe key may
//!   both make a job: the work is then attempted twice. Ending a job reads
//!   its record back before deleting it, so a change that landed over the
//!   ending is kept (one more attempt), not deleted;
//! - finding due work reads one page of the due listing and stops at the
//!   first entry not yet due, so a scheduled run with nothing due costs one
//!   request; on S3 with atomic conditional writes, a GET of the queue's
//!   wake time (`wake.rs`) before it, and no listing at all while nothing
//!   can be due.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::layout::parse_due_entry;
use super::millis;
use super::objects::{
    Listed, Record, Versioned, contended, contention_pause, is_stale, max_attempts, write_id,
};
use super::{S3Store, wake};
use crate::domain::job::{ClaimedJob, Job, JobId, JobState, Lease, NewJob, Settlement};
use crate::storage::StoreError;
use crate::storage::jobs::{Enqueued, JobCounts, JobFilter, new_job_id, new_lease, tally};
use crate::storage::rows::RawJob;

/// At most this many due entries are looked at per claim (one page).
const CLAIM_SCAN: usize = 1_000;

/// `state` of a record whose job has finished and is about to be deleted:
/// no one claims, retries or lists it again.
const FINISHED: &str = "done";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct JobObject {
    id: String,
    kind: String,
    payload: String,
    #[serde(default)]
    dedupe_key: Option<String>,
    /// `queued`, `running`, `dead`, or [`FINISHED`].
    state: String,
    attempts: u32,
    due_at: i64,
    #[serde(default)]
    lease: Option<String>,
    #[serde(default)]
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    write_id: String,
}

impl Record for JobObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl JobObject {
    fn to_job(&self) -> Result<Job, StoreError> {
        RawJob::<i64> {
            id: self.id.clone(),
            kind: self.kind.clone(),
            payload: self.payload.clone(),
            dedupe_key: self.dedupe_key.clone(),
            state: self.state.clone(),
            attempts: i64::from(self.attempts),
            due_at: self.due_at,
            last_error: self.last_error.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .into_job()
    }

    fn is(&self, state: JobState) -> bool {
        self.state == state.label()
    }

    fn job_id(&self) -> Result<JobId, StoreError> {
        JobId::parse(&self.id)
            .ok_or_else(|| StoreError::Corrupt(format!("S3 job record with id `{}`", self.id)))
    }
}

/// `queue/keys/…`: which job holds a dedupe key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct KeyObject {
    job_id: String,
    write_id: String,
}

impl Record for KeyObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn enqueue(
    store: &S3Store,
    job: &NewJob,
    now: OffsetDateTime,
) -> Result<Enqueued, StoreError> {
    let Some(key) = job.dedupe_key.as_deref() else {
        return create(store, job, now).await.map(Enqueued::Created);
    };
    let key_path = store.layout.job_key(key);
    for attempt in 0..max_attempts() {
        let pointer = store.objects.read::<KeyObject>(&key_path).await?;
        let holder = match &pointer {
            Some(pointer) => queued_holder(store, &pointer.value).await?,
            None => None,
        };
        if let Some(id) = holder {
            if bring_forward(store, &id, millis(job.due_at), now).await? {
                return Ok(Enqueued::Merged(id));
            }
            contention_pause(attempt).await;
            continue;
        }
        let id = create(store, job, now).await?;
        let mut next = KeyObject {
            job_id: id.as_str().to_owned(),
            write_id: String::new(),
        };
        if store
            .objects
            .write(&key_path, &mut next, pointer.as_ref())
            .await?
        {
            return Ok(Enqueued::Created(id));
        }
        // Another enqueue of the same key got there first: its job stands
        // for ours, which goes before anyone can have claimed it for long.
        discard(store, &id).await?;
        contention_pause(attempt).await;
    }
    Err(contended(&key_path))
}

/// Brings forward the queued job holding `key`, if there is one.
pub async fn bring_forward_key(
    store: &S3Store,
    key: &str,
    due_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let key_path = store.layout.job_key(key);
    for attempt in 0..max_attempts() {
        let Some(pointer) = store.objects.read::<KeyObject>(&key_path).await? else {
            return Ok(false);
        };
        let Some(id) = queued_holder(store, &pointer.value).await? else {
            return Ok(false);
        };
        if bring_forward(store, &id, millis(due_at), now).await? {
            return Ok(true);
        }
        // Changed meanwhile (claimed, or moved): look again.
        contention_pause(attempt).await;
    }
    Err(contended(&key_path))
}

/// The job a key pointer names, if it is queued (a running, dead or
/// finished job no longer holds its key).
async fn queued_holder(store: &S3Store, pointer: &KeyObject) -> Result<Option<JobId>, StoreError> {
    let Some(id) = JobId::parse(&pointer.job_id) else {
        return Ok(None);
    };
    let record = store
        .objects
        .read::<JobObject>(&store.layout.job(&id))
        .await?;
    Ok(record.filter(|r| r.value.is(JobState::Queued)).map(|_| id))
}

/// Another job, queued, that holds `record`'s dedupe key (enqueued while
/// `record` ran or was dead).
async fn other_queued_holder(
    store: &S3Store,
    record: &JobObject,
) -> Result<Option<JobId>, StoreError> {
    let Some(key) = &record.dedupe_key else {
        return Ok(None);
    };
    let pointer = store
        .objects
        .read::<KeyObject>(&store.layout.job_key(key))
        .await?;
    match pointer.filter(|p| p.value.job_id != record.id) {
        Some(pointer) => queued_holder(store, &pointer.value).await,
        None => Ok(None),
    }
}

/// Makes a queued job due no later than `due_ms`; `false` when the record
/// changed meanwhile (the caller looks again).
async fn bring_forward(
    store: &S3Store,
    id: &JobId,
    due_ms: i64,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let key = store.layout.job(id);
    let Some(record) = store.objects.read::<JobObject>(&key).await? else {
        return Ok(false);
    };
    if !record.value.is(JobState::Queued) {
        return Ok(false);
    }
    if record.value.due_at <= due_ms {
        return Ok(true);
    }
    let mut next = record.value.clone();
    next.due_at = due_ms;
    next.updated_at = millis(now);
    move_entry(store, &record, next).await
}

/// Writes a new job: entry first, record last.
async fn create(store: &S3Store, job: &NewJob, now: OffsetDateTime) -> Result<JobId, StoreError> {
    let id = new_job_id(now);
    let due_at = millis(job.due_at);
    store
        .objects
        .touch(&store.layout.due_entry(due_at, &id))
        .await?;
    wake::lower(store, due_at).await?;
    let mut record = JobObject {
        id: id.as_str().to_owned(),
        kind: job.kind.label().to_owned(),
        payload: job.payload.clone(),
        dedupe_key: job.dedupe_key.clone(),
        state: JobState::Queued.label().to_owned(),
        attempts: 0,
        due_at,
        lease: None,
        last_error: None,
        created_at: millis(now),
        updated_at: millis(now),
        write_id: String::new(),
    };
    // Ids are never handed out twice, so nothing can be there yet.
    store
        .objects
        .create(&store.layout.job(&id), &mut record)
        .await?;
    Ok(id)
}

/// Removes a job this process just created and no one else has used.
async fn discard(store: &S3Store, id: &JobId) -> Result<(), StoreError> {
    let key = store.layout.job(id);
    if let Some(record) = store.objects.read::<JobObject>(&key).await? {
        finish(store, &record).await?;
    }
    Ok(())
}

pub async fn claim(
    store: &S3Store,
    now: OffsetDateTime,
    lease: Duration,
) -> Result<Option<ClaimedJob>, StoreError> {
    let now_ms = millis(now);
    let wake = wake::read(store).await?;
    if let Some(wake) = &wake
        && wake::asleep(wake.as_ref(), now_ms)
    {
        return Ok(None);
    }
    let (due, next) = store
        .objects
        .list_until(
            &store.layout.due_jobs(),
            &due_bound(now_ms),
            CLAIM_SCAN,
            |entry| parse_due_entry(&entry.name).is_none_or(|(due_at, _)| due_at <= now_ms),
        )
        .await?;
    let nothing_due = due.is_empty();
    let token = new_lease();
    for entry in due {
        let Some((due_at, id)) = parse_due_entry(&entry.name) else {
            continue;
        };
        if let Some(claimed) = claim_entry(store, &entry, due_at, &id, now, lease, &token).await? {
            return Ok(Some(claimed));
        }
    }
    // Entries due but not claimable (taken by another worker, or stale)
    // leave the wake time as it is: the next claim lists again.
    if let Some(wake) = wake
        && nothing_due
    {
        let at = next.map_or(wake::NEVER, |entry| {
            parse_due_entry(&entry.name).map_or(0, |(due_at, _)| due_at)
        });
        wake::raise(store, wake.as_ref(), at, now_ms).await?;
    }
    Ok(None)
}

/// The least due-entry name above every entry due at or before `now_ms`
/// (names are `<due, 15 digits>-<id>`, and `.` sorts after `-`).
fn due_bound(now_ms: i64) -> String {
    format!("{:015}.", now_ms.max(0))
}

/// Claims the job an entry names if it is still due there; `None` to move
/// on to the next entry.
async fn claim_entry(
    store: &S3Store,
    entry: &Listed,
    due_at: i64,
    id: &JobId,
    now: OffsetDateTime,
    lease: Duration,
    token: &Lease,
) -> Result<Option<ClaimedJob>, StoreError> {
    let record = store
        .objects
        .read::<JobObject>(&store.layout.job(id))
        .await?;
    let live = record.filter(|r| {
        r.value.due_at == due_at && (r.value.is(JobState::Queued) || r.value.is(JobState::Running))
    });
    let Some(record) = live else {
        discard_stale_entry(store, entry, now).await?;
        return Ok(None);
    };
    let mut next = record.value.clone();
    next.state = JobState::Running.label().to_owned();
    next.attempts = next.attempts.saturating_add(1);
    next.lease = Some(token.as_str().to_owned());
    next.due_at = millis(now + lease);
    next.updated_at = millis(now);
    if !move_entry(store, &record, next.clone()).await? {
        // Another worker claimed it first.
        return Ok(None);
    }
    Ok(Some(ClaimedJob {
        job: next.to_job()?,
        lease: token.clone(),
    }))
}

/// Replaces a record whose due time changes: the new entry first, the
/// record by compare-and-swap, then the old entry goes. `false` when the
/// record changed meanwhile (the new entry is then stale and left for
/// claimers to tidy: deleting it could delete an entry that another
/// writer's identical change needs).
async fn move_entry(
    store: &S3Store,
    current: &Versioned<JobObject>,
    mut next: JobObject,
) -> Result<bool, StoreError> {
    let id = current.value.job_id()?;
    let (old_due, new_due) = (current.value.due_at, next.due_at);
    let in_queue = |r: &JobObject| r.is(JobState::Queued) || r.is(JobState::Running);
    let (had_entry, needs_entry) = (in_queue(&current.value), in_queue(&next));
    let moved = new_due != old_due;
    if needs_entry && (!had_entry || moved) {
        store
            .objects
            .touch(&store.layout.due_entry(new_due, &id))
            .await?;
        wake::lower(store, new_due).await?;
    }
    if next.is(JobState::Dead) {
        store.objects.touch(&store.layout.dead_entry(&id)).await?;
    }
    if !store
        .objects
        .replace(&store.layout.job(&id), &mut next, current)
        .await?
    {
        return Ok(false);
    }
    if had_entry && (!needs_entry || moved) {
        store
            .objects
            .delete(&store.layout.due_entry(old_due, &id))
            .await?;
    }
    if current.value.is(JobState::Dead) && !next.is(JobState::Dead) {
        store.objects.delete(&store.layout.dead_entry(&id)).await?;
    }
    Ok(true)
}

/// Deletes an entry found stale, once it is old enough that no writer can
/// still be about to need it.
async fn discard_stale_entry(
    store: &S3Store,
    entry: &Listed,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    if is_stale(entry.last_modified_ms, now) {
        store.objects.delete(&entry.location).await?;
    }
    Ok(())
}

pub async fn settle(
    store: &S3Store,
    claimed: &ClaimedJob,
    settlement: &Settlement,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let key = store.layout.job(&claimed.job.id);
    for attempt in 0..max_attempts() {
        let record = store.objects.read::<JobObject>(&key).await?;
        let held = record.filter(|r| {
            r.value.is(JobState::Running)
                && r.value.lease.as_deref() == Some(claimed.lease.as_str())
        });
        let Some(record) = held else {
            return Ok(false);
        };
        let done = match settlement {
            Settlement::Done => finish(store, &record).await?,
            Settlement::Dead { error } => {
                let mut next = record.value.clone();
                next.state = JobState::Dead.label().to_owned();
                next.lease = None;
                next.last_error = Some(error.clone());
                next.updated_at = millis(now);
                move_entry(store, &record, next).await?
            }
            Settlement::Retry { due_at, error } => {
                requeue(store, &record, millis(*due_at), Some(error), now).await?
            }
            Settlement::Defer { due_at } => {
                requeue(store, &record, millis(*due_at), None, now).await?
            }
        };
        if done {
            return Ok(true);
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

/// Puts a job back in the queue at `due_ms`, or, when another job with its
/// dedupe key was queued meanwhile, lets that one stand for it. A retry
/// (with `error`) keeps the claim's attempt, a deferral gives it back.
async fn requeue(
    store: &S3Store,
    record: &Versioned<JobObject>,
    due_ms: i64,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    if let Some(other) = other_queued_holder(store, &record.value).await? {
        bring_forward(store, &other, due_ms, now).await?;
        return finish(store, record).await;
    }
    let mut next = record.value.clone();
    next.state = JobState::Queued.label().to_owned();
    next.lease = None;
    next.due_at = due_ms;
    match error {
        Some(error) => next.last_error = Some(error.to_owned()),
        None => next.attempts = next.attempts.saturating_sub(1),
    }
    next.updated_at = millis(now);
    move_entry(store, record, next).await
}

/// Ends a job: the record is marked finished by compare-and-swap (so no
/// one acts on it again), read back, then its entries and the record are
/// deleted. `false` when the record changed meanwhile.
async fn finish(store: &S3Store, record: &Versioned<JobObject>) -> Result<bool, StoreError> {
    let id = record.value.job_id()?;
    let mut next = record.value.clone();
    next.state = FINISHED.to_owned();
    next.lease = None;
    let key = store.layout.job(&id);
    if !store.objects.replace(&key, &mut next, record).await? {
        return Ok(false);
    }
    // Where conditional writes are not atomic, another writer's change (a
    // claim, a merged enqueue) may have landed with or after ours: read
    // back, and leave a record that is no longer ours in place, so that
    // change is at worst one more attempt, never a job deleted under it.
    let back = store.objects.read::<JobObject>(&key).await?;
    if back.is_none_or(|b| b.value.write_id != next.write_id) {
        return Ok(true);
    }
    store
        .objects
        .delete(&store.layout.due_entry(record.value.due_at, &id))
        .await?;
    if record.value.is(JobState::Dead) {
        store.objects.delete(&store.layout.dead_entry(&id)).await?;
    }
    store.objects.delete(&key).await?;
    Ok(true)
}

pub async fn find(store: &S3Store, id: &JobId) -> Result<Option<Job>, StoreError> {
    let record = store
        .objects
        .read::<JobObject>(&store.layout.job(id))
        .await?;
    record
        .filter(|r| r.value.state != FINISHED)
        .map(|r| r.value.to_job())
        .transpose()
}

/// Dead jobs are listed from their own index; any other listing reads
/// every job record (an operator's request, not a hot path).
pub async fn list(store: &S3Store, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let (dir, suffix) = if filter.state == Some(JobState::Dead) {
        (store.layout.dead_jobs(), "")
    } else {
        (store.layout.jobs(), ".json")
    };
    let mut ids: Vec<JobId> = store
        .objects
        .list(&dir)
        .await?
        .iter()
        .filter_map(|listed| JobId::parse(listed.name.strip_suffix(suffix)?))
        .filter(|id| filter.before.as_ref().is_none_or(|before| id < before))
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    let mut found = Vec::new();
    // Read in pages of the limit, so a filtered listing of a small page
    // does not read every record.
    for page in ids.chunks(filter.limit.max(1)) {
        let keys = page.iter().map(|id| store.layout.job(id)).collect();
        let mut records = store.objects.read_many::<JobObject>(keys).await?;
        records.sort_unstable_by(|a, b| b.id.cmp(&a.id));
        for record in records {
            if record.state == FINISHED {
                continue;
            }
            let job = record.to_job()?;
            if filter.kind.is_none_or(|k| k == job.kind)
                && filter.state.is_none_or(|s| s == job.state)
            {
                found.push(job);
            }
        }
        if found.len() >= filter.limit {
            break;
        }
    }
    found.truncate(filter.limit);
    Ok(found)
}

pub async fn retry(store: &S3Store, id: &JobId, now: OffsetDateTime) -> Result<bool, StoreError> {
    let key = store.layout.job(id);
    for attempt in 0..max_attempts() {
        let Some(record) = store.objects.read::<JobObject>(&key).await? else {
            return Ok(false);
        };
        let value = &record.value;
        if !(value.is(JobState::Dead) || value.is(JobState::Queued)) {
            return Ok(false);
        }
        let other = if value.is(JobState::Dead) {
            other_queued_holder(store, value).await?
        } else {
            None
        };
        if let Some(other) = other {
            bring_forward(store, &other, millis(now), now).await?;
            if finish(store, &record).await? {
                return Ok(true);
            }
            contention_pause(attempt).await;
            continue;
        }
        let mut next = value.clone();
        next.state = JobState::Queued.label().to_owned();
        next.attempts = 0;
        next.lease = None;
        next.due_at = millis(now);
        next.updated_at = millis(now);
        if move_entry(store, &record, next).await? {
            return Ok(true);
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

pub async fn drop_job(store: &S3Store, id: &JobId) -> Result<bool, StoreError> {
    let key = store.layout.job(id);
    for attempt in 0..max_attempts() {
        let record = store.objects.read::<JobObject>(&key).await?;
        let Some(record) = record.filter(|r| r.value.state != FINISHED) else {
            return Ok(false);
        };
        if finish(store, &record).await? {
            return Ok(true);
        }
        contention_pause(attempt).await;
    }
    Err(contended(&key))
}

/// Reads every job record (an operator's request, not a hot path).
pub async fn count(store: &S3Store) -> Result<JobCounts, StoreError> {
    let keys = store
        .objects
        .list(&store.layout.jobs())
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect();
    let mut counts = JobCounts::new();
    for record in store.objects.read_many::<JobObject>(keys).await? {
        if record.state == FINISHED {
            continue;
        }
        let job = record.to_job()?;
        tally(&mut counts, job.kind, job.state, 1);
    }
    Ok(counts)
}
