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
use crate::domain::mention::{
    Author, Mention, MentionData, MentionId, Moderation, Relation, Verification,
};
use crate::storage::StoreError;

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
    row.map(|row| RawMention::from_row(&row)?.into_mention())
        .transpose()
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

pub fn parse_url(text: &str) -> Result<Url, StoreError> {
    Url::parse(text).map_err(|e| StoreError::Corrupt(format!("stored URL `{text}`: {e}")))
}

pub fn verification_state(label: &str, reason: Option<String>) -> Result<Verification, StoreError> {
    let reason = reason.unwrap_or_default();
    Ok(match label {
        "pending" => Verification::Pending,
        "verified" => Verification::Verified,
        "rejected" => Verification::Rejected { reason },
        "deleted" => Verification::Deleted { reason },
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown verification state `{other}`"
            )));
        }
    })
}

/// One row as stored; converted to the domain explicitly.
pub struct RawMention {
    id: i64,
    source: String,
    target: String,
    verification: String,
    reason: Option<String>,
    moderation: String,
    property: Option<String>,
    rsvp: Option<String>,
    author: [Option<String>; 3],
    content_html: Option<String>,
    content_text: Option<String>,
    name: Option<String>,
    published: Option<String>,
    url: Option<String>,
    received_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl RawMention {
    pub fn from_row(row: &Row) -> Result<Self, StoreError> {
        const WHAT: &str = "mentions";
        Ok(Self {
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

    pub fn into_mention(self) -> Result<Mention, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("mention {}: {what}", self.id));
        let data = match self.property.as_deref() {
            Some(property) => {
                let relation = Relation::from_property(property, self.rsvp.as_deref())
                    .ok_or_else(|| corrupt(&format!("unknown property `{property}`")))?;
                let [name, photo, url] = self.author.clone();
                let author = (name.is_some() || photo.is_some() || url.is_some())
                    .then_some(Author { name, photo, url });
                Some(MentionData {
                    relation,
                    author,
                    content_html: self.content_html.clone(),
                    content_text: self.content_text.clone(),
                    name: self.name.clone(),
                    published: self.published.clone(),
                    url: self.url.clone(),
                })
            }
            None => None,
        };
        Ok(Mention {
            id: MentionId(self.id),
            source: parse_url(&self.source)?,
            target: parse_url(&self.target)?,
            verification: verification_state(&self.verification, self.reason.clone())?,
            moderation: Moderation::parse(&self.moderation)
                .ok_or_else(|| corrupt("unknown moderation state"))?,
            data,
            received_at: self.received_at,
            updated_at: self.updated_at,
        })
    }
}
