//! The `[threads]` settings: serving comment threads (`GET /api/comments`).

use std::time::Duration;

use super::ConfigError;
use super::values::{self, Reader};

/// A new post's thread is fetched again after this long.
const DEFAULT_THREAD_TTL: Duration = Duration::from_secs(300);
/// An old post's thread, at most this long (reached at 24 days of age).
const DEFAULT_THREAD_MAX_TTL: Duration = Duration::from_secs(12 * 3600);

/// Serving comment threads.
#[derive(Debug, Clone, Copy)]
pub struct ThreadsConfig {
    /// How long a new post's fetched Mastodon thread counts as fresh.
    pub ttl: Duration,
    /// The freshness an old post's thread grows to (half an hour per day
    /// of the post's age, from `ttl`; see `domain::thread_ttl`).
    pub max_ttl: Duration,
    /// A reader who finds the thread stale waits (briefly) for the refresh
    /// instead of queueing it: for serverless runtimes, where queued work
    /// waits for the next scheduled run and costs store requests.
    pub refresh_inline: bool,
    /// Show `unlisted` replies too (never followers-only or direct ones).
    pub include_unlisted: bool,
}

pub(super) fn threads_config(r: &Reader<'_>) -> Result<ThreadsConfig, ConfigError> {
    let ttl = r
        .parsed("threads.ttl", values::parse_duration)?
        .unwrap_or(DEFAULT_THREAD_TTL);
    Ok(ThreadsConfig {
        ttl,
        max_ttl: r
            .parsed("threads.max_ttl", |value| {
                let max = values::parse_duration(value)?;
                if max < ttl {
                    return Err(format!(
                        "{} is shorter than threads.ttl ({}); set both to the same value \
                         to refresh every thread equally often",
                        humantime::format_duration(max),
                        humantime::format_duration(ttl)
                    ));
                }
                Ok(max)
            })?
            .unwrap_or_else(|| DEFAULT_THREAD_MAX_TTL.max(ttl)),
        include_unlisted: r
            .parsed("threads.include_unlisted", values::parse_bool)?
            .unwrap_or(false),
        refresh_inline: r
            .parsed("threads.refresh_inline", values::parse_bool)?
            .unwrap_or(false),
    })
}
