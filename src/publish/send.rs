//! The handler of a [`JobKind::SendWebmention`] job: send one webmention
//! (source → target, for one content version) and record how it went.
//!
//! Targets on the blog's own sites (`BACKFEED_SITES`) are handed to this
//! backfeed's receiver directly: no HTTP round trip to ourselves. Every
//! other target's endpoint is discovered again for each send (§3.1.4: it
//! may embed a one-time key) and POSTed to. 2xx is success; 408, 429 (with
//! its `Retry-After`), 5xx, timeouts and connection failures are retried by
//! the kind's policy; other answers (4xx, a refused address) are final and
//! recorded with the endpoint's answer.
//!
//! Invariant: a job whose version was delivered already (a re-queue after a
//! crash) sends nothing; every attempt that reached a verdict is recorded
//! before the job settles.
//!
//! [`JobKind::SendWebmention`]: crate::domain::job::JobKind::SendWebmention

use std::time::Duration;

use url::Url;

use super::Stats;
use crate::App;
use crate::clients::webmention::{Discovery, DiscoveryError};
use crate::domain::job::{Job, Outcome, SendWebmention};
use crate::domain::sent::{Answer, SendAttempt, SendStatus, classify_answer};
use crate::webmention::ReceiveError;

/// Whether `target` is on one of the blog's own sites.
pub fn is_own_site(app: &App, target: &Url) -> bool {
    app.config
        .webmention
        .as_ref()
        .is_some_and(|w| w.sites.contains(target))
}

/// How one attempt ended: what to record and what the job reports.
struct Verdict {
    attempt: SendAttempt,
    outcome: Outcome,
}

pub async fn run_send(app: &App, job: &Job, last: bool) -> Outcome {
    let payload: SendWebmention = match job.payload() {
        Ok(payload) => payload,
        Err(error) => return Outcome::Fail { error },
    };
    let (source, target) = match (Url::parse(&payload.source), Url::parse(&payload.target)) {
        (Ok(source), Ok(target)) => (source, target),
        _ => {
            return Outcome::Fail {
                error: format!("not URLs: {} → {}", payload.source, payload.target),
            };
        }
    };
    match app.store.find_sent(&source).await {
        Ok(found) => {
            let delivered = found
                .as_ref()
                .and_then(|s| s.target(&target))
                .and_then(|t| t.delivered_version.as_deref());
            if delivered == Some(payload.version.as_str()) {
                return Outcome::Done;
            }
        }
        Err(error) => return Outcome::retry(error.to_string()),
    }
    let mut verdict = if is_own_site(app, &target) {
        hand_over(app, &source, &target, &payload.version).await
    } else {
        send(app, &source, &target, &payload.version).await
    };
    if last && verdict.attempt.status == SendStatus::Retrying {
        verdict.attempt.status = SendStatus::Failed;
    }
    if let Err(error) = app
        .store
        .record_attempt(&source, &verdict.attempt, app.clock.now())
        .await
    {
        return Outcome::retry(format!("cannot record the attempt: {error}"));
    }
    count(&app.publisher.stats, verdict.attempt.status);
    tracing::info!(
        %source, %target, status = %verdict.attempt.status,
        http_status = verdict.attempt.http_status, endpoint = verdict.attempt.endpoint.as_deref(),
        "webmention send attempt"
    );
    verdict.outcome
}

fn count(stats: &Stats, status: SendStatus) {
    metrics::counter!("backfeed_webmentions_sent_total", "status" => status.label()).increment(1);
    match status {
        SendStatus::Sent => Stats::bump(&stats.sent),
        SendStatus::NoEndpoint => Stats::bump(&stats.no_endpoint),
        SendStatus::Failed => Stats::bump(&stats.failed),
        SendStatus::Retrying => Stats::bump(&stats.retrying),
    }
}

