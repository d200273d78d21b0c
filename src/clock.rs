//! Time as an input: the one [`Clock`] every use case and store asks for
//! the time.
//!
//! The runtime layer chooses [`Clock::system`]; tests choose a
//! [`ManualClock`] and move it forward explicitly, so nothing in a test
//! waits on the wall clock to see a lease run out, a cache go stale or a
//! retry come due. Waiting for a duration goes through [`Clock::sleep`],
//! which on a manual clock returns as soon as the clock has been advanced
//! far enough.
//!
//! Invariant: below the runtime layer, nothing reads the system clock but
//! through a `Clock`. Timeouts on network I/O (how long one fetch may take)
//! are not time *reads*: they stay tokio timers.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

/// The source of "now", cheap to clone.
#[derive(Clone)]
pub struct Clock {
    source: Source,
}

#[derive(Clone)]
enum Source {
    System,
    Manual(Arc<Manual>),
}

struct Manual {
    now: Mutex<OffsetDateTime>,
    /// Told every time the clock moves, so sleepers re-check.
    moved: watch::Sender<OffsetDateTime>,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self {
            source: Source::System,
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        match &self.source {
            Source::System => OffsetDateTime::now_utc(),
            Source::Manual(manual) => *manual.now.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// `true` for a test's manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self.source, Source::Manual(_))
    }

    /// Waits until `duration` has passed on this clock: a real sleep on the
    /// system clock; on a manual clock, until the test has advanced it that
    /// far.
    pub async fn sleep(&self, duration: Duration) {
        match &self.source {
            Source::System => tokio::time::sleep(duration).await,
            Source::Manual(manual) => {
                let until = self.now() + duration;
                let mut moved = manual.moved.subscribe();
                // `wait_for` checks the current value first, so an advance
                // between `now()` and `subscribe()` is not missed.
                let _ = moved.wait_for(|now| *now >= until).await;
            }
        }
    }

    /// Waits until `until` on this clock (at once when it has passed).
    pub async fn sleep_until(&self, until: OffsetDateTime) {
        let left = until - self.now();
        if left.is_positive() {
            self.sleep(left.unsigned_abs()).await;
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Source::System => f.write_str("Clock::system"),
            Source::Manual(_) => write!(f, "Clock::manual({})", self.now()),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

/// A [`Clock`] as `governor`'s clock (time since the Unix epoch, never
/// before it), so the rate limiters' buckets refill on the app's time.
#[derive(Clone)]
pub struct GovernorClock(pub Clock);

impl governor::clock::Clock for GovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        (self.0.now() - OffsetDateTime::UNIX_EPOCH)
            .try_into()
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that moves only when told: tests hold it and hand
/// [`ManualClock::clock`] to the code under test.
#[derive(Clone)]
pub struct ManualClock {
    manual: Arc<Manual>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        let (moved, _) = watch::channel(start);
        Self {
            manual: Arc::new(Manual {
                now: Mutex::new(start),
                moved,
            }),
        }
    }

    /// Starts at the current real time, truncated to the millisecond (what
    /// every store keeps), so that times read back compare equal.
    pub fn starting_now() -> Self {
        let now = OffsetDateTime::now_utc();
        let millis = now.nanosecond() / 1_000_000 * 1_000_000;
        Self::new(now.replace_nanosecond(millis).unwrap_or(now))
    }

    pub fn clock(&self) -> Clock {
        Clock {
            source: Source::Manual(Arc::clone(&self.manual)),
        }
    }

    pub fn now(&self) -> OffsetDateTime {
        *self
            .manual
            .now
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves the clock forward and wakes whatever sleeps on it.
    pub fn advance(&self, by: Duration) {
        let mut now = self
            .manual
            .now
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *now += by;
        self.manual.moved.send_replace(*now);
    }

    /// Sets the clock to `to` (backwards too, to test a clock that jumps).
    pub fn set(&self, to: OffsetDateTime) {
        let mut now = self
            .manual
            .now
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *now = to;
        self.manual.moved.send_replace(to);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let start = time::macros::datetime!(2026-12-01 10:00 UTC);
        let manual = ManualClock::new(start);
        let clock = manual.clock();
        assert_eq!(clock.now(), start);
        manual.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        assert!(clock.is_manual());
        assert!(!Clock::system().is_manual());
    }

    #[tokio::test]
    async fn a_sleep_on_a_manual_clock_ends_when_the_clock_passes_its_end() {
        let manual = ManualClock::new(time::macros::datetime!(2026-12-01 10:00 UTC));
        let clock = manual.clock();
        let sleeper = tokio::spawn(async move { clock.sleep(Duration::from_secs(60)).await });
        tokio::task::yield_now().await;
        manual.advance(Duration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        manual.advance(Duration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(30), sleeper)
            .await
            .expect("the sleeper wakes once the clock has moved a minute")
            .expect("the sleeper does not panic");
    }

    #[tokio::test]
    async fn sleeping_until_a_past_time_returns_at_once() {
        let manual = ManualClock::new(time::macros::datetime!(2026-12-01 10:00 UTC));
        let clock = manual.clock();
        clock
            .sleep_until(time::macros::datetime!(2026-12-01 09:00 UTC))
            .await;
    }
}
