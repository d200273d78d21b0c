//! Receiving webmentions (W3C Webmention §3.2): accept, store, verify.
//!
//! [`Receiver::receive`] runs the synchronous checks and stores the request
//! durably, with its verification job, before the sender hears 201.
//! [`Receiver::run_verification`] is the handler of that job on the one job
//! queue (`jobs`): read the mention, fetch the source through the hardened
//! client, decide, settle the mention, queue a webhook delivery. It is safe
//! to run from several workers and processes at once and to kill at any
//! moment: an unsettled job's lease runs out and it is verified again. A
//! source host gets only its share of the workers (`slots.rs`; the rest
//! wait their turn without spending an attempt) and a first attempt only a
//! short fetch time, so sources that hang cannot stall the queue.

mod extract;
mod moderation;
mod slots;
pub mod status_token;
mod verify;
pub mod webhook;

pub use moderation::ModerationError;

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;

use crate::changes::Changes;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::clock::Clock;
use crate::config::{ModerationMode, WebmentionConfig};
use crate::domain::approval::{self, Origin};
use crate::domain::job::{Job, NewJob, Outcome, VerifyMention};
use crate::domain::mention::{
    Finding, Mention, MentionEvent, MentionId, Transition, decide, reasons,
};
use crate::domain::webmention::{DomainList, RequestError, WebmentionRequest};
use crate::jobs::Queue;
use crate::signing::UrlSigner;
use crate::storage::{Settled, Store, StoreError};
use slots::{Admission, SourceSlots};

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
    /// Fetches sources on retries, with the whole fetch timeout.
    sources: HttpClient,
    /// Fetches sources on first attempts, with the short timeout.
    first_sources: HttpClient,
    /// Each source host's share of the workers.
    slots: Arc<SourceSlots>,
    webhook: Option<webhook::Webhook>,
    /// Told whenever what a thread shows may have changed.
    changes: Changes,
    /// The admin's blocked domains, as last read, and when.
    blocks: std::sync::RwLock<Option<(OffsetDateTime, DomainList)>>,
    /// Signs and checks status URLs.
    signer: Arc<UrlSigner>,
}

impl Receiver {
    pub fn new(
        config: WebmentionConfig,
        store: Arc<dyn Store>,
        queue: Queue,
        fetch: &FetchPolicy,
        changes: Changes,
        signer: Arc<UrlSigner>,
        clock: Clock,
    ) -> Result<Self, FetchError> {
        let sources = HttpClient::new(FetchPolicy {
            max_redirects: SOURCE_MAX_REDIRECTS,
            ..fetch.clone()
        })?;
        let first_timeout = config.first_attempt_timeout.min(fetch.total_timeout);
        let first_sources = HttpClient::new(FetchPolicy {
            max_redirects: SOURCE_MAX_REDIRECTS,
            total_timeout: first_timeout,
            ..fetch.clone()
        })?;
        let slots = SourceSlots::new(config.per_domain, first_timeout);
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
            first_sources,
            slots,
            signer,
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
        let moderation = approval::initial(self.rules());
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

    /// The owner's approval rules (`domain::approval`).
    fn rules(&self) -> approval::Rules<'_> {
        approval::Rules {
            manual: self.config.moderation == ModerationMode::Manual,
            allowed: &self.config.allowed_domains,
        }
    }

    /// Content served from a blocked domain (configured or the admin's)
    /// is refused, wherever the source URL pointed: `Some(host)` then.
    async fn blocked_origin(&self, origin: &Origin<'_>) -> Result<Option<String>, StoreError> {
        if let Some(host) = origin.blocked_host(&self.config.blocked_domains) {
            return Ok(Some(host.to_owned()));
        }
        for host in [origin.source_host, origin.content_host] {
            if self.is_blocked_by_admin(host).await? {
                return Ok(Some(host.to_owned()));
            }
        }
        Ok(None)
    }

    pub async fn mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError> {
        self.store.find_mention(id).await
    }

    /// The token of mention `id`'s status URL (`status_token.rs`).
    pub async fn status_token(&self, id: MentionId) -> Result<String, StoreError> {
        Ok(status_token::token(&self.signer.key().await?, id))
    }

    /// The mention another receiver's status id names (kept by an import,
    /// `storage::aliases`).
    pub async fn mention_by_alias(&self, alias: &str) -> Result<Option<Mention>, StoreError> {
        match self.store.find_mention_alias(alias).await? {
            Some(id) => self.store.find_mention(id).await,
            None => Ok(None),
        }
    }

