//! The `jobs` table: the one durable queue (see `storage::jobs`), shared by
//! every instance.
//!
//! Invariant: each due job is handed to one worker at a time. A claim is
//! one statement that picks the job due first with `FOR UPDATE SKIP LOCKED`
//! (instances claiming at once each get a different job, and none waits on
//! another), counts the attempt and moves `due_at` to the end of the lease;
//! a worker that dies leaves the lease to run out, and the job is claimed
//! again. Settling checks the lease token in the same statement (or under a
//! row lock), so a holder whose lease was taken over changes nothing.

use deadpool_postgres::{GenericClient, Object};
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::rows::{column, execute, ms, opt_text, query, query_one, query_opt, text};
use crate::domain::job::{ClaimedJob, Job, JobId, JobKind, JobState, NewJob, Settlement};
use crate::storage::StoreError;
use crate::storage::jobs::{Enqueued, JobCounts, JobFilter, new_job_id, new_lease, tally};
use crate::storage::rows::RawJob;

const COLUMNS: &str =
    "id, kind, payload, dedupe_key, state, attempts, due_at, last_error, created_at, updated_at";

/// A unique violation can only come from the one-queued-job-per-key index
/// racing a concurrent enqueue; the operation is tried again, and then
/// finds that job.
const ATTEMPTS_ON_KEY_RACE: usize = 3;

/// Inserts `job`, or merges it into the queued job with its dedupe key, in
/// the caller's transaction (receiving a mention queues its verification
/// atomically with it).
pub async fn insert(
    client: &impl GenericClient,
    job: &NewJob,
    now: OffsetDateTime,
) -> Result<Enqueued, StoreError> {
    let id = new_job_id(now);
    let row = query_one(
        client,
        "INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $6)
         ON CONFLICT (dedupe_key) WHERE state = 'queued'
         DO UPDATE SET due_at = LEAST(jobs.due_at, excluded.due_at), updated_at = excluded.updated_at
         RETURNING id",
        &[
            &id.as_str(),
            &job.kind.label(),
            &text(&job.payload),
            &opt_text(job.dedupe_key.as_deref()),
            &ms(job.due_at),
            &ms(now),
        ],
    )
    .await?;
    let stored: String = column(&row, 0, "jobs.id")?;
    Ok(if stored == id.as_str() {
        Enqueued::Created(id)
    } else {
        Enqueued::Merged(JobId::parse(&stored).unwrap_or(id))
    })
}

pub async fn enqueue(
    client: &mut Object,
    job: &NewJob,
    now: OffsetDateTime,
) -> Result<Enqueued, StoreError> {
    insert(&*client, job, now).await
}

pub async fn bring_forward(
    client: &mut Object,
    key: &str,
    due_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = execute(
        &*client,
        "UPDATE jobs SET due_at = LEAST(due_at, $2), updated_at = $3
         WHERE dedupe_key = $1 AND state = 'queued'",
        &[&text(key), &ms(due_at), &ms(now)],
    )
    .await?;
    Ok(changed > 0)
}

