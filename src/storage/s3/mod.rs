//! The S3 store: every record an object in one bucket, no database.
//!
//! Announced posts use the seed's layout unchanged (a zero-byte object at
//! `.mastodon-meta/<url path>` with user metadata `toot-id`), so a bucket
//! the seed wrote works as it is and the seed can read ours. Everything else
//! (claims, mentions, the job queue, sets, cached threads) sits
//! under `.backfeed/`; `layout.rs` and `docs/s3-layout.md` list every key.
//!
//! Invariant: each decision (who holds a post or a job, which mention a
//! source and target have, the first toot recorded) is one conditional
//! write on one object, retried from a fresh read when someone else wrote
//! first; and no record's survival depends on that write being atomic: new
//! records go under keys only their writer makes (time-ordered random ids),
//! and nothing is deleted without reading back that it is what stands.
//! Operations that touch several objects write index entries before the
//! record they point at and remove them after, and every reader skips an
//! entry whose record does not match; the module docs of `receive.rs`,
//! `mentions.rs` and `jobs.rs` say why each such step is safe. A provider
//! that does not decide conditional writes atomically gets a warning at
//! start-up: there, claims are not exclusive (a post may be tooted twice, a
//! job run twice); `docs/s3-layout.md` lists what else it costs.

mod aliases;
mod dynamo_objects;
mod dynamo_seed;
mod followers;
mod ids;
mod import;
mod jobs;
mod layout;
mod legacy;
mod mention_record;
mod mentions;
mod objects;
mod posts;
mod probe;
mod receive;
mod record_cache;
mod secrets;
mod seed;
mod sent;
mod sets;
mod shown;
mod threads;
mod wake;

use std::time::Duration;

use async_trait::async_trait;
use object_store::RetryConfig;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey, S3ConditionalPut};
use time::OffsetDateTime;
use url::Url;

use super::dynamodb::items::Items;
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
use dynamo_seed::DynamoSeed;
use layout::Layout;
use objects::Objects;
use probe::Conditional;
use seed::{S3Seed, SeedObjects};

pub use seed::{SeedPost, TOOT_ID_METADATA};

pub struct S3Store {
    objects: Objects,
    ids: ids::MentionIds,
    seed: SeedObjects,
    layout: Layout,
    conditional: Conditional,
    /// Mention records read for listings of every mention.
    records: record_cache::RecordCache,
}