    /// The mention a status token names; `None` for an unknown mention or
    /// a token we did not make (a bare id among them).
    pub async fn mention_by_token(&self, token: &str) -> Result<Option<Mention>, StoreError> {
        match status_token::parse(&self.signer.key().await?, token) {
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
        // A fediverse reply or reaction was verified by its signature; a
        // webmention naming the same source must not re-judge it by the
        // note's web page (which need not link to the post).
        if mention
            .data
            .as_ref()
            .is_some_and(|d| d.via.is_activitypub())
        {
            tracing::info!(%id, source = %mention.source, "a webmention for a fediverse interaction; left as it is");
            return Outcome::Done;
        }
        let host = mention.source.host_str().unwrap_or_default();
        let slot = match self.slots.admit(host, id, self.clock.now()) {
            Admission::Go(slot) => slot,
            Admission::Wait(after) => {
                tracing::debug!(%id, host, ?after, "the source host has its share of workers; waiting");
                return Outcome::Defer { after };
            }
        };
        // A first attempt gives up early, so a source that hangs holds a
        // worker briefly; an honest slow one succeeds on retry.
        let client = if job.attempts <= 1 {
            &self.first_sources
        } else {
            &self.sources
        };
        let examined = verify::examine(client, &mention.source, &mention.target).await;
        drop(slot);
        self.hand_slot_on(host).await;
        // Judged by where the content came from, not only the URL sent
        // (an allowed domain's open redirect leads anywhere).
        let source_host = mention.source.host_str().unwrap_or_default();
        let origin = Origin {
            source_host,
            content_host: examined
                .served_by
                .as_ref()
                .and_then(Url::host_str)
                .unwrap_or(source_host),
        };
        let finding = match examined.finding {
            Finding::Links(data) => match self.blocked_origin(&origin).await {
                Ok(None) => Finding::Links(data),
                Ok(Some(host)) => Finding::Unusable(format!("{}: {host}", reasons::BLOCKED)),
                Err(error) => return Outcome::retry(error.to_string()),
            },
            other => other,
        };
        let transition = decide(&mention.verification, finding, job.attempts, last);
        let transition = approval::apply(
            transition,
            self.rules(),
            origin,
            mention.moderation,
            mention.data.as_ref(),
        );
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
        if matches!(
            transition,
            Transition::Verify(_) | Transition::VerifyAndModerate(..) | Transition::Delete(_)
        ) {
            // Threads are keyed by canonical post URL; a target that is not
            // one (it passed the site check, so it parses) falls back to all.
            match crate::domain::PostUrl::parse(mention.target.as_str()) {
                Ok(post) => self.changes.bump_for(post.as_str()),
                Err(_) => self.changes.bump(),
            }
        }
        let label = OutcomeLabel(&transition);
        // The full reason goes to the log (the public status says less).
        let reason = match &transition {
            Transition::Verify(_) | Transition::VerifyAndModerate(..) => "",
            Transition::Reject(r)
            | Transition::Delete(r)
            | Transition::Retry(r)
            | Transition::Keep(r) => r,
        };
        tracing::info!(%id, source = %mention.source, outcome = ?label, attempt = job.attempts, reason, "webmention verified");
        metrics::counter!("backfeed_webmention_verifications_total", "outcome" => label.as_str())
            .increment(1);
        match transition {
            Transition::Retry(reason) => Outcome::retry(reason),
            _ => Outcome::Done,
        }
    }

    /// A slot of `host` was just released: the host's verification that
    /// has waited longest is due now. One whose job is no longer queued
    /// (it ran meanwhile, on its booked time or on another instance) is
    /// skipped; a store error leaves the rest to their booked times.
    async fn hand_slot_on(&self, host: &str) {
        const TRIES: usize = 4;
        for _ in 0..TRIES {
            let Some(next) = self.slots.next_waiting(host) else {
                return;
            };
            match self.bring_forward(next).await {
                Ok(true) => return,
                Ok(false) => {}
                Err(error) => {
                    tracing::debug!(%error, host, "cannot bring the next verification forward");
                    return;
                }
            }
        }
    }

    /// Called once the job of a verification that was told to wait
    /// (`Outcome::Defer`) is queued again: it waits for a slot of its
    /// host, or runs now if one was released meanwhile (`slots.rs`).
    pub async fn verification_deferred(&self, job: &Job) {
        let Ok(payload) = job.payload::<VerifyMention>() else {
            return;
        };
        let id = MentionId(payload.mention_id);
        if self.slots.deferral_queued(id)
            && let Err(error) = self.bring_forward(id).await
        {
            tracing::debug!(%id, %error, "cannot bring the verification forward; it keeps its booked time");
        }
    }

    /// Makes the queued verification of `id` due now; `false` when none is
    /// queued.
    async fn bring_forward(&self, id: MentionId) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let Some(key) = NewJob::verify_mention(id, now).dedupe_key else {
            return Ok(false);
        };
        let brought = self.store.bring_forward(&key, now, now).await?;
        if brought {
            self.queue.wake();
        }
        Ok(brought)
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
            Transition::Verify(_) | Transition::VerifyAndModerate(..) => "verified",
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
