//! Counters of changes to what comment threads and the read API show.
//!
//! Rendered answers are cached in memory; anything that changes what they
//! show bumps a counter, and a rendered answer is only reused while the
//! counters it was rendered at still stand. A mention verified or deleted
//! bumps only its post's counter, so a busy site does not throw away every
//! rendered thread on each verification; moderation, which may touch any
//! post, bumps the global one. `total` moves on every change (the read API,
//! whose queries may span posts, uses it).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Posts tracked one by one; past this, the map is cleared and the global
/// counter bumped, which keeps every stamp honest.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Default)]
pub struct Changes {
    global: Arc<AtomicU64>,
    total: Arc<AtomicU64>,
    per_post: Arc<RwLock<HashMap<String, u64>>>,
}

/// The counters an answer for one post was rendered at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    global: u64,
    post: u64,
}

impl Changes {
    /// Something that may affect any post changed.
    pub fn bump(&self) {
        self.global.fetch_add(1, Ordering::AcqRel);
        self.total.fetch_add(1, Ordering::AcqRel);
    }

    /// Something about the post `key` (its canonical URL) changed.
    pub fn bump_for(&self, key: &str) {
        self.total.fetch_add(1, Ordering::AcqRel);
        let Ok(mut posts) = self.per_post.write() else {
            self.global.fetch_add(1, Ordering::AcqRel);
            return;
        };
        if posts.len() >= MAX_KEYS {
            posts.clear();
            self.global.fetch_add(1, Ordering::AcqRel);
        }
        *posts.entry(key.to_owned()).or_default() += 1;
    }

    /// Every change so far, counted.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Acquire)
    }

    /// The counters that matter for the post `key`.
    pub fn stamp(&self, key: &str) -> Stamp {
        let global = self.global.load(Ordering::Acquire);
        let post = self
            .per_post
            .read()
            .ok()
            .and_then(|posts| posts.get(key).copied())
            .unwrap_or_default();
        Stamp { global, post }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_to_one_post_leaves_the_others_stamps_alone() {
        let changes = Changes::default();
        let (a, b) = (changes.stamp("a"), changes.stamp("b"));
        changes.bump_for("a");
        assert_ne!(changes.stamp("a"), a);
        assert_eq!(changes.stamp("b"), b);
        changes.bump();
        assert_ne!(changes.stamp("b"), b);
        assert_eq!(changes.total(), 2);
    }
}
