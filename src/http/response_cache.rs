//! Rendered read-API answers kept in memory, within a byte budget.
//!
//! An answer is reused while nothing it could show has changed in this
//! process ([`Changes`]) and for at most [`MAX_AGE`] on the app's [`Clock`],
//! so a change made by another instance sharing the store shows within a
//! few seconds. Keys are the *parsed* request (`ReadRequest::cache_key`):
//! the order of parameters and parameters the API does not read make no
//! new entry, so a client cannot grow the cache by varying its spelling.
//!
//! Invariant: the bodies held never add up to more than [`BUDGET`] bytes;
//! an answer larger than [`MAX_ENTRY`] is served but not kept, and the
//! oldest answers make way for new ones. [`get_or_render`] renders one
//! answer per key at a time: when an answer expires under load, one
//! request renders it and the others wait for it (and a too-large answer
//! is rendered by one request at a time), so memory and the store see one
//! rendering, not one per waiting client.
//!
//! [`get_or_render`]: ResponseCache::get_or_render

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::changes::Changes;
use crate::clock::Clock;

/// How long an answer may be reused when nothing changed here.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// What all kept answers may add up to.
pub const BUDGET: usize = 32 * 1024 * 1024;
/// The largest answer kept: a site-wide page of 1,000 mentions is about
/// 1 MB; one of this size would take an eighth of the budget.
pub const MAX_ENTRY: usize = BUDGET / 8;

struct Entry {
    changes: u64,
    rendered_at: OffsetDateTime,
    body: Bytes,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Entry>,
    /// Keys in the order they were put, oldest first (a key put again
    /// appears twice; the stale place is skipped when evicting).
    order: VecDeque<(String, OffsetDateTime)>,
    bytes: usize,
}

