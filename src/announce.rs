//! The announce use case: map a post URL to its toot, posting it the first time.
//!
//! Exactly one toot per post: a request first claims the post in the store;
//! only the claim holder fetches the page and posts, everyone else waits for
//! the holder's result. The holder's work runs in its own task, so a reader
//! who closes the tab cannot abandon a claim half-way. Mastodon's
//! `Idempotency-Key` is a second line of defence, not the first.
//!
//! One post, one URL: the page decides which (`domain::post_identity`). A
//! holder whose page names another post URL (canonical link, `og:url`, a
//! redirect) never posts under its own URL, which is an alias: it gives the
//! alias's claim back, announces the named URL (whose own page must name
//! itself; no chains), then records the alias in the store with that post's
//! toot. From then on the store answers the alias like any announced post,
//! fetching nothing and never posting. New toots are rate-limited per
//! process (`rate`); answers from the store never are.

mod rate;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::clients::http::{FetchError, HttpClient};
use crate::clients::mastodon::{MastodonClient, MastodonError, NewStatus};
use crate::clock::Clock;
use crate::config::AnnounceConfig;
use crate::domain::post_identity::{self, IdentityError, PageIdentity};
use crate::domain::{
    ClaimOutcome, ClaimToken, PageMeta, PostState, PostUrl, StatusText, TootId, toot,
};
use crate::protocol::page_meta::parse_page_meta;
use crate::storage::{Store, StoreError};

use rate::AnnounceRate;

/// Announced mappings never change, so they are kept in memory up to this
/// many posts (far more than most blogs have).
const CACHE_LIMIT: usize = 50_000;
/// How often a waiting request looks at the store again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// The seed's exact message.
    #[error("No `url` query argument provided")]
    MissingUrl,
    #[error("Provided `url` is not a valid http(s) URL: {0}")]
    InvalidUrl(#[from] crate::domain::PostUrlError),
    /// The seed's exact message.
    #[error("Provided `url` is not a handled")]
    NotHandled,
    /// The seed's exact message.
    #[error("Post does not exist yet")]
    PostMissing { status: u16 },
    #[error("the post page could not be fetched: {0}")]
    PageUnreachable(#[source] FetchError),
    #[error("announcing posts is not configured on this server")]
    NotConfigured,
    #[error(
        "announcing this post failed for good: {reason}; fix it, then run `backfeed posts retry <url>`"
    )]
    Failed { reason: String },
    #[error(transparent)]
    Mastodon(#[from] MastodonError),
    #[error("another request is still announcing this post; try again shortly")]
    Busy,
    /// The page says it is a URL off the blog, or redirects off it.
    #[error(transparent)]
    NotThisBlog(#[from] IdentityError),
    #[error("The post page names `{named}` as its canonical URL, which answers {status}")]
    CanonicalMissing { named: String, status: u16 },
    #[error("The post page names `{named}` as its canonical URL, but that page names `{names}`")]
    CanonicalDisagrees { named: String, names: String },
    #[error("Too many new posts were announced recently; try again later")]
    RateLimited { retry_after: Duration },
    /// `publish.announce_on_view` is off and the post has no toot yet.
    #[error(
        "This post has not been announced yet: posts are announced when the blog publishes them (backfeed publish)"
    )]
    NotAnnounced,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What `GET /?url=` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub url: PostUrl,
    pub toot_id: TootId,
    pub created: bool,
}

/// Why a URL is being announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hop {
    /// A caller asked for it: its page may name another post URL.
    Requested,
    /// An alias's page named it: its own page must name it too.
    Named,
}

/// What a claim holder found out.
enum Resolved {
    Toot {
        toot_id: TootId,
        created: bool,
    },
    /// The page names this other post URL: the claimed URL is its alias.
    AliasOf(PostUrl),
}

/// A fetched post page: the post it says it is, and its meta data.
struct PostPage {
    identity: PostUrl,
    meta: PageMeta,
}

const ACCEPT_HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1";

pub struct Announcer {
    clock: Clock,
    config: AnnounceConfig,
    mastodon: Arc<MastodonClient>,
    pages: HttpClient,
    store: Arc<dyn Store>,
    /// Announced posts and known aliases, with their toot.
    announced: RwLock<HashMap<PostUrl, TootId>>,
    /// How long a claim holder may take before others may take over.
    lease: Duration,
    rate: AnnounceRate,
}

