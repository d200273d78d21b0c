//! The `mentions` table: receiving, reading and moderating mentions.
//!
//! Invariant: a mention and its verification job are written in one
//! transaction, before the sender hears 201. Transactions that touch both a
//! mention and its job lock the mention row first (here and in `jobs`), so
//! two instances working on the same mention queue instead of deadlocking.

use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::Row;
use url::Url;

use super::rows::{column, execute, ms, query_one, query_opt};
use crate::domain::mention::{Mention, MentionId, Moderation};
use crate::storage::StoreError;
use crate::storage::rows::RawMention;

pub const COLUMNS: &str = "id, source, target, verification, reason, moderation, property, rsvp, author_name, \
     author_photo, author_url, content_html, content_text, name, published, url, received_at, updated_at";

pub async fn receive(
    client: &mut Object,
    source: &Url,
    target: &Url,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<MentionId, StoreError> {
    let now = ms(now);
    let tx = client.transaction().await?;
    let row = query_one(
        &tx,
        "INSERT INTO mentions (source, target, verification, moderation, received_at, updated_at)
         VALUES ($1, $2, 'pending', $3, $4, $4)
         ON CONFLICT (source, target) DO UPDATE SET updated_at = excluded.updated_at
         RETURNING id",
        &[
            &source.as_str(),
            &target.as_str(),
            &moderation.label(),
            &now,
        ],
    )
    .await?;
    let id: i64 = column(&row, 0, "mentions.id")?;
    // A re-sent request restarts verification; an in-flight holder of the
    // old job loses its claim and its result is discarded.
    execute(
        &tx,
        "INSERT INTO verification_jobs (mention_id, attempts, due_at) VALUES ($1, 0, $2)
         ON CONFLICT (mention_id) DO UPDATE SET attempts = 0, due_at = excluded.due_at,
             claim_token = NULL, claimed_until = NULL",
        &[&id, &now],
    )
    .await?;
    tx.commit().await?;
    Ok(MentionId(id))
}

pub async fn find(client: &mut Object, id: MentionId) -> Result<Option<Mention>, StoreError> {
    let row = query_opt(
        &*client,
        &format!("SELECT {COLUMNS} FROM mentions WHERE id = $1"),
        &[&id.0],
    )
    .await?;
    row.map(|row| raw_mention(&row)?.into_mention()).transpose()
}

pub async fn set_moderation(
    client: &mut Object,
    id: MentionId,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = execute(
        &*client,
        "UPDATE mentions SET moderation = $2, updated_at = $3 WHERE id = $1",
        &[&id.0, &moderation.label(), &ms(now)],
    )
    .await?;
    Ok(changed > 0)
}

/// Removes the mention; its job and deliveries go with it (`ON DELETE
/// CASCADE`), in one statement that locks the mention row first.
pub async fn remove(client: &mut Object, id: MentionId) -> Result<bool, StoreError> {
    let removed = execute(&*client, "DELETE FROM mentions WHERE id = $1", &[&id.0]).await?;
    Ok(removed > 0)
}

/// Reads one row of `COLUMNS`; `crate::storage::rows` converts it.
pub fn raw_mention(row: &Row) -> Result<RawMention<OffsetDateTime>, StoreError> {
    const WHAT: &str = "mentions";
    Ok(RawMention {
        id: column(row, 0, WHAT)?,
        source: column(row, 1, WHAT)?,
        target: column(row, 2, WHAT)?,
        verification: column(row, 3, WHAT)?,
        reason: column(row, 4, WHAT)?,
        moderation: column(row, 5, WHAT)?,
        property: column(row, 6, WHAT)?,
        rsvp: column(row, 7, WHAT)?,
        author: [
            column(row, 8, WHAT)?,
            column(row, 9, WHAT)?,
            column(row, 10, WHAT)?,
        ],
        content_html: column(row, 11, WHAT)?,
        content_text: column(row, 12, WHAT)?,
        name: column(row, 13, WHAT)?,
        published: column(row, 14, WHAT)?,
        url: column(row, 15, WHAT)?,
        received_at: column(row, 16, WHAT)?,
        updated_at: column(row, 17, WHAT)?,
    })
}
