//! The announce use case: map a post URL to its toot, posting it the first time.
//!
//! Exactly one toot per post: a request first claims the post in the store;
//! only the claim holder fetches the page and posts, everyone else waits for
//! the holder's result. The holder's work runs in its own task, so a reader
//! who closes the tab cannot abandon a claim half-way. Mastodon's
//! `Idempotency-Key` is a second line of defence, not the first.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;

use crate::clients::http::{FetchError, HttpClient};
use crate::clients::mastodon::{MastodonClient, MastodonError, NewStatus};
use crate::config::AnnounceConfig;
use crate::domain::{ClaimOutcome, ClaimToken, PostState, PostUrl, StatusText, TootId, toot};
use crate::protocol::page_meta::parse_page_meta;
use crate::storage::{Store, StoreError};

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

pub struct Announcer {
    config: AnnounceConfig,
    mastodon: Arc<MastodonClient>,
    pages: HttpClient,
    store: Arc<dyn Store>,
    announced: RwLock<HashMap<PostUrl, TootId>>,
    /// How long a claim holder may take before others may take over.
    lease: Duration,
}

impl Announcer {
    pub fn new(
        config: AnnounceConfig,
        mastodon: Arc<MastodonClient>,
        pages: HttpClient,
        store: Arc<dyn Store>,
    ) -> Self {
        let lease =
            pages.policy().total_timeout + config.mastodon.timeout * 2 + Duration::from_secs(10);
        Self {
            config,
            mastodon,
            pages,
            store,
            announced: RwLock::new(HashMap::new()),
            lease,
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
                .claim_post(&url, self.lease, OffsetDateTime::now_utc())
                .await?
            {
                ClaimOutcome::Announced(toot_id) => return Ok(self.found(url, toot_id)),
                ClaimOutcome::Failed(reason) => return Err(AnnounceError::Failed { reason }),
                ClaimOutcome::Claimed(claim) => return self.post_as_holder(url, claim).await,
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
                Some(PostState::Claimed { expires_at, .. })
                    if expires_at > OffsetDateTime::now_utc() =>
                {
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
    ) -> Result<Announcement, AnnounceError> {
        let this = Arc::clone(self);
        let work = tokio::spawn(async move { this.post_holding(&url, &claim).await });
        work.await.unwrap_or_else(|e| {
            Err(AnnounceError::Store(StoreError::Unavailable(format!(
                "announce task failed: {e}"
            ))))
        })
    }

    async fn post_holding(
        &self,
        url: &PostUrl,
        claim: &ClaimToken,
    ) -> Result<Announcement, AnnounceError> {
        let result = self.compose_and_post(url).await;
        let now = OffsetDateTime::now_utc();
        match result {
            Ok(posted) => {
                let toot_id = self.store.record_toot(url, claim, &posted, now).await?;
                self.remember(url, &toot_id);
                metrics::counter!("backfeed_toots_created_total").increment(1);
                tracing::info!(url = %url, toot_id = %toot_id, "announced post");
                Ok(Announcement {
                    url: url.clone(),
                    toot_id,
                    created: true,
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

    async fn compose_and_post(&self, url: &PostUrl) -> Result<TootId, AnnounceError> {
        let status = self.compose(url).await?;
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

    /// Fetches the post page and composes the status text, posting nothing
    /// (also `backfeed toot --dry-run`).
    pub async fn compose(&self, url: &PostUrl) -> Result<StatusText, AnnounceError> {
        let page = self
            .pages
            .get(
                url.as_url(),
                "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            )
            .await
            .map_err(AnnounceError::PageUnreachable)?;
        if page.status != http::StatusCode::OK {
            return Err(AnnounceError::PostMissing {
                status: page.status.as_u16(),
            });
        }
        let meta = parse_page_meta(&page.text_lossy());
        let limits = self.mastodon.instance_limits().await;
        toot::compose(
            &meta,
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
