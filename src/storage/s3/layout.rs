//! Every object key the S3 store uses, in one place; `docs/s3-layout.md`
//! describes the same layout for operators.
//!
//! Invariant: the seed's post objects sit at `<prefix>.mastodon-meta/<url
//! path without its leading slash>`, exactly where the seed puts them, and
//! everything else of ours sits under `<prefix>.backfeed/`, so the two never
//! collide. Every lookup the store needs is a read of a key computed here or
//! a listing of one small directory (one post's mentions, a queue, a set);
//! nothing lists the whole bucket.

use object_store::path::{Path, PathPart};
use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::PostUrl;
use crate::domain::job::JobId;
use crate::storage::StoreError;

pub struct Layout {
    /// Empty, or the prefix followed by `/`.
    prefix: String,
}

impl Layout {
    /// `prefix` is empty or a `/`-separated key prefix without leading or
    /// trailing slash.
    pub fn new(prefix: &str) -> Result<Self, StoreError> {
        let prefix = prefix.trim_matches('/');
        if prefix.is_empty() {
            return Ok(Self {
                prefix: String::new(),
            });
        }
        Path::parse(prefix)
            .map_err(|e| StoreError::Unavailable(format!("`{prefix}` is not a key prefix: {e}")))?;
        Ok(Self {
            prefix: format!("{prefix}/"),
        })
    }

    /// The seed's key for a post: `.mastodon-meta/` + the URL's path without
    /// its leading slash (so `/` gives `.mastodon-meta/` and `/a/` keeps its
    /// trailing slash). A raw key, not a `Path`: see `seed.rs`.
    pub fn seed_key(&self, url: &PostUrl) -> String {
        self.seed_path_key(url.path_without_leading_slash())
    }

    /// The seed's key for a URL path without its leading slash.
    pub fn seed_path_key(&self, path: &str) -> String {
        format!("{}{path}", self.seed_prefix())
    }

    /// Where the seed's keys start: `<prefix>.mastodon-meta/`.
    pub fn seed_prefix(&self) -> String {
        format!("{}.mastodon-meta/", self.prefix)
    }

    fn ours(&self, parts: &[&str]) -> Path {
        let mut path = Path::parse(format!("{}.backfeed", self.prefix))
            .expect("the prefix was checked in Layout::new");
        for part in parts {
            path = path.join(PathPart::from(*part));
        }
        path
    }

    /// A post's claim and state record.
    pub fn post(&self, url: &PostUrl) -> Path {
        self.ours(&["posts", &format!("{}.json", hash(&[url.as_str()]))])
    }

    pub fn posts(&self) -> Path {
        self.ours(&["posts"])
    }

    pub fn mention(&self, id: i64) -> Path {
        self.ours(&["mentions", "by-id", &format!("{}.json", padded_id(id))])
    }

    pub fn mentions(&self) -> Path {
        self.ours(&["mentions", "by-id"])
    }

    /// The directory of index entries of one target's mentions.
    pub fn target_mentions(&self, target: &Url) -> Path {
        self.ours(&["mentions", "by-target", &hash(&[target.as_str()])])
    }

    pub fn target_entry(&self, target: &Url, id: i64) -> Path {
        self.target_mentions(target).join(padded_id(id))
    }

    /// Source and target → the mention's id.
    pub fn pair(&self, source: &Url, target: &Url) -> Path {
        self.ours(&[
            "mentions",
            "by-pair",
            &format!("{}.json", hash(&[source.as_str(), target.as_str()])),
        ])
    }

    /// Another receiver's id for a mention (`storage::aliases`).
    pub fn mention_alias(&self, alias: &str) -> Path {
        self.ours(&["mentions", "aliases", &format!("{}.json", hash(&[alias]))])
    }

    /// The old verification queue (before the one job queue); read once,
    /// at start-up, to move what it holds.
    pub fn legacy_verify_queue(&self) -> Path {
        self.ours(&["jobs", "verify"])
    }

    /// The old webhook delivery queue and its records (as above).
    pub fn legacy_delivery_queue(&self) -> Path {
        self.ours(&["jobs", "deliver"])
    }

