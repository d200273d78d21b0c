//! Receiving webmentions (W3C Webmention §3.2): accept, store, verify.
//!
//! [`Receiver::receive`] runs the synchronous checks and stores the request
//! durably, with its verification job, before the sender hears 201.
//! [`Receiver::run_verification`] is the handler of that job on the one job
//! queue (`jobs`): read the mention, fetch the source through the hardened
//! client, decide, settle the mention, queue a webhook delivery. It is safe
//! to run from several workers and processes at once and to kill at any
//! moment: an unsettled job's lease runs out and it is verified again.

mod extract;
mod moderation;
mod verify;
pub mod webhook;

pub use moderation::ModerationError;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::changes::Changes;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::clock::Clock;
use crate::config::{ModerationMode, WebmentionConfig};
use crate::domain::job::{Job, NewJob, Outcome, VerifyMention};
use crate::domain::mention::{Mention, MentionEvent, MentionId, Moderation, Transition, decide};
use crate::domain::webmention::{DomainList, RequestError, WebmentionRequest};
use crate::jobs::Queue;
use crate::storage::{Settled, Store, StoreError};

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

pub struct Receiver {
    config: WebmentionConfig,
    store: Arc<dyn Store>,
    clock: Clock,
    queue: Queue,
    sources: HttpClient,
    webhook: Option<webhook::Webhook>,
    /// Told whenever what a thread shows may have changed.
    changes: Changes,
    /// The admin's blocked domains, as last read, and when.
    blocks: std::sync::RwLock<Option<(OffsetDateTime, DomainList)>>,
}

impl Receiver {
    pub fn new(
        config: WebmentionConfig,
        store: Arc<dyn Store>,
        queue: Queue,
        fetch: &FetchPolicy,
        changes: Changes,
        clock: Clock,
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
            clock,
            queue,
            webhook,
            changes,
            blocks: std::sync::RwLock::new(None),
            sources,
        })
    }

    /// Checks and stores a request; its verification is queued (and runs
    /// at once when a worker is idle).
    pub async fn receive(
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
                self.clock.now(),
            )
            .await?;
        metrics::counter!("backfeed_webmentions_received_total").increment(1);
        tracing::info!(%id, source = %request.source, target = %request.target, "webmention received");
        self.queue.wake();
        Ok(id)
    }

    /// Whether `POST /webmention` verifies its own mention before answering.
    pub fn verifies_inline(&self) -> bool {
        self.config.verify_inline
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

    /// The mention another receiver's status id names (kept by an import,
    /// `storage::aliases`).
    pub async fn mention_by_alias(&self, alias: &str) -> Result<Option<Mention>, StoreError> {
        match self.store.find_mention_alias(alias).await? {
            Some(id) => self.store.find_mention(id).await,
            None => Ok(None),
        }
    }

    /// The handler of a [`JobKind::VerifyMention`] job: one verification
    /// attempt (`last` when the kind's policy allows no further one).
    pub async fn run_verification(&self, job: &Job, last: bool) -> Outcome {
        let payload: VerifyMention = match job.payload() {
            Ok(payload) => payload,
            Err(error) => return Outcome::Fail { error },
        };
        let id = MentionId(payload.mention_id);
        let mention = match self.store.find_mention(id).await {
            Ok(Some(mention)) => mention,
            // The S3 store writes the job before the mention's record: look
            // once more a minute later before taking it as removed.
            Ok(None) if job.attempts <= 1 => {
                return Outcome::Retry {
                    error: format!("mention {id} is not stored (yet)"),
                    after: Some(Duration::from_secs(60)),
                };
            }
            Ok(None) => return Outcome::Done,
            Err(error) => return Outcome::retry(error.to_string()),
        };
        let finding = verify::examine(&self.sources, &mention.source, &mention.target).await;
        let transition = decide(&mention.verification, finding, job.attempts, last);
        let now = self.clock.now();
        match self
            .store
            .settle_mention(id, &transition, mention.updated_at, now)
            .await
        {
            Ok(Settled::Settled) => {}
            // Removed meanwhile: nothing to tell anyone.
            Ok(Settled::Gone) => return Outcome::Done,
            // Re-sent or moderated while this attempt ran: its finding may
            // be stale, so it does not count; verify again (a verification
            // queued by the re-send meanwhile stands for this one).
            Ok(Settled::Changed) => {
                return Outcome::retry(format!("mention {id} changed during verification"));
            }
            Err(error) => return Outcome::retry(error.to_string()),
        }
        let event = MentionEvent::of(&mention.verification, &transition);
        if let Some(event) = event.filter(|_| self.webhook.is_some()) {
            // Queued after the mention is settled: should this fail, the
            // job runs again and the event goes out then (as `updated`).
            if let Err(error) = self
                .queue
                .enqueue(&NewJob::deliver_webhook(id, event, now))
                .await
            {
                return Outcome::retry(format!("cannot queue the webhook delivery: {error}"));
            }
        }
        if matches!(transition, Transition::Verify(_) | Transition::Delete(_)) {
            // Threads are keyed by canonical post URL; a target that is not
            // one (it passed the site check, so it parses) falls back to all.
            match crate::domain::PostUrl::parse(mention.target.as_str()) {
                Ok(post) => self.changes.bump_for(post.as_str()),
                Err(_) => self.changes.bump(),
            }
        }
        let label = OutcomeLabel(&transition);
        tracing::info!(%id, source = %mention.source, outcome = ?label, attempt = job.attempts, "webmention verified");
        metrics::counter!("backfeed_webmention_verifications_total", "outcome" => label.as_str())
            .increment(1);
        match transition {
            Transition::Retry(reason) => Outcome::retry(reason),
            _ => Outcome::Done,
        }
    }

    pub fn has_webhook(&self) -> bool {
        self.webhook.is_some()
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
            Transition::Retry(_) => "retry",
            Transition::Keep(_) => "kept",
        }
    }
}

impl std::fmt::Debug for OutcomeLabel<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