impl S3Store {
    /// Connects to `bucket` (keys under `prefix`), checks that it can write
    /// there and whether the provider honours conditional writes, and warns
    /// when it does not.
    ///
    /// Credentials are read here from the standard environment variables
    /// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
    /// or web identity, container and instance credentials) by object_store's
    /// `AmazonS3Builder::from_env()`. This is the documented exception to
    /// "configuration is parsed once, in `config`": these variables belong
    /// to the AWS runtime (Lambda sets and rotates them), and object_store's
    /// provider chain refreshes them itself. Bucket, prefix, endpoint and
    /// region come from `DATABASE_URL` and win over any `AWS_*` equivalents.
    pub async fn open(
        bucket: &str,
        prefix: &str,
        endpoint: Option<&Url>,
        region: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        let layout = Layout::new(prefix)?;
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(20),
            ..RetryConfig::default()
        };
        crate::clients::tls::install_crypto_provider();
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_conditional_put(S3ConditionalPut::ETagMatch)
            // One `DELETE /key` per object, never `POST /?delete`: S3 bills
            // DELETE nothing and the bulk POST at the PUT rate, and every
            // object is deleted alone anyway.
            .with_disable_bulk_delete(true)
            .with_retry(retry);
        if let Some(region) = region {
            builder = builder.with_region(region);
        }
        if let Some(endpoint) = endpoint {
            // Path-style requests (`<endpoint>/<bucket>/<key>`), which every
            // S3-compatible server understands.
            builder = builder
                .with_endpoint(endpoint.as_str().trim_end_matches('/'))
                .with_virtual_hosted_style_request(false)
                .with_allow_http(endpoint.scheme() == "http");
        }
        let bucket_url = bucket_url(&builder, bucket);
        let region = builder
            .get_config_value(&AmazonS3ConfigKey::Region)
            .unwrap_or_else(|| "us-east-1".to_owned());
        let s3 = builder
            .build()
            .map_err(|e| StoreError::Unavailable(format!("S3 bucket `{bucket}`: {e}")))?;
        let probe_key = layout.probe(&uuid::Uuid::new_v4().simple().to_string());
        let conditional = probe::probe(&s3, &probe_key).await.map_err(|e| match e {
            StoreError::Unavailable(why) => {
                StoreError::Unavailable(format!("S3 bucket `{bucket}`: {why}"))
            }
            other => other,
        })?;
        match &conditional {
            Conditional::Honoured => {
                tracing::info!(
                    bucket,
                    prefix,
                    "S3 store ready; conditional writes are honoured"
                );
            }
            Conditional::NotAtomic(what)
            | Conditional::Ignored(what)
            | Conditional::Refused(what) => {
                tracing::warn!(
                    bucket,
                    prefix,
                    finding = %what,
                    "this S3 provider does not decide conditional writes (If-None-Match / If-Match) \
                     atomically, so claims are not exclusive here: concurrent first requests for a \
                     post may post it twice (Mastodon's Idempotency-Key is then the only guard, for \
                     one hour), a job may run twice, a webmention sent twice at once may be verified \
                     twice, and a verification racing a moderation of the same mention may undo one \
                     of them. Webmentions and jobs are kept (one narrow exception: two instances \
                     receiving webmentions in the same millisecond; see docs/s3-layout.md)"
                );
            }
        }
        let send_conditions = !matches!(conditional, Conditional::Refused(_));
        let seed = SeedObjects::S3(S3Seed::new(&s3, bucket_url, region, send_conditions)?);
        let store = Self {
            objects: Objects::new(s3, send_conditions),
            ids: ids::MentionIds::default(),
            seed,
            layout,
            conditional,
            records: record_cache::RecordCache::default(),
        };
        legacy::move_old_queues(&store, now).await?;
        Ok(store)
    }

    /// The same store on the items of a DynamoDB table (see
    /// `storage::dynamodb`), whose writes are always conditional.
    pub(crate) async fn open_on_dynamodb(
        items: Items,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        let layout = Layout::new("")?;
        let items = std::sync::Arc::new(items);
        let seed = DynamoSeed::new(std::sync::Arc::clone(&items), layout.seed_prefix());
        let store = Self {
            objects: Objects::on_dynamodb(items),
            ids: ids::MentionIds::default(),
            seed: SeedObjects::Dynamo(seed),
            layout,
            conditional: Conditional::Honoured,
            records: record_cache::RecordCache::default(),
        };
        legacy::move_old_queues(&store, now).await?;
        Ok(store)
    }

    /// What the DynamoDB client has spent so far; `None` on S3.
    pub fn dynamodb_usage(&self) -> Option<crate::storage::dynamodb::client::UsageSnapshot> {
        self.objects.dynamodb_usage()
    }

    /// Test support: the next mention id this store makes is `id`, as if
    /// another process had made it at the same millisecond.
    #[cfg(feature = "test-support")]
    pub fn force_next_mention_id(&self, id: MentionId) {
        self.ids.force_next(id.0);
    }

    /// Whether the start-up probe found conditional writes honoured (and
    /// saw no sign that racing writers all pass them).
    pub fn conditional_writes(&self) -> bool {
        self.conditional == Conditional::Honoured
    }

    /// The store as on a provider the probe found non-atomic. The probe is a
    /// race and can miss (it did on s3s-fs, 1 run in 3): a test of the
    /// non-atomic mode must not depend on it.
    #[cfg(feature = "test-support")]
    pub fn assume_not_atomic(mut self) -> Self {
        self.conditional = Conditional::NotAtomic("assumed by the caller".into());
        self
    }

    /// Whether the job queue keeps a wake time (`wake.rs`): on S3 whose
    /// conditional writes are atomic.
    fn uses_wake(&self) -> bool {
        self.objects.is_s3() && self.conditional_writes()
    }

    /// The URL path (without its leading slash) of every post object in
    /// the seed's layout (`.mastodon-meta/<path>`), in key order: a post
    /// the seed announced, or one announced here. The site's address is not
    /// in the bucket; `backfeed migrate` takes it from the operator.
    pub async fn seed_paths(&self) -> Result<Vec<String>, StoreError> {
        let prefix = self.layout.seed_prefix();
        let keys = self.seed.list_keys(&prefix).await?;
        Ok(keys
            .into_iter()
            .filter_map(|key| key.strip_prefix(&prefix).map(str::to_owned))
            .collect())
    }

    /// What the seed's object for a URL path (as [`Self::seed_paths`] gives
    /// it) holds; `None` when there is none, `Corrupt` when it holds no
    /// toot id.
    pub async fn seed_post(&self, path: &str) -> Result<Option<SeedPost>, StoreError> {
        self.seed.find(&self.layout.seed_path_key(path)).await
    }
}

