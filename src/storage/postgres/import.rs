//! Copying whole stores (`backfeed migrate`): mentions out by id, posts and
//! mentions in, one transaction per batch.
//!
//! Invariant: a batch of posts costs a few round trips whatever its size:
//! the rows it names are read and locked with one `SELECT … FOR UPDATE`,
//! the new ones are written with one `INSERT … SELECT FROM UNNEST(…) ON
//! CONFLICT DO NOTHING`. A row another instance creates in between is not
//! overwritten: it is decided again, under its lock, on the next pass.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::{Object, Transaction};
use time::OffsetDateTime;

use super::mentions::{COLUMNS as MENTION_COLUMNS, raw_mention};
use super::posts::{COLUMNS as POST_COLUMNS, raw_post};
use super::rows::{execute, ms, opt_text, query, query_opt, text};
use crate::domain::job::NewJob;
use crate::domain::mention::{Mention, MentionId, Verification};
use crate::domain::{PostRecord, PostState};
use crate::storage::import::{PostImport, decide_post};
use crate::storage::rows::RawMention;
use crate::storage::{Imported, StoreError};

/// Passes over the rows a concurrent writer created under our feet.
const PASSES: usize = 5;

pub async fn import_posts(
    client: &mut Object,
    posts: &[PostRecord],
) -> Result<Vec<Imported>, StoreError> {
    let tx = client.transaction().await?;
    let mut outcomes: Vec<Option<Imported>> = vec![None; posts.len()];
    let mut pending: Vec<usize> = (0..posts.len()).collect();
    for _ in 0..PASSES {
        if pending.is_empty() {
            break;
        }
        let existing = locked_states(&tx, posts, &pending).await?;
        let mut inserts = Vec::new();
        for &i in &pending {
            let post = &posts[i];
            let decision = decide_post(existing.get(post.url.as_str()), &post.state);
            match &decision {
                PostImport::Insert => {
                    inserts.push(i);
                    continue;
                }
                PostImport::Replace => replace(&tx, post).await?,
                PostImport::Present | PostImport::Conflict(_) => {}
            }
            outcomes[i] = Some(decision.outcome());
        }
        let inserted = insert(&tx, posts, &inserts).await?;
        pending = inserts
            .into_iter()
            .filter(|&i| {
                let done = inserted.contains(posts[i].url.as_str());
                if done {
                    outcomes[i] = Some(Imported::Copied);
                }
                !done
            })
            .collect();
    }
    if !pending.is_empty() {
        return Err(StoreError::Unavailable(
            "the imported posts kept changing under other writers; try again".to_owned(),
        ));
    }
    tx.commit().await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Imported::Present))
        .collect())
}

/// The current state of the rows the batch names, locked until commit.
async fn locked_states(
    tx: &Transaction<'_>,
    posts: &[PostRecord],
    wanted: &[usize],
) -> Result<HashMap<String, PostState>, StoreError> {
    let urls: Vec<&str> = wanted.iter().map(|&i| posts[i].url.as_str()).collect();
    let rows = query(
        tx,
        &format!("SELECT {POST_COLUMNS} FROM posts WHERE url = ANY($1) FOR UPDATE"),
        &[&urls],
    )
    .await?;
    rows.iter()
        .map(|row| {
            let record = raw_post(row)?.into_record()?;
            Ok((record.url.as_str().to_owned(), record.state))
        })
        .collect()
}

async fn replace(tx: &Transaction<'_>, post: &PostRecord) -> Result<(), StoreError> {
    let PostState::Announced { toot_id } = &post.state else {
        return Ok(());
    };
    execute(
        tx,
        "UPDATE posts SET state = 'announced', toot_id = $2, claim_token = NULL,
             claim_expires_at = NULL, failure = NULL, updated_at = $3
         WHERE url = $1",
        &[
            &post.url.as_str(),
            &text(toot_id.as_str()),
            &ms(post.updated_at),
        ],
    )
    .await?;
    Ok(())
}

