//! The `mentions` table: receiving, reading and moderating mentions.
//!
//! Invariant: a mention and its verification job are written in one
//! transaction, before the sender hears 201.

use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::Row;
use url::Url;

use super::rows::{column, execute, ms, opt_text, query_one, query_opt, text};
use crate::domain::job::NewJob;
use crate::domain::mention::{Mention, MentionData, MentionId, Moderation, Relation, Transition};
use crate::storage::rows::RawMention;
use crate::storage::{Settled, StoreError};

pub const COLUMNS: &str = "id, source, target, verification, reason, moderation, property, rsvp, author_name, \
     author_photo, author_url, content_html, content_text, name, published, url, received_at, updated_at, via";

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
    // A re-sent request is verified again: one queued verification per
    // mention, so a re-send while one waits merges into it.
    super::jobs::insert(&tx, &NewJob::verify_mention(MentionId(id), now), now).await?;
    tx.commit().await?;
    Ok(MentionId(id))
}

/// Applies a verification attempt's outcome unless the mention changed
/// since `seen` (its row is locked meanwhile).
pub async fn settle(
    client: &mut Object,
    id: MentionId,
    transition: &Transition,
    seen: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Settled, StoreError> {
    let (id, now) = (id.0, ms(now));
    let tx = client.transaction().await?;
    let current = query_opt(
        &tx,
        "SELECT updated_at FROM mentions WHERE id = $1 FOR UPDATE",
        &[&id],
    )
    .await?;
    let outcome = match current {
        None => Settled::Gone,
        Some(_) if matches!(transition, Transition::Keep(_) | Transition::Retry(_)) => {
            Settled::Settled
        }
        Some(row) if column::<OffsetDateTime>(&row, 0, "mentions.updated_at")? != ms(seen) => {
            Settled::Changed
        }
        Some(_) => {
            match transition {
                Transition::Verify(data) => write_verified(&tx, id, data, now).await?,
                Transition::VerifyAndModerate(data, moderation) => {
                    write_verified(&tx, id, data, now).await?;
                    execute(
                        &tx,
                        "UPDATE mentions SET moderation = $2 WHERE id = $1",
                        &[&id, &moderation.label()],
                    )
                    .await?
                }
                Transition::Reject(reason) => set_state(&tx, id, "rejected", reason, now).await?,
                Transition::Delete(reason) => set_state(&tx, id, "deleted", reason, now).await?,
                Transition::Keep(_) | Transition::Retry(_) => 0,
            };
            Settled::Settled
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn write_verified(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    data: &MentionData,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let author = data.author.clone().unwrap_or_default();
    let via = data.via.to_stored();
    let via = opt_text(via.as_deref());
    let rsvp = match &data.relation {
        Relation::Rsvp(value) => Some(text(value)),
        _ => None,
    };
    execute(
        client,
        "UPDATE mentions SET verification = 'verified', reason = NULL, property = $2, rsvp = $3,
             author_name = $4, author_photo = $5, author_url = $6, content_html = $7, content_text = $8,
             name = $9, published = $10, url = $11, updated_at = $12, via = $13
         WHERE id = $1",
        &[
            &id,
            &data.relation.property(),
            &rsvp,
            &opt_text(author.name.as_deref()),
            &opt_text(author.photo.as_deref()),
            &opt_text(author.url.as_deref()),
            &opt_text(data.content_html.as_deref()),
            &opt_text(data.content_text.as_deref()),
            &opt_text(data.name.as_deref()),
            &opt_text(data.published.as_deref()),
            &opt_text(data.url.as_deref()),
            &now,
            &via,
        ],
    )
    .await
}

async fn set_state(
    client: &impl deadpool_postgres::GenericClient,
    id: i64,
    state: &str,
    reason: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    execute(
        client,
        "UPDATE mentions SET verification = $2, reason = $3, updated_at = $4 WHERE id = $1",
        &[&id, &state, &text(reason), &now],
    )
    .await
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

/// Removes the mention; a job still queued for it finds nothing and ends.
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
        via: column(row, 18, WHAT)?,
    })
}
