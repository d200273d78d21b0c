//! Copying whole stores (`backfeed migrate`): mentions out by id, posts and
//! mentions in. Each imported batch is one `BEGIN IMMEDIATE` transaction,
//! so a batch of hundreds of rows costs one commit, and the look-then-write
//! of each row is atomic across processes like every other write here.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use super::mentions::{COLUMNS, raw_mention};
use super::posts::find_in;
use super::{exec, millis, row};
use crate::domain::job::NewJob;
use crate::domain::mention::{Mention, MentionId, Verification};
use crate::domain::{PostRecord, PostState};
use crate::storage::import::{PostImport, decide_post};
use crate::storage::rows::RawMention;
use crate::storage::{Imported, StoreError};

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

pub fn import_posts(conn: &mut Connection, posts: &[PostRecord]) -> Outcome<Vec<Imported>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(posts.len());
    for post in posts {
        let existing = match find_in(&tx, &post.url)? {
            Ok(existing) => existing,
            Err(e) => return Ok(Err(e)),
        };
        let decision = decide_post(existing.as_ref().map(|r| &r.state), &post.state);
        let (toot, failure) = match &post.state {
            PostState::Announced { toot_id } => (Some(toot_id.as_str()), None),
            PostState::Failed { reason } => (None, Some(reason.as_str())),
            PostState::Claimed { .. } => (None, None),
        };
        match decision {
            PostImport::Insert => {
                exec(
                    &tx,
                    "INSERT INTO posts (url, state, toot_id, failure, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        post.url.as_str(),
                        post.state.label(),
                        toot,
                        failure,
                        millis(post.created_at),
                        millis(post.updated_at)
                    ],
                )?;
            }
            PostImport::Replace => {
                exec(
                    &tx,
                    "UPDATE posts SET state = 'announced', toot_id = ?2, claim_token = NULL,
                         claim_expires_at = NULL, failure = NULL, updated_at = ?3
                     WHERE url = ?1",
                    params![post.url.as_str(), toot, millis(post.updated_at)],
                )?;
            }
            PostImport::Present | PostImport::Conflict(_) => {}
        }
        outcomes.push(decision.outcome());
    }
    tx.commit()?;
    Ok(Ok(outcomes))
}

pub fn export_mentions(
    conn: &mut Connection,
    after: Option<MentionId>,
    limit: usize,
) -> Outcome<Vec<Mention>> {
    let sql = format!("SELECT {COLUMNS} FROM mentions WHERE id > ?1 ORDER BY id LIMIT ?2");
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement
        .query_map(
            params![
                after.map_or(0, |id| id.0),
                i64::try_from(limit).unwrap_or(i64::MAX)
            ],
            raw_mention,
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(RawMention::into_mention).collect())
}

pub fn import_mentions(
    conn: &mut Connection,
    mentions: &[Mention],
    now: OffsetDateTime,
) -> rusqlite::Result<Vec<Imported>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(mentions.len());
    for mention in mentions {
        let m = RawMention::from_mention(mention, millis);
        let inserted: Option<i64> = row(
            &tx,
            "INSERT INTO mentions (source, target, verification, reason, moderation, property, rsvp,
                 author_name, author_photo, author_url, content_html, content_text, name, published,
                 url, received_at, updated_at, via)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             ON CONFLICT (source, target) DO NOTHING
             RETURNING id",
            params![
                m.source,
                m.target,
                m.verification,
                m.reason,
                m.moderation,
                m.property,
                m.rsvp,
                m.author[0],
                m.author[1],
                m.author[2],
                m.content_html,
                m.content_text,
                m.name,
                m.published,
                m.url,
                m.received_at,
                m.updated_at,
                m.via
            ],
            |row| row.get(0),
        )
        .optional()?;
        let Some(id) = inserted else {
            outcomes.push(Imported::Present);
            continue;
        };
        if mention.verification == Verification::Pending {
            super::jobs::insert(&tx, &NewJob::verify_mention(MentionId(id), now), now)?;
        }
        outcomes.push(Imported::Copied);
    }
    tx.commit()?;
    Ok(outcomes)
}
