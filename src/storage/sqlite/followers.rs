//! The `followers` table (see `storage::followers`): one row per follower
//! actor; following again refreshes the inboxes only.

use rusqlite::{Connection, OptionalExtension, params};

use super::exec;
use crate::storage::rows::{from_millis, millis};
use crate::storage::{Follower, PublishedPost};

/// Inserts or refreshes; `true` when the actor was not following.
pub fn add(conn: &mut Connection, f: &Follower) -> rusqlite::Result<bool> {
    let tx = conn.transaction()?;
    let existed: bool = tx
        .prepare_cached("SELECT 1 FROM followers WHERE actor = ?1")?
        .query_row([&f.actor], |_| Ok(()))
        .optional()?
        .is_some();
    exec(
        &tx,
        "INSERT INTO followers (actor, inbox, shared_inbox, followed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (actor) DO UPDATE SET inbox = excluded.inbox,
             shared_inbox = excluded.shared_inbox",
        params![f.actor, f.inbox, f.shared_inbox, millis(f.followed_at)],
    )?;
    tx.commit()?;
    Ok(!existed)
}

pub fn remove(conn: &mut Connection, actor: &str) -> rusqlite::Result<bool> {
    Ok(exec(conn, "DELETE FROM followers WHERE actor = ?1", [actor])? > 0)
}

const COLUMNS: &str = "SELECT actor, inbox, shared_inbox, followed_at FROM followers";

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Follower> {
    let at: i64 = row.get(3)?;
    Ok(Follower {
        actor: row.get(0)?,
        inbox: row.get(1)?,
        shared_inbox: row.get(2)?,
        followed_at: from_millis(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH),
    })
}

pub fn find(conn: &mut Connection, actor: &str) -> rusqlite::Result<Option<Follower>> {
    conn.prepare_cached(&format!("{COLUMNS} WHERE actor = ?1"))?
        .query_row([actor], read)
        .optional()
}

pub fn list(conn: &mut Connection) -> rusqlite::Result<Vec<Follower>> {
    conn.prepare_cached(&format!("{COLUMNS} ORDER BY followed_at DESC, actor"))?
        .query_map([], read)?
        .collect()
}

/// Inserts or replaces the object; the first `published_at` stays.
pub fn save_published(conn: &mut Connection, p: &PublishedPost) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO published_posts (url, object, published_at, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (url) DO UPDATE SET object = excluded.object, updated_at = excluded.updated_at",
        params![p.url, p.object, millis(p.published_at), millis(p.updated_at)],
    )?;
    Ok(())
}

const PUBLISHED: &str = "SELECT url, object, published_at, updated_at FROM published_posts";

fn read_published(row: &rusqlite::Row<'_>) -> rusqlite::Result<PublishedPost> {
    let time = |at: i64| from_millis(at).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Ok(PublishedPost {
        url: row.get(0)?,
        object: row.get(1)?,
        published_at: time(row.get(2)?),
        updated_at: time(row.get(3)?),
    })
}

pub fn find_published(conn: &mut Connection, url: &str) -> rusqlite::Result<Option<PublishedPost>> {
    conn.prepare_cached(&format!("{PUBLISHED} WHERE url = ?1"))?
        .query_row([url], read_published)
        .optional()
}

pub fn list_published(conn: &mut Connection) -> rusqlite::Result<Vec<PublishedPost>> {
    conn.prepare_cached(&format!("{PUBLISHED} ORDER BY published_at DESC, url"))?
        .query_map([], read_published)?
        .collect()
}
