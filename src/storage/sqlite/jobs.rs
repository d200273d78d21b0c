//! The `jobs` table: the one durable queue (see `storage::jobs`).
//!
//! Every write runs on the store's one writer connection, and the ones
//! that read before they decide run in `BEGIN IMMEDIATE` transactions, so
//! a claim is atomic across processes sharing the file. A running job's
//! `due_at` is the end of its lease: one index (`state`, `due_at`) finds
//! both due jobs and jobs whose worker died.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;

use super::{exec, millis, row};
use crate::domain::job::{ClaimedJob, Job, JobId, JobKind, JobState, NewJob, Settlement};
use crate::storage::StoreError;
use crate::storage::jobs::{Enqueued, JobCounts, JobFilter, new_job_id, new_lease, tally};
use crate::storage::rows::RawJob;

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

const COLUMNS: &str =
    "id, kind, payload, dedupe_key, state, attempts, due_at, last_error, created_at, updated_at";

/// Inserts `job`, or merges it into the queued job with its dedupe key.
/// Runs inside the caller's transaction when there is one (receiving a
/// mention queues its verification atomically with it).
pub fn insert(conn: &Connection, job: &NewJob, now: OffsetDateTime) -> rusqlite::Result<Enqueued> {
    let id = new_job_id(now);
    let stored: String = row(
        conn,
        "INSERT INTO jobs (id, kind, payload, dedupe_key, state, attempts, due_at, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'queued', 0, ?5, ?6, ?6)
         ON CONFLICT (dedupe_key) WHERE state = 'queued'
         DO UPDATE SET due_at = min(due_at, excluded.due_at), updated_at = excluded.updated_at
         RETURNING id",
        params![
            id.as_str(),
            job.kind.label(),
            job.payload,
            job.dedupe_key,
            millis(job.due_at),
            millis(now)
        ],
        |row| row.get(0),
    )?;
    Ok(if stored == id.as_str() {
        Enqueued::Created(id)
    } else {
        Enqueued::Merged(JobId::parse(&stored).unwrap_or(id))
    })
}

pub fn enqueue(
    conn: &mut Connection,
    job: &NewJob,
    now: OffsetDateTime,
) -> rusqlite::Result<Enqueued> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let enqueued = insert(&tx, job, now)?;
    tx.commit()?;
    Ok(enqueued)
}

pub fn bring_forward(
    conn: &mut Connection,
    key: &str,
    due_at: OffsetDateTime,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    Ok(exec(
        conn,
        "UPDATE jobs SET due_at = min(due_at, ?2), updated_at = ?3
         WHERE dedupe_key = ?1 AND state = 'queued'",
        params![key, millis(due_at), millis(now)],
    )? > 0)
}

pub fn claim(
    conn: &mut Connection,
    now: OffsetDateTime,
    until: OffsetDateTime,
) -> Outcome<Option<ClaimedJob>> {
    let lease = new_lease();
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease = ?2, due_at = ?3,
             updated_at = ?1
         WHERE id = (SELECT id FROM jobs WHERE state <> 'dead' AND due_at <= ?1
                     ORDER BY due_at, id LIMIT 1)
         RETURNING {COLUMNS}"
    );
    let claimed = row(
        conn,
        &sql,
        params![millis(now), lease.as_str(), millis(until)],
        raw_job,
    )
    .optional()?;
    Ok(claimed
        .map(|raw| raw.into_job().map(|job| ClaimedJob { job, lease }))
        .transpose())
}

pub fn settle(
    conn: &mut Connection,
    claimed: &ClaimedJob,
    settlement: &Settlement,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let (id, lease) = (claimed.job.id.as_str(), claimed.lease.as_str());
    let changed = match settlement {
        Settlement::Done => exec(
            conn,
            "DELETE FROM jobs WHERE id = ?1 AND lease = ?2",
            params![id, lease],
        )?,
        Settlement::Dead { error } => exec(
            conn,
            "UPDATE jobs SET state = 'dead', lease = NULL, last_error = ?3, updated_at = ?4
             WHERE id = ?1 AND lease = ?2",
            params![id, lease, error, millis(now)],
        )?,
        Settlement::Retry { due_at, error } => {
            requeue(conn, claimed, millis(*due_at), Some(error), now)?
        }
        Settlement::Defer { due_at } => requeue(conn, claimed, millis(*due_at), None, now)?,
    };
    Ok(changed > 0)
}

