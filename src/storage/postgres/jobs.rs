//! The `verification_jobs` table: the durable queue behind webmention
//! verification, shared by every instance.
//!
//! Invariant: each due job is handed to one worker at a time. A claim picks
//! the oldest due job with `FOR UPDATE SKIP LOCKED` (instances claiming at
//! once each get a different job, and none waits on another) and stamps it
//! with a fresh token and a lease; a worker that dies leaves the lease to run
//! out, and the job is claimed again. Settling locks the mention, then checks
//! the token under a row lock, so a holder whose lease was taken over
//! changes nothing.

use std::time::Duration;

use deadpool_postgres::{Object, Transaction};
use time::OffsetDateTime;

use super::rows::{column, count, execute, ms, opt_text, query_one, query_opt, text};
use crate::domain::mention::{MentionData, MentionEvent, Relation, Transition};
use crate::storage::rows::RawJob;
use crate::storage::{StoreError, VerificationJob};

pub async fn claim(
    client: &mut Object,
    now: OffsetDateTime,
    lease: Duration,
    token: String,
) -> Result<Option<VerificationJob>, StoreError> {
    let (until, now) = (ms(now + lease), ms(now));
    let tx = client.transaction().await?;
    let due = query_opt(
        &tx,
        "SELECT j.mention_id, m.source, m.target, j.attempts, m.verification, m.reason
         FROM verification_jobs j JOIN mentions m ON m.id = j.mention_id
         WHERE j.due_at <= $1 AND (j.claimed_until IS NULL OR j.claimed_until <= $1)
         ORDER BY j.due_at, j.mention_id LIMIT 1
         FOR UPDATE OF j SKIP LOCKED",
        &[&now],
    )
    .await?;
    let Some(row) = due else {
        tx.commit().await?;
        return Ok(None);
    };
    const WHAT: &str = "verification job";
    let id: i64 = column(&row, 0, WHAT)?;
    execute(
        &tx,
        "UPDATE verification_jobs SET claim_token = $2, claimed_until = $3 WHERE mention_id = $1",
        &[&id, &token, &until],
    )
    .await?;
    tx.commit().await?;
    let raw = RawJob {
        mention_id: id,
        source: column(&row, 1, WHAT)?,
        target: column(&row, 2, WHAT)?,
        attempts: i64::from(column::<i32>(&row, 3, WHAT)?),
        verification: column(&row, 4, WHAT)?,
        reason: column(&row, 5, WHAT)?,
    };
    raw.into_job(token).map(Some)
}

pub async fn settle(
    client: &mut Object,
    job: &VerificationJob,
    transition: &Transition,
    notify: bool,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let now = ms(now);
    let id = job.mention_id.0;
    let tx = client.transaction().await?;
    let mention = query_opt(
        &tx,
        "SELECT id FROM mentions WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await?;
    let held = match mention {
        Some(_) => query_opt(
            &tx,
            "SELECT mention_id FROM verification_jobs
             WHERE mention_id = $1 AND claim_token = $2 FOR UPDATE",
            &[&id, &job.token],
        )
        .await?
        .is_some(),
        None => false,
    };
    if !held {
        tx.rollback().await?;
        return Ok(false);
    }
    match transition {
        Transition::Verify(data) => {
            write_verified(&tx, id, data, now).await?;
            finish_job(&tx, id).await?;
        }
        Transition::Reject(reason) => {
            set_state(&tx, id, "rejected", reason, now).await?;
            finish_job(&tx, id).await?;
        }
        Transition::Delete(reason) => {
            set_state(&tx, id, "deleted", reason, now).await?;
            finish_job(&tx, id).await?;
        }
        Transition::Keep(_) => finish_job(&tx, id).await?,
        Transition::RetryAfter(delay) => {
            execute(
                &tx,
                "UPDATE verification_jobs SET attempts = attempts + 1, due_at = $2, claim_token = NULL,
                     claimed_until = NULL WHERE mention_id = $1",
                &[&id, &ms(now + *delay)],
            )
            .await?;
        }
    }
    if let Some(event) = MentionEvent::of(&job.current, transition).filter(|_| notify) {
        execute(
            &tx,
            "INSERT INTO webhook_deliveries (mention_id, event, due_at) VALUES ($1, $2, $3)",
            &[&id, &event.label(), &now],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

async fn write_verified(
    tx: &Transaction<'_>,
    id: i64,
    data: &MentionData,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let author = data.author.clone().unwrap_or_default();
    let rsvp = match &data.relation {
        Relation::Rsvp(value) => Some(text(value)),
        _ => None,
    };
    execute(
        tx,
        "UPDATE mentions SET verification = 'verified', reason = NULL, property = $2, rsvp = $3,
             author_name = $4, author_photo = $5, author_url = $6, content_html = $7, content_text = $8,
             name = $9, published = $10, url = $11, updated_at = $12
         WHERE id = $1",
        &[
            &id,
            &data.relation.property(),
            &rsvp,
            &opt_text(author.name.as_deref()),
            &opt_text(author.photo.as_deref()),
            &opt_text(author.url.as_deref()),
            &opt_text(data.content_html.as_deref()),
            &opt_text(data.content_text.as_deref()),
            &opt_text(data.name.as_deref()),
            &opt_text(data.published.as_deref()),
            &opt_text(data.url.as_deref()),
            &now,
        ],
    )
    .await?;
    Ok(())
}

async fn set_state(
    tx: &Transaction<'_>,
    id: i64,
    state: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    execute(
        tx,
        "UPDATE mentions SET verification = $2, reason = $3, updated_at = $4 WHERE id = $1",
        &[&id, &state, &text(reason), &now],
    )
    .await?;
    Ok(())
}

async fn finish_job(tx: &Transaction<'_>, id: i64) -> Result<(), StoreError> {
    execute(
        tx,
        "DELETE FROM verification_jobs WHERE mention_id = $1",
        &[&id],
    )
    .await?;
    Ok(())
}

pub async fn pending(client: &mut Object) -> Result<u64, StoreError> {
    let row = query_one(&*client, "SELECT COUNT(*) FROM verification_jobs", &[]).await?;
    count(&row, "verification_jobs count")
}
