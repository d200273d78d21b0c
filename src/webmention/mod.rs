//! Receiving webmentions (W3C Webmention §3.2): accept, store, verify.
//!
//! [`Receiver::receive`] runs the synchronous checks and stores the request
//! durably before the sender hears 201. [`Receiver::verify_next`] is one unit
//! of background work: claim one due verification job from the store, fetch
//! the source through the hardened client, decide, settle. It is safe to run
//! from several workers and processes at once and to kill at any moment: an
//! unsettled job's lease runs out and it is verified again.

mod extract;
mod moderation;
mod verify;
pub mod webhook;

pub use moderation::ModerationError;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;

use crate::changes::Changes;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::config::{ModerationMode, WebmentionConfig};
use crate::domain::mention::{Mention, MentionId, Moderation, Transition, Verification, decide};
use crate::domain::webmention::{DomainList, RequestError, WebmentionRequest};
use crate::storage::{Store, StoreError};

/// Webmention sources may redirect more than blog pages do (§3.2.2: follow
/// redirects, with a limit).
const SOURCE_MAX_REDIRECTS: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error(transparent)]
    Invalid(#[from] RequestError),
    #[error("receiving webmentions is not configured on this server (set BACKFEED_SITES)")]
    NotConfigured,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one unit of verification work did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub id: MentionId,
    pub transition: Transition,
    /// `false` when the job was taken over by another worker meanwhile.
    pub settled: bool,
}

pub struct Receiver {
    config: WebmentionConfig,
    store: Arc<dyn Store>,
    sources: HttpClient,
    wake: Notify,
    /// Told when a settled verification queued a webhook delivery.
    deliveries: Notify,
    webhook: Option<webhook::Webhook>,
    /// Told whenever what a thread shows may have changed.
    changes: Changes,
    /// The admin's blocked domains, as last read, and when.
    blocks: std::sync::RwLock<Option<(std::time::Instant, DomainList)>>,
    /// How long a worker may hold a verification job before another may take
    /// it: longer than one attempt can take, so only a dead worker loses it.
    lease: Duration,
    /// The longest one source fetch may take.
    fetch_timeout: Duration,
}

/// A stored webmention request and where its verification stands.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: MentionId,
    pub state: Verification,
}

impl Receiver {
    pub fn new(
        config: WebmentionConfig,
        store: Arc<dyn Store>,
        fetch: &FetchPolicy,
        changes: Changes,
    ) -> Result<Self, FetchError> {
        let sources = HttpClient::new(FetchPolicy {
            max_redirects: SOURCE_MAX_REDIRECTS,
            ..fetch.clone()
        })?;
        let webhook = config
            .webhook
            .clone()
            .map(|w| webhook::Webhook::new(w, fetch))
            .transpose()?;
        Ok(Self {
            config,
            store,
            lease: fetch.total_timeout * 2 + Duration::from_secs(2),
            fetch_timeout: fetch.total_timeout,
            webhook,
            changes,
            blocks: std::sync::RwLock::new(None),
            sources,
            wake: Notify::new(),
            deliveries: Notify::new(),
        })
    }

