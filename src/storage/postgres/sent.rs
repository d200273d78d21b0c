//! The `sent_sources`, `sent_targets` and `feeds` tables (see
//! `storage::sent`). A pair's attempt is one transaction: the source row is
//! made to exist and locked (`FOR UPDATE`), then the pair is read and
//! written, so concurrent workers on several instances count attempts
//! right. Lock order: source row, then pair row (never the other way).

use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::Row;
use url::Url;

use super::rows::{column, execute, ms, opt_text, query, query_opt, text};
use crate::domain::sent::{FeedState, SendAttempt, SentSource, SentTarget};
use crate::storage::StoreError;
use crate::storage::sent_rows::{
    RawFeed, RawSentSource, RawSentTarget, from_json, link_texts, to_json,
};

const TARGET_COLUMNS: &str = "target, endpoint, status, http_status, answer, attempts, version, \
                              delivered_version, updated_at";
const SOURCE_COLUMNS: &str = "source, version, links, gone, updated_at";

pub async fn load_feed(client: &mut Object, feed: &Url) -> Result<Option<FeedState>, StoreError> {
    let Some(row) = query_opt(
        &*client,
        "SELECT etag, last_modified, entries, checked_at FROM feeds WHERE feed = $1",
        &[&feed.as_str()],
    )
    .await?
    else {
        return Ok(None);
    };
    let what = format!("feed state of {feed}");
    let entries: String = column(&row, 2, &what)?;
    RawFeed::<OffsetDateTime> {
        feed: feed.to_string(),
        etag: column(&row, 0, &what)?,
        last_modified: column(&row, 1, &what)?,
        entries: from_json(&entries, &what)?,
        checked_at: column(&row, 3, &what)?,
    }
    .into_feed()
    .map(Some)
}

pub async fn save_feed(client: &mut Object, state: &FeedState) -> Result<(), StoreError> {
    execute(
        &*client,
        "INSERT INTO feeds (feed, etag, last_modified, entries, checked_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (feed) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
             entries = excluded.entries, checked_at = excluded.checked_at",
        &[
            &state.feed.as_str(),
            &opt_text(state.etag.as_deref()),
            &opt_text(state.last_modified.as_deref()),
            &text(&to_json(&state.entries)),
            &ms(state.checked_at),
        ],
    )
    .await?;
    Ok(())
}

fn target_of(row: &Row) -> Result<SentTarget, StoreError> {
    let what = "sent target";
    let http_status: Option<i32> = column(row, 3, what)?;
    let attempts: i32 = column(row, 5, what)?;
    RawSentTarget::<OffsetDateTime> {
        target: column(row, 0, what)?,
        endpoint: column(row, 1, what)?,
        status: column(row, 2, what)?,
        http_status: http_status.map(i64::from),
        answer: column(row, 4, what)?,
        attempts: i64::from(attempts),
        version: column(row, 6, what)?,
        delivered_version: column(row, 7, what)?,
        updated_at: column(row, 8, what)?,
    }
    .into_target()
}

async fn source_of(client: &Object, row: &Row) -> Result<SentSource, StoreError> {
    let what = "sent source";
    let source: String = column(row, 0, what)?;
    let links: String = column(row, 2, what)?;
    let targets = query(
        client,
        &format!("SELECT {TARGET_COLUMNS} FROM sent_targets WHERE source = $1 ORDER BY target"),
        &[&source],
    )
    .await?
    .iter()
    .map(target_of)
    .collect::<Result<Vec<_>, _>>()?;
    RawSentSource::<OffsetDateTime> {
        links: from_json(&links, &format!("links of {source}"))?,
        source,
        version: column(row, 1, what)?,
        gone: column(row, 3, what)?,
        updated_at: column(row, 4, what)?,
    }
    .into_source(targets)
}

pub async fn find_sent(
    client: &mut Object,
    source: &Url,
) -> Result<Option<SentSource>, StoreError> {
    let row = query_opt(
        &*client,
        &format!("SELECT {SOURCE_COLUMNS} FROM sent_sources WHERE source = $1"),
        &[&source.as_str()],
    )
    .await?;
    match row {
        Some(row) => Ok(Some(source_of(client, &row).await?)),
        None => Ok(None),
    }
}

pub async fn list_sent(
    client: &mut Object,
    source: Option<&Url>,
) -> Result<Vec<SentSource>, StoreError> {
    let rows = query(
        &*client,
        &format!(
            "SELECT {SOURCE_COLUMNS} FROM sent_sources WHERE $1::text IS NULL OR source = $1
             ORDER BY source"
        ),
        &[&source.map(Url::as_str)],
    )
    .await?;
    let mut sources = Vec::with_capacity(rows.len());
    for row in &rows {
        sources.push(source_of(client, row).await?);
    }
    Ok(sources)
}

pub async fn record_version(
    client: &mut Object,
    source: &Url,
    version: &str,
    links: &[Url],
    gone: bool,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    execute(
        &*client,
        "INSERT INTO sent_sources (source, version, links, gone, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (source) DO UPDATE SET version = excluded.version, links = excluded.links,
             gone = excluded.gone, updated_at = excluded.updated_at",
        &[
            &source.as_str(),
            &text(version),
            &text(&to_json(&link_texts(links))),
            &gone,
            &ms(now),
        ],
    )
    .await?;
    Ok(())
}

pub async fn record_attempt(
    client: &mut Object,
    source: &Url,
    attempt: &SendAttempt,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let now = ms(now);
    let tx = client.transaction().await?;
    execute(
        &tx,
        "INSERT INTO sent_sources (source, version, links, gone, updated_at) VALUES ($1, NULL, '[]', false, $2)
         ON CONFLICT (source) DO NOTHING",
        &[&source.as_str(), &now],
    )
    .await?;
    execute(
        &tx,
        "SELECT 1 FROM sent_sources WHERE source = $1 FOR UPDATE",
        &[&source.as_str()],
    )
    .await?;
    let previous = query_opt(
        &tx,
        &format!("SELECT {TARGET_COLUMNS} FROM sent_targets WHERE source = $1 AND target = $2"),
        &[&source.as_str(), &attempt.target.as_str()],
    )
    .await?
    .map(|row| target_of(&row))
    .transpose()?;
    let next = SentTarget::after(previous.as_ref(), attempt, now);
    let attempts = i32::try_from(next.attempts).unwrap_or(i32::MAX);
    execute(
        &tx,
        &format!(
            "INSERT INTO sent_targets (source, {TARGET_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (source, target) DO UPDATE SET endpoint = excluded.endpoint,
                 status = excluded.status, http_status = excluded.http_status,
                 answer = excluded.answer, attempts = excluded.attempts,
                 version = excluded.version, delivered_version = excluded.delivered_version,
                 updated_at = excluded.updated_at"
        ),
        &[
            &source.as_str(),
            &next.target.as_str(),
            &opt_text(next.endpoint.as_deref()),
            &next.status.label(),
            &next.http_status.map(i32::from),
            &opt_text(next.answer.as_deref()),
            &attempts,
            &text(&next.version),
            &opt_text(next.delivered_version.as_deref()),
            &now,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
