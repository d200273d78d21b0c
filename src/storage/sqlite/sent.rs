//! The `sent_sources`, `sent_targets` and `feeds` tables (see
//! `storage::sent`). A pair's attempt is read and written in one `BEGIN
//! IMMEDIATE` transaction, so concurrent workers count attempts right.

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use time::OffsetDateTime;
use url::Url;

use super::{exec, millis, row};
use crate::domain::sent::{FeedState, SendAttempt, SentSource, SentTarget};
use crate::storage::StoreError;
use crate::storage::sent_rows::{
    RawFeed, RawSentSource, RawSentTarget, from_json, link_texts, to_json,
};

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

const TARGET_COLUMNS: &str = "target, endpoint, status, http_status, answer, attempts, version, \
                              delivered_version, updated_at";

pub fn load_feed(conn: &mut Connection, feed: &Url) -> Outcome<Option<FeedState>> {
    let raw = row(
        conn,
        "SELECT etag, last_modified, entries, checked_at FROM feeds WHERE feed = ?1",
        [feed.as_str()],
        |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, i64>(3)?,
            ))
        },
    )
    .optional()?;
    Ok(raw
        .map(|(etag, last_modified, entries, checked_at)| {
            RawFeed {
                feed: feed.to_string(),
                etag,
                last_modified,
                entries: from_json(&entries, &format!("entries of feed {feed}"))?,
                checked_at,
            }
            .into_feed()
        })
        .transpose())
}

pub fn save_feed(conn: &mut Connection, state: &FeedState) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO feeds (feed, etag, last_modified, entries, checked_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (feed) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
             entries = excluded.entries, checked_at = excluded.checked_at",
        params![
            state.feed.as_str(),
            state.etag,
            state.last_modified,
            to_json(&state.entries),
            millis(state.checked_at)
        ],
    )?;
    Ok(())
}

fn raw_target(r: &Row<'_>) -> rusqlite::Result<RawSentTarget<i64>> {
    Ok(RawSentTarget {
        target: r.get(0)?,
        endpoint: r.get(1)?,
        status: r.get(2)?,
        http_status: r.get(3)?,
        answer: r.get(4)?,
        attempts: r.get(5)?,
        version: r.get(6)?,
        delivered_version: r.get(7)?,
        updated_at: r.get(8)?,
    })
}

fn targets(conn: &Connection, source: &str) -> Outcome<Vec<SentTarget>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {TARGET_COLUMNS} FROM sent_targets WHERE source = ?1 ORDER BY target"
    ))?;
    let raws = statement
        .query_map([source], raw_target)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(raws.into_iter().map(RawSentTarget::into_target).collect())
}

fn raw_source(r: &Row<'_>) -> rusqlite::Result<(String, Option<String>, String, bool, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn source_of(
    conn: &Connection,
    (source, version, links, gone, updated_at): (String, Option<String>, String, bool, i64),
) -> Outcome<SentSource> {
    let targets = match targets(conn, &source)? {
        Ok(targets) => targets,
        Err(e) => return Ok(Err(e)),
    };
    let links = match from_json(&links, &format!("links of {source}")) {
        Ok(links) => links,
        Err(e) => return Ok(Err(e)),
    };
    Ok(RawSentSource {
        source,
        version,
        links,
        gone,
        updated_at,
    }
    .into_source(targets))
}

pub fn find_sent(conn: &mut Connection, source: &Url) -> Outcome<Option<SentSource>> {
    let raw = row(
        conn,
        "SELECT source, version, links, gone, updated_at FROM sent_sources WHERE source = ?1",
        [source.as_str()],
        raw_source,
    )
    .optional()?;
    match raw {
        Some(raw) => Ok(source_of(conn, raw)?.map(Some)),
        None => Ok(Ok(None)),
    }
}

pub fn list_sent(conn: &mut Connection, source: Option<&Url>) -> Outcome<Vec<SentSource>> {
    let raws = {
        let mut statement = conn.prepare_cached(
            "SELECT source, version, links, gone, updated_at FROM sent_sources
             WHERE ?1 IS NULL OR source = ?1 ORDER BY source",
        )?;
        statement
            .query_map([source.map(Url::as_str)], raw_source)?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    let mut sources = Vec::with_capacity(raws.len());
    for raw in raws {
        match source_of(conn, raw)? {
            Ok(source) => sources.push(source),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(sources))
}

pub fn record_version(
    conn: &mut Connection,
    source: &Url,
    version: &str,
    links: &[Url],
    gone: bool,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO sent_sources (source, version, links, gone, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (source) DO UPDATE SET version = excluded.version, links = excluded.links,
             gone = excluded.gone, updated_at = excluded.updated_at",
        params![source.as_str(), version, to_json(&link_texts(links)), gone, millis(now)],
    )?;
    Ok(())
}

pub fn record_attempt(
    conn: &mut Connection,
    source: &Url,
    attempt: &SendAttempt,
    now: OffsetDateTime,
) -> Outcome<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let previous = row(
        &tx,
        &format!("SELECT {TARGET_COLUMNS} FROM sent_targets WHERE source = ?1 AND target = ?2"),
        [source.as_str(), attempt.target.as_str()],
        raw_target,
    )
    .optional()?;
    let previous = match previous.map(RawSentTarget::into_target).transpose() {
        Ok(previous) => previous,
        Err(e) => return Ok(Err(e)),
    };
    let next = SentTarget::after(previous.as_ref(), attempt, now);
    exec(
        &tx,
        "INSERT INTO sent_sources (source, version, links, gone, updated_at) VALUES (?1, NULL, '[]', 0, ?2)
         ON CONFLICT (source) DO NOTHING",
        params![source.as_str(), millis(now)],
    )?;
    exec(
        &tx,
        &format!(
            "INSERT OR REPLACE INTO sent_targets (source, {TARGET_COLUMNS})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            source.as_str(),
            next.target.as_str(),
            next.endpoint,
            next.status.label(),
            next.http_status,
            next.answer,
            next.attempts,
            next.version,
            next.delivered_version,
            millis(next.updated_at)
        ],
    )?;
    tx.commit()?;
    Ok(Ok(()))
}