/// The bucket's base URL, as object_store computes it.
fn bucket_url(builder: &AmazonS3Builder, bucket: &str) -> String {
    let value = |key| builder.get_config_value(&key);
    let region = value(AmazonS3ConfigKey::Region).unwrap_or_else(|| "us-east-1".to_owned());
    let virtual_hosted =
        value(AmazonS3ConfigKey::VirtualHostedStyleRequest).as_deref() == Some("true");
    let endpoint =
        value(AmazonS3ConfigKey::S3Endpoint).or_else(|| value(AmazonS3ConfigKey::Endpoint));
    match (endpoint, virtual_hosted) {
        (Some(endpoint), true) => endpoint,
        (Some(endpoint), false) => format!("{}/{bucket}", endpoint.trim_end_matches('/')),
        (None, true) => format!("https://{bucket}.s3.{region}.amazonaws.com"),
        (None, false) => format!("https://s3.{region}.amazonaws.com/{bucket}"),
    }
}

#[async_trait]
impl PostStore for S3Store {
    async fn claim_post(
        &self,
        url: &PostUrl,
        lease: Duration,
        now: OffsetDateTime,
    ) -> Result<ClaimOutcome, StoreError> {
        posts::claim(self, url, lease, now).await
    }

    async fn record_toot(
        &self,
        url: &PostUrl,
        _claim: &ClaimToken,
        toot: &TootId,
        now: OffsetDateTime,
    ) -> Result<TootId, StoreError> {
        shown::after(self, posts::record_toot(self, url, toot, now).await).await
    }

    async fn record_failure(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        posts::record_failure(self, url, claim, reason, now).await
    }

    async fn release_claim(&self, url: &PostUrl, claim: &ClaimToken) -> Result<(), StoreError> {
        posts::release_claim(self, url, claim).await
    }

    async fn forget_failure(&self, url: &PostUrl) -> Result<bool, StoreError> {
        posts::forget_failure(self, url).await
    }

    async fn find_post(&self, url: &PostUrl) -> Result<Option<PostRecord>, StoreError> {
        posts::find(self, url).await
    }

    async fn list_posts(&self) -> Result<Vec<PostRecord>, StoreError> {
        posts::list(self).await
    }

    async fn import_posts(&self, posts: &[PostRecord]) -> Result<Vec<Imported>, StoreError> {
        shown::after(self, import::import_posts(self, posts).await).await
    }
}

