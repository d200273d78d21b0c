//! The shared store: PostgreSQL, for several instances behind one database.
//!
//! It mirrors the SQLite backend operation by operation and passes the same
//! conformance suite. Where SQLite serialises writers with `BEGIN
//! IMMEDIATE`, this backend uses row locks inside short transactions at
//! READ COMMITTED: `INSERT … ON CONFLICT` plus `SELECT … FOR UPDATE` for post
//! claims, `FOR UPDATE SKIP LOCKED` for the job and delivery queues.
//! Invariant: each operation is one transaction (or one statement), bounded
//! in time; a database that is down fails it with `StoreError::Unavailable`
//! and the pool reconnects on its own once the database is back.

mod aliases;
mod blocked;
mod followers;
mod import;
mod jobs;
mod mentions;
mod pool;
mod posts;
mod query;
mod rows;
mod schema;
mod secrets;
mod seed;
mod sent;
mod threads;
mod tls;
mod tls_verify;

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use url::Url;

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
use pool::{Db, bounded};
use threads::Hidden;

pub use seed::{Contents, SeedRow, inspect, seed_rows};

pub struct PostgresStore {
    db: Db,
}

impl PostgresStore {
    /// Connects to the database `url` names (`postgres://user:password@host:port/database`)
    /// and migrates it. Fails with `Unavailable` when it cannot be reached.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = Db::new(url)?;
        let mut client = db.client().await?;
        bounded(schema::migrate(&mut client)).await?;
        drop(client);
        Ok(Self { db })
    }

    /// The number of migrations this version knows.
    pub fn schema_version() -> usize {
        schema::latest_version()
    }
}

fn new_token() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[async_trait]
impl PostStore for PostgresStore {
    async fn claim_post(
        &self,
        url: &PostUrl,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        let token = ClaimToken::new(new_token());
        let mut c = self.db.client().await?;
        bounded(posts::claim(&mut c, url, token, now + lease, now)).await
    }

    async fn record_toot(
        &self,
        url: &PostUrl,
        _claim: &ClaimToken,
        toot: &TootId,
        now: OffsetDateTime,
    ) -> Result<TootId, StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::record_toot(&mut c, url, toot, now)).await
    }

    async fn record_failure(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::record_failure(&mut c, url, claim, reason, now)).await
    }

    async fn release_claim(&self, url: &PostUrl, claim: &ClaimToken) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::release_claim(&mut c, url, claim)).await
    }

    async fn forget_failure(&self, url: &PostUrl) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::forget_failure(&mut c, url)).await
    }

    async fn find_post(&self, url: &PostUrl) -> Result<Option<PostRecord>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::find(&mut c, url)).await
    }

    async fn list_posts(&self) -> Result<Vec<PostRecord>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(posts::list(&mut c)).await
    }

    async fn import_posts(&self, posts: &[PostRecord]) -> Result<Vec<Imported>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(import::import_posts(&mut c, posts)).await
    }
}

#[async_trait]
impl SecretStore for PostgresStore {
    async fn secret(
        &self,
        name: &str,
        now: OffsetDateTime,
        create: CreateSecret<'_>,
    ) -> Result<SecretBytes, StoreError> {
        super::secrets::check_name(name)?;
        let mut c = self.db.client().await?;
        if let Some(found) = bounded(secrets::find(&mut c, name)).await? {
            return Ok(SecretBytes::new(found));
        }
        let value = create();
        let stored = bounded(secrets::create(&mut c, name, &value, now)).await?;
        Ok(SecretBytes::new(stored))
    }
}

#[async_trait]
impl FollowerStore for PostgresStore {
    async fn add_follower(&self, follower: &Follower) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::add(&mut c, follower)).await
    }

    async fn remove_follower(&self, actor: &str) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::remove(&mut c, actor)).await
    }

    async fn find_follower(&self, actor: &str) -> Result<Option<Follower>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::find(&mut c, actor)).await
    }

    async fn list_followers(&self) -> Result<Vec<Follower>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::list(&mut c)).await
    }

    async fn save_published(&self, post: &PublishedPost) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::save_published(&mut c, post)).await
    }

    async fn find_published(&self, url: &str) -> Result<Option<PublishedPost>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::find_published(&mut c, url)).await
    }

    async fn list_published(&self) -> Result<Vec<PublishedPost>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(followers::list_published(&mut c)).await
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let c = self.db.client().await?;
        bounded(async { Ok(c.simple_query("SELECT 1").await.map(drop)?) }).await
    }
}

#[async_trait]
impl MentionStore for PostgresStore {
    async fn receive_mention(
        &self,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<MentionId, StoreError> {
        let mut c = self.db.client().await?;
        bounded(mentions::receive(&mut c, source, target, moderation, now)).await
    }

    async fn settle_mention(
        &self,
        id: MentionId,
        transition: &Transition,
        seen: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Settled, StoreError> {
        let mut c = self.db.client().await?;
        bounded(mentions::settle(&mut c, id, transition, seen, now)).await
    }

    async fn find_mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(mentions::find(&mut c, id)).await
    }

    async fn query_mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(query::mentions(&mut c, query)).await
    }

