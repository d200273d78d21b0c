//! The comment thread of a post: `GET /api/comments`.
//!
//! The Mastodon part is fetched server-side with the owner's token, filtered
//! (public replies only, see `domain::thread`), cached in the store with a
//! TTL that grows with the post's age (`domain::thread_ttl`) and served
//! stale-while-revalidate: a request never waits on Mastodon when a cached
//! copy exists, and only one refresh per thread runs at a time. With
//! `threads.refresh_inline` (serverless runtimes, where queued work waits
//! for the next scheduled run and costs store requests) the reader who
//! finds the thread stale waits for the refresh instead, at most
//! [`INLINE_REFRESH_BUDGET`], then gets the stale copy and the refresh is
//! queued.
//! Rendered answers are kept in memory and reused until the thread is
//! refreshed or anything it shows changes: in this process ([`Changes`]),
//! or in another sharing the store (the store's shown version, one cheap
//! read per view; a store that keeps none has rendered answers re-read
//! after `threads.ttl`).
//!
//! Invariant: rendering cannot fail and its cost is bounded by the thread's
//! size, whatever shape strangers gave it (`domain::thread` builds the tree
//! without recursion and nests it at most `MAX_DEPTH` levels), so a thread
//! saved to the cache before it is rendered can always be rendered later;
//! the cache can never hold something that fails every view.

mod moderation;
mod refresh;
mod shown;
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
use crate::clients::mastodon::MastodonClient;
use crate::clock::Clock;
use crate::config::ThreadsConfig;
use crate::domain::mention::Via;
use crate::domain::thread::{StatusId, TootSummary, visible_tree};
use crate::domain::{PostState, PostUrl};
use crate::images::ImageUrls;
use crate::jobs::Queue;
use crate::storage::{CachedThread, Store, StoreError};
use shown::{Shown, ShownReads};

/// Rendered threads kept in memory at most.
const RENDERED_LIMIT: usize = 10_000;
/// After a failed refresh, how long the stale copy is served before trying again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// How long a reader waits for an inline refresh before getting the stale copy.
pub const INLINE_REFRESH_BUDGET: Duration = Duration::from_secs(2);

/// The post's toot, and when the post was announced (its thread's
/// freshness grows with that age).
struct Announced {
    toot_id: String,
    at: OffsetDateTime,
}

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
    /// What the store showed when this was rendered.
    shown: Shown,
    rendered_at: OffsetDateTime,
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
    /// Mentions and hidden replies, read again only when they may have changed.
    reads: ShownReads,
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
            reads: ShownReads::new(Arc::clone(&store), changes.clone()),
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
        let shown = self.reads.version().await;
        if let Some(rendered) = self.rendered_for(&url, &shown, now) {
            if now < rendered.fresh_until {
                return Ok(rendered);
            }
            if !self.config.refresh_inline || self.refresh_queued_lately(&url) {
                self.queue_refresh(&url).await;
                return Ok(rendered);
            }
            // Rendered again below, around an inline refresh of the thread.
        }
        self.render(&url, images, shown).await
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

    /// A rendered answer that still shows what the store holds: nothing
    /// changed in this process, nor (as far as the store says) elsewhere.
    fn rendered_for(&self, url: &PostUrl, shown: &Shown, now: OffsetDateTime) -> Option<Rendered> {
        let rendered = self.rendered.read().ok()?.get(url).cloned()?;
        let current = match shown {
            Shown::Version(_) => rendered.shown == *shown,
            Shown::Untracked => now < rendered.rendered_at + self.config.ttl,
            Shown::Unknown => true,
        };
        (current && rendered.changes == self.changes.stamp(url.as_str())).then_some(rendered)
    }

    async fn render(
        self: &Arc<Self>,
        url: &PostUrl,
        images: &ImageUrls,
        shown: Shown,
    ) -> Result<Rendered, ThreadError> {
        let changes = self.changes.stamp(url.as_str());
        let rendered_at = self.clock.now();
        let announced = self.toot_for(url).await?;
        let thread = match &announced {
            Some(announced) => self.thread(url, announced).await?,
            None => None,
        };
        let mentions = self.reads.mentions(url, &shown).await?;
        let hidden = self.reads.hidden_replies(&shown).await?;

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
            .iter()
            .filter(|m| match m.data.as_ref().map(|d| &d.via) {
                Some(Via::ActivityPub { handle, .. }) => {
                    !hidden.accounts.contains(&handle.to_ascii_lowercase())
                }
                _ => true,
            })
            .cloned()
            .collect();
        wire::merge_mentions(&mentions, &mut comments, &mut reactions);
        wire::sort_oldest_first(&mut comments);
        let toot = thread
            .as_ref()
            .map(|t| t.toot.clone())
            .or_else(|| announced.and_then(|a| self.fallback_toot(a.toot_id)));
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
            shown,
            rendered_at,
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
    async fn toot_for(&self, url: &PostUrl) -> Result<Option<Announced>, ThreadError> {
        if let Some(post) = self.store.find_post(url).await?
            && let PostState::Announced { toot_id } = post.state
        {
            return Ok(Some(Announced {
                toot_id: toot_id.to_string(),
                at: post.created_at,
            }));
        }
        let Some(announcer) = &self.announcer else {
            return Ok(None);
        };
        match announcer.announce_for_view(url.clone()).await {
            Ok(announcement) => Ok(Some(Announced {
                toot_id: announcement.toot_id.to_string(),
                at: self.clock.now(),
            })),
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

    /// The cached thread (refreshed when stale: in the background, or
    /// inline with `threads.refresh_inline`), or a first fetch when there is
    /// none. `None` when Mastodon cannot be read.
    async fn thread(
        self: &Arc<Self>,
        url: &PostUrl,
        announced: &Announced,
    ) -> Result<Option<CachedThread>, ThreadError> {
        if let Some(cached) = self.load_thread(url, announced).await? {
            if self.clock.now() < cached.fresh_until {
                return Ok(Some(cached));
            }
            if self.config.refresh_inline {
                return Ok(Some(self.refresh_inline(url, announced, cached).await?));
            }
            self.queue_refresh(url).await;
            return Ok(Some(cached));
        }
        let lock = self.cold_fetch_lock(url);
        let _guard = lock.lock().await;
        if let Some(cached) = self.load_thread(url, announced).await? {
            return Ok(Some(cached));
        }
        Ok(self.fetch_and_save(url, announced).await.ok())
    }

    /// The cached thread of `announced`'s toot (a thread of an earlier toot
    /// of the same post is not).
    async fn load_thread(
        &self,
        url: &PostUrl,
        announced: &Announced,
    ) -> Result<Option<CachedThread>, StoreError> {
        Ok(self
            .store
            .load_thread(url)
            .await?
            .filter(|t| t.toot.id.as_str() == announced.toot_id))
    }

    fn cold_fetch_lock(&self, url: &PostUrl) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.cold_fetches.lock().unwrap_or_else(|p| p.into_inner());
        if locks.len() >= RENDERED_LIMIT {
            locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        }
        Arc::clone(locks.entry(url.clone()).or_default())
    }

    fn forget_rendered(&self, url: &PostUrl) {
        if let Ok(mut cache) = self.rendered.write() {
            cache.remove(url);
        }
    }
}