    /// Checks and stores a request; its verification is queued, and with
    /// `verify_inline` also run now, within the fetch time budget.
    pub async fn receive(
        &self,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<Received, ReceiveError> {
        let id = self.store_request(source, target).await?;
        let state = if self.config.verify_inline {
            // The request is stored: a failure here leaves it queued.
            self.verify_inline(id).await.unwrap_or_else(|error| {
                tracing::warn!(%id, %error, "inline verification stopped; the mention stays queued");
                Verification::Pending
            })
        } else {
            Verification::Pending
        };
        Ok(Received { id, state })
    }

    async fn store_request(
        &self,
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<MentionId, ReceiveError> {
        let request = WebmentionRequest::check(
            source,
            target,
            &self.config.sites,
            &self.config.blocked_domains,
        )?;
        if self.is_blocked_by_admin(request.source_domain()).await? {
            return Err(RequestError::BlockedSource(request.source_domain().to_owned()).into());
        }
        let moderation = self.initial_moderation(&request);
        let id = self
            .store
            .receive_mention(
                &request.source,
                &request.target,
                moderation,
                OffsetDateTime::now_utc(),
            )
            .await?;
        metrics::counter!("backfeed_webmentions_received_total").increment(1);
        tracing::info!(%id, source = %request.source, target = %request.target, "webmention received");
        self.wake.notify_one();
        Ok(id)
    }

    /// Runs due verifications until `id` is settled, starting one only
    /// while a whole attempt still fits in the budget (two source fetches:
    /// the queue may hold an older job first). Whatever is left stays queued.
    async fn verify_inline(&self, id: MentionId) -> Result<Verification, StoreError> {
        let deadline = tokio::time::Instant::now() + self.fetch_timeout * 2;
        loop {
            let state = self
                .store
                .find_mention(id)
                .await?
                .map_or(Verification::Pending, |m| m.verification);
            let room = deadline.saturating_duration_since(tokio::time::Instant::now());
            if state != Verification::Pending || room < self.fetch_timeout {
                return Ok(state);
            }
            if self.verify_next().await?.is_none() {
                // Claimed elsewhere (another worker or instance) or retrying later.
                return Ok(state);
            }
        }
    }

    fn initial_moderation(&self, request: &WebmentionRequest) -> Moderation {
        let trusted = self.config.allowed_domains.matches(request.source_domain());
        match self.config.moderation {
            ModerationMode::Manual if !trusted => Moderation::Pending,
            ModerationMode::Auto | ModerationMode::Manual => Moderation::Approved,
        }
    }

    pub async fn mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError> {
        self.store.find_mention(id).await
    }

    /// Verifies one due mention, if any.
    pub async fn verify_next(&self) -> Result<Option<Verified>, StoreError> {
        let Some(job) = self
            .store
            .claim_verification(OffsetDateTime::now_utc(), self.lease)
            .await?
        else {
            return Ok(None);
        };
        let finding = verify::examine(&self.sources, &job.source, &job.target).await;
        let transition = decide(&job.current, finding, job.attempts, &self.config.retry);
        let settled = self
            .store
            .settle_verification(
                &job,
                &transition,
                self.webhook.is_some(),
                OffsetDateTime::now_utc(),
            )
            .await?;
        if settled && matches!(transition, Transition::Verify(_) | Transition::Delete(_)) {
            // Threads are keyed by canonical post URL; a target that is not
            // one (it passed the site check, so it parses) falls back to all.
            match crate::domain::PostUrl::parse(job.target.as_str()) {
                Ok(post) => self.changes.bump_for(post.as_str()),
                Err(_) => self.changes.bump(),
            }
            if self.webhook.is_some() {
                self.deliveries.notify_one();
            }
        }
        tracing::info!(id = %job.mention_id, source = %job.source, outcome = ?OutcomeLabel(&transition), settled, "webmention verified");
        metrics::counter!("backfeed_webmention_verifications_total", "outcome" => OutcomeLabel(&transition).as_str()).increment(1);
        Ok(Some(Verified {
            id: job.mention_id,
            transition,
            settled,
        }))
    }

    pub fn has_webhook(&self) -> bool {
        self.webhook.is_some()
    }

    /// Wakes one idle verification worker.
    pub fn wake_a_worker(&self) {
        self.wake.notify_one();
    }

    /// Waits until a verification queued a webhook delivery, or `timeout`.
    pub async fn wait_for_deliveries(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.deliveries.notified()).await;
    }

    /// Waits until a request is received or `timeout` passes (worker idling).
    pub async fn wait_for_work(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }
}

/// A short label for logs and metrics.
struct OutcomeLabel<'a>(&'a Transition);

impl OutcomeLabel<'_> {
    fn as_str(&self) -> &'static str {
        match self.0 {
            Transition::Verify(_) => "verified",
            Transition::Reject(_) => "rejected",
            Transition::Delete(_) => "deleted",
            Transition::RetryAfter(_) => "retry",
            Transition::Keep(_) => "kept",
        }
    }
}

impl std::fmt::Debug for OutcomeLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