    pub fn legacy_delivery(&self, id: i64) -> Path {
        self.ours(&["deliveries", &format!("{}.json", padded_id(id))])
    }

    /// Present once the old queues have been moved onto the job queue.
    pub fn queue_format_marker(&self) -> Path {
        self.ours(&["queue", "format-1"])
    }

    /// A job's record.
    pub fn job(&self, id: &JobId) -> Path {
        self.jobs().join(format!("{id}.json"))
    }

    pub fn jobs(&self) -> Path {
        self.ours(&["queue", "jobs"])
    }

    /// The due index: one empty entry per queued or running job, named so
    /// that key order is due order.
    pub fn due_jobs(&self) -> Path {
        self.ours(&["queue", "due"])
    }

    /// The version of what comment threads show (`shown.rs`).
    pub fn shown(&self) -> Path {
        self.ours(&["shown.json"])
    }

    /// The queue's wake time (`wake.rs`): no due entry is earlier.
    pub fn queue_wake(&self) -> Path {
        self.ours(&["queue", "wake.json"])
    }

    pub fn due_entry(&self, due_ms: i64, id: &JobId) -> Path {
        self.due_jobs().join(format!("{:015}-{id}", due_ms.max(0)))
    }

    /// The dead index: one empty entry per dead job.
    pub fn dead_jobs(&self) -> Path {
        self.ours(&["queue", "dead"])
    }

    pub fn dead_entry(&self, id: &JobId) -> Path {
        self.dead_jobs().join(id.as_str())
    }

    /// A dedupe key → the job that holds it.
    pub fn job_key(&self, key: &str) -> Path {
        self.ours(&["queue", "keys", &format!("{}.json", hash(&[key]))])
    }

    pub fn blocked_domains(&self) -> Path {
        self.ours(&["blocked"])
    }

    pub fn hidden_replies(&self) -> Path {
        self.ours(&["hidden", "replies"])
    }

    pub fn hidden_accounts(&self) -> Path {
        self.ours(&["hidden", "accounts"])
    }

    /// A member of a set directory (blocked domains, hidden replies or
    /// accounts): the value itself, percent-encoded where a key needs it.
    pub fn member(&self, set: &Path, value: &str) -> Path {
        set.clone().join(PathPart::from(value))
    }

    pub fn threads(&self) -> Path {
        self.ours(&["threads"])
    }

    pub fn thread(&self, url: &PostUrl) -> Path {
        self.threads()
            .join(format!("{}.json", hash(&[url.as_str()])))
    }

    /// A secret (`storage::secrets`); names are checked to be key-safe.
    pub fn secret(&self, name: &str) -> Path {
        self.ours(&["secrets", &format!("{name}.json")])
    }

    /// A follower of the ActivityPub actor.
    pub fn follower(&self, actor: &str) -> Path {
        self.ours(&["followers", &format!("{}.json", hash(&[actor]))])
    }

    pub fn followers(&self) -> Path {
        self.ours(&["followers"])
    }

    /// A post the ActivityPub actor published.
    pub fn published(&self, url: &str) -> Path {
        self.ours(&["published", &format!("{}.json", hash(&[url]))])
    }

    pub fn published_all(&self) -> Path {
        self.ours(&["published"])
    }

    /// What one of our posts sent (its version, links and targets).
    pub fn sent_source(&self, source: &Url) -> Path {
        self.sent()
            .join(format!("{}.json", hash(&[source.as_str()])))
    }

    pub fn sent(&self) -> Path {
        self.ours(&["sent"])
    }

    /// One target's last attempt for one of our posts.
    pub fn sent_target(&self, source: &Url, target: &Url) -> Path {
        self.sent_targets(source)
            .join(format!("{}.json", hash(&[target.as_str()])))
    }

    /// The targets' objects of one of our posts.
    pub fn sent_targets(&self, source: &Url) -> Path {
        self.ours(&["sent-targets", &hash(&[source.as_str()])])
    }

