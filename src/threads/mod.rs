//! The comment thread of a post: `GET /api/comments`.
//!
//! The Mastodon part is fetched server-side with the owner's token, filtered
//! (public replies only, see `domain::thread`), cached in the store with a
//! TTL and served stale-while-revalidate: a request never waits on Mastodon
//! when a cached copy exists, and only one refresh per thread runs at a time.
//! Rendered answers are kept in memory and reused until the thread is
//! refreshed or anything it shows changes ([`Changes`]).
//!
//! Invariant: rendering cannot fail and its cost is bounded by the thread's
//! size, whatever shape strangers gave it (`domain::thread` builds the tree
//! without recursion and nests it at most `MAX_DEPTH` levels), so a thread
//! saved to the cache before it is rendered can always be rendered later;
//! the cache can never hold something that fails every view.

mod moderation;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::announce::{AnnounceError, Announcer};
use crate::changes::{Changes, Stamp};
use crate::clients::mastodon::{MastodonClient, MastodonError};
use crate::clock::Clock;
use crate::config::ThreadsConfig;
use crate::domain::job::{Job, NewJob, Outcome, RefreshThread};
use crate::domain::mention::Via;
use crate::domain::thread::{StatusId, TootSummary, visible_tree};
use crate::domain::{PostState, PostUrl};
use crate::images::ImageUrls;
use crate::jobs::Queue;
use crate::storage::{CachedThread, MentionQuery, SortDirection, Store, StoreError};

/// Rendered threads kept in memory at most.
const RENDERED_LIMIT: usize = 10_000;
/// After a failed refresh, how long the stale copy is served before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum ThreadError {
    #[error(transparent)]
    Url(AnnounceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A rendered answer: the JSON bytes and their ETag.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub body: Bytes,
    pub etag: String,
    changes: Stamp,
    fresh_until: OffsetDateTime,
}

pub struct Threads {
    store: Arc<dyn Store>,
    clock: Clock,
    queue: Queue,
    mastodon: Option<Arc<MastodonClient>>,
    announcer: Option<Arc<Announcer>>,
    config: ThreadsConfig,
    changes: Changes,
    rendered: RwLock<HashMap<PostUrl, Rendered>>,
    /// When this process last queued a refresh of each thread: a stale
    /// thread viewed often queues one refresh, not one per view.
    refresh_queued: Mutex<HashMap<PostUrl, OffsetDateTime>>,
    cold_fetches: Mutex<HashMap<PostUrl, Arc<tokio::sync::Mutex<()>>>>,
    /// Mastodon said 429: no calls before this.
    backoff_until: Mutex<Option<OffsetDateTime>>,
    /// The blog's own fediverse account, when ActivityPub is on: offered
    /// with each thread as another way to reply.
    fediverse: Option<(String, crate::activitypub::Urls)>,
}

