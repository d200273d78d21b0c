//! The inbox (and shared inbox): verify in the request, act on the queue.
//!
//! A POST is answered 202 as soon as its signature verified with a key its
//! activity's actor owns and the activity is on the durable job queue
//! (`process.rs` handles it there), so a slow or failing side effect never
//! holds the sender, and serverless runtimes answer within the request.
//! Refused before anything is stored: a body over [`MAX_BODY`], a server
//! over its rate, a missing, RFC 9421-only, tampered, replayed or foreign
//! signature. A `Delete` of an actor we never saw is accepted without
//! fetching anything (those come in floods, research §1.8).

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use serde_json::Value;

use super::Federation;
use super::remote::text;
use super::verify::{SignedRequest, VerifyError};
use crate::clock::{Clock, GovernorClock};
use crate::domain::job::NewJob;
use crate::protocol::http_signature::SignatureError;
use crate::storage::StoreError;

/// Largest activity accepted (Mastodon caps its own fetches at 1 MB; an
/// activity is a few kB).
pub const MAX_BODY: usize = 256 * 1024;
/// Activities per sending server: a burst, then a steady rate.
const PER_SERVER_BURST: u32 = 300;
const PER_SERVER_EVERY: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    #[error("the activity is larger than {} kB", MAX_BODY / 1024)]
    TooLarge,
    #[error("the body is not an ActivityStreams activity: {0}")]
    BadActivity(&'static str),
    #[error("{0}")]
    Unsigned(#[from] SignatureError),
    #[error("the signing key cannot be used")]
    Key(#[source] super::remote::RemoteError),
    #[error("the activity's actor does not own the key that signed it")]
    NotSigner,
    #[error("too many activities from this server; try again later")]
    RateLimited { wait: Duration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<VerifyError> for InboxError {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::Signature(e) => Self::Unsigned(e),
            VerifyError::Key(e) => Self::Key(e),
        }
    }
}

type Keyed =
    RateLimiter<String, DefaultKeyedStateStore<String>, GovernorClock, NoOpMiddleware<Duration>>;

/// Per sending server (the key id's host), on the app's clock.
pub struct ServerLimits {
    limiter: Keyed,
}

impl ServerLimits {
    pub fn new(clock: &Clock) -> Self {
        let quota = Quota::with_period(PER_SERVER_EVERY)
            .expect("a non-zero period")
            .allow_burst(NonZeroU32::new(PER_SERVER_BURST).expect("non-zero"));
        Self {
            limiter: RateLimiter::dashmap_with_clock(quota, GovernorClock(clock.clone())),
        }
    }

    fn check(&self, server: &str) -> Result<(), InboxError> {
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&server.to_owned())
            .map_err(|not_until| InboxError::RateLimited {
                wait: not_until.wait_time_from(self.limiter.clock().now()),
            })
    }
}

/// What became of an accepted activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// On the queue.
    Queued,
    /// Nothing to do (a stranger's account deletion).
    Ignored,
}

impl Federation {
    /// Verifies and queues one inbox POST.
    pub async fn receive(&self, request: &SignedRequest<'_>) -> Result<Accepted, InboxError> {
        if request.body.len() > MAX_BODY {
            return Err(InboxError::TooLarge);
        }
        let activity: Value = serde_json::from_slice(request.body)
            .map_err(|_| InboxError::BadActivity("not JSON"))?;
        let kind = activity
            .get("type")
            .and_then(Value::as_str)
            .ok_or(InboxError::BadActivity("no type"))?
            .to_owned();
        let actor = text(&activity, "actor").ok_or(InboxError::BadActivity("no actor"))?;
        if kind == "Delete" && text(&activity, "object").as_deref() == Some(actor.as_str()) {
            let known = self.cached_actor(&actor).is_some()
                || self.store.find_follower(&actor).await?.is_some();
            if !known {
                count(&kind, "ignored");
                return Ok(Accepted::Ignored);
            }
        }
        let signer = match self.verify(request).await {
            Ok(signer) => signer,
            Err(error) => {
                count(&kind, "refused");
                return Err(error.into());
            }
        };
        if signer.id != actor {
            count(&kind, "refused");
            return Err(InboxError::NotSigner);
        }
        // Counted against the server that signed, once it is known to have:
        // forged requests naming a server's actors must not use up its rate.
        let server = url::Url::parse(&signer.id)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        self.limits.check(&server)?;
        let job = NewJob::process_activity(
            &actor,
            &String::from_utf8_lossy(request.body),
            text(&activity, "id").as_deref(),
            self.clock.now(),
        );
        self.queue.enqueue(&job).await?;
        count(&kind, "queued");
        Ok(Accepted::Queued)
    }
}

/// `backfeed_activitypub_inbox_total{type,outcome}`; types outside the
/// handled set count as `other`, so labels stay bounded.
fn count(kind: &str, outcome: &'static str) {
    let kind = match kind {
        "Follow" | "Undo" | "Create" | "Update" | "Delete" | "Like" | "Announce" | "Accept"
        | "Reject" => kind.to_owned(),
        _ => "other".to_owned(),
    };
    metrics::counter!("backfeed_activitypub_inbox_total", "type" => kind, "outcome" => outcome)
        .increment(1);
}
