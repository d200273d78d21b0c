//! The embedded default store: one SQLite file, no setup.
//!
//! Several processes may share the file: every write that decides something
//! runs in a `BEGIN IMMEDIATE` transaction, which takes SQLite's write lock
//! before reading, so check-then-write is atomic across processes.

mod aliases;
mod blocked;
mod followers;
mod import;
mod jobs;
mod mentions;
mod pool;
mod posts;
mod schema;
mod secrets;
mod sent;
mod threads;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use url::Url;

use super::rows::millis;
use super::{
    CachedThread, CreateSecret, Enqueued, Follower, FollowerStore, Imported, JobCounts, JobFilter,
    JobStore, MentionQuery, MentionStore, PostStore, PublishedPost, SecretBytes, SecretStore,
    SentStore, Settled, Store, StoreError, ThreadStore,
};
use crate::domain::job::{ClaimedJob, Job, JobId, NewJob, Settlement};
use crate::domain::mention::{Mention, MentionId, Moderation, Transition};
use crate::domain::sent::{FeedState, SendAttempt, SentSource};
use crate::domain::thread::HiddenReplies;
use crate::domain::{ClaimOutcome, ClaimToken, PostRecord, PostUrl, TootId};
use pool::Pool;

pub struct SqliteStore {
    pool: Pool,
}

impl SqliteStore {
    /// Opens (creating when missing) the database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let pool = Pool::open(path)?;
        pool.write(schema::migrate).await?;
        Ok(Self { pool })
    }

    pub fn schema_version() -> usize {
        schema::latest_version()
    }
}

#[async_trait]
impl PostStore for SqliteStore {
    async fn claim_post(
        &self,
        url: &PostUrl,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let url = url.clone();
        let token = ClaimToken::new(uuid::Uuid::new_v4().to_string());
        let expires_at = now + lease;
        self.pool
            .write(move |conn| posts::claim(conn, &url, token, expires_at, now))
            .await?
    }

    async fn record_toot(
        &self,
        url: &PostUrl,
        _claim: &ClaimToken,
        toot: &TootId,
        now: OffsetDateTime,
    ) -> Result<TootId, StoreError> {
        let (url, toot) = (url.clone(), toot.clone());
        self.pool
            .write(move |conn| posts::record_toot(conn, &url, &toot, now))
            .await?
    }

    async fn record_failure(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (url, claim, reason) = (url.clone(), claim.clone(), reason.to_owned());
        self.pool
            .write(move |conn| posts::record_failure(conn, &url, &claim, &reason, now))
            .await
    }

    async fn release_claim(&self, url: &PostUrl, claim: &ClaimToken) -> Result<(), StoreError> {
        let (url, claim) = (url.clone(), claim.clone());
        self.pool
            .write(move |conn| posts::release_claim(conn, &url, &claim))
            .await
    }

    async fn forget_failure(&self, url: &PostUrl) -> Result<bool, StoreError> {
        let url = url.clone();
        self.pool
            .write(move |conn| posts::forget_failure(conn, &url))
            .await
    }

    async fn find_post(&self, url: &PostUrl) -> Result<Option<PostRecord>, StoreError> {
        let url = url.clone();
        self.pool.read(move |conn| posts::find(conn, &url)).await?
    }

    async fn list_posts(&self) -> Result<Vec<PostRecord>, StoreError> {
        self.pool.read(posts::list).await?
    }

    async fn import_posts(&self, posts: &[PostRecord]) -> Result<Vec<Imported>, StoreError> {
        let posts = posts.to_vec();
        self.pool
            .write(move |conn| import::import_posts(conn, &posts))
            .await?
    }
}

#[async_trait]
impl SecretStore for SqliteStore {
    async fn secret(
        &self,
        name: &str,
        now: OffsetDateTime,
        create: CreateSecret<'_>,
    ) -> Result<SecretBytes, StoreError> {
        super::secrets::check_name(name)?;
        let key = name.to_owned();
        if let Some(found) = self
            .pool
            .read(move |conn| secrets::find(conn, &key))
            .await?
        {
            return Ok(SecretBytes::new(found));
        }
        let (key, value) = (name.to_owned(), create());
        let stored = self
            .pool
            .write(move |conn| secrets::create(conn, &key, &value, now))
            .await?;
        Ok(SecretBytes::new(stored))
    }
}

#[async_trait]
impl FollowerStore for SqliteStore {
    async fn add_follower(&self, follower: &Follower) -> Result<bool, StoreError> {
        let follower = follower.clone();
        self.pool
            .write(move |conn| followers::add(conn, &follower))
            .await
    }