pub struct ResponseCache {
    changes: Changes,
    clock: Clock,
    entries: Mutex<Entries>,
    /// One gate per key being rendered now.
    rendering: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ResponseCache {
    pub fn new(changes: Changes, clock: Clock) -> Self {
        Self {
            changes,
            clock,
            entries: Mutex::new(Entries::default()),
            rendering: Mutex::new(HashMap::new()),
        }
    }

    /// The answer kept for `key`, else the one `render` makes (kept when
    /// it succeeds); one rendering per key at a time.
    pub async fn get_or_render<E, F, Fut>(&self, key: &str, render: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if let Some(body) = self.get(key) {
            return Ok(body);
        }
        let gate = Arc::clone(
            self.rendering
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.to_owned())
                .or_default(),
        );
        let turn = gate.lock().await;
        let result = match self.get(key) {
            Some(body) => Ok(body),
            None => {
                let changes = self.changes_now();
                let rendered = render().await;
                if let Ok(body) = &rendered {
                    self.put(key.to_owned(), changes, body.clone());
                }
                rendered
            }
        };
        drop(turn);
        let mut rendering = self
            .rendering
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Clones are made only under this lock: two (the map's and ours)
        // means no one else waits on this gate.
        if Arc::strong_count(&gate) <= 2 {
            rendering.remove(key);
        }
        result
    }

    /// The changes count to pass to [`put`](Self::put): read it *before*
    /// rendering, so a change during rendering invalidates the result.
    pub fn changes_now(&self) -> u64 {
        self.changes.total()
    }

    pub fn get(&self, key: &str) -> Option<Bytes> {
        let now = self.clock.now();
        let mut entries = self.lock();
        let entry = entries.by_key.get(key)?;
        let fresh = entry.changes == self.changes.total() && now - entry.rendered_at < MAX_AGE;
        if fresh {
            return Some(entry.body.clone());
        }
        entries.remove(key);
        None
    }

    pub fn put(&self, key: String, changes: u64, body: Bytes) {
        if body.len() > MAX_ENTRY {
            return;
        }
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.remove(&key);
        while entries.bytes + body.len() > BUDGET && entries.evict_oldest() {}
        entries.bytes += body.len();
        entries.order.push_back((key.clone(), now));
        entries.compact();
        entries.by_key.insert(
            key,
            Entry {
                changes,
                rendered_at: now,
                body,
            },
        );
    }

    /// The bytes held, and the number of answers.
    pub fn size(&self) -> (usize, usize) {
        let entries = self.lock();
        (entries.bytes, entries.by_key.len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves consistent data: every
        // change is a whole insert or remove.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some(old) = self.by_key.remove(key) {
            self.bytes -= old.body.len();
        }
    }

    /// Forgets the places of answers no longer held, once they outnumber
    /// the answers held, so the order never grows without bound.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.by_key.len() + 64 {
            let by_key = &self.by_key;
            self.order.retain(|(key, put_at)| {
                by_key
                    .get(key)
                    .is_some_and(|entry| entry.rendered_at == *put_at)
            });
        }
    }

    /// Drops the oldest answer still held; `false` when none is left.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, put_at)) = self.order.pop_front() {
            let current = self
                .by_key
                .get(&key)
                .is_some_and(|entry| entry.rendered_at == put_at);
            if current {
                self.remove(&key);
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn cache() -> (ResponseCache, Changes, ManualClock) {
        let changes = Changes::default();
        let clock = ManualClock::new(time::macros::datetime!(2026-12-01 10:00 UTC));
        (
            ResponseCache::new(changes.clone(), clock.clock()),
            changes,
            clock,
        )
    }

    #[test]
    fn an_answer_is_reused_until_something_changes() {
        let (cache, changes, _) = cache();
        let at = cache.changes_now();
        cache.put("k".into(), at, Bytes::from_static(b"v"));
        assert_eq!(cache.get("k").as_deref(), Some(&b"v"[..]));
        changes.bump_for("any post");
        assert_eq!(cache.get("k"), None);
        assert_eq!(cache.get("other"), None);
        assert_eq!(cache.size(), (0, 0), "a stale answer is dropped");
    }

    #[test]
    fn an_answer_rendered_while_something_changed_is_not_reused() {
        let (cache, changes, _) = cache();
        let at = cache.changes_now();
        changes.bump();
        cache.put("k".into(), at, Bytes::from_static(b"v"));
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn an_answer_expires_on_the_app_s_clock() {
        let (cache, _, clock) = cache();
        cache.put("k".into(), cache.changes_now(), Bytes::from_static(b"v"));
        clock.advance(MAX_AGE - Duration::from_millis(1));
        assert!(cache.get("k").is_some());
        clock.advance(Duration::from_millis(1));
        assert_eq!(cache.get("k"), None);
    }

    #[test]
    fn the_bodies_held_stay_within_the_budget_oldest_out_first() {
        let (cache, _, _) = cache();
        let body = Bytes::from(vec![b'x'; MAX_ENTRY]);
        for n in 0..80 {
            cache.put(format!("k{n}"), cache.changes_now(), body.clone());
            assert!(cache.size().0 <= BUDGET);
        }
        assert_eq!(cache.size(), (BUDGET, BUDGET / MAX_ENTRY));
        assert_eq!(cache.get("k0"), None);
        assert!(cache.get("k79").is_some());
        // Putting a key again does not count it twice.
        cache.put("k79".into(), cache.changes_now(), body.clone());
        assert_eq!(cache.size().0, BUDGET);
    }

    #[test]
    fn answers_put_again_and_again_leave_no_trail() {
        let (cache, changes, _) = cache();
        for _ in 0..1000 {
            cache.put("k".into(), cache.changes_now(), Bytes::from_static(b"v"));
            changes.bump();
            assert_eq!(cache.get("k"), None);
        }
        assert!(cache.lock().order.len() <= 66);
    }

    #[tokio::test]
    async fn concurrent_misses_of_one_key_render_it_once() {
        let (cache, _, _) = cache();
        let cache = Arc::new(cache);
        let renders = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (release, wait) = tokio::sync::watch::channel(false);
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (cache, renders, mut wait) =
                    (Arc::clone(&cache), Arc::clone(&renders), wait.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_render("k", || async move {
                            renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let _ = wait.wait_for(|go| *go).await;
                            Ok::<_, ()>(Bytes::from_static(b"v"))
                        })
                        .await
                })
            })
            .collect();
        tokio::task::yield_now().await;
        release.send_replace(true);
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), Bytes::from_static(b"v"));
        }
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(cache.rendering.lock().unwrap().is_empty());
    }

    #[test]
    fn an_answer_over_the_entry_limit_is_not_kept() {
        let (cache, _, _) = cache();
        let body = Bytes::from(vec![b'x'; MAX_ENTRY + 1]);
        cache.put("big".into(), cache.changes_now(), body);
        assert_eq!(cache.get("big"), None);
        assert_eq!(cache.size(), (0, 0));
    }
}