impl Threads {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Queue,
        mastodon: Option<Arc<MastodonClient>>,
        announcer: Option<Arc<Announcer>>,
        config: ThreadsConfig,
        changes: Changes,
        clock: Clock,
    ) -> Self {
        Self {
            store,
            clock,
            queue,
            mastodon,
            announcer,
            config,
            changes,
            fediverse: None,
            rendered: RwLock::new(HashMap::new()),
            refresh_queued: Mutex::new(HashMap::new()),
            cold_fetches: Mutex::new(HashMap::new()),
            backoff_until: Mutex::new(None),
        }
    }

    /// Offers the blog's fediverse account (`handle`, `user@host`) with
    /// every thread.
    pub fn with_fediverse(mut self, handle: String, urls: crate::activitypub::Urls) -> Self {
        self.fediverse = Some((handle, urls));
        self
    }

    /// The blog's account, and the post's object id once it was published
    /// to the fediverse.
    async fn fediverse_for(
        &self,
        url: &PostUrl,
    ) -> Result<Option<wire::FediverseBody>, ThreadError> {
        let Some((handle, urls)) = &self.fediverse else {
            return Ok(None);
        };
        let published = self.store.find_published(url.as_str()).await?;
        Ok(Some(wire::FediverseBody {
            handle: format!("@{handle}"),
            object: published
                .filter(|p| p.object.is_some())
                .map(|_| crate::activitypub::publish::object_id(urls, url.as_url())),
        }))
    }

    /// The rendered thread of the post `raw_url` names, its image URLs
    /// written by `images` (the image proxy's, or direct https; one policy
    /// per process, so rendered answers are reused whatever it is).
    pub async fn comments(
        self: &Arc<Self>,
        raw_url: Option<&str>,
        images: &ImageUrls,
    ) -> Result<Rendered, ThreadError> {
        let url = self.accept_url(raw_url)?;
        let now = self.clock.now();
        if let Some(rendered) = self.rendered_for(&url) {
            if now >= rendered.fresh_until {
                self.queue_refresh(&url).await;
            }
            return Ok(rendered);
        }
        self.render(&url, images).await
    }

    fn accept_url(&self, raw_url: Option<&str>) -> Result<PostUrl, ThreadError> {
        match &self.announcer {
            Some(announcer) => announcer.accept_url(raw_url).map_err(ThreadError::Url),
            None => {
                let raw = raw_url
                    .filter(|r| !r.trim().is_empty())
                    .ok_or(ThreadError::Url(AnnounceError::MissingUrl))?;
                PostUrl::parse(raw).map_err(|e| ThreadError::Url(AnnounceError::InvalidUrl(e)))
            }
        }
    }

    /// A rendered answer still valid for the current changes count.
    fn rendered_for(&self, url: &PostUrl) -> Option<Rendered> {
        let rendered = self.rendered.read().ok()?.get(url).cloned()?;
        (rendered.changes == self.changes.stamp(url.as_str())).then_some(rendered)
    }

    async fn render(
        self: &Arc<Self>,
        url: &PostUrl,
        images: &ImageUrls,
    ) -> Result<Rendered, ThreadError> {
        let changes = self.changes.stamp(url.as_str());
        let toot_id = self.toot_for(url).await?;
        let thread = match &toot_id {
            Some(id) => self.thread(url, id).await?,
            None => None,
        };
        let mentions = self
            .store
            .query_mentions(&MentionQuery {
                targets: vec![url.as_url().clone()],
                direction: SortDirection::Ascending,
                per_page: 1000,
                ..MentionQuery::default()
            })
            .await?;
        let hidden = self.store.hidden_replies().await?;

        let mut comments: Vec<wire::CommentBody> = thread
            .as_ref()
            .map(|t| {
                visible_tree(
                    t.toot.id.as_str(),
                    &t.replies,
                    self.config.include_unlisted,
                    &hidden,
                )
            })
            .unwrap_or_default()
            .iter()
            .map(wire::from_reply)
            .collect();
        let mut reactions = wire::Reactions::default();
        // Hiding an account hides its fediverse replies and reactions too.
        let mentions: Vec<_> = mentions
            .into_iter()
            .filter(|m| match m.data.as_ref().map(|d| &d.via) {
                Some(Via::ActivityPub { handle, .. }) => {
                    !hidden.accounts.contains(&handle.to_ascii_lowercase())
                }
                _ => true,
            })
            .collect();
        wire::merge_mentions(&mentions, &mut comments, &mut reactions);
        wire::sort_oldest_first(&mut comments);
        let toot = thread
            .as_ref()
            .map(|t| t.toot.clone())
            .or_else(|| toot_id.and_then(|id| self.fallback_toot(id)));
        let mut body = wire::CommentsBody {
            url: url.to_string(),
            toot: toot.as_ref().map(wire::TootBody::from),
            comment_count: wire::count(&comments),
            fediverse: self.fediverse_for(url).await?,
            comments,
            reactions,
            fetched_at: thread
                .as_ref()
                .and_then(|t| t.fetched_at.format(&Rfc3339).ok()),
        };
        wire::rewrite_images(&mut body, images);
        let body = Bytes::from(serde_json::to_vec(&body).unwrap_or_default());
        let rendered = Rendered {
            etag: format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]),
            body,
            changes,
            fresh_until: match (&thread, &toot) {
                (Some(thread), _) => thread.fresh_until,
                // A toot whose thread could not be read: try again soon, not after a whole TTL.
                (None, Some(_)) => self.clock.now() + RETRY_AFTER_FAILURE.min(self.config.ttl),
                (None, None) => self.clock.now() + self.config.ttl,
            },
        };
        if let Ok(mut cache) = self.rendered.write() {
            if cache.len() >= RENDERED_LIMIT {
                cache.clear();
            }
            cache.insert(url.clone(), rendered.clone());
        }
        Ok(rendered)
    }

    /// The post's toot: recorded, or announced now when announcing is on
    /// (and `publish.announce_on_view`; else a post without one is 404).
    /// A failure to announce (Mastodon down) still shows the webmentions.
    async fn toot_for(&self, url: &PostUrl) -> Result<Option<String>, ThreadError> {
        if let Some(PostState::Announced { toot_id }) =
            self.store.find_post(url).await?.map(|p| p.state)
        {
            return Ok(Some(toot_id.to_string()));
        }
        let Some(announcer) = &self.announcer else {
            return Ok(None);
        };
        match announcer.announce_for_view(url.clone()).await {
            Ok(announcement) => Ok(Some(announcement.toot_id.to_string())),
            // Not a post of this blog: the same 400 as `GET /?url=`.
            Err(
                error @ (AnnounceError::PostMissing { .. }
                | AnnounceError::NotHandled
                | AnnounceError::NotThisBlog(_)
                | AnnounceError::CanonicalMissing { .. }
                | AnnounceError::CanonicalDisagrees { .. }
                | AnnounceError::NotAnnounced),
            ) => Err(ThreadError::Url(error)),
            Err(error) => {
                tracing::warn!(%url, %error, "no toot for this thread yet");
                Ok(None)
            }
        }
    }

    /// The toot's URL as Mastodon builds it, when the toot itself could not be read.
    fn fallback_toot(&self, id: String) -> Option<TootSummary> {
        let id = StatusId::new(id)?;
        let url = self.announcer.as_ref().map(|a| {
            let mastodon = &a.config().mastodon;
            let mut base = mastodon.base.api_base.clone();
            base.set_path(&format!("/@{}/{id}", mastodon.user));
            base.to_string()
        });
        Some(TootSummary {
            id,
            url,
            replies_count: 0,
            reblogs_count: 0,
            favourites_count: 0,
        })
    }

    /// The cached thread (refreshing it in the background when stale), or a
    /// first fetch when there is none. `None` when Mastodon cannot be read.
    async fn thread(
        self: &Arc<Self>,
        url: &PostUrl,
        toot_id: &str,
    ) -> Result<Option<CachedThread>, ThreadError> {
        if let Some(cached) = self
            .store
            .load_thread(url)
            .await?
            .filter(|t| t.toot.id.as_str() == toot_id)
        {
            if self.clock.now() >= cached.fresh_until {
                self.queue_refresh(url).await;
            }
            return Ok(Some(cached));
        }
        let lock = self.cold_fetch_lock(url);
        let _guard = lock.lock().await;
        if let Some(cached) = self
            .store
            .load_thread(url)
            .await?
            .filter(|t| t.toot.id.as_str() == toot_id)
        {
            return Ok(Some(cached));
        }
        Ok(self.fetch_and_save(url, toot_id).await.ok())
    }

    fn cold_fetch_lock(&self, url: &PostUrl) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.cold_fetches.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() >= RENDERED_LIMIT {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(locks.entry(url.clone()).or_default())
    }

    /// Queues a refresh of `url`'s thread (on the job queue, so that a
    /// serverless runtime's scheduled run does it too), unless this process
    /// queued one lately. A reader never waits for Mastodon.
    async fn queue_refresh(&self, url: &PostUrl) {
        let now = self.clock.now();
        let recently = self
            .refresh_queued
            .lock()
            .map(|mut queued| {
                if queued.len() >= RENDERED_LIMIT {
                    queued.clear();
                }
                let recent = queued
                    .get(url)
                    .is_some_and(|at| now - *at < RETRY_AFTER_FAILURE);
                if !recent {
                    queued.insert(url.clone(), now);
                }
                recent
            })
            .unwrap_or(false);
        if recently {
            return;
        }
        // While Mastodon has asked us to wait, the refresh is due when the
        // wait ends, not before (a queued one is never brought forward into
        // the wait).
        let due = now + self.backoff_left().unwrap_or_default();
        if let Err(error) = self.queue.enqueue(&NewJob::refresh_thread(url, due)).await {
            tracing::warn!(%url, %error, "cannot queue a thread refresh");
        }
    }

    /// The handler of a [`JobKind::RefreshThread`] job: fetches the thread
    /// again and replaces the cached copy.
    ///
    /// [`JobKind::RefreshThread`]: crate::domain::job::JobKind::RefreshThread
    pub async fn run_refresh(&self, job: &Job) -> Outcome {
        let url = match job
            .payload::<RefreshThread>()
            .and_then(|p| PostUrl::parse(&p.url).map_err(|e| e.to_string()))
        {
            Ok(url) => url,
            Err(error) => return Outcome::Fail { error },
        };
        let outcome = match self.refresh(&url).await {
            Ok(outcome) => outcome,
            Err(error) => Outcome::retry(error.to_string()),
        };
        // A refresh that will be retried is still queued: views need not
        // queue it again.
        if !matches!(outcome, Outcome::Retry { .. })
            && let Ok(mut queued) = self.refresh_queued.lock()
        {
            queued.remove(&url);
        }
        outcome
    }

    async fn refresh(&self, url: &PostUrl) -> Result<Outcome, StoreError> {
        let Some(PostState::Announced { toot_id }) =
            self.store.find_post(url).await?.map(|p| p.state)
        else {
            return Ok(Outcome::Done);
        };
        if self.mastodon.is_none() {
            return Ok(Outcome::Done);
        }
        let outcome = match self.fetch_and_save(url, toot_id.as_str()).await {
            Ok(_) => Outcome::Done,
            Err(MastodonError::RateLimited { retry_after }) => Outcome::Retry {
                error: "Mastodon is rate limiting us".into(),
                after: Some(retry_after),
            },
            Err(error) => Outcome::retry(error.to_string()),
        };
        self.forget_rendered(url);
        Ok(outcome)
    }

    /// Fetches from Mastodon and caches the result (failures are logged).
    async fn fetch_and_save(
        &self,
        url: &PostUrl,
        toot_id: &str,
    ) -> Result<CachedThread, MastodonError> {
        let Some(mastodon) = self.mastodon.as_ref() else {
            return Err(MastodonError::Unexpected(
                "Mastodon is not configured".into(),
            ));
        };
        if let Some(retry_after) = self.backoff_left() {
            return Err(MastodonError::RateLimited { retry_after });
        }
        match mastodon.fetch_thread(toot_id).await {
            Ok(fetched) => {
                let now = self.clock.now();
                let thread = CachedThread {
                    url: url.clone(),
                    toot: fetched.toot,
                    replies: fetched.replies,
                    fetched_at: now,
                    fresh_until: now
                        + fetched
                            .refresh_hint
                            .unwrap_or(self.config.ttl)
                            .min(self.config.ttl),
                };
                metrics::counter!("backfeed_thread_fetches_total", "outcome" => "ok").increment(1);
                if let Err(error) = self.store.save_thread(&thread).await {
                    tracing::warn!(%url, %error, "cannot cache the thread");
                }
                Ok(thread)
            }
            Err(error) => {
                metrics::counter!("backfeed_thread_fetches_total", "outcome" => "failed")
                    .increment(1);
                if let MastodonError::RateLimited { retry_after } = &error
                    && let Ok(mut until) = self.backoff_until.lock()
                {
                    *until = Some(self.clock.now() + *retry_after);
                }
                tracing::warn!(%url, %error, "cannot fetch the reply thread");
                Err(error)
            }
        }
    }

    /// How long Mastodon asked us to wait, if that time has not passed.
    fn backoff_left(&self) -> Option<Duration> {
        let until = self.backoff_until.lock().ok().and_then(|until| *until)?;
        let left = until - self.clock.now();
        left.is_positive().then(|| left.unsigned_abs())
    }

    fn forget_rendered(&self, url: &PostUrl) {
        if let Ok(mut cache) = self.rendered.write() {
            cache.remove(url);
        }
    }
}
