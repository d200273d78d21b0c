//! The webmention part of the storage contract: received mentions, queries
//! for the read API, and moderation.
//!
//! Invariant: a mention and its verification job (on the one job queue,
//! `jobs.rs`) are written together, before the sender hears 201, so a crash
//! at any moment loses nothing: an unsettled job's lease runs out and the
//! next worker takes it again.

use async_trait::async_trait;
use time::OffsetDateTime;
use url::Url;

use super::{Imported, StoreError};
use crate::domain::mention::{Mention, MentionId, Moderation, Transition, VerificationState};

/// What [`MentionStore::settle_mention`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Settled,
    /// The mention changed since the attempt read it: nothing was written.
    Changed,
    /// The mention was removed meanwhile.
    Gone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    Received,
    /// The source's published time, then the received time (webmention.io's
    /// `sort-by=published`).
    Published,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortDirection {
    Ascending,
    #[default]
    Descending,
}

/// Which mentions to return, in which order, which page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionQuery {
    /// Empty means every target.
    pub targets: Vec<Url>,
    /// Only targets on this host (a lower-case host name, as `Url` writes
    /// it), whatever their scheme and port: webmention.io's `domain`, one
    /// site's mentions. See [`host_prefixes`].
    pub domain: Option<String>,
    /// Only verified and approved mentions (the public read API).
    pub visible_only: bool,
    /// `wm-property` values to keep; empty keeps all.
    pub properties: Vec<String>,
    pub moderation: Option<Moderation>,
    /// Only mentions in this verification state.
    pub verification: Option<VerificationState>,
    /// Received strictly after this time.
    pub since: Option<OffsetDateTime>,
    /// Ids strictly greater than this.
    pub since_id: Option<MentionId>,
    /// Only mentions whose source or target contains this text, ignoring
    /// ASCII case (the admin pages' search).
    pub search: Option<String>,
    pub sort: SortField,
    pub direction: SortDirection,
    /// Zero-based.
    pub page: u32,
    pub per_page: u32,
}

impl Default for MentionQuery {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            domain: None,
            visible_only: true,
            properties: Vec::new(),
            moderation: None,
            verification: None,
            since: None,
            since_id: None,
            search: None,
            sort: SortField::default(),
            direction: SortDirection::default(),
            page: 0,
            per_page: 20,
        }
    }
}

/// The beginnings a stored target has when it lies on `host`: `http` or
/// `https`, then the host, then the path or a port. Stored targets are
/// serialised URLs (lower-case scheme and host, no userinfo), so a prefix
/// test is exact: `blog.example` never matches `blog.example.org` or
/// `www.blog.example`.
pub fn host_prefixes(host: &str) -> [String; 4] {
    [
        format!("http://{host}/"),
        format!("http://{host}:"),
        format!("https://{host}/"),
        format!("https://{host}:"),
    ]
}

/// The least string above every string that starts with `prefix` (its
/// last character bumped), for a range scan over an index; `None` when it
/// has no last character to bump.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    let last = chars.pop()?;
    let next = char::from_u32(u32::from(last) + 1)?;
    chars.push(next);
    Some(chars.into_iter().collect())
}

#[async_trait]
pub trait MentionStore: Send + Sync {
    /// Records a webmention request and, in the same atomic step, queues its
    /// verification (`NewJob::verify_mention`, due `now`). A re-sent request
    /// (same source and target) keeps its id and moderation, and is
    /// verified again.
    async fn receive_mention(
        &self,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<MentionId, StoreError>;

    /// Applies the outcome of a verification attempt to the mention
    /// (`Retry` and `Keep` change nothing), unless it changed since the
    /// attempt read it (`seen` is the `updated_at` it read): a re-sent
    /// webmention, or a moderation, makes the attempt's result stale, and a
    /// slow attempt must not overwrite a newer one's.
    async fn settle_mention(
        &self,
        id: MentionId,
        transition: &Transition,
        seen: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Settled, StoreError>;

    async fn find_mention(&self, id: MentionId) -> Result<Option<Mention>, StoreError>;

    async fn query_mentions(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError>;

    /// Counts matching mentions, ignoring paging.
    async fn count_mentions(&self, query: &MentionQuery) -> Result<u64, StoreError>;

    /// `false` when there is no such mention.
    async fn set_moderation(
        &self,
        id: MentionId,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Removes a mention and its job for good. `false` when there was none.
    async fn remove_mention(&self, id: MentionId) -> Result<bool, StoreError>;

    /// Adds a domain to the block list (idempotent).
    async fn block_domain(&self, domain: &str, now: OffsetDateTime) -> Result<(), StoreError>;

    /// `false` when the domain was not blocked.
    async fn unblock_domain(&self, domain: &str) -> Result<bool, StoreError>;

    /// Every blocked domain, sorted.
    async fn blocked_domains(&self) -> Result<Vec<String>, StoreError>;

    /// Every mention in any state (not removed ones), by ascending id,
    /// those with an id above `after`, at most `limit`: pages for copying a
    /// whole store.
    async fn export_mentions(
        &self,
        after: Option<MentionId>,
        limit: usize,
    ) -> Result<Vec<Mention>, StoreError>;

    /// Copies mentions from another store as they are (verification and
    /// its reason, moderation, data, received and updated times); one
    /// outcome per mention, in order. Idempotent by source and target: a
    /// pair the store has is left as it is (`Present`). The ids given are
    /// ignored: the store hands out its own. A pending mention gets a
    /// verification job due at `now` (as on receiving), so it is finished
    /// here; no webhook delivery is queued.
    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_prefix_matches_its_host_on_any_scheme_and_port_only() {
        let prefixes = host_prefixes("blog.example");
        let on = |url: &str| prefixes.iter().any(|p| url.starts_with(p.as_str()));
        assert!(on("https://blog.example/a/"));
        assert!(on("http://blog.example:8080/a/"));
        assert!(!on("https://blog.example.org/a/"));
        assert!(!on("https://www.blog.example/a/"));
    }

    #[test]
    fn a_prefix_ends_just_above_everything_it_starts() {
        assert_eq!(
            prefix_end("https://a.example/").as_deref(),
            Some("https://a.example0")
        );
        assert_eq!(
            prefix_end("https://a.example:").as_deref(),
            Some("https://a.example;")
        );
        assert_eq!(prefix_end(""), None);
    }
}
