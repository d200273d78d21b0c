//! Slows down guessing the admin token: after a few failed sign-ins, each
//! further attempt must wait twice as long as the one before (up to
//! [`MAX_DELAY`]), per client address and, with a larger allowance, for
//! everyone together (addresses are cheap to change, and serverless
//! runtimes may not know them).
//!
//! Invariant: time is read through the app's `Clock` only, so tests move
//! through the delays without waiting; memory is bounded (idle clients are
//! forgotten after [`FORGET_AFTER`], and at most [`MAX_CLIENTS`] kept).
//! The counts live in this process: nothing is stored.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use time::OffsetDateTime;

use crate::http::rate_limit::ClientKey;

/// Failed sign-ins a client may make before it is slowed down.
const FREE_PER_CLIENT: u32 = 5;
/// Failed sign-ins from everyone together before all are slowed down.
const FREE_OVERALL: u32 = 50;
/// The longest wait imposed.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// A client's failures are forgotten this long after its last one.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
const MAX_CLIENTS: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: OffsetDateTime,
}

impl Failures {
    /// When the next attempt may be made.
    fn next_allowed(&self, free: u32) -> OffsetDateTime {
        self.last + delay(self.count, free)
    }

    fn forgotten(&self, now: OffsetDateTime) -> bool {
        now - self.last >= FORGET_AFTER
    }
}

/// The wait after `count` failures when `free` of them cost nothing: 1 s
/// after the first one over, then doubling.
fn delay(count: u32, free: u32) -> Duration {
    match count.checked_sub(free) {
        None => Duration::ZERO,
        Some(over) => Duration::from_secs(1u64 << over.min(20)).min(MAX_DELAY),
    }
}

#[derive(Default)]
pub struct Throttle {
    clients: Mutex<HashMap<ClientKey, Failures>>,
    everyone: Mutex<Option<Failures>>,
}

impl Throttle {
    /// `Err(wait)` when `client` must wait before trying again.
    pub fn check(&self, client: ClientKey, now: OffsetDateTime) -> Result<(), Duration> {
        let own = self
            .clients
            .lock()
            .ok()
            .and_then(|clients| clients.get(&client).copied())
            .filter(|f| !f.forgotten(now))
            .map(|f| f.next_allowed(FREE_PER_CLIENT));
        let overall = self
            .everyone
            .lock()
            .ok()
            .and_then(|everyone| *everyone)
            .filter(|f| !f.forgotten(now))
            .map(|f| f.next_allowed(FREE_OVERALL));
        let until = own.into_iter().chain(overall).max();
        match until {
            Some(until) if until > now => Err((until - now).unsigned_abs()),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, client: ClientKey, now: OffsetDateTime) {
        let bump = |slot: Option<Failures>| match slot.filter(|f| !f.forgotten(now)) {
            Some(f) => Failures {
                count: f.count.saturating_add(1),
                last: now,
            },
            None => Failures {
                count: 1,
                last: now,
            },
        };
        if let Ok(mut clients) = self.clients.lock() {
            if clients.len() >= MAX_CLIENTS {
                clients.retain(|_, f| !f.forgotten(now));
            }
            if clients.len() >= MAX_CLIENTS {
                // Still full of recent failures: a distributed guess. The
                // overall count below keeps slowing everyone down.
                clients.clear();
            }
            let next = bump(clients.get(&client).copied());
            clients.insert(client, next);
        }
        if let Ok(mut everyone) = self.everyone.lock() {
            *everyone = Some(bump(*everyone));
        }
    }

    /// A client that knew the token starts afresh (everyone's count stays).
    pub fn succeeded(&self, client: ClientKey) {
        if let Ok(mut clients) = self.clients.lock() {
            clients.remove(&client);
        }
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn ip(last: u8) -> ClientKey {
        ClientKey::from(std::net::IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn the_first_failures_cost_nothing_then_the_wait_doubles() {
        assert_eq!(delay(4, 5), Duration::ZERO);
        assert_eq!(delay(5, 5), Duration::from_secs(1));
        assert_eq!(delay(6, 5), Duration::from_secs(2));
        assert_eq!(delay(9, 5), Duration::from_secs(16));
        assert_eq!(delay(40, 5), MAX_DELAY);
        assert_eq!(delay(u32::MAX, 5), MAX_DELAY);
    }

    #[test]
    fn a_client_that_keeps_failing_must_wait_longer_each_time() {
        let throttle = Throttle::default();
        for _ in 0..4 {
            throttle.failed(ip(1), NOW);
        }
        assert_eq!(throttle.check(ip(1), NOW), Ok(()));
        throttle.failed(ip(1), NOW);
        assert_eq!(throttle.check(ip(1), NOW), Err(Duration::from_secs(1)));
        assert_eq!(throttle.check(ip(2), NOW), Ok(()), "others are not slowed");
        let later = NOW + Duration::from_secs(1);
        assert_eq!(throttle.check(ip(1), later), Ok(()));
        throttle.failed(ip(1), later);
        assert_eq!(throttle.check(ip(1), later), Err(Duration::from_secs(2)));
        throttle.succeeded(ip(1));
        assert_eq!(throttle.check(ip(1), later), Ok(()));
    }

    #[test]
    fn failures_from_many_addresses_slow_everyone_down() {
        let throttle = Throttle::default();
        for n in 0..FREE_OVERALL {
            throttle.failed(ip(u8::try_from(n % 250).unwrap()), NOW);
        }
        assert!(throttle.check(ip(251), NOW).is_err());
        assert!(throttle.check(ClientKey::Unknown, NOW).is_err());
    }

    #[test]
    fn failures_are_forgotten_after_an_hour() {
        let throttle = Throttle::default();
        for _ in 0..8 {
            throttle.failed(ip(1), NOW);
        }
        assert!(throttle.check(ip(1), NOW).is_err());
        assert_eq!(throttle.check(ip(1), NOW + FORGET_AFTER), Ok(()));
        throttle.failed(ip(1), NOW + FORGET_AFTER);
        assert_eq!(
            throttle.check(ip(1), NOW + FORGET_AFTER),
            Ok(()),
            "counting starts again"
        );
    }
}
