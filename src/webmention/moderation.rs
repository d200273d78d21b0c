//! Moderation: approve, hide, delete, and block whole domains.
//!
//! Used by the admin API and the CLI alike. Blocking a domain refuses its
//! future webmentions (400 at the door) and hides the ones already received.

use super::Receiver;
use crate::domain::mention::{Mention, MentionId, Moderation};
use crate::domain::webmention::DomainList;
use crate::storage::{MentionQuery, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ModerationError {
    #[error("there is no mention {0}")]
    NotFound(MentionId),
    #[error("`{0}` is not a domain name like spam.example")]
    InvalidDomain(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long the admin's block list is trusted before it is read again.
pub(super) const BLOCKS_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Pages of this size are walked when a block hides existing mentions.
const BLOCK_PAGE: u32 = 500;

impl Receiver {
    pub async fn list(&self, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
        self.store.query_mentions(query).await
    }

    pub async fn approve(&self, id: MentionId) -> Result<(), ModerationError> {
        self.moderate(id, Moderation::Approved).await
    }

    pub async fn hide(&self, id: MentionId) -> Result<(), ModerationError> {
        self.moderate(id, Moderation::Hidden).await
    }

    async fn moderate(&self, id: MentionId, moderation: Moderation) -> Result<(), ModerationError> {
        let found = self
            .store
            .set_moderation(id, moderation, self.clock.now())
            .await?;
        self.changes.bump();
        found.then_some(()).ok_or(ModerationError::NotFound(id))
    }

    pub async fn delete(&self, id: MentionId) -> Result<(), ModerationError> {
        let found = self.store.remove_mention(id).await?;
        self.changes.bump();
        found.then_some(()).ok_or(ModerationError::NotFound(id))
    }

    /// Blocks `domain` and hides its existing mentions; returns how many.
    pub async fn block(&self, domain: &str) -> Result<u64, ModerationError> {
        let domain = normalise_domain(domain)?;
        self.store.block_domain(&domain, self.clock.now()).await?;
        self.forget_blocks();
        let blocked = DomainList::new([domain.clone()]);
        let mut hidden = 0;
        let mut page = 0;
        loop {
            let query = MentionQuery {
                visible_only: false,
                page,
                per_page: BLOCK_PAGE,
                ..MentionQuery::default()
            };
            let mentions = self.store.query_mentions(&query).await?;
            for mention in &mentions {
                let host = mention.source.host_str().unwrap_or_default();
                if blocked.matches(host) && mention.moderation != Moderation::Hidden {
                    self.store
                        .set_moderation(mention.id, Moderation::Hidden, self.clock.now())
                        .await?;
                    hidden += 1;
                }
            }
            if mentions.len() < BLOCK_PAGE as usize {
                break;
            }
            page += 1;
        }
        self.changes.bump();
        tracing::info!(%domain, hidden, "domain blocked");
        Ok(hidden)
    }

    pub async fn unblock(&self, domain: &str) -> Result<bool, ModerationError> {
        let found = self
            .store
            .unblock_domain(&normalise_domain(domain)?)
            .await?;
        self.forget_blocks();
        Ok(found)
    }

    pub async fn blocked_domains(&self) -> Result<Vec<String>, StoreError> {
        self.store.blocked_domains().await
    }

    /// Blocked by the admin (the configured list is checked with the
    /// other synchronous checks, in `WebmentionRequest::check`). The list is
    /// read from the store at most every few seconds: another instance's
    /// block takes effect here within `BLOCKS_TTL`, this instance's at once.
    pub(super) async fn is_blocked_by_admin(&self, host: &str) -> Result<bool, StoreError> {
        let cached = self.blocks.read().ok().and_then(|cache| {
            cache
                .as_ref()
                .filter(|(read_at, _)| self.clock.now() - *read_at < BLOCKS_TTL)
                .map(|(_, list)| list.matches(host))
        });
        if let Some(blocked) = cached {
            return Ok(blocked);
        }
        let list = DomainList::new(self.store.blocked_domains().await?);
        let blocked = list.matches(host);
        if let Ok(mut cache) = self.blocks.write() {
            *cache = Some((self.clock.now(), list));
        }
        Ok(blocked)
    }

    fn forget_blocks(&self) {
        if let Ok(mut cache) = self.blocks.write() {
            *cache = None;
        }
    }
}

fn normalise_domain(domain: &str) -> Result<String, ModerationError> {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(ModerationError::InvalidDomain(domain))
    }
}
