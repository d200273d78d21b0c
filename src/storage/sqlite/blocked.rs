//! The `blocked_domains` table.

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use super::{exec, millis};

pub fn block_domain(
    conn: &mut Connection,
    domain: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO blocked_domains (domain, created_at) VALUES (?1, ?2) ON CONFLICT (domain) DO NOTHING",
        params![domain, millis(now)],
    )?;
    Ok(())
}

pub fn unblock_domain(conn: &mut Connection, domain: &str) -> rusqlite::Result<bool> {
    Ok(exec(
        conn,
        "DELETE FROM blocked_domains WHERE domain = ?1",
        [domain],
    )? > 0)
}

pub fn blocked_domains(conn: &mut Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT domain FROM blocked_domains ORDER BY domain")?;
    statement.query_map([], |row| row.get(0))?.collect()
}