impl Announcer {
    pub fn new(
        config: AnnounceConfig,
        mastodon: Arc<MastodonClient>,
        pages: HttpClient,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Self {
        let lease =
            pages.policy().total_timeout + config.mastodon.timeout * 2 + Duration::from_secs(10);
        let rate = AnnounceRate::new(config.announce_rate, clock.clone());
        Self {
            clock,
            config,
            mastodon,
            pages,
            store,
            announced: RwLock::new(HashMap::new()),
            lease,
            rate,
        }
    }

    pub fn config(&self) -> &AnnounceConfig {
        &self.config
    }

    /// Parses and checks a URL given by a client: the seed's 400 cases.
    pub fn accept_url(&self, raw: Option<&str>) -> Result<PostUrl, AnnounceError> {
        let raw = raw
            .filter(|r| !r.trim().is_empty())
            .ok_or(AnnounceError::MissingUrl)?;
        let url = PostUrl::parse(raw)?;
        if !self.config.post_pattern.matches(url.as_str()) {
            return Err(AnnounceError::NotHandled);
        }
        Ok(url)
    }

    /// The toot for `url`, posting it if this is the post's first request.
    pub async fn announce(self: &Arc<Self>, url: PostUrl) -> Result<Announcement, AnnounceError> {
        self.announce_as(url, Hop::Requested).await
    }

    /// The toot for a reader's view (`GET /?url=`, `/api/comments`):
    /// announced now when `announce_on_view` is on (the seed's behaviour),
    /// else only looked up, [`AnnounceError::NotAnnounced`] when missing.
    pub async fn announce_for_view(
        self: &Arc<Self>,
        url: PostUrl,
    ) -> Result<Announcement, AnnounceError> {
        if self.config.announce_on_view {
            return self.announce(url).await;
        }
        if let Some(toot_id) = self.cached(&url) {
            return Ok(self.found(url, toot_id));
        }
        if let Some(PostState::Announced { toot_id }) =
            self.store.find_post(&url).await?.map(|r| r.state)
        {
            return Ok(self.found(url, toot_id));
        }
        match self.recorded_under_earlier_spelling(&url).await? {
            Some(toot_id) => Ok(self.found(url, toot_id)),
            None => Err(AnnounceError::NotAnnounced),
        }
    }

    /// [`Announcer::announce`] for a URL an alias's page named, boxed: it
    /// runs inside the alias holder's task, which `announce_as` spawns.
    fn announce_named(
        self: &Arc<Self>,
        url: PostUrl,
    ) -> BoxFuture<'_, Result<Announcement, AnnounceError>> {
        Box::pin(self.announce_as(url, Hop::Named))
    }

    async fn announce_as(
        self: &Arc<Self>,
        url: PostUrl,
        hop: Hop,
    ) -> Result<Announcement, AnnounceError> {
        if let Some(toot_id) = self.cached(&url) {
            return Ok(Announcement {
                url,
                toot_id,
                created: false,
            });
        }
        let deadline = tokio::time::Instant::now() + self.lease;
        loop {
            match self
                .store
                .claim_post(&url, self.lease, self.clock.now())
                .await?
            {
                ClaimOutcome::Announced(toot_id) => return Ok(self.found(url, toot_id)),
                ClaimOutcome::Failed(reason) => return Err(AnnounceError::Failed { reason }),
                ClaimOutcome::Claimed(claim) => return self.post_as_holder(url, claim, hop).await,
                ClaimOutcome::InProgress => {
                    if let Some(settled) = self.wait_for_holder(&url, deadline).await? {
                        return settled;
                    }
                }
            }
        }
    }

    /// Waits, reading (not claiming), until another holder's claim settles.
    /// `Some` is the holder's result; `None` means the claim was released or
    /// ran out and the caller should try to claim again.
    async fn wait_for_holder(
        &self,
        url: &PostUrl,
        deadline: tokio::time::Instant,
    ) -> Result<Option<Result<Announcement, AnnounceError>>, AnnounceError> {
        loop {
            if tokio::time::Instant::now() >= deadline {
                return Err(AnnounceError::Busy);
            }
            tokio::time::sleep(POLL_INTERVAL).await;
            let state = self.store.find_post(url).await?.map(|record| record.state);
            return Ok(match state {
                Some(PostState::Announced { toot_id }) => {
                    Some(Ok(self.found(url.clone(), toot_id)))
                }
                Some(PostState::Failed { reason }) => Some(Err(AnnounceError::Failed { reason })),
                Some(PostState::Claimed { expires_at, .. }) if expires_at > self.clock.now() => {
                    continue;
                }
                Some(PostState::Claimed { .. }) | None => None,
            });
        }
    }

