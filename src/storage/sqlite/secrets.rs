//! The `secrets` table (see `storage::secrets`): the primary key makes the
//! first value stored win.

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::{exec, millis, row};

pub fn find(conn: &mut Connection, name: &str) -> rusqlite::Result<Option<Vec<u8>>> {
    row(
        conn,
        "SELECT value FROM secrets WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
    .optional()
}

/// Stores `value` unless `name` has one; returns the one stored.
pub fn create(
    conn: &mut Connection,
    name: &str,
    value: &[u8],
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<u8>> {
    exec(
        conn,
        "INSERT INTO secrets (name, value, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO NOTHING",
        params![name, value, millis(now)],
    )?;
    row(
        conn,
        "SELECT value FROM secrets WHERE name = ?1",
        [name],
        |row| row.get(0),
    )
}
