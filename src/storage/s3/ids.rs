//! Mention ids without a shared counter: time-ordered random integers.
//!
//! Mention ids are public (`wm-id` in the webmention.io-compatible API,
//! read as JSON numbers by JavaScript), so they stay integers below 2^53:
//! milliseconds since 2024-01-01 in the high 41 bits (enough until 2093),
//! 12 random bits below. A counter object bumped by compare-and-swap handed
//! the same id to two writers on providers whose conditional writes are not
//! atomic, and their records overwrote each other; these ids need no shared
//! object at all.
//!
//! Invariants: within one process ids strictly increase (a burst in one
//! millisecond counts up from its random start), so one process never
//! makes the same id twice; across processes the same id needs the same
//! millisecond and the same 12 random bits (1 in 4,096), and the record is
//! then created with `If-None-Match` and read back (`mentions.rs`), so the
//! second writer takes a new id. Ids from the old counter (1, 2, 3, …) are
//! all smaller than these, so id order stays receiving order.

use std::sync::Mutex;

use time::OffsetDateTime;

use super::millis;

/// 2024-01-01T00:00:00Z in Unix milliseconds.
const EPOCH_MS: i64 = 1_704_067_200_000;
const RANDOM_BITS: u32 = 12;
/// The largest integer JavaScript represents exactly.
pub const MAX_ID: i64 = (1 << 53) - 1;

#[derive(Debug, Default)]
pub struct MentionIds {
    last: Mutex<i64>,
    /// Ids to hand out first (tests: a collision with another process).
    #[cfg(feature = "test-support")]
    forced: Mutex<Vec<i64>>,
}

impl MentionIds {
    /// A new id, greater than every id this process made before.
    pub fn next(&self, now: OffsetDateTime) -> i64 {
        #[cfg(feature = "test-support")]
        if let Some(id) = self.forced.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return id;
        }
        let random = (uuid::Uuid::new_v4().as_u128() & ((1 << RANDOM_BITS) - 1)) as i64;
        self.next_with(now, random)
    }

    /// Makes the next id `id`, as if another process had made the same one.
    #[cfg(feature = "test-support")]
    pub fn force_next(&self, id: i64) {
        self.forced
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
    }

    fn next_with(&self, now: OffsetDateTime, random: i64) -> i64 {
        let since_epoch = (millis(now) - EPOCH_MS).clamp(0, MAX_ID >> RANDOM_BITS);
        let candidate = (since_epoch << RANDOM_BITS) | random;
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let id = candidate.max(*last + 1).max(1);
        *last = id;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap()
    }

    #[test]
    fn ids_are_milliseconds_then_randomness_and_fit_in_a_javascript_number() {
        let ids = MentionIds::default();
        let id = ids.next_with(at(EPOCH_MS + 1_000), 7);
        assert_eq!(id, (1_000 << RANDOM_BITS) | 7);
        // 2093-01-01, the last year these ids cover, still fits in 2^53.
        let late = MentionIds::default().next(at(3_881_174_400_000));
        assert!(late <= MAX_ID && late > id, "{late}");
    }

    #[test]
    fn one_process_never_makes_an_id_twice_even_within_a_millisecond() {
        let ids = MentionIds::default();
        let now = at(1_780_000_000_000);
        let made: Vec<i64> = (0..10_000).map(|_| ids.next(now)).collect();
        assert!(made.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
        // A clock that steps back does not bring old ids back either.
        let earlier = ids.next(at(1_700_000_000_000));
        assert!(earlier > *made.last().unwrap());
    }

    #[test]
    fn later_milliseconds_give_larger_ids_across_processes() {
        let (a, b) = (MentionIds::default(), MentionIds::default());
        let first = a.next_with(at(1_780_000_000_000), (1 << RANDOM_BITS) - 1);
        let second = b.next_with(at(1_780_000_000_001), 0);
        assert!(first < second);
        assert!(first > 1_000_000, "above every counter id a bucket holds");
    }
}
