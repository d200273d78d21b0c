//! Refreshing a stale thread: inline while its reader waits
//! (`threads.refresh_inline`), or as a job on the queue; and the fetch
//! itself, which backs off while Mastodon asks us to wait.

use std::time::Duration;

use super::{Announced, INLINE_REFRESH_BUDGET, RENDERED_LIMIT, RETRY_AFTER_FAILURE, Threads};
use crate::clients::mastodon::MastodonError;
use crate::domain::job::{Job, NewJob, Outcome, RefreshThread};
use crate::domain::thread_ttl::thread_ttl;
use crate::domain::{PostState, PostUrl};
use crate::storage::{CachedThread, StoreError};

impl Threads {
    /// Refreshes the stale `cached` thread while its reader waits, at most
    /// [`INLINE_REFRESH_BUDGET`]; one fetch per thread at a time (a reader
    /// who waited for another's gets that one's result). When Mastodon is
    /// slow or failing the reader gets `cached` and the refresh is queued,
    /// and for [`RETRY_AFTER_FAILURE`] readers get the stale copy at once.
    pub(super) async fn refresh_inline(
        &self,
        url: &PostUrl,
        announced: &Announced,
        cached: CachedThread,
    ) -> Result<CachedThread, StoreError> {
        if self.refresh_queued_lately(url) {
            return Ok(cached);
        }
        let lock = self.cold_fetch_lock(url);
        let _guard = match lock.try_lock() {
            Ok(guard) => guard,
            Err(_) => {
                let guard = lock.lock().await;
                if let Some(newer) = self.load_thread(url, announced).await?
                    && self.clock.now() < newer.fresh_until
                {
                    return Ok(newer);
                }
                guard
            }
        };
        match tokio::time::timeout(INLINE_REFRESH_BUDGET, self.fetch_and_save(url, announced)).await
        {
            Ok(Ok(fresh)) => Ok(fresh),
            Ok(Err(_)) | Err(_) => {
                self.queue_refresh(url).await;
                Ok(cached)
            }
        }
    }

    /// Whether this process queued a refresh of `url` (or failed one
    /// inline) within [`RETRY_AFTER_FAILURE`].
    pub(super) fn refresh_queued_lately(&self, url: &PostUrl) -> bool {
        let now = self.clock.now();
        self.refresh_queued.lock().is_ok_and(|queued| {
            queued
                .get(url)
                .is_some_and(|at| now - *at < RETRY_AFTER_FAILURE)
        })
    }

    /// Queues a refresh of `url`'s thread (on the job queue, so that a
    /// serverless runtime's scheduled run does it too), unless this process
    /// queued one lately. A reader never waits for Mastodon.
    pub(super) async fn queue_refresh(&self, url: &PostUrl) {
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
        let Some(post) = self.store.find_post(url).await? else {
            return Ok(Outcome::Done);
        };
        let PostState::Announced { toot_id } = post.state else {
            return Ok(Outcome::Done);
        };
        if self.mastodon.is_none() {
            return Ok(Outcome::Done);
        }
        let announced = Announced {
            toot_id: toot_id.to_string(),
            at: post.created_at,
        };
        let outcome = match self.fetch_and_save(url, &announced).await {
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

    /// Fetches from Mastodon and caches the result (failures are logged),
    /// fresh for as long as the post's age gives it (or less, when Mastodon
    /// hints that late replies are still arriving).
    pub(super) async fn fetch_and_save(
        &self,
        url: &PostUrl,
        announced: &Announced,
    ) -> Result<CachedThread, MastodonError> {
        let Some(mastodon) = self.mastodon.as_ref() else {
            return Err(MastodonError::Unexpected(
                "Mastodon is not configured".into(),
            ));
        };
        if let Some(retry_after) = self.backoff_left() {
            return Err(MastodonError::RateLimited { retry_after });
        }
        match mastodon.fetch_thread(&announced.toot_id).await {
            Ok(fetched) => {
                let now = self.clock.now();
                let ttl = thread_ttl(
                    self.config.ttl,
                    self.config.max_ttl,
                    (now - announced.at).unsigned_abs(),
                );
                let thread = CachedThread {
                    url: url.clone(),
                    toot: fetched.toot,
                    replies: fetched.replies,
                    fetched_at: now,
                    fresh_until: now + fetched.refresh_hint.unwrap_or(ttl).min(ttl),
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
}
