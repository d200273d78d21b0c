//! The limit on new toots per process (`BACKFEED_ANNOUNCE_RATE`): a token
//! bucket (governor's GCRA) that reads time from the app's [`Clock`], so a
//! test moves a manual clock instead of waiting.
//!
//! Invariant: only creating a new status takes a token; a post answered from
//! the store or the cache never does. The bucket is per process: it bounds
//! what one caller can make one instance post, not a global quota.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::clock::{Clock, GovernorClock};
use crate::config::RateLimit;

type Limiter = RateLimiter<NotKeyed, InMemoryState, GovernorClock, NoOpMiddleware<Duration>>;

pub struct AnnounceRate {
    /// `None` when the limit is off.
    limiter: Option<Limiter>,
}

impl AnnounceRate {
    /// `limit.requests` new toots at once, refilled one by one over `limit.per`.
    pub fn new(limit: Option<RateLimit>, clock: Clock) -> Self {
        let quota = limit.and_then(|limit| {
            let burst = NonZeroU32::new(limit.requests)?;
            Quota::with_period(limit.per / limit.requests).map(|q| q.allow_burst(burst))
        });
        let clock = GovernorClock(clock);
        Self {
            limiter: quota.map(|quota| RateLimiter::direct_with_clock(quota, clock)),
        }
    }

    /// Takes the token for one new status, or says how long until one is free.
    pub fn take(&self) -> Result<(), Duration> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check()
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn rate(requests: u32, per: Duration) -> (AnnounceRate, ManualClock) {
        let manual = ManualClock::new(time::macros::datetime!(2026-12-01 10:00 UTC));
        let limit = RateLimit { requests, per };
        (AnnounceRate::new(Some(limit), manual.clock()), manual)
    }

    #[test]
    fn the_burst_is_taken_then_one_token_comes_back_per_interval() {
        let (rate, clock) = rate(3, Duration::from_secs(3600));
        for _ in 0..3 {
            assert_eq!(rate.take(), Ok(()));
        }
        assert_eq!(rate.take(), Err(Duration::from_secs(1200)));
        clock.advance(Duration::from_secs(1199));
        assert_eq!(rate.take(), Err(Duration::from_secs(1)));
        clock.advance(Duration::from_secs(1));
        assert_eq!(rate.take(), Ok(()));
        assert!(rate.take().is_err(), "one token per 20 minutes");
    }

    #[test]
    fn a_full_period_refills_the_whole_burst() {
        let (rate, clock) = rate(2, Duration::from_secs(60));
        assert!(rate.take().is_ok() && rate.take().is_ok());
        assert!(rate.take().is_err());
        clock.advance(Duration::from_secs(3600));
        assert!(rate.take().is_ok() && rate.take().is_ok());
        assert!(rate.take().is_err(), "idle time does not grow the burst");
    }

    #[test]
    fn off_means_no_limit() {
        let rate = AnnounceRate::new(None, Clock::system());
        for _ in 0..10_000 {
            assert_eq!(rate.take(), Ok(()));
        }
    }
}