    async fn count_mentions(&self, query: &MentionQuery) -> Result<u64, StoreError> {
        let mut c = self.db.client().await?;
        bounded(query::count_mentions(&mut c, query)).await
    }

    async fn set_moderation(
        &self,
        id: MentionId,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(mentions::set_moderation(&mut c, id, moderation, now)).await
    }

    async fn remove_mention(&self, id: MentionId) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(mentions::remove(&mut c, id)).await
    }

    async fn block_domain(&self, domain: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(blocked::block_domain(&mut c, domain, now)).await
    }

    async fn unblock_domain(&self, domain: &str) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(blocked::unblock_domain(&mut c, domain)).await
    }

    async fn blocked_domains(&self) -> Result<Vec<String>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(blocked::blocked_domains(&mut c)).await
    }

    async fn export_mentions(
        &self,
        after: Option<MentionId>,
        limit: usize,
    ) -> Result<Vec<Mention>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(import::export_mentions(&mut c, after, limit)).await
    }

    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(import::import_mentions(&mut c, mentions, now)).await
    }
}

/// `user@domain`, lower-case, as the SQLite backend keys hidden accounts.
fn account_key(acct: &str) -> String {
    acct.trim().trim_start_matches('@').to_ascii_lowercase()
}

#[async_trait]
impl super::MentionAliasStore for PostgresStore {
    async fn alias_mention(&self, alias: &str, id: MentionId) -> Result<Imported, StoreError> {
        let mut c = self.db.client().await?;
        bounded(aliases::alias_mention(&mut c, alias, id)).await
    }

    async fn find_mention_alias(&self, alias: &str) -> Result<Option<MentionId>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(aliases::find(&mut c, alias)).await
    }
}

#[async_trait]
impl ThreadStore for PostgresStore {
    async fn load_thread(&self, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::load(&mut c, url)).await
    }

    async fn save_thread(&self, thread: &CachedThread) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::save(&mut c, thread)).await
    }

    async fn hide_reply(&self, status_id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::hide(&mut c, Hidden::Reply, status_id, now)).await
    }

    async fn unhide_reply(&self, status_id: &str) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::unhide(&mut c, Hidden::Reply, status_id)).await
    }

    async fn hide_account(&self, acct: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::hide(
            &mut c,
            Hidden::Account,
            &account_key(acct),
            now,
        ))
        .await
    }

    async fn unhide_account(&self, acct: &str) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::unhide(&mut c, Hidden::Account, &account_key(acct))).await
    }

    async fn hidden_replies(&self) -> Result<HiddenReplies, StoreError> {
        let mut c = self.db.client().await?;
        bounded(threads::hidden(&mut c)).await
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn enqueue(&self, job: &NewJob, now: OffsetDateTime) -> Result<Enqueued, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::enqueue(&mut c, job, now)).await
    }

    async fn bring_forward(
        &self,
        dedupe_key: &str,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::bring_forward(&mut c, dedupe_key, due_at, now)).await
    }

    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::claim(&mut c, now, now + lease)).await
    }

    async fn settle_job(
        &self,
        job: &ClaimedJob,
        settlement: &Settlement,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::settle(&mut c, job, settlement, now)).await
    }

    async fn find_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::find(&mut c, id)).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::list(&mut c, filter)).await
    }

    async fn retry_job(&self, id: &JobId, now: OffsetDateTime) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::retry(&mut c, id, now)).await
    }

    async fn drop_job(&self, id: &JobId) -> Result<bool, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::drop_job(&mut c, id)).await
    }

    async fn count_jobs(&self) -> Result<JobCounts, StoreError> {
        let mut c = self.db.client().await?;
        bounded(jobs::count(&mut c)).await
    }
}

#[async_trait]
impl SentStore for PostgresStore {
    async fn load_feed(&self, feed: &Url) -> Result<Option<FeedState>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::load_feed(&mut c, feed)).await
    }

    async fn save_feed(&self, state: &FeedState) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::save_feed(&mut c, state)).await
    }

    async fn find_sent(&self, source: &Url) -> Result<Option<SentSource>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::find_sent(&mut c, source)).await
    }

    async fn record_version(
        &self,
        source: &Url,
        version: &str,
        links: &[Url],
        gone: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::record_version(
            &mut c, source, version, links, gone, now,
        ))
        .await
    }

    async fn record_attempt(
        &self,
        source: &Url,
        attempt: &SendAttempt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::record_attempt(&mut c, source, attempt, now)).await
    }

    async fn list_sent(&self, source: Option<&Url>) -> Result<Vec<SentSource>, StoreError> {
        let mut c = self.db.client().await?;
        bounded(sent::list_sent(&mut c, source)).await
    }
}
