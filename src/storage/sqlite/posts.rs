//! The `posts` table: rows ↔ domain post records, and the claim protocol.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;

use super::{exec, millis, row};
use crate::domain::{ClaimOutcome, ClaimToken, PostRecord, PostState, PostUrl, TootId};
use crate::storage::StoreError;
use crate::storage::rows::{RawPost, recorded_toot};

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

const COLUMNS: &str =
    "url, state, toot_id, claim_token, claim_expires_at, failure, created_at, updated_at";

pub fn claim(
    conn: &mut Connection,
    url: &PostUrl,
    token: ClaimToken,
    expires_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Outcome<ClaimOutcome> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let existing = match find_in(&tx, url)? {
        Ok(existing) => existing,
        Err(e) => return Ok(Err(e)),
    };
    let outcome = match existing.map(|record| record.state) {
        Some(PostState::Announced { toot_id }) => ClaimOutcome::Announced(toot_id),
        Some(PostState::Failed { reason }) => ClaimOutcome::Failed(reason),
        Some(PostState::Claimed {
            expires_at: held_until,
            ..
        }) if held_until > now => ClaimOutcome::InProgress,
        Some(PostState::Claimed { .. }) => {
            exec(
                &tx,
                "UPDATE posts SET claim_token = ?2, claim_expires_at = ?3, updated_at = ?4 WHERE url = ?1",
                params![
                    url.as_str(),
                    token.as_str(),
                    millis(expires_at),
                    millis(now)
                ],
            )?;
            ClaimOutcome::Claimed(token)
        }
        None => {
            exec(&tx,
                "INSERT INTO posts (url, state, claim_token, claim_expires_at, created_at, updated_at)
                 VALUES (?1, 'claimed', ?2, ?3, ?4, ?4)",
                params![url.as_str(), token.as_str(), millis(expires_at), millis(now)],
            )?;
            ClaimOutcome::Claimed(token)
        }
    };
    tx.commit()?;
    Ok(Ok(outcome))
}

/// First recorded toot wins; a record made by any claim holder counts, since
/// the toot exists on Mastodon either way.
pub fn record_toot(
    conn: &mut Connection,
    url: &PostUrl,
    toot: &TootId,
    now: OffsetDateTime,
) -> Outcome<TootId> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    exec(&tx,
        "INSERT INTO posts (url, state, toot_id, created_at, updated_at) VALUES (?1, 'announced', ?2, ?3, ?3)
         ON CONFLICT (url) DO UPDATE SET state = 'announced', toot_id = excluded.toot_id,
             claim_token = NULL, claim_expires_at = NULL, failure = NULL, updated_at = excluded.updated_at
         WHERE posts.state <> 'announced'",
        params![url.as_str(), toot.as_str(), millis(now)],
    )?;
    let stored: Option<String> = row(
        &tx,
        "SELECT toot_id FROM posts WHERE url = ?1",
        [url.as_str()],
        |row| row.get(0),
    )?;
    tx.commit()?;
    Ok(recorded_toot(url, stored))
}

pub fn record_failure(
    conn: &mut Connection,
    url: &PostUrl,
    claim: &ClaimToken,
    reason: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    exec(conn,
        "UPDATE posts SET state = 'failed', failure = ?3, claim_token = NULL, claim_expires_at = NULL, updated_at = ?4
         WHERE url = ?1 AND state = 'claimed' AND claim_token = ?2",
        params![url.as_str(), claim.as_str(), reason, millis(now)],
    )?;
    Ok(())
}

pub fn release_claim(
    conn: &mut Connection,
    url: &PostUrl,
    claim: &ClaimToken,
) -> rusqlite::Result<()> {
    exec(
        conn,
        "DELETE FROM posts WHERE url = ?1 AND state = 'claimed' AND claim_token = ?2",
        params![url.as_str(), claim.as_str()],
    )?;
    Ok(())
}

pub fn forget_failure(conn: &mut Connection, url: &PostUrl) -> rusqlite::Result<bool> {
    let removed = exec(
        conn,
        "DELETE FROM posts WHERE url = ?1 AND state = 'failed'",
        [url.as_str()],
    )?;
    Ok(removed > 0)
}

pub fn find(conn: &mut Connection, url: &PostUrl) -> Outcome<Option<PostRecord>> {
    find_in(conn, url)
}

pub(super) fn find_in(conn: &Connection, url: &PostUrl) -> Outcome<Option<PostRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM posts WHERE url = ?1");
    let row = row(conn, &sql, [url.as_str()], raw_post).optional()?;
    Ok(row.map(RawPost::into_record).transpose())
}

pub fn list(conn: &mut Connection) -> Outcome<Vec<PostRecord>> {
    let sql = format!("SELECT {COLUMNS} FROM posts ORDER BY created_at, url");
    let mut statement = conn.prepare(&sql)?;
    let rows = statement
        .query_map([], raw_post)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(RawPost::into_record).collect())
}

/// Reads one row of `COLUMNS`; `rows` converts it.
fn raw_post(row: &Row<'_>) -> rusqlite::Result<RawPost<i64>> {
    Ok(RawPost {
        url: row.get(0)?,
        state: row.get(1)?,
        toot_id: row.get(2)?,
        claim_token: row.get(3)?,
        claim_expires_at: row.get(4)?,
        failure: row.get(5)?,
        created_at: row.get(6)?,
        updated_at: row.get(7)?,
    })
}
