//! The webmention part of the storage contract: received mentions, their
//! durable verification queue, queries for the read API, and moderation.
//!
//! Invariant: a mention is written before its sender hears 201, and its
//! verification job lives in the store until it is settled, so a crash at
//! any moment loses nothing: an unsettled job's lease runs out and the next
//! worker takes it again.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;
use url::Url;

use super::{Imported, StoreError};
use crate::domain::mention::{
    Mention, MentionEvent, MentionId, Moderation, Transition, Verification,
};

/// A claimed webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub mention_id: MentionId,
    pub event: MentionEvent,
    /// Failed attempts before this one.
    pub attempts: u32,
    pub token: String,
}

/// A claimed verification job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationJob {
    pub mention_id: MentionId,
    pub source: Url,
    pub target: Url,
    /// Failed attempts before this one.
    pub attempts: u32,
    /// The mention's state when the job was claimed.
    pub current: Verification,
    /// Identifies this claim, so a holder whose lease ran out cannot settle
    /// a job another worker has taken since.
    pub token: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    Received,
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
    /// Only verified and approved mentions (the public read API).
    pub visible_only: bool,
    /// `wm-property` values to keep; empty keeps all.
    pub properties: Vec<String>,
    pub moderation: Option<Moderation>,
    /// Received strictly after this time.
    pub since: Option<OffsetDateTime>,
    /// Ids strictly greater than this.
    pub since_id: Option<MentionId>,
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
            visible_only: true,
            properties: Vec::new(),
            moderation: None,
            since: None,
            since_id: None,
            sort: SortField::default(),
            direction: SortDirection::default(),
            page: 0,
            per_page: 20,
        }
    }
}

#[async_trait]
pub trait MentionStore: Send + Sync {
    /// Records a webmention request and queues its verification now. A
    /// re-sent request (same source and target) keeps its id and moderation.
    async fn receive_mention(
        &self,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Result<MentionId, StoreError>;

    /// Claims the oldest due verification job for `lease`, if any.
    async fn claim_verification(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<VerificationJob>, StoreError>;

    /// Applies the outcome of an attempt. `false` when the claim was lost
    /// (another worker took the job after the lease ran out): nothing changes.
    /// With `notify`, a new, updated or deleted mention also queues a webhook
    /// delivery in the same transaction, so no event is ever lost.
    async fn settle_verification(
        &self,
        job: &VerificationJob,
        transition: &Transition,
        notify: bool,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Claims the oldest due webhook delivery for `lease`, if any.
    async fn claim_delivery(
        &self,
        now: OffsetDateTime,
        lease: Duration,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Finishes a delivery (`None`) or schedules another attempt after the
    /// delay. `false` when the claim was lost.
    async fn settle_delivery(
        &self,
        delivery: &Delivery,
        retry_after: Option<Duration>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Jobs not yet settled (for tests, status and shutdown reports).
    async fn pending_verifications(&self) -> Result<u64, StoreError>;

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
    /// verification job due at `now`, so it is finished here; no webhook
    /// delivery is queued.
    async fn import_mentions(
        &self,
        mentions: &[Mention],
        now: OffsetDateTime,
    ) -> Result<Vec<Imported>, StoreError>;
}