/// Puts a held job back in the queue at `due_at`: a retry (with `error`)
/// keeps the claim's attempt, a deferral (no error) gives it back. `0` when
/// the lease was lost.
fn requeue(
    conn: &mut Connection,
    claimed: &ClaimedJob,
    due_at: i64,
    error: Option<&str>,
    now: OffsetDateTime,
) -> rusqlite::Result<usize> {
    let (id, lease) = (claimed.job.id.as_str(), claimed.lease.as_str());
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let held = row(
        &tx,
        "SELECT dedupe_key FROM jobs WHERE id = ?1 AND lease = ?2",
        params![id, lease],
        |row| row.get::<_, Option<String>>(0),
    )
    .optional()?;
    let Some(key) = held else {
        return Ok(0);
    };
    if merged_into_queued(&tx, id, key.as_deref(), due_at)? {
        tx.commit()?;
        return Ok(1);
    }
    let uncounted = i64::from(error.is_none());
    exec(
        &tx,
        "UPDATE jobs SET state = 'queued', lease = NULL, due_at = ?2,
             last_error = coalesce(?3, last_error), attempts = max(attempts - ?5, 0),
             updated_at = ?4 WHERE id = ?1",
        params![id, due_at, error, millis(now), uncounted],
    )?;
    tx.commit()?;
    Ok(1)
}

/// When another job with `key` was queued meanwhile, that job stands for
/// this one (at the earlier due time) and this one goes: at most one queued
/// job per key.
fn merged_into_queued(
    tx: &Connection,
    id: &str,
    key: Option<&str>,
    due_at: i64,
) -> rusqlite::Result<bool> {
    let Some(key) = key else { return Ok(false) };
    let merged = exec(
        tx,
        "UPDATE jobs SET due_at = min(due_at, ?3) WHERE dedupe_key = ?2 AND state = 'queued' AND id <> ?1",
        params![id, key, due_at],
    )?;
    if merged > 0 {
        exec(tx, "DELETE FROM jobs WHERE id = ?1", [id])?;
    }
    Ok(merged > 0)
}

pub fn find(conn: &mut Connection, id: &JobId) -> Outcome<Option<Job>> {
    let sql = format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1");
    let found = row(conn, &sql, [id.as_str()], raw_job).optional()?;
    Ok(found.map(RawJob::into_job).transpose())
}

pub fn list(conn: &mut Connection, filter: &JobFilter) -> Outcome<Vec<Job>> {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(kind) = filter.kind {
        conditions.push("kind = ?");
        values.push(Value::Text(kind.label().to_owned()));
    }
    if let Some(state) = filter.state {
        conditions.push("state = ?");
        values.push(Value::Text(state.label().to_owned()));
    }
    if let Some(before) = &filter.before {
        conditions.push("id < ?");
        values.push(Value::Text(before.as_str().to_owned()));
    }
    let filter_sql = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    values.push(Value::Integer(
        i64::try_from(filter.limit).unwrap_or(i64::MAX),
    ));
    let sql = format!("SELECT {COLUMNS} FROM jobs {filter_sql} ORDER BY id DESC LIMIT ?");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement
        .query_map(params_from_iter(values), raw_job)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(RawJob::into_job).collect())
}

pub fn retry(conn: &mut Connection, id: &JobId, now: OffsetDateTime) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found = row(
        &tx,
        "SELECT state, dedupe_key FROM jobs WHERE id = ?1",
        [id.as_str()],
        |row| Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?)),
    )
    .optional()?;
    let Some((state, key)) = found.filter(|(state, _)| state != JobState::Running.label()) else {
        return Ok(false);
    };
    let now_ms = millis(now);
    if state == JobState::Dead.label()
        && merged_into_queued(&tx, id.as_str(), key.as_deref(), now_ms)?
    {
        tx.commit()?;
        return Ok(true);
    }
    exec(
        &tx,
        "UPDATE jobs SET state = 'queued', attempts = 0, due_at = ?2, lease = NULL, updated_at = ?2
         WHERE id = ?1",
        params![id.as_str(), now_ms],
    )?;
    tx.commit()?;
    Ok(true)
}

pub fn drop_job(conn: &mut Connection, id: &JobId) -> rusqlite::Result<bool> {
    Ok(exec(conn, "DELETE FROM jobs WHERE id = ?1", [id.as_str()])? > 0)
}

pub fn count(conn: &mut Connection) -> Outcome<JobCounts> {
    let mut statement =
        conn.prepare_cached("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state")?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut counts = JobCounts::new();
    for (kind, state, n) in rows {
        let (Some(kind), Some(state)) = (JobKind::parse(&kind), JobState::parse(&state)) else {
            return Ok(Err(StoreError::Corrupt(format!(
                "jobs of unknown kind `{kind}` or state `{state}`"
            ))));
        };
        tally(
            &mut counts,
            kind,
            state,
            u64::try_from(n).unwrap_or_default(),
        );
    }
    Ok(Ok(counts))
}

fn raw_job(row: &Row<'_>) -> rusqlite::Result<RawJob<i64>> {
    Ok(RawJob {
        id: row.get(0)?,
        kind: row.get(1)?,
        payload: row.get(2)?,
        dedupe_key: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        due_at: row.get(6)?,
        last_error: row.get(7)?,
        created_at: row.get(8)?,
        updated_at: row.get(9)?,
    })
}