/// Our own receiver takes it as if it had been POSTed.
async fn hand_over(app: &App, source: &Url, target: &Url, version: &str) -> Verdict {
    let attempt = |status, answer: String| SendAttempt {
        target: target.clone(),
        endpoint: Some("(this backfeed's receiver)".to_owned()),
        status,
        http_status: None,
        answer: Some(answer),
        version: version.to_owned(),
    };
    let Some(receiver) = &app.receiver else {
        return fail(attempt(SendStatus::Failed, "receiving is off".into()));
    };
    match receiver
        .receive(Some(source.as_str()), Some(target.as_str()))
        .await
    {
        Ok(id) => done(attempt(
            SendStatus::Sent,
            format!("received as mention {id}"),
        )),
        Err(ReceiveError::Store(error)) => {
            retry(attempt(SendStatus::Retrying, error.to_string()), None)
        }
        Err(error) => fail(attempt(SendStatus::Failed, error.to_string())),
    }
}

async fn send(app: &App, source: &Url, target: &Url, version: &str) -> Verdict {
    let sender = app.publisher.sender();
    let attempt =
        |endpoint: Option<&Url>, status, http_status, answer: Option<String>| SendAttempt {
            target: target.clone(),
            endpoint: endpoint.map(Url::to_string),
            status,
            http_status,
            answer,
            version: version.to_owned(),
        };
    let endpoint = match sender.discover(target).await {
        Ok(Discovery::Endpoint { url, .. }) => url,
        Ok(Discovery::NoEndpoint { status }) => {
            return done(attempt(None, SendStatus::NoEndpoint, Some(status), None));
        }
        Err(DiscoveryError::Fetch(error)) => {
            let status = if error.is_transient() {
                SendStatus::Retrying
            } else {
                SendStatus::Failed
            };
            let a = attempt(None, status, None, Some(error.to_string()));
            return if error.is_transient() {
                retry(a, None)
            } else {
                fail(a)
            };
        }
        Err(DiscoveryError::Status(answered)) => {
            let a = attempt(
                None,
                SendStatus::Retrying,
                Some(answered.status),
                answered.answer,
            );
            return retry(a, answered.retry_after);
        }
        Err(error @ DiscoveryError::BadEndpoint { .. }) => {
            return fail(attempt(
                None,
                SendStatus::Failed,
                None,
                Some(error.to_string()),
            ));
        }
    };
    match sender.notify(&endpoint, source, target).await {
        Ok(answered) => match classify_answer(answered.status, answered.retry_after) {
            Answer::Success => done(attempt(
                Some(&endpoint),
                SendStatus::Sent,
                Some(answered.status),
                answered.answer,
            )),
            Answer::Transient { after } => retry(
                attempt(
                    Some(&endpoint),
                    SendStatus::Retrying,
                    Some(answered.status),
                    answered.answer,
                ),
                after,
            ),
            Answer::Permanent => fail(attempt(
                Some(&endpoint),
                SendStatus::Failed,
                Some(answered.status),
                answered.answer,
            )),
        },
        Err(error) if error.is_transient() => retry(
            attempt(
                Some(&endpoint),
                SendStatus::Retrying,
                None,
                Some(error.to_string()),
            ),
            None,
        ),
        Err(error) => fail(attempt(
            Some(&endpoint),
            SendStatus::Failed,
            None,
            Some(error.to_string()),
        )),
    }
}

fn describe(attempt: &SendAttempt) -> String {
    let mut text = match (&attempt.endpoint, attempt.http_status) {
        (Some(endpoint), Some(status)) => format!("{endpoint} answered HTTP {status}"),
        (None, Some(status)) => format!("the target answered HTTP {status}"),
        (Some(endpoint), None) => format!("sending to {endpoint} failed"),
        (None, None) => "discovery failed".to_owned(),
    };
    if let Some(answer) = &attempt.answer {
        text.push_str(": ");
        text.push_str(answer);
    }
    text
}

fn done(attempt: SendAttempt) -> Verdict {
    Verdict {
        attempt,
        outcome: Outcome::Done,
    }
}

fn retry(attempt: SendAttempt, after: Option<Duration>) -> Verdict {
    let error = describe(&attempt);
    Verdict {
        attempt,
        outcome: Outcome::Retry { error, after },
    }
}

fn fail(attempt: SendAttempt) -> Verdict {
    let error = describe(&attempt);
    Verdict {
        attempt,
        outcome: Outcome::Fail { error },
    }
}
