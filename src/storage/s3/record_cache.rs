//! Mention records read earlier, kept with their ETags, so that a listing
//! of every mention (webmention.io's site-wide `token` / `domain`
//! listing, the admin's lists) reads only the records that changed since:
//! one LIST request per 1,000 mentions, and a GET only for a record whose
//! listed ETag differs from the kept one, instead of a GET per mention.
//!
//! Invariants: a kept copy is used only when the listing shows the very
//! ETag it was read with (S3 gives a version the same ETag in listings and
//! reads); records no longer listed are forgotten; the copies kept add up
//! to at most [`BUDGET`] bytes as stored (beyond it, records are read
//! every time, as without the cache).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::layout::parse_id;
use super::mention_record::MentionObject;
use super::objects::Listed;

/// The stored size of the copies kept, at most.
pub const BUDGET: u64 = 32 * 1024 * 1024;

struct Kept {
    e_tag: String,
    size: u64,
    record: MentionObject,
}

#[derive(Default)]
pub struct RecordCache {
    kept: Mutex<(HashMap<i64, Kept>, u64)>,
}

/// What a listing found in the cache.
pub struct Lookup {
    /// Copies whose ETag the listing confirms.
    pub found: Vec<MentionObject>,
    /// The listed ids to read, with their listed size.
    pub missing: Vec<(i64, u64)>,
}

impl RecordCache {
    /// Splits a listing of `mentions/by-id/` into kept copies and ids to
    /// read, and forgets what the listing no longer shows.
    pub fn lookup(&self, listed: &[Listed]) -> Lookup {
        let mut guard = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let (kept, bytes) = &mut *guard;
        let mut lookup = Lookup {
            found: Vec::new(),
            missing: Vec::new(),
        };
        let mut seen = HashMap::with_capacity(listed.len());
        for item in listed {
            let Some(id) = parse_id(&item.name) else {
                continue;
            };
            seen.insert(id, ());
            match (kept.get(&id), item.e_tag.as_deref()) {
                (Some(copy), Some(tag)) if copy.e_tag == tag => {
                    lookup.found.push(copy.record.clone());
                }
                _ => lookup.missing.push((id, item.size)),
            }
        }
        kept.retain(|id, copy| {
            let listed = seen.contains_key(id);
            if !listed {
                *bytes -= copy.size;
            }
            listed
        });
        lookup
    }

    /// Keeps a record read with `e_tag`, while the budget allows.
    pub fn keep(&self, e_tag: Option<&str>, size: u64, record: &MentionObject) {
        let Some(e_tag) = e_tag else {
            return;
        };
        let mut guard = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        let (kept, bytes) = &mut *guard;
        if let Some(old) = kept.remove(&record.id) {
            *bytes -= old.size;
        }
        if *bytes + size > BUDGET {
            return;
        }
        *bytes += size;
        kept.insert(
            record.id,
            Kept {
                e_tag: e_tag.to_owned(),
                size,
                record: record.clone(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use object_store::path::Path;
    use url::Url;

    use super::*;
    use crate::domain::mention::Moderation;

    fn listed(id: i64, e_tag: &str, size: u64) -> Listed {
        let name = format!("{id:019}.json");
        Listed {
            location: Path::from(format!("mentions/by-id/{name}")),
            name,
            last_modified_ms: 0,
            e_tag: Some(e_tag.to_owned()),
            size,
        }
    }

    fn record(id: i64) -> MentionObject {
        let url = Url::parse(&format!("https://a.example/{id}")).unwrap();
        MentionObject::received(
            id,
            &url,
            &url,
            Moderation::Approved,
            time::OffsetDateTime::UNIX_EPOCH,
        )
    }

    #[test]
    fn a_copy_is_used_only_while_the_listing_shows_its_etag() {
        let cache = RecordCache::default();
        let first = cache.lookup(&[listed(1, "a", 10), listed(2, "b", 10)]);
        assert!(first.found.is_empty());
        assert_eq!(first.missing, [(1, 10), (2, 10)]);
        cache.keep(Some("a"), 10, &record(1));
        cache.keep(Some("b"), 10, &record(2));
        let again = cache.lookup(&[listed(1, "a", 10), listed(2, "changed", 10)]);
        assert_eq!(again.found.iter().map(|r| r.id).collect::<Vec<_>>(), [1]);
        assert_eq!(again.missing, [(2, 10)]);
        // Record 1 is no longer listed: forgotten, its bytes given back.
        let gone = cache.lookup(&[listed(2, "b", 10)]);
        assert_eq!(gone.found.iter().map(|r| r.id).collect::<Vec<_>>(), [2]);
        assert_eq!(cache.kept.lock().unwrap().1, 10);
    }

    #[test]
    fn copies_stay_within_the_budget() {
        let cache = RecordCache::default();
        cache.keep(Some("a"), BUDGET, &record(1));
        cache.keep(Some("b"), 1, &record(2));
        let lookup = cache.lookup(&[listed(1, "a", BUDGET), listed(2, "b", 1)]);
        assert_eq!(lookup.found.len(), 1);
        assert_eq!(lookup.missing, [(2, 1)]);
    }
}
