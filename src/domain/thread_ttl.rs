//! How long a fetched Mastodon thread stays fresh: longer the older its post.
//!
//! Replies come while a post is new; a thread from last year rarely changes.
//! Refreshing every thread every `threads.ttl` costs a Mastodon call and a
//! store write per stale view, which on a pay-per-request store is most of
//! the bill. So a thread's freshness grows with its post's age, half an hour
//! per day since the post was announced, from `threads.ttl` up to
//! `threads.max_ttl`. Replies that reach the blog directly (webmentions,
//! fediverse replies to the blog's own account) show at once whatever this
//! says: it only paces the Mastodon fetch.

use std::time::Duration;

/// A post's thread gains this much freshness per day of age.
const PER_DAY_OF_AGE: Duration = Duration::from_secs(30 * 60);

/// The freshness of a thread whose post was announced `post_age` ago:
/// `base` for a new post, growing by half an hour a day, never over `max`
/// (nor under `base`, if `max` is smaller).
pub fn thread_ttl(base: Duration, max: Duration, post_age: Duration) -> Duration {
    let days = post_age.as_secs_f64() / 86_400.0;
    let grown = (days * PER_DAY_OF_AGE.as_secs_f64()).min(max.as_secs_f64());
    Duration::try_from_secs_f64(grown).unwrap_or(max).max(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);
    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn a_new_post_is_refreshed_every_base_ttl() {
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, Duration::ZERO), 5 * MIN);
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, 4 * HOUR), 5 * MIN);
    }

    #[test]
    fn freshness_grows_by_half_an_hour_a_day() {
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, DAY), 30 * MIN);
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, DAY / 2), 15 * MIN);
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, 7 * DAY), 3 * HOUR + 30 * MIN);
    }

    #[test]
    fn an_old_post_is_capped_at_the_maximum() {
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, 24 * DAY), 12 * HOUR);
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, 3650 * DAY), 12 * HOUR);
        assert_eq!(thread_ttl(5 * MIN, 12 * HOUR, Duration::MAX), 12 * HOUR);
    }

    #[test]
    fn a_maximum_at_or_below_the_base_turns_the_growth_off() {
        assert_eq!(thread_ttl(5 * MIN, 5 * MIN, 365 * DAY), 5 * MIN);
        assert_eq!(thread_ttl(5 * MIN, MIN, 365 * DAY), 5 * MIN);
    }
}