/// Inserts the chosen posts unless a row exists; returns the URLs written.
async fn insert(
    tx: &Transaction<'_>,
    posts: &[PostRecord],
    chosen: &[usize],
) -> Result<HashSet<String>, StoreError> {
    if chosen.is_empty() {
        return Ok(HashSet::new());
    }
    let mut columns = InsertColumns::default();
    for &i in chosen {
        columns.push(&posts[i]);
    }
    let rows = query(
        tx,
        "INSERT INTO posts (url, state, toot_id, failure, created_at, updated_at)
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[],
             $5::timestamptz[], $6::timestamptz[])
         ON CONFLICT (url) DO NOTHING
         RETURNING url",
        &[
            &columns.urls,
            &columns.states,
            &columns.toots,
            &columns.failures,
            &columns.created,
            &columns.updated,
        ],
    )
    .await?;
    rows.iter()
        .map(|row| super::rows::column(row, 0, "posts.url"))
        .collect()
}

/// One array per column, for `UNNEST`.
#[derive(Default)]
struct InsertColumns {
    urls: Vec<String>,
    states: Vec<String>,
    toots: Vec<Option<String>>,
    failures: Vec<Option<String>>,
    created: Vec<OffsetDateTime>,
    updated: Vec<OffsetDateTime>,
}

impl InsertColumns {
    fn push(&mut self, post: &PostRecord) {
        let (toot, failure) = match &post.state {
            PostState::Announced { toot_id } => (Some(text(toot_id.as_str())), None),
            PostState::Failed { reason } => (None, Some(text(reason))),
            PostState::Claimed { .. } => (None, None),
        };
        self.urls.push(post.url.as_str().to_owned());
        self.states.push(post.state.label().to_owned());
        self.toots.push(toot);
        self.failures.push(failure);
        self.created.push(ms(post.created_at));
        self.updated.push(ms(post.updated_at));
    }
}

pub async fn export_mentions(
    client: &mut Object,
    after: Option<MentionId>,
    limit: usize,
) -> Result<Vec<Mention>, StoreError> {
    let rows = query(
        &*client,
        &format!("SELECT {MENTION_COLUMNS} FROM mentions WHERE id > $1 ORDER BY id LIMIT $2"),
        &[
            &after.map_or(0, |id| id.0),
            &i64::try_from(limit).unwrap_or(i64::MAX),
        ],
    )
    .await?;
    rows.iter()
        .map(|row| raw_mention(row)?.into_mention())
        .collect()
}

pub async fn import_mentions(
    client: &mut Object,
    mentions: &[Mention],
    now: OffsetDateTime,
) -> Result<Vec<Imported>, StoreError> {
    let tx = client.transaction().await?;
    let mut outcomes = Vec::with_capacity(mentions.len());
    for mention in mentions {
        let m = RawMention::from_mention(mention, ms);
        let [author_name, author_photo, author_url] = &m.author;
        let inserted = query_opt(
            &tx,
            "INSERT INTO mentions (source, target, verification, reason, moderation, property, rsvp,
                 author_name, author_photo, author_url, content_html, content_text, name, published,
                 url, received_at, updated_at, via)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             ON CONFLICT (source, target) DO NOTHING
             RETURNING id",
            &[
                &m.source,
                &m.target,
                &m.verification,
                &opt_text(m.reason.as_deref()),
                &m.moderation,
                &m.property,
                &opt_text(m.rsvp.as_deref()),
                &opt_text(author_name.as_deref()),
                &opt_text(author_photo.as_deref()),
                &opt_text(author_url.as_deref()),
                &opt_text(m.content_html.as_deref()),
                &opt_text(m.content_text.as_deref()),
                &opt_text(m.name.as_deref()),
                &opt_text(m.published.as_deref()),
                &opt_text(m.url.as_deref()),
                &m.received_at,
                &m.updated_at,
                &opt_text(m.via.as_deref()),
            ],
        )
        .await?;
        let Some(row) = inserted else {
            outcomes.push(Imported::Present);
            continue;
        };
        let id: i64 = super::rows::column(&row, 0, "mentions.id")?;
        if mention.verification == Verification::Pending {
            super::jobs::insert(&tx, &NewJob::verify_mention(MentionId(id), now), now).await?;
        }
        outcomes.push(Imported::Copied);
    }
    tx.commit().await?;
    Ok(outcomes)
}
