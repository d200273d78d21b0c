//! A counter of changes to what comment threads show.
//!
//! Rendered threads are cached in memory; anything that changes what a
//! thread shows (a mention verified, deleted or moderated, a reply hidden)
//! bumps the counter, and a rendered thread is only reused while the counter
//! still has the value it was rendered at. Coarse, cheap and always correct.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Default)]
pub struct Changes(Arc<AtomicU64>);

impl Changes {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
