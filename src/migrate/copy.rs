//! Copying records into the destination, kind by kind, in batches.
//!
//! Posts and mentions go through the stores' `import_posts` and
//! `import_mentions` (idempotent by URL, and by source and target); blocked
//! domains, hidden replies and accounts through the ordinary idempotent
//! setters; cached threads through `save_thread`, only where the
//! destination has none and the toot is the one it knows. A dry run asks
//! the same questions with reads only.
//!
//! Invariant: nothing the destination holds is overwritten (see
//! `storage::import`), so a second run copies nothing twice.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt, stream};
use time::OffsetDateTime;
use url::Url;

use super::summary::{Kind, Summary};
use super::{MigrateError, Progress};
use crate::domain::mention::Mention;
use crate::domain::{PostRecord, PostState};
use crate::storage::import::decide_post;
use crate::storage::{Imported, MentionQuery, Store, StoreError};

/// Posts per import batch (one transaction on the SQL stores).
const POST_BATCH: usize = 500;
/// Mentions per export page and import batch.
const MENTION_BATCH: usize = 200;
/// Reads in flight during a dry run.
const IN_FLIGHT: usize = 16;

/// The destination: written to, or only asked (`--dry-run`).
pub struct Target {
    store: Arc<dyn Store>,
    dry_run: bool,
    what: String,
}

impl Target {
    pub fn new(store: Arc<dyn Store>, dry_run: bool, what: String) -> Self {
        Self {
            store,
            dry_run,
            what,
        }
    }

    fn failed(&self, error: StoreError) -> MigrateError {
        MigrateError::Write(self.what.clone(), error)
    }

    async fn import_posts(&self, posts: &[PostRecord]) -> Result<Vec<Imported>, MigrateError> {
        if !self.dry_run {
            return self
                .store
                .import_posts(posts)
                .await
                .map_err(|e| self.failed(e));
        }
        let finds: Vec<_> = posts.iter().map(|p| self.store.find_post(&p.url)).collect();
        let found: Vec<_> = stream::iter(finds)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await
            .map_err(|e| self.failed(e))?;
        Ok(posts
            .iter()
            .zip(found)
            .map(|(post, existing)| {
                decide_post(existing.as_ref().map(|e| &e.state), &post.state).outcome()
            })
            .collect())
    }

    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, MigrateError> {
        if !self.dry_run {
            return self
                .store
                .import_mentions(mentions, now)
                .await
                .map_err(|e| self.failed(e));
        }
        let mut known: HashMap<Url, HashSet<Url>> = HashMap::new();
        let mut outcomes = Vec::with_capacity(mentions.len());
        for mention in mentions {
            if !known.contains_key(&mention.target) {
                let sources = self.sources_of(&mention.target).await?;
                known.insert(mention.target.clone(), sources);
            }
            let present = known
                .get(&mention.target)
                .is_some_and(|sources| sources.contains(&mention.source));
            outcomes.push(if present {
                Imported::Present
            } else {
                Imported::Copied
            });
        }
        Ok(outcomes)
    }

    /// Every source that has a mention of `target` in the destination.
    async fn sources_of(&self, target: &Url) -> Result<HashSet<Url>, MigrateError> {
        let mut sources = HashSet::new();
        for page in 0.. {
            let query = MentionQuery {
                targets: vec![target.clone()],
                visible_only: false,
                page,
                per_page: 1000,
                ..MentionQuery::default()
            };
            let found = self
                .store
                .query_mentions(&query)
                .await
                .map_err(|e| self.failed(e))?;
            let last = found.len() < 1000;
            sources.extend(found.into_iter().map(|m| m.source));
            if last {
                break;
            }
        }
        Ok(sources)
    }
}

pub async fn posts(
    posts: Vec<PostRecord>,
    to: &Target,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    let (claims, posts): (Vec<_>, Vec<_>) = posts
        .into_iter()
        .partition(|p| matches!(p.state, PostState::Claimed { .. }));
    if !claims.is_empty() {
        summary.note(format!(
            "{} post(s) claimed by a request in flight were not copied (e.g. {}): \
             the destination claims them again on their next request",
            claims.len(),
            claims[0].url
        ));
    }
    progress.begin(Kind::Posts, Some(posts.len() as u64));
    for batch in posts.chunks(POST_BATCH) {
        let outcomes = to.import_posts(batch).await?;
        for (post, outcome) in batch.iter().zip(&outcomes) {
            summary.outcome(Kind::Posts, outcome, || match &post.state {
                PostState::Announced { toot_id } => {
                    format!("post {} (toot {toot_id} in the source)", post.url)
                }
                _ => format!("post {}", post.url),
            });
        }
        progress.advance(batch.len() as u64);
    }
    Ok(())
}

/// Imports mentions read elsewhere (a JF2 export).
pub async fn mentions(
    mentions: &[Mention],
    to: &Target,
    now: OffsetDateTime,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    progress.begin(Kind::Mentions, Some(mentions.len() as u64));
    for batch in mentions.chunks(MENTION_BATCH) {
        import_mentions(batch, to, now, summary).await?;
        progress.advance(batch.len() as u64);
    }
    Ok(())
}

