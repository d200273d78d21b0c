//! What was sent: the webmentions a post's links got, and the rules that
//! decide which to send again (W3C Webmention §3.1.3–§3.1.5).
//!
//! Per source (one of our posts): the content version last queued and the
//! links it had then; per (source, target): the endpoint, how the last
//! attempt ended, attempts and time. Per feed: its conditional-GET
//! validators and the digest of each entry as last processed.
//!
//! The rules: a post whose content version is unchanged sends nothing
//! ([`targets_to_send`] is `None`); a changed one re-sends to every current
//! link and to every link removed since the last send (§3.1.4: "including
//! re-sending a Webmention to a URL that may have been removed"); a deleted
//! one re-sends to every target it ever linked (§3.1.5). Any 2xx is success
//! (§3.1.3); 408, 429 and 5xx may pass; other answers are final.
//!
//! Invariant: pure; time is passed in by the caller.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use time::OffsetDateTime;
use url::Url;

/// The version of a deleted post's re-sends: one per deletion, whatever
/// content the post had.
pub const GONE_VERSION: &str = "gone";

/// How the last attempt to send one webmention ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// The endpoint answered 2xx (or our own receiver took it).
    Sent,
    /// The target advertises no endpoint: nothing to send.
    NoEndpoint,
    /// A failure that may pass; another attempt is queued.
    Retrying,
    /// A failure that will not pass by trying again.
    Failed,
}

impl SendStatus {
    pub const ALL: [Self; 4] = [Self::Sent, Self::NoEndpoint, Self::Retrying, Self::Failed];

    pub fn label(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::NoEndpoint => "no-endpoint",
            Self::Retrying => "retrying",
            Self::Failed => "failed",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.label() == label)
    }

    /// Whether this ends the send of its version for good (so a re-queued
    /// job of the same version has nothing left to do).
    pub fn is_delivered(self) -> bool {
        matches!(self, Self::Sent | Self::NoEndpoint)
    }
}

impl fmt::Display for SendStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One attempt, as the sender reports it to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendAttempt {
    pub target: Url,
    /// The endpoint discovered (or `None` when there was none, or discovery
    /// failed before finding one).
    pub endpoint: Option<String>,
    pub status: SendStatus,
    /// The endpoint's (or the target's) HTTP status, when there was one.
    pub http_status: Option<u16>,
    /// What the endpoint answered (its `Location`, or the start of its
    /// body), or why the attempt failed.
    pub answer: Option<String>,
    /// The source's content version this attempt sent.
    pub version: String,
}

/// One (source, target) pair as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentTarget {
    pub target: Url,
    pub endpoint: Option<String>,
    pub status: SendStatus,
    pub http_status: Option<u16>,
    pub answer: Option<String>,
    /// Attempts for `version` (a new version starts again at 1).
    pub attempts: u32,
    /// The version of the last attempt.
    pub version: String,
    /// The last version whose send ended as sent or with no endpoint.
    pub delivered_version: Option<String>,
    pub updated_at: OffsetDateTime,
}

impl SentTarget {
    /// The record after `attempt` (`self` is the one before, if any).
    pub fn after(previous: Option<&Self>, attempt: &SendAttempt, now: OffsetDateTime) -> Self {
        let attempts = match previous {
            Some(p) if p.version == attempt.version => p.attempts.saturating_add(1),
            _ => 1,
        };
        let delivered_version = if attempt.status.is_delivered() {
            Some(attempt.version.clone())
        } else {
            previous.and_then(|p| p.delivered_version.clone())
        };
        Self {
            target: attempt.target.clone(),
            endpoint: attempt.endpoint.clone(),
            status: attempt.status,
            http_status: attempt.http_status,
            answer: attempt.answer.clone(),
            attempts,
            version: attempt.version.clone(),
            delivered_version,
            updated_at: now,
        }
    }
}

/// One of our posts as a webmention source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSource {
    pub source: Url,
    /// The content version last queued (`None` before the first).
    pub version: Option<String>,
    /// The links the post had at that version.
    pub links: Vec<Url>,
    /// The post answered 410 and its deletes were queued.
    pub gone: bool,
    pub updated_at: OffsetDateTime,
    /// Every target it was ever sent to, by target URL.
    pub targets: Vec<SentTarget>,
}

impl SentSource {
    pub fn target(&self, target: &Url) -> Option<&SentTarget> {
        self.targets.iter().find(|t| t.target == *target)
    }
}

/// The targets a post at `version` with `links` sends to: `None` when that
/// version was queued already (nothing to do); else every current link,
/// then every link of the previous version that is gone from the post.
pub fn targets_to_send(
    previous: Option<&SentSource>,
    links: &[Url],
    version: &str,
) -> Option<Vec<Url>> {
    if let Some(p) = previous
        && !p.gone
        && p.version.as_deref() == Some(version)
    {
        return None;
    }
    let mut targets = links.to_vec();
    for removed in previous.map(|p| p.links.as_slice()).unwrap_or_default() {
        if !targets.contains(removed) {
            targets.push(removed.clone());
        }
    }
    Some(targets)
}

/// A deleted post's targets: every target it ever linked (§3.1.5); empty
/// when its deletion was handled already.
pub fn targets_on_delete(previous: &SentSource) -> Vec<Url> {
    if previous.gone {
        return Vec::new();
    }
    let mut targets = previous.links.clone();
    for sent in &previous.targets {
        if !targets.contains(&sent.target) {
            targets.push(sent.target.clone());
        }
    }
    targets
}