    fn found(&self, url: PostUrl, toot_id: TootId) -> Announcement {
        self.remember(&url, &toot_id);
        Announcement {
            url,
            toot_id,
            created: false,
        }
    }

    /// Runs the holder's work in its own task so that it always finishes.
    async fn post_as_holder(
        self: &Arc<Self>,
        url: PostUrl,
        claim: ClaimToken,
        hop: Hop,
    ) -> Result<Announcement, AnnounceError> {
        let this = Arc::clone(self);
        let work = tokio::spawn(async move { this.post_holding(&url, &claim, hop).await });
        work.await.unwrap_or_else(|e| {
            Err(AnnounceError::Store(StoreError::Unavailable(format!(
                "announce task failed: {e}"
            ))))
        })
    }

    async fn post_holding(
        self: &Arc<Self>,
        url: &PostUrl,
        claim: &ClaimToken,
        hop: Hop,
    ) -> Result<Announcement, AnnounceError> {
        let result = self.resolve(url, hop).await;
        let now = self.clock.now();
        match result {
            Ok(Resolved::Toot { toot_id, created }) => {
                let toot_id = self.store.record_toot(url, claim, &toot_id, now).await?;
                self.remember(url, &toot_id);
                if created {
                    metrics::counter!("backfeed_toots_created_total").increment(1);
                    tracing::info!(url = %url, toot_id = %toot_id, "announced post");
                }
                Ok(Announcement {
                    url: url.clone(),
                    toot_id,
                    created,
                })
            }
            Ok(Resolved::AliasOf(named)) => {
                // Give the alias back before waiting on the named post: its
                // holder may be a request whose page names this alias (two
                // pages naming each other), and neither may wait on the other.
                self.store.release_claim(url, claim).await?;
                let announcement = self.announce_named(named.clone()).await?;
                let toot_id = self.record_alias(url, &announcement.toot_id).await?;
                tracing::info!(alias = %url, post = %named, toot_id = %toot_id, "recorded an alias of an announced post");
                Ok(Announcement {
                    url: url.clone(),
                    toot_id,
                    created: announcement.created,
                })
            }
            Err(AnnounceError::Failed { reason })
            | Err(AnnounceError::Mastodon(MastodonError::Rejected { reason })) => {
                tracing::warn!(url = %url, %reason, "announcing failed for good");
                self.store.record_failure(url, claim, &reason, now).await?;
                Err(AnnounceError::Failed { reason })
            }
            Err(error) => {
                tracing::warn!(url = %url, %error, "announcing failed; the next request will try again");
                self.store.release_claim(url, claim).await?;
                Err(error)
            }
        }
    }

    /// The claim holder's work: find out which post the page is, and post
    /// its toot when it is this one and has none yet.
    async fn resolve(&self, url: &PostUrl, hop: Hop) -> Result<Resolved, AnnounceError> {
        if let Some(toot_id) = self.recorded_under_earlier_spelling(url).await? {
            return Ok(Resolved::Toot {
                toot_id,
                created: false,
            });
        }
        let page = self.read_page(url, hop).await?;
        if page.identity != *url {
            return Ok(Resolved::AliasOf(page.identity));
        }
        let status = self.compose_page(url, &page.meta).await?;
        self.rate
            .take()
            .map_err(|retry_after| AnnounceError::RateLimited { retry_after })?;
        let toot_id = self.post_status(url, &status).await?;
        Ok(Resolved::Toot {
            toot_id,
            created: true,
        })
    }

    /// A post stored by an earlier version under a spelling that is no
    /// longer canonical (lower-case escapes): its toot, so that normalising
    /// URLs never posts an announced post again.
    async fn recorded_under_earlier_spelling(
        &self,
        url: &PostUrl,
    ) -> Result<Option<TootId>, StoreError> {
        let Some(earlier) = url.earlier_spelling() else {
            return Ok(None);
        };
        Ok(
            match self.store.find_post(&earlier).await?.map(|r| r.state) {
                Some(PostState::Announced { toot_id }) => Some(toot_id),
                _ => None,
            },
        )
    }