/// Keeps another receiver's status ids: each names the destination's
/// mention with its source and target (imported just before). A status
/// whose mention was never accepted there (it failed) has none, and is
/// reported as invalid.
pub async fn status_aliases(
    statuses: &[(String, Url, Url)],
    to: &Target,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    summary.include(Kind::StatusIds);
    summary.read(Kind::StatusIds, statuses.len() as u64);
    for (alias, source, target) in statuses {
        let query = MentionQuery {
            targets: vec![target.clone()],
            visible_only: false,
            per_page: 1_000,
            ..MentionQuery::default()
        };
        let found = to
            .store
            .query_mentions(&query)
            .await
            .map_err(|e| to.failed(e))?
            .into_iter()
            .find(|m| m.source == *source);
        let Some(mention) = found else {
            summary.invalid(
                Kind::StatusIds,
                format!("status {alias}: no mention {source} → {target} was accepted"),
            );
            continue;
        };
        let outcome = if to.dry_run {
            match to.store.find_mention_alias(alias).await {
                Ok(Some(_)) => Imported::Present,
                Ok(None) => Imported::Copied,
                Err(e) => return Err(to.failed(e)),
            }
        } else {
            to.store
                .alias_mention(alias, mention.id)
                .await
                .map_err(|e| to.failed(e))?
        };
        summary.outcome(Kind::StatusIds, &outcome, || format!("status {alias}"));
    }
    Ok(())
}

/// Copies every mention of `from`, page by page in id order.
pub async fn store_mentions(
    from: &dyn Store,
    what: &str,
    to: &Target,
    now: OffsetDateTime,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    progress.begin(Kind::Mentions, None);
    summary.include(Kind::Mentions);
    let mut after = None;
    loop {
        let page = from
            .export_mentions(after, MENTION_BATCH)
            .await
            .map_err(|e| MigrateError::Read(what.to_owned(), e))?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = Some(last.id);
        summary.read(Kind::Mentions, page.len() as u64);
        import_mentions(&page, to, now, summary).await?;
        progress.advance(page.len() as u64);
    }
}

async fn import_mentions(
    batch: &[Mention],
    to: &Target,
    now: OffsetDateTime,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    let outcomes = to.import_mentions(batch, now).await?;
    for (mention, outcome) in batch.iter().zip(&outcomes) {
        summary.outcome(Kind::Mentions, outcome, || {
            format!("mention {} → {}", mention.source, mention.target)
        });
    }
    Ok(())
}

/// Blocked domains, hidden replies and hidden accounts: sets of names.
pub async fn sets(
    from: &dyn Store,
    what: &str,
    to: &Target,
    now: OffsetDateTime,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    let read = |e| MigrateError::Read(what.to_owned(), e);
    let write = |e| to.failed(e);
    let blocked = from.blocked_domains().await.map_err(read)?;
    let hidden = from.hidden_replies().await.map_err(read)?;
    let have_blocked: HashSet<String> = to
        .store
        .blocked_domains()
        .await
        .map_err(write)?
        .into_iter()
        .collect();
    let have_hidden = to.store.hidden_replies().await.map_err(write)?;
    let sorted = |set: HashSet<String>| {
        let mut items: Vec<String> = set.into_iter().collect();
        items.sort();
        items
    };
    for (kind, items, have) in [
        (Kind::BlockedDomains, blocked, &have_blocked),
        (
            Kind::HiddenReplies,
            sorted(hidden.statuses),
            &have_hidden.statuses,
        ),
        (
            Kind::HiddenAccounts,
            sorted(hidden.accounts),
            &have_hidden.accounts,
        ),
    ] {
        summary.include(kind);
        summary.read(kind, items.len() as u64);
        for item in items {
            if have.contains(&item) {
                summary.outcome(kind, &Imported::Present, String::new);
                continue;
            }
            if !to.dry_run {
                let written = match kind {
                    Kind::BlockedDomains => to.store.block_domain(&item, now).await,
                    Kind::HiddenReplies => to.store.hide_reply(&item, now).await,
                    _ => to.store.hide_account(&item, now).await,
                };
                written.map_err(write)?;
            }
            summary.outcome(kind, &Imported::Copied, String::new);
        }
    }
    Ok(())
}

/// Cached Mastodon threads: a cache, copied so that the destination's
/// first page views need not fetch them again.
pub async fn threads(
    from: &dyn Store,
    what: &str,
    to: &Target,
    progress: &dyn Progress,
    summary: &mut Summary,
) -> Result<(), MigrateError> {
    let read = |e| MigrateError::Read(what.to_owned(), e);
    let write = |e| to.failed(e);
    // Threads are cached only for announced posts, under the post's URL.
    let urls: Vec<_> = from
        .list_posts()
        .await
        .map_err(read)?
        .into_iter()
        .filter(|post| matches!(post.state, PostState::Announced { .. }))
        .map(|post| post.url)
        .collect();
    summary.include(Kind::Threads);
    progress.begin(Kind::Threads, Some(urls.len() as u64));
    for url in urls {
        progress.advance(1);
        let Some(thread) = from.load_thread(&url).await.map_err(read)? else {
            continue;
        };
        summary.read(Kind::Threads, 1);
        if to.store.load_thread(&url).await.map_err(write)?.is_some() {
            summary.outcome(Kind::Threads, &Imported::Present, String::new);
            continue;
        }
        let post = to.store.find_post(&url).await.map_err(write)?;
        if let Some(PostState::Announced { toot_id }) = post.map(|p| p.state)
            && toot_id.as_str() != thread.toot.id.as_str()
        {
            let kept = Imported::Conflict {
                kept: format!("toot {toot_id}, not the cached thread's {}", thread.toot.id),
            };
            summary.outcome(Kind::Threads, &kept, || format!("thread of {url}"));
            continue;
        }
        if !to.dry_run {
            to.store.save_thread(&thread).await.map_err(write)?;
        }
        summary.outcome(Kind::Threads, &Imported::Copied, String::new);
    }
    Ok(())
}
