//! The `mention_aliases` table (see `storage::aliases`).

use rusqlite::{Connection, OptionalExtension, params};

use super::exec;
use crate::domain::mention::MentionId;
use crate::storage::Imported;
use crate::storage::aliases::outcome;

pub fn alias_mention(
    conn: &mut Connection,
    alias: &str,
    id: MentionId,
) -> rusqlite::Result<Imported> {
    let kept = find(conn, alias)?;
    if kept.is_none() {
        exec(
            conn,
            "INSERT INTO mention_aliases (alias, mention_id) VALUES (?1, ?2) ON CONFLICT (alias) DO NOTHING",
            params![alias, id.0],
        )?;
        return Ok(outcome(find(conn, alias)?.filter(|k| *k != id), id));
    }
    Ok(outcome(kept, id))
}

pub fn find(conn: &mut Connection, alias: &str) -> rusqlite::Result<Option<MentionId>> {
    conn.prepare_cached("SELECT mention_id FROM mention_aliases WHERE alias = ?1")?
        .query_row([alias], |row| row.get(0))
        .optional()
        .map(|id| id.map(MentionId))
}