pub async fn claim(
    client: &mut Object,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Result<Option<ClaimedJob>, StoreError> {
    let lease = new_lease();
    let row = query_opt(
        &*client,
        &format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease = $2, due_at = $3,
                 updated_at = $1
             WHERE id = (SELECT id FROM jobs WHERE state <> 'dead' AND due_at <= $1
                         ORDER BY due_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING {COLUMNS}"
        ),
        &[&ms(now), &lease.as_str(), &ms(until)],
    )
    .await?;
    row.map(|row| {
        Ok(ClaimedJob {
            job: raw_job(&row)?.into_job()?,
            lease: lease.clone(),
        })
    })
    .transpose()
}

pub async fn settle(
    client: &mut Object,
    claimed: &ClaimedJob,
    settlement: &Settlement,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let (id, lease) = (claimed.job.id.as_str(), claimed.lease.as_str());
    let changed = match settlement {
        Settlement::Done => {
            execute(
                &*client,
                "DELETE FROM jobs WHERE id = $1 AND lease = $2",
                &[&id, &lease],
            )
            .await?
        }
        Settlement::Dead { error } => {
            execute(
                &*client,
                "UPDATE jobs SET state = 'dead', lease = NULL, last_error = $3, updated_at = $4
                 WHERE id = $1 AND lease = $2",
                &[&id, &lease, &text(error), &ms(now)],
            )
            .await?
        }
        Settlement::Retry { due_at, error } => {
            requeue_racing(client, id, lease, ms(*due_at), Some(error), ms(now)).await?
        }
        Settlement::Defer { due_at } => {
            requeue_racing(client, id, lease, ms(*due_at), None, ms(now)).await?
        }
    };
    Ok(changed > 0)
}

/// [`requeue`], again when another transaction queued a job with the same
/// key at the same moment.
async fn requeue_racing(
    client: &mut Object,
    id: &str,
    lease: &str,
    due_at: OffsetDateTime,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut tries = 0;
    loop {
        match requeue(client, id, lease, due_at, error, now).await {
            Err(e) if is_key_race(&e) && tries + 1 < ATTEMPTS_ON_KEY_RACE => tries += 1,
            other => return Ok(u64::from(other?)),
        }
    }
}

/// Puts a held job back in the queue, or merges it into a job with its key
/// queued meanwhile: a retry (with `error`) keeps the claim's attempt, a
/// deferral (no error) gives it back. `false` when the lease was lost.
async fn requeue(
    client: &mut Object,
    id: &str,
    lease: &str,
    due_at: OffsetDateTime,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let held = tx
        .query_opt(
            "SELECT dedupe_key FROM jobs WHERE id = $1 AND lease = $2 FOR UPDATE",
            &[&id, &lease],
        )
        .await?;
    let Some(held) = held else {
        tx.rollback().await?;
        return Ok(false);
    };
    let key: Option<String> = held.try_get(0)?;
    if !merged_into_queued(&tx, id, key.as_deref(), due_at).await? {
        let uncounted = i32::from(error.is_none());
        tx.execute(
            "UPDATE jobs SET state = 'queued', lease = NULL, due_at = $2,
                 last_error = COALESCE($3, last_error), attempts = GREATEST(attempts - $5, 0),
                 updated_at = $4 WHERE id = $1",
            &[&id, &due_at, &error.map(text), &now, &uncounted],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// When another job with `key` is queued, it stands for job `id` (at the
/// earlier due time) and `id` goes: at most one queued job per key.
async fn merged_into_queued(
    tx: &impl GenericClient,
    id: &str,
    key: Option<&str>,
    due_at: OffsetDateTime,
) -> Result<bool, tokio_postgres::Error> {
    let Some(key) = key else { return Ok(false) };
    let merged = tx
        .execute(
            "UPDATE jobs SET due_at = LEAST(due_at, $3)
             WHERE dedupe_key = $2 AND state = 'queued' AND id <> $1",
            &[&id, &key, &due_at],
        )
        .await?;
    if merged > 0 {
        tx.execute("DELETE FROM jobs WHERE id = $1", &[&id]).await?;
    }
    Ok(merged > 0)
}

fn is_key_race(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

pub async fn find(client: &mut Object, id: &JobId) -> Result<Option<Job>, StoreError> {
    let row = query_opt(
        &*client,
        &format!("SELECT {COLUMNS} FROM jobs WHERE id = $1"),
        &[&id.as_str()],
    )
    .await?;
    row.map(|row| raw_job(&row)?.into_job()).transpose()
}

pub async fn list(client: &mut Object, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
    let kind = filter.kind.map(JobKind::label);
    let state = filter.state.map(JobState::label);
    let before = filter.before.as_ref().map(JobId::as_str);
    let limit = i64::try_from(filter.limit).unwrap_or(i64::MAX);
    let rows = query(
        &*client,
        &format!(
            "SELECT {COLUMNS} FROM jobs
             WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR state = $2)
               AND ($3::text IS NULL OR id < $3)
             ORDER BY id DESC LIMIT $4"
        ),
        &[&kind, &state, &before, &limit],
    )
    .await?;
    rows.iter().map(|row| raw_job(row)?.into_job()).collect()
}

pub async fn retry(
    client: &mut Object,
    id: &JobId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let mut tries = 0;
    loop {
        match revive(client, id.as_str(), ms(now)).await {
            Err(e) if is_key_race(&e) && tries + 1 < ATTEMPTS_ON_KEY_RACE => tries += 1,
            other => return Ok(other?),
        }
    }
}

async fn revive(
    client: &mut Object,
    id: &str,
    now: OffsetDateTime,
) -> Result<bool, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let found = tx
        .query_opt(
            "SELECT state, dedupe_key FROM jobs WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
    let Some(found) = found else {
        tx.rollback().await?;
        return Ok(false);
    };
    let (state, key): (String, Option<String>) = (found.try_get(0)?, found.try_get(1)?);
    if state == JobState::Running.label() {
        tx.rollback().await?;
        return Ok(false);
    }
    let merged =
        state == JobState::Dead.label() && merged_into_queued(&tx, id, key.as_deref(), now).await?;
    if !merged {
        tx.execute(
            "UPDATE jobs SET state = 'queued', attempts = 0, due_at = $2, lease = NULL,
                 updated_at = $2 WHERE id = $1",
            &[&id, &now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

pub async fn drop_job(client: &mut Object, id: &JobId) -> Result<bool, StoreError> {
    let removed = execute(&*client, "DELETE FROM jobs WHERE id = $1", &[&id.as_str()]).await?;
    Ok(removed > 0)
}

pub async fn count(client: &mut Object) -> Result<JobCounts, StoreError> {
    let rows = query(
        &*client,
        "SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state",
        &[],
    )
    .await?;
    let mut counts = JobCounts::new();
    for row in rows {
        let kind: String = column(&row, 0, "jobs.kind")?;
        let state: String = column(&row, 1, "jobs.state")?;
        let n: i64 = column(&row, 2, "jobs count")?;
        let (Some(kind), Some(state)) = (JobKind::parse(&kind), JobState::parse(&state)) else {
            return Err(StoreError::Corrupt(format!(
                "jobs of unknown kind `{kind}` or state `{state}`"
            )));
        };
        tally(
            &mut counts,
            kind,
            state,
            u64::try_from(n).unwrap_or_default(),
        );
    }
    Ok(counts)
}

fn raw_job(row: &Row) -> Result<RawJob<OffsetDateTime>, StoreError> {
    const WHAT: &str = "job";
    Ok(RawJob {
        id: column(row, 0, WHAT)?,
        kind: column(row, 1, WHAT)?,
        payload: column(row, 2, WHAT)?,
        dedupe_key: column(row, 3, WHAT)?,
        state: column(row, 4, WHAT)?,
        attempts: i64::from(column::<i32>(row, 5, WHAT)?),
        due_at: column(row, 6, WHAT)?,
        last_error: column(row, 7, WHAT)?,
        created_at: column(row, 8, WHAT)?,
        updated_at: column(row, 9, WHAT)?,
    })
}