#[async_trait]
impl MentionStore for S3Store {
    async fn receive_mention(
        &self,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<MentionId, StoreError> {
        shown::after(
            self,
            receive::receive(self, source, target, moderation, now).await,
        )
        .await
    }

    async fn settle_mention(
        &self,
        id: MentionId,
        transition: &Transition,
        seen: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Settled, StoreError> {
        shown::after(
            self,
            mentions::settle(self, id, transition, seen, now).await,
        )
        .await
    }

    async fn find_mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError> {
        mentions::find(self, id).await
    }

    async fn query_mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
        mentions::query(self, query).await
    }

    async fn count_mentions(&self, query: &MentionQuery) -> Result<u64, StoreError> {
        mentions::count(self, query).await
    }

    async fn set_moderation(
        &self,
        id: MentionId,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        shown::after(
            self,
            mentions::set_moderation(self, id, moderation, now).await,
        )
        .await
    }

    async fn remove_mention(&self, id: MentionId) -> Result<bool, StoreError> {
        shown::after(self, mentions::remove(self, id).await).await
    }

    async fn block_domain(&self, domain: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        shown::after(
            self,
            sets::add(self, &self.layout.blocked_domains(), domain, now).await,
        )
        .await
    }

    async fn unblock_domain(&self, domain: &str) -> Result<bool, StoreError> {
        shown::after(
            self,
            sets::remove(self, &self.layout.blocked_domains(), domain).await,
        )
        .await
    }

    async fn blocked_domains(&self) -> Result<Vec<String>, StoreError> {
        sets::members(self, &self.layout.blocked_domains()).await
    }

    async fn export_mentions(
        &self,
        after: Option<MentionId>,
        limit: usize,
    ) -> Result<Vec<Mention>, StoreError> {
        import::export_mentions(self, after, limit).await
    }

    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, StoreError> {
        shown::after(self, import::import_mentions(self, mentions, now).await).await
    }
}

/// `user@domain`, lower-case, without a leading `@` (as on SQLite).
fn normal_acct(acct: &str) -> String {
    acct.trim().trim_start_matches('@').to_ascii_lowercase()
}

#[async_trait]
impl super::MentionAliasStore for S3Store {
    async fn alias_mention(&self, alias: &str, id: MentionId) -> Result<Imported, StoreError> {
        aliases::alias_mention(self, alias, id).await
    }

    async fn find_mention_alias(&self, alias: &str) -> Result<Option<MentionId>, StoreError> {
        aliases::find(self, alias).await
    }
}

#[async_trait]
impl ThreadStore for S3Store {
    async fn load_thread(&self, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
        threads::load(self, url).await
    }

    async fn save_thread(&self, thread: &CachedThread) -> Result<(), StoreError> {
        threads::save(self, thread).await
    }

    async fn hide_reply(&self, status_id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        shown::after(
            self,
            sets::add(self, &self.layout.hidden_replies(), status_id, now).await,
        )
        .await
    }

    async fn unhide_reply(&self, status_id: &str) -> Result<bool, StoreError> {
        shown::after(
            self,
            sets::remove(self, &self.layout.hidden_replies(), status_id).await,
        )
        .await
    }

    async fn hide_account(&self, acct: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let result = sets::add(
            self,
            &self.layout.hidden_accounts(),
            &normal_acct(acct),
            now,
        )
        .await;
        shown::after(self, result).await
    }

    async fn unhide_account(&self, acct: &str) -> Result<bool, StoreError> {
        shown::after(
            self,
            sets::remove(self, &self.layout.hidden_accounts(), &normal_acct(acct)).await,
        )
        .await
    }

    async fn shown_version(&self) -> Result<Option<String>, StoreError> {
        shown::version(self).await.map(Some)
    }