    /// Records `alias` in the store with the toot of the post its page
    /// names, so the store answers it from now on. It is claimed first, as
    /// every write of a post is; a request holding it records the same toot.
    async fn record_alias(&self, alias: &PostUrl, toot_id: &TootId) -> Result<TootId, StoreError> {
        let now = self.clock.now();
        let recorded = match self.store.claim_post(alias, self.lease, now).await? {
            ClaimOutcome::Claimed(claim) => {
                self.store.record_toot(alias, &claim, toot_id, now).await?
            }
            ClaimOutcome::Announced(recorded) => recorded,
            ClaimOutcome::InProgress | ClaimOutcome::Failed(_) => toot_id.clone(),
        };
        self.remember(alias, &recorded);
        Ok(recorded)
    }

    /// Fetches a post page and reads which post it is. A page reached as
    /// the one an alias named must exist and name itself.
    async fn read_page(&self, url: &PostUrl, hop: Hop) -> Result<PostPage, AnnounceError> {
        let page = self
            .pages
            .get(url.as_url(), ACCEPT_HTML)
            .await
            .map_err(AnnounceError::PageUnreachable)?;
        if page.status != http::StatusCode::OK {
            let status = page.status.as_u16();
            return Err(match hop {
                Hop::Requested => AnnounceError::PostMissing { status },
                Hop::Named => AnnounceError::CanonicalMissing {
                    named: url.to_string(),
                    status,
                },
            });
        }
        let meta = parse_page_meta(&page.text_lossy());
        let identity = post_identity::identify(
            url,
            PageIdentity {
                final_url: &page.final_url,
                canonical_link: meta.canonical_link.as_deref(),
                og_url: meta.og_url.as_deref(),
            },
            |post| self.config.post_pattern.matches(post.as_str()),
        )?;
        if hop == Hop::Named && identity != *url {
            return Err(AnnounceError::CanonicalDisagrees {
                named: url.to_string(),
                names: identity.to_string(),
            });
        }
        Ok(PostPage { identity, meta })
    }

    async fn post_status(
        &self,
        url: &PostUrl,
        status: &StatusText,
    ) -> Result<TootId, AnnounceError> {
        let toot_id = self
            .mastodon
            .post_status(&NewStatus {
                text: &status.text,
                visibility: self.config.mastodon.visibility,
                language: status.language.as_deref(),
                idempotency_key: &url.idempotency_key(),
            })
            .await
            .inspect_err(|e| {
                metrics::counter!("backfeed_mastodon_errors_total", "kind" => mastodon_error_kind(e)).increment(1);
            })?;
        Ok(toot_id)
    }

    /// Fetches the post page and composes the status text that announcing
    /// it would post (under the URL the page names), posting nothing
    /// (`backfeed toot --dry-run`).
    pub async fn compose(&self, url: &PostUrl) -> Result<StatusText, AnnounceError> {
        let page = self.read_page(url, Hop::Requested).await?;
        if page.identity == *url {
            return self.compose_page(url, &page.meta).await;
        }
        let named = page.identity;
        let page = self.read_page(&named, Hop::Named).await?;
        self.compose_page(&named, &page.meta).await
    }

    async fn compose_page(
        &self,
        url: &PostUrl,
        meta: &PageMeta,
    ) -> Result<StatusText, AnnounceError> {
        let limits = self.mastodon.instance_limits().await;
        toot::compose(
            meta,
            self.config.title_pattern.as_ref(),
            self.config.postfix.as_deref(),
            url,
            limits,
        )
        .map_err(|e| AnnounceError::Failed {
            reason: e.to_string(),
        })
    }

    /// Clears a post's failure and announces it again (`backfeed posts retry`).
    pub async fn retry(self: &Arc<Self>, url: PostUrl) -> Result<Announcement, AnnounceError> {
        self.store.forget_failure(&url).await?;
        self.announce(url).await
    }

    fn cached(&self, url: &PostUrl) -> Option<TootId> {
        self.announced.read().ok()?.get(url).cloned()
    }

    fn remember(&self, url: &PostUrl, toot_id: &TootId) {
        if let Ok(mut cache) = self.announced.write() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(url.clone(), toot_id.clone());
        }
    }
}

fn mastodon_error_kind(error: &MastodonError) -> &'static str {
    match error {
        MastodonError::Unauthorized { .. } => "unauthorized",
        MastodonError::Rejected { .. } => "rejected",
        MastodonError::RateLimited { .. } => "rate_limited",
        MastodonError::Unavailable { .. } => "unavailable",
        MastodonError::Unreachable(_) => "unreachable",
        MastodonError::Unexpected(_) => "unexpected",
    }
}