/// How one endpoint answer counts (§3.1.3: "any 2xx response code MUST
/// be considered a success").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Success,
    /// May pass: 408, 429, 5xx; with the remote's `Retry-After`, if any.
    Transient {
        after: Option<Duration>,
    },
    Permanent,
}

pub fn classify_answer(status: u16, retry_after: Option<Duration>) -> Answer {
    match status {
        200..=299 => Answer::Success,
        408 | 425 | 429 | 500..=599 => Answer::Transient { after: retry_after },
        _ => Answer::Permanent,
    }
}

/// A feed as last read: its validators and what each entry said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedState {
    pub feed: Url,
    /// `ETag` and `Last-Modified` of the last complete read, for a
    /// conditional GET.
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Post URL → digest of its entry, for every entry processed.
    pub entries: BTreeMap<String, String>,
    pub checked_at: OffsetDateTime,
}

impl FeedState {
    pub fn new(feed: Url, now: OffsetDateTime) -> Self {
        Self {
            feed,
            etag: None,
            last_modified: None,
            entries: BTreeMap::new(),
            checked_at: now,
        }
    }
}

/// The dedupe key of a send: one queued job per source, target and version.
pub fn send_key(source: &Url, target: &Url, version: &str) -> String {
    format!("send-webmention:{source} {target} {version}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn url(path: &str) -> Url {
        Url::parse(&format!("https://t.example/{path}")).unwrap()
    }

    fn source(version: &str, links: &[&str], sent: &[&str]) -> SentSource {
        SentSource {
            source: url("post"),
            version: Some(version.into()),
            links: links.iter().map(|l| url(l)).collect(),
            gone: false,
            updated_at: NOW,
            targets: sent
                .iter()
                .map(|t| SentTarget {
                    target: url(t),
                    endpoint: None,
                    status: SendStatus::Sent,
                    http_status: Some(202),
                    answer: None,
                    attempts: 1,
                    version: "v0".into(),
                    delivered_version: Some("v0".into()),
                    updated_at: NOW,
                })
                .collect(),
        }
    }

    #[test]
    fn a_new_post_sends_to_each_link_and_an_unchanged_one_to_none() {
        let links = [url("a"), url("b")];
        assert_eq!(targets_to_send(None, &links, "v1"), Some(links.to_vec()));
        let stored = source("v1", &["a", "b"], &["a", "b"]);
        assert_eq!(targets_to_send(Some(&stored), &links, "v1"), None);
    }

    #[test]
    fn an_edited_post_re_sends_to_current_and_removed_links() {
        let stored = source("v1", &["a", "b"], &["a", "b", "old"]);
        let now = [url("a"), url("c")];
        assert_eq!(
            targets_to_send(Some(&stored), &now, "v2"),
            Some(vec![url("a"), url("c"), url("b")])
        );
    }

    #[test]
    fn a_deleted_post_re_sends_to_every_target_ever_once() {
        let mut stored = source("v2", &["a"], &["a", "b", "old"]);
        assert_eq!(
            targets_on_delete(&stored),
            vec![url("a"), url("b"), url("old")]
        );
        stored.gone = true;
        assert!(targets_on_delete(&stored).is_empty());
        // Published again after a deletion: everything is new again.
        assert_eq!(
            targets_to_send(Some(&stored), &[url("a")], "v2"),
            Some(vec![url("a")])
        );
    }

    #[test]
    fn any_2xx_succeeds_and_only_some_failures_are_worth_retrying() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(classify_answer(status, None), Answer::Success, "{status}");
        }
        let later = Some(Duration::from_secs(120));
        assert_eq!(
            classify_answer(429, later),
            Answer::Transient { after: later }
        );
        for status in [408, 500, 502, 503, 504] {
            assert!(
                matches!(classify_answer(status, None), Answer::Transient { .. }),
                "{status}"
            );
        }
        for status in [300, 400, 401, 403, 404, 410, 422] {
            assert_eq!(classify_answer(status, None), Answer::Permanent, "{status}");
        }
    }

    #[test]
    fn attempts_count_per_version_and_delivery_is_remembered() {
        let attempt = |status, version: &str| SendAttempt {
            target: url("a"),
            endpoint: Some("https://t.example/wm".into()),
            status,
            http_status: Some(503),
            answer: None,
            version: version.into(),
        };
        let first = SentTarget::after(None, &attempt(SendStatus::Retrying, "v1"), NOW);
        assert_eq!(
            (first.attempts, first.delivered_version.as_deref()),
            (1, None)
        );
        let second = SentTarget::after(Some(&first), &attempt(SendStatus::Sent, "v1"), NOW);
        assert_eq!(
            (second.attempts, second.delivered_version.as_deref()),
            (2, Some("v1"))
        );
        let edited = SentTarget::after(Some(&second), &attempt(SendStatus::Failed, "v2"), NOW);
        assert_eq!(
            (edited.attempts, edited.delivered_version.as_deref()),
            (1, Some("v1"))
        );
        for status in SendStatus::ALL {
            assert_eq!(SendStatus::parse(status.label()), Some(status));
        }
    }
}