    async fn remove_follower(&self, actor: &str) -> Result<bool, StoreError> {
        let actor = actor.to_owned();
        self.pool
            .write(move |conn| followers::remove(conn, &actor))
            .await
    }

    async fn find_follower(&self, actor: &str) -> Result<Option<Follower>, StoreError> {
        let actor = actor.to_owned();
        self.pool
            .read(move |conn| followers::find(conn, &actor))
            .await
    }

    async fn list_followers(&self) -> Result<Vec<Follower>, StoreError> {
        self.pool.read(followers::list).await
    }

    async fn save_published(&self, post: &PublishedPost) -> Result<(), StoreError> {
        let post = post.clone();
        self.pool
            .write(move |conn| followers::save_published(conn, &post))
            .await
    }

    async fn find_published(&self, url: &str) -> Result<Option<PublishedPost>, StoreError> {
        let url = url.to_owned();
        self.pool
            .read(move |conn| followers::find_published(conn, &url))
            .await
    }

    async fn list_published(&self) -> Result<Vec<PublishedPost>, StoreError> {
        self.pool.read(followers::list_published).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.pool
            .read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }
}

/// Runs a statement through the connection's prepared-statement cache, so
/// hot statements are parsed once per connection, not once per call.
fn exec(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the prepared-statement cache.
fn row<T>(
    conn: &rusqlite::Connection,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, map)
}

#[async_trait]
impl MentionStore for SqliteStore {
    async fn receive_mention(
        &self,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<MentionId, StoreError> {
        let (source, target) = (source.clone(), target.clone());
        self.pool
            .write(move |conn| mentions::receive(conn, &source, &target, moderation, now))
            .await
    }

    async fn settle_mention(
        &self,
        id: MentionId,
        transition: &Transition,
        seen: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Settled, StoreError> {
        let transition = transition.clone();
        self.pool
            .write(move |conn| mentions::settle(conn, id, &transition, seen, now))
            .await
    }

    async fn find_mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError> {
        self.pool.read(move |conn| mentions::find(conn, id)).await?
    }

    async fn query_mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
        let query = query.clone();
        self.pool
            .read(move |conn| mentions::query(conn, &query))
            .await?
    }

    async fn count_mentions(&self, query: &MentionQuery) -> Result<u64, StoreError> {
        let query = query.clone();
        self.pool
            .read(move |conn| mentions::count(conn, &query))
            .await
    }

    async fn set_moderation(
        &self,
        id: MentionId,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.pool
            .write(move |conn| mentions::set_moderation(conn, id, moderation, now))
            .await
    }

    async fn remove_mention(&self, id: MentionId) -> Result<bool, StoreError> {
        self.pool
            .write(move |conn| mentions::remove(conn, id))
            .await
    }

    async fn block_domain(&self, domain: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let domain = domain.to_owned();
        self.pool
            .write(move |conn| blocked::block_domain(conn, &domain, now))
            .await
    }

    async fn unblock_domain(&self, domain: &str) -> Result<bool, StoreError> {
        let domain = domain.to_owned();
        self.pool
            .write(move |conn| blocked::unblock_domain(conn, &domain))
            .await
    }

    async fn blocked_domains(&self) -> Result<Vec<String>, StoreError> {
        self.pool.read(blocked::blocked_domains).await
    }

    async fn export_mentions(
        &self,
        after: Option<MentionId>,
        limit: usize,
    ) -> Result<Vec<Mention>, StoreError> {
        self.pool
            .read(move |conn| import::export_mentions(conn, after, limit))
            .await?
    }

    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, StoreError> {
        let mentions = mentions.to_vec();
        self.pool
            .write(move |conn| import::import_mentions(conn, &mentions, now))
            .await
    }
}

#[async_trait]
impl super::MentionAliasStore for SqliteStore {
    async fn alias_mention(&self, alias: &str, id: MentionId) -> Result<Imported, StoreError> {
        let alias = alias.to_owned();
        self.pool
            .write(move |conn| aliases::alias_mention(conn, &alias, id))
            .await
    }

    async fn find_mention_alias(&self, alias: &str) -> Result<Option<MentionId>, StoreError> {
        let alias = alias.to_owned();
        self.pool
            .read(move |conn| aliases::find(conn, &alias))
            .await
    }
}

#[async_trait]
impl ThreadStore for SqliteStore {
    async fn load_thread(&self, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
        let url = url.clone();
        self.pool
            .read(move |conn| threads::load(conn, &url))
            .await?
    }

