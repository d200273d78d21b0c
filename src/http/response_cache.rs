//! Rendered read-API answers kept in memory.
//!
//! An answer is reused while nothing it could show has changed in this
//! process ([`Changes`]) and for at most `MAX_AGE`, so a change made by
//! another instance sharing the store shows within a few seconds.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::changes::Changes;

const MAX_AGE: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 1000;

struct Entry {
    changes: u64,
    rendered_at: Instant,
    body: Bytes,
}

pub struct ResponseCache {
    changes: Changes,
    entries: RwLock<HashMap<String, Entry>>,
}

impl ResponseCache {
    pub fn new(changes: Changes) -> Self {
        Self {
            changes,
            entries: RwLock::new(HashMap::new()),
        }
    }

    /// The changes count to pass to [`put`](Self::put): read it *before*
    /// rendering, so a change during rendering invalidates the result.
    pub fn changes_now(&self) -> u64 {
        self.changes.total()
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.read().ok()?;
        let entry = entries.get(key)?;
        let valid = entry.changes == self.changes.total() && entry.rendered_at.elapsed() < MAX_AGE;
        valid.then(|| entry.body.clone())
    }

    pub fn put(&self, key: String, changes: u64, body: Bytes) {
        if let Ok(mut entries) = self.entries.write() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                key,
                Entry {
                    changes,
                    rendered_at: Instant::now(),
                    body,
                },
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_reused_until_something_changes() {
        let changes = Changes::default();
        let cache = ResponseCache::new(changes.clone());
        let at = cache.changes_now();
        cache.put("k".into(), at, Bytes::from_static(b"v"));
        assert_eq!(cache.get("k").as_deref(), Some(&b"v"[..]));
        changes.bump_for("any post");
        assert_eq!(cache.get("k"), None);
        assert_eq!(cache.get("other"), None);
    }

    #[test]
    fn an_answer_rendered_while_something_changed_is_not_reused() {
        let changes = Changes::default();
        let cache = ResponseCache::new(changes.clone());
        let at = cache.changes_now();
        changes.bump();
        cache.put("k".into(), at, Bytes::from_static(b"v"));
        assert_eq!(cache.get("k"), None);
    }
}