    pub fn sent_targets_all(&self) -> Path {
        self.ours(&["sent-targets"])
    }

    /// A feed's validators and entry digests.
    pub fn feed(&self, feed: &Url) -> Path {
        self.ours(&["feeds", &format!("{}.json", hash(&[feed.as_str()]))])
    }

    pub fn probe(&self, name: &str) -> Path {
        self.ours(&["probe", name])
    }
}

/// Hex SHA-256 of the parts, each followed by a newline (so that `("a",
/// "bc")` and `("ab", "c")` differ).
fn hash(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

/// Ids padded to 19 digits, so that key order is id order.
fn padded_id(id: i64) -> String {
    format!("{:019}", id.max(0))
}

/// The id in a `by-id` or `by-target` name (`0000…42.json` or `0000…42`).
pub fn parse_id(name: &str) -> Option<i64> {
    name.strip_suffix(".json")
        .unwrap_or(name)
        .parse()
        .ok()
        .filter(|id| *id > 0)
}

/// The due time and job id in a due entry's name (`<due>-<job id>`).
pub fn parse_due_entry(name: &str) -> Option<(i64, JobId)> {
    let (due, id) = name.split_once('-')?;
    Some((due.parse().ok()?, JobId::parse(id)?))
}

/// The mention id in an old verification queue entry's name
/// (`<due>-<id>[-<job number>]`) or an old delivery queue entry's.
pub fn parse_legacy_entry(name: &str) -> Option<(i64, i64)> {
    let mut parts = name.split('-');
    let due = parts.next()?.parse().ok()?;
    Some((due, parse_id(parts.next()?)?))
}

/// A set member's value from its listed name.
pub fn decode_member(name: &str) -> String {
    percent_encoding::percent_decode_str(name)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_key_is_the_url_path_under_mastodon_meta_trailing_slash_and_all() {
        let root = Layout::new("").unwrap();
        let url = |u: &str| PostUrl::parse(u).unwrap();
        assert_eq!(
            root.seed_key(&url(
                "https://claassen.net/geek/blog/2024/02/mastodon-integration.html"
            )),
            ".mastodon-meta/geek/blog/2024/02/mastodon-integration.html"
        );
        assert_eq!(
            root.seed_key(&url("https://blog.example/posts/a/")),
            ".mastodon-meta/posts/a/"
        );
        assert_eq!(
            root.seed_key(&url("https://blog.example/")),
            ".mastodon-meta/"
        );
        let prefixed = Layout::new("/sites/blog/").unwrap();
        assert_eq!(
            prefixed.seed_key(&url("https://blog.example/p.html")),
            "sites/blog/.mastodon-meta/p.html"
        );
    }

    #[test]
    fn our_keys_sit_under_dot_backfeed_and_sort_by_due_then_id() {
        let layout = Layout::new("p").unwrap();
        assert_eq!(
            layout.mention(42).as_ref(),
            "p/.backfeed/mentions/by-id/0000000000000000042.json"
        );
        let (a, b) = (
            JobId::parse("00000000000aeeeeeeeeeeee").unwrap(),
            JobId::parse("000000000001000000000000").unwrap(),
        );
        let early = layout.due_entry(1_700_000_000_000, &a);
        let late = layout.due_entry(1_700_000_000_001, &b);
        assert!(early.as_ref() < late.as_ref());
        let name = late.filename().unwrap();
        assert_eq!(parse_due_entry(name), Some((1_700_000_000_001, b)));
        assert_eq!(
            parse_legacy_entry("001700000000001-0000000000000000005-2"),
            Some((1_700_000_000_001, 5))
        );
        assert_eq!(parse_id("0000000000000000042.json"), Some(42));
    }

    #[test]
    fn set_members_round_trip_through_their_encoded_names() {
        let layout = Layout::new("").unwrap();
        for value in ["spam.example", "troll@bad.example", "a%b", "x/y", ".."] {
            let key = layout.member(&layout.blocked_domains(), value);
            assert_eq!(decode_member(key.filename().unwrap()), value);
        }
    }
}