    async fn save_thread(&self, thread: &CachedThread) -> Result<(), StoreError> {
        let thread = thread.clone();
        self.pool
            .write(move |conn| threads::save(conn, &thread))
            .await
    }

    async fn hide_reply(&self, status_id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let id = status_id.to_owned();
        self.pool
            .write(move |conn| threads::hide(conn, "hidden_replies", "status_id", &id, now))
            .await
    }

    async fn unhide_reply(&self, status_id: &str) -> Result<bool, StoreError> {
        let id = status_id.to_owned();
        self.pool
            .write(move |conn| threads::unhide(conn, "hidden_replies", "status_id", &id))
            .await
    }

    async fn hide_account(&self, acct: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let acct = acct.trim().trim_start_matches('@').to_ascii_lowercase();
        self.pool
            .write(move |conn| threads::hide(conn, "hidden_accounts", "acct", &acct, now))
            .await
    }

    async fn unhide_account(&self, acct: &str) -> Result<bool, StoreError> {
        let acct = acct.trim().trim_start_matches('@').to_ascii_lowercase();
        self.pool
            .write(move |conn| threads::unhide(conn, "hidden_accounts", "acct", &acct))
            .await
    }

    async fn hidden_replies(&self) -> Result<HiddenReplies, StoreError> {
        self.pool.read(threads::hidden).await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: &NewJob, now: OffsetDateTime) -> Result<Enqueued, StoreError> {
        let job = job.clone();
        self.pool
            .write(move |conn| jobs::enqueue(conn, &job, now))
            .await
    }

    async fn bring_forward(
        &self,
        dedupe_key: &str,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = dedupe_key.to_owned();
        self.pool
            .write(move |conn| jobs::bring_forward(conn, &key, due_at, now))
            .await
    }

    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        self.pool
            .write(move |conn| jobs::claim(conn, now, now + lease))
            .await?
    }

    async fn settle_job(
        &self,
        job: &ClaimedJob,
        settlement: &Settlement,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (job, settlement) = (job.clone(), settlement.clone());
        self.pool
            .write(move |conn| jobs::settle(conn, &job, &settlement, now))
            .await
    }

    async fn find_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let id = id.clone();
        self.pool.read(move |conn| jobs::find(conn, &id)).await?
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let filter = filter.clone();
        self.pool
            .read(move |conn| jobs::list(conn, &filter))
            .await?
    }

    async fn retry_job(&self, id: &JobId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let id = id.clone();
        self.pool
            .write(move |conn| jobs::retry(conn, &id, now))
            .await
    }

    async fn drop_job(&self, id: &JobId) -> Result<bool, StoreError> {
        let id = id.clone();
        self.pool.write(move |conn| jobs::drop_job(conn, &id)).await
    }

    async fn count_jobs(&self) -> Result<JobCounts, StoreError> {
        self.pool.read(jobs::count).await?
    }
}

#[async_trait]
impl SentStore for SqliteStore {
    async fn load_feed(&self, feed: &Url) -> Result<Option<FeedState>, StoreError> {
        let feed = feed.clone();
        self.pool
            .read(move |conn| sent::load_feed(conn, &feed))
            .await?
    }

    async fn save_feed(&self, state: &FeedState) -> Result<(), StoreError> {
        let state = state.clone();
        self.pool
            .write(move |conn| sent::save_feed(conn, &state))
            .await
    }

    async fn find_sent(&self, source: &Url) -> Result<Option<SentSource>, StoreError> {
        let source = source.clone();
        self.pool
            .read(move |conn| sent::find_sent(conn, &source))
            .await?
    }

    async fn record_version(
        &self,
        source: &Url,
        version: &str,
        links: &[Url],
        gone: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (source, version, links) = (source.clone(), version.to_owned(), links.to_vec());
        self.pool
            .write(move |conn| sent::record_version(conn, &source, &version, &links, gone, now))
            .await
    }

    async fn record_attempt(
        &self,
        source: &Url,
        attempt: &SendAttempt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (source, attempt) = (source.clone(), attempt.clone());
        self.pool
            .write(move |conn| sent::record_attempt(conn, &source, &attempt, now))
            .await?
    }

    async fn list_sent(&self, source: Option<&Url>) -> Result<Vec<SentSource>, StoreError> {
        let source = source.cloned();
        self.pool
            .read(move |conn| sent::list_sent(conn, source.as_ref()))
            .await?
    }
}