    async fn hidden_replies(&self) -> Result<HiddenReplies, StoreError> {
        let (statuses, accounts) = futures_util::future::try_join(
            sets::members(self, &self.layout.hidden_replies()),
            sets::members(self, &self.layout.hidden_accounts()),
        )
        .await?;
        Ok(HiddenReplies {
            statuses: statuses.into_iter().collect(),
            accounts: accounts.into_iter().collect(),
        })
    }
}

#[async_trait]
impl SecretStore for S3Store {
    async fn secret(
        &self,
        name: &str,
        now: OffsetDateTime,
        create: CreateSecret<'_>,
    ) -> Result<SecretBytes, StoreError> {
        super::secrets::check_name(name)?;
        secrets::secret(self, name, now, create).await
    }
}

#[async_trait]
impl FollowerStore for S3Store {
    async fn add_follower(&self, follower: &Follower) -> Result<bool, StoreError> {
        followers::add(self, follower).await
    }

    async fn remove_follower(&self, actor: &str) -> Result<bool, StoreError> {
        followers::remove(self, actor).await
    }

    async fn find_follower(&self, actor: &str) -> Result<Option<Follower>, StoreError> {
        followers::find(self, actor).await
    }

    async fn list_followers(&self) -> Result<Vec<Follower>, StoreError> {
        followers::list(self).await
    }

    async fn save_published(&self, post: &PublishedPost) -> Result<(), StoreError> {
        shown::after(self, followers::save_published(self, post).await).await
    }

    async fn find_published(&self, url: &str) -> Result<Option<PublishedPost>, StoreError> {
        followers::find_published(self, url).await
    }

    async fn list_published(&self) -> Result<Vec<PublishedPost>, StoreError> {
        followers::list_published(self).await
    }
}

#[async_trait]
impl Store for S3Store {
    /// One cheap request: a look-up of a key that need not exist.
    async fn ping(&self) -> Result<(), StoreError> {
        self.objects
            .exists(&self.layout.probe("ping"))
            .await
            .map(|_| ())
    }
}

#[async_trait]
impl JobStore for S3Store {
    async fn enqueue(&self, job: &NewJob, now: OffsetDateTime) -> Result<Enqueued, StoreError> {
        jobs::enqueue(self, job, now).await
    }

    async fn bring_forward(
        &self,
        dedupe_key: &str,
        due_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        jobs::bring_forward_key(self, dedupe_key, due_at, now).await
    }

    async fn claim_job(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        jobs::claim(self, now, lease).await
    }

    async fn settle_job(
        &self,
        job: &ClaimedJob,
        settlement: &Settlement,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        jobs::settle(self, job, settlement, now).await
    }

    async fn find_job(&self, id: &JobId) -> Result<Option<Job>, StoreError> {
        jobs::find(self, id).await
    }

    async fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>, StoreError> {
        jobs::list(self, filter).await
    }

    async fn retry_job(&self, id: &JobId, now: OffsetDateTime) -> Result<bool, StoreError> {
        jobs::retry(self, id, now).await
    }

    async fn drop_job(&self, id: &JobId) -> Result<bool, StoreError> {
        jobs::drop_job(self, id).await
    }

    async fn count_jobs(&self) -> Result<JobCounts, StoreError> {
        jobs::count(self).await
    }
}

#[async_trait]
impl SentStore for S3Store {
    async fn load_feed(&self, feed: &Url) -> Result<Option<FeedState>, StoreError> {
        sent::load_feed(self, feed).await
    }

    async fn save_feed(&self, state: &FeedState) -> Result<(), StoreError> {
        sent::save_feed(self, state).await
    }

    async fn find_sent(&self, source: &Url) -> Result<Option<SentSource>, StoreError> {
        sent::find_sent(self, source).await
    }

    async fn record_version(
        &self,
        source: &Url,
        version: &str,
        links: &[Url],
        gone: bool,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sent::record_version(self, source, version, links, gone, now).await
    }

    async fn record_attempt(
        &self,
        source: &Url,
        attempt: &SendAttempt,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sent::record_attempt(self, source, attempt, now).await
    }

    async fn list_sent(&self, source: Option<&Url>) -> Result<Vec<SentSource>, StoreError> {
        sent::list_sent(self, source).await
    }
}
