//! The `posts` table: rows ↔ domain post records, and the claim protocol.
//!
//! Invariant: at most one claim holder per post across every instance. A
//! missing row is created with `INSERT … ON CONFLICT DO NOTHING`, whose
//! unique-index check makes a concurrent inserter wait for the first one's
//! outcome; an existing row is read under `SELECT … FOR UPDATE`, so the
//! check (announced? failed? lease still running?) and the takeover of an
//! expired lease happen while no other instance can change the row. The
//! first recorded toot wins.

use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::Row;

use super::rows::{column, execute, ms, query, query_opt, text};
use crate::domain::{ClaimOutcome, ClaimToken, PostRecord, PostState, PostUrl, TootId};
use crate::storage::StoreError;
use crate::storage::rows::{RawPost, recorded_toot};

pub(super) const COLUMNS: &str =
    "url, state, toot_id, claim_token, claim_expires_at, failure, created_at, updated_at";

/// A row can vanish between the insert and the locking read (a holder
/// released its claim); the claim then simply starts over, a few times.
const ATTEMPTS: usize = 5;

pub async fn claim(
    client: &mut Object,
    url: &PostUrl,
    token: ClaimToken,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<ClaimOutcome, StoreError> {
    let (expires_at, now) = (ms(expires_at), ms(now));
    let tx = client.transaction().await?;
    for _ in 0..ATTEMPTS {
        let inserted = execute(
            &tx,
            "INSERT INTO posts (url, state, claim_token, claim_expires_at, created_at, updated_at)
             VALUES ($1, 'claimed', $2, $3, $4, $4) ON CONFLICT (url) DO NOTHING",
            &[&url.as_str(), &token.as_str(), &expires_at, &now],
        )
        .await?;
        if inserted == 1 {
            tx.commit().await?;
            return Ok(ClaimOutcome::Claimed(token));
        }
        let locked = query_opt(
            &tx,
            &format!("SELECT {COLUMNS} FROM posts WHERE url = $1 FOR UPDATE"),
            &[&url.as_str()],
        )
        .await?;
        let Some(row) = locked else {
            continue;
        };
        let outcome = match raw_post(&row)?.into_record()?.state {
            PostState::Announced { toot_id } => ClaimOutcome::Announced(toot_id),
            PostState::Failed { reason } => ClaimOutcome::Failed(reason),
            PostState::Claimed {
                expires_at: held_until,
                ..
            } if held_until > now => ClaimOutcome::InProgress,
            PostState::Claimed { .. } => {
                execute(
                    &tx,
                    "UPDATE posts SET claim_token = $2, claim_expires_at = $3, updated_at = $4
                     WHERE url = $1",
                    &[&url.as_str(), &token.as_str(), &expires_at, &now],
                )
                .await?;
                ClaimOutcome::Claimed(token)
            }
        };
        tx.commit().await?;
        return Ok(outcome);
    }
    Err(StoreError::Unavailable(format!(
        "the claim on {url} kept changing under contention; try again"
    )))
}

/// First recorded toot wins; a record made by any claim holder counts, since
/// the toot exists on Mastodon either way.
pub async fn record_toot(
    client: &mut Object,
    url: &PostUrl,
    toot: &TootId,
    now: OffsetDateTime,
) -> Result<TootId, StoreError> {
    let tx = client.transaction().await?;
    execute(
        &tx,
        "INSERT INTO posts (url, state, toot_id, created_at, updated_at) VALUES ($1, 'announced', $2, $3, $3)
         ON CONFLICT (url) DO UPDATE SET state = 'announced', toot_id = excluded.toot_id,
             claim_token = NULL, claim_expires_at = NULL, failure = NULL, updated_at = excluded.updated_at
         WHERE posts.state <> 'announced'",
        &[&url.as_str(), &text(toot.as_str()), &ms(now)],
    )
    .await?;
    let row = query_opt(
        &tx,
        "SELECT toot_id FROM posts WHERE url = $1",
        &[&url.as_str()],
    )
    .await?;
    tx.commit().await?;
    let stored: Option<String> = match row {
        Some(row) => column(&row, 0, "posts.toot_id")?,
        None => None,
    };
    recorded_toot(url, stored)
}

pub async fn record_failure(
    client: &mut Object,
    url: &PostUrl,
    claim: &ClaimToken,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    execute(
        &*client,
        "UPDATE posts SET state = 'failed', failure = $3, claim_token = NULL, claim_expires_at = NULL,
             updated_at = $4
         WHERE url = $1 AND state = 'claimed' AND claim_token = $2",
        &[&url.as_str(), &claim.as_str(), &text(reason), &ms(now)],
    )
    .await?;
    Ok(())
}

pub async fn release_claim(
    client: &mut Object,
    url: &PostUrl,
    claim: &ClaimToken,
) -> Result<(), StoreError> {
    execute(
        &*client,
        "DELETE FROM posts WHERE url = $1 AND state = 'claimed' AND claim_token = $2",
        &[&url.as_str(), &claim.as_str()],
    )
    .await?;
    Ok(())
}

pub async fn forget_failure(client: &mut Object, url: &PostUrl) -> Result<bool, StoreError> {
    let removed = execute(
        &*client,
        "DELETE FROM posts WHERE url = $1 AND state = 'failed'",
        &[&url.as_str()],
    )
    .await?;
    Ok(removed > 0)
}

pub async fn find(client: &mut Object, url: &PostUrl) -> Result<Option<PostRecord>, StoreError> {
    let row = query_opt(
        &*client,
        &format!("SELECT {COLUMNS} FROM posts WHERE url = $1"),
        &[&url.as_str()],
    )
    .await?;
    row.map(|row| raw_post(&row)?.into_record()).transpose()
}

pub async fn list(client: &mut Object) -> Result<Vec<PostRecord>, StoreError> {
    let rows = query(
        &*client,
        &format!("SELECT {COLUMNS} FROM posts ORDER BY created_at, url"),
        &[],
    )
    .await?;
    rows.iter()
        .map(|row| raw_post(row)?.into_record())
        .collect()
}

/// Reads one row of `COLUMNS`; `crate::storage::rows` converts it.
pub(super) fn raw_post(row: &Row) -> Result<RawPost<OffsetDateTime>, StoreError> {
    const WHAT: &str = "posts";
    Ok(RawPost {
        url: column(row, 0, WHAT)?,
        state: column(row, 1, WHAT)?,
        toot_id: column(row, 2, WHAT)?,
        claim_token: column(row, 3, WHAT)?,
        claim_expires_at: column(row, 4, WHAT)?,
        failure: column(row, 5, WHAT)?,
        created_at: column(row, 6, WHAT)?,
        updated_at: column(row, 7, WHAT)?,
    })
}
