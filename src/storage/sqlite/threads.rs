//! The `thread_cache`, `hidden_replies` and `hidden_accounts` tables.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{exec, millis, row};
use crate::domain::PostUrl;
use crate::domain::thread::HiddenReplies;
use crate::storage::rows::{RawThread, thread_payload};
use crate::storage::{CachedThread, StoreError};

pub fn load(
    conn: &mut Connection,
    url: &PostUrl,
) -> rusqlite::Result<Result<Option<CachedThread>, StoreError>> {
    let row = row(
        conn,
        "SELECT payload, fetched_at, fresh_until FROM thread_cache WHERE url = ?1",
        [url.as_str()],
        |row| {
            Ok(RawThread::<i64> {
                payload: row.get(0)?,
                fetched_at: row.get(1)?,
                fresh_until: row.get(2)?,
            })
        },
    )
    .optional()?;
    Ok(row.map_or(Ok(None), |raw| raw.into_thread(url)))
}

pub fn save(conn: &mut Connection, thread: &CachedThread) -> rusqlite::Result<()> {
    let payload =
        thread_payload(thread).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    exec(conn,
        "INSERT INTO thread_cache (url, payload, fetched_at, fresh_until) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (url) DO UPDATE SET payload = excluded.payload, fetched_at = excluded.fetched_at,
             fresh_until = excluded.fresh_until",
        params![thread.url.as_str(), payload, millis(thread.fetched_at), millis(thread.fresh_until)],
    )?;
    Ok(())
}

/// `table` and `column` are one of two fixed pairs, never user input.
pub fn hide(
    conn: &mut Connection,
    table: &str,
    column: &str,
    key: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    exec(
        conn,
        &format!(
            "INSERT INTO {table} ({column}, created_at) VALUES (?1, ?2) ON CONFLICT ({column}) DO NOTHING"
        ),
        params![key, millis(now)],
    )?;
    Ok(())
}

pub fn unhide(
    conn: &mut Connection,
    table: &str,
    column: &str,
    key: &str,
) -> rusqlite::Result<bool> {
    Ok(exec(
        conn,
        &format!("DELETE FROM {table} WHERE {column} = ?1"),
        [key],
    )? > 0)
}

pub fn hidden(conn: &mut Connection) -> rusqlite::Result<HiddenReplies> {
    let mut hidden = HiddenReplies::default();
    let mut statement = conn.prepare_cached("SELECT status_id FROM hidden_replies")?;
    hidden.statuses = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut statement = conn.prepare_cached("SELECT acct FROM hidden_accounts")?;
    hidden.accounts = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(hidden)
}
