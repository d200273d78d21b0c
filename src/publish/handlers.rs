//! The other publishing jobs: announcing a post from the feed, and the feed
//! poller that `serve`'s workers and scheduled serverless runs share.
//!
//! The poller is one [`JobKind::PollFeeds`] job (one queued at a time, by
//! its dedupe key). Each run reads the feeds whose last complete read is at
//! least `publish.feed_interval` old, within half a job lease (so a slow
//! blog cannot outlive its lease), and queues itself again for when the
//! next feed is due (at once when the read was cut short). `serve` and every
//! scheduled run queue it due now at start ([`start_polling`]); a poll that
//! finds nothing due costs one store read per feed.
//!
//! Invariant: announcing goes through `Announcer::announce`, the claim of
//! `GET /?url=`, so a post is announced once whichever path comes first; a
//! rate-limited announcement waits for the limiter's own `Retry-After`.
//!
//! [`JobKind::PollFeeds`]: crate::domain::job::JobKind::PollFeeds

use std::time::Duration;

use time::OffsetDateTime;

use super::{PublishRequest, Silent, Stats, scan};
use crate::App;
use crate::announce::AnnounceError;
use crate::clients::mastodon::MastodonError;
use crate::domain::PostUrl;
use crate::domain::job::{AnnouncePost, Job, NewJob, Outcome};
use crate::storage::StoreError;

/// The handler of an `announce-post` job.
pub async fn run_announce(app: &App, job: &Job) -> Outcome {
    let payload: AnnouncePost = match job.payload() {
        Ok(payload) => payload,
        Err(error) => return Outcome::Fail { error },
    };
    let Some(announcer) = &app.announcer else {
        return Outcome::Fail {
            error: "announcing is not configured (set the Mastodon settings)".into(),
        };
    };
    let url = match PostUrl::parse(&payload.url) {
        Ok(url) => url,
        Err(error) => {
            return Outcome::Fail {
                error: error.to_string(),
            };
        }
    };
    match announcer.announce(url).await {
        Ok(announcement) => {
            if announcement.created {
                Stats::bump(&app.publisher.stats.announced);
            }
            Outcome::Done
        }
        Err(AnnounceError::RateLimited { retry_after }) => Outcome::Retry {
            error: "new toots are over BACKFEED_ANNOUNCE_RATE".into(),
            after: Some(retry_after),
        },
        Err(AnnounceError::Mastodon(MastodonError::RateLimited { retry_after })) => {
            Outcome::Retry {
                error: "Mastodon's rate limit is exhausted".into(),
                after: Some(retry_after),
            }
        }
        Err(
            error @ (AnnounceError::Failed { .. }
            | AnnounceError::Mastodon(MastodonError::Rejected { .. })
            | AnnounceError::MissingUrl
            | AnnounceError::InvalidUrl(_)
            | AnnounceError::NotHandled
            | AnnounceError::NotConfigured
            | AnnounceError::NotThisBlog(_)
            | AnnounceError::CanonicalMissing { .. }
            | AnnounceError::CanonicalDisagrees { .. }),
        ) => Outcome::Fail {
            error: error.to_string(),
        },
        // The page is not there yet, Mastodon is down, another holder is
        // busy: all may pass.
        Err(error) => Outcome::retry(error.to_string()),
    }
}

/// Queues a poll due now, when there are feeds to poll (`serve` at start,
/// and every scheduled serverless run).
pub async fn start_polling(app: &App) -> Result<(), StoreError> {
    let publish = &app.config.publish;
    if publish.feeds.is_empty() || publish.feed_interval.is_none() {
        return Ok(());
    }
    app.queue
        .enqueue(&NewJob::poll_feeds(app.clock.now()))
        .await
        .map(|_| ())
}

/// The handler of a `poll-feeds` job.
pub async fn run_poll(app: &App) -> Outcome {
    let publish = &app.config.publish;
    let Some(interval) = publish.feed_interval else {
        return Outcome::Done;
    };
    let now = app.clock.now();
    let mut due = Vec::new();
    let mut next = None::<OffsetDateTime>;
    for feed in &publish.feeds {
        let checked_at = match app.store.load_feed(feed).await {
            Ok(state) => state.map_or(OffsetDateTime::UNIX_EPOCH, |s| s.checked_at),
            Err(error) => return Outcome::retry(error.to_string()),
        };
        let due_at = checked_at + interval;
        if due_at <= now {
            due.push(feed.clone());
        } else {
            next = Some(next.map_or(due_at, |n| n.min(due_at)));
        }
    }
    let mut outcome = Outcome::Done;
    if !due.is_empty() {
        let budget = crate::jobs::lease(app) / 2;
        let request = PublishRequest {
            feeds: due,
            deadline: Some(now + budget),
            ..PublishRequest::default()
        };
        match scan(app, &request, &Silent).await {
            Ok(report) => {
                tracing::info!(?report, "feeds polled");
                let failed = !report.feed_errors.is_empty() || !report.post_errors.is_empty();
                let again = if !report.complete {
                    // Cut short by the budget: go on at once.
                    app.clock.now()
                } else if failed {
                    // A feed or page is down: try again soon, not in a loop.
                    app.clock.now() + interval.min(Duration::from_secs(300))
                } else {
                    app.clock.now() + interval
                };
                next = Some(next.map_or(again, |n| n.min(again)));
            }
            Err(error) => outcome = Outcome::retry(error.to_string()),
        }
    }
    if let Some(next) = next
        && let Err(error) = app.queue.enqueue(&NewJob::poll_feeds(next)).await
    {
        return Outcome::retry(format!("cannot queue the next poll: {error}"));
    }
    outcome
}
