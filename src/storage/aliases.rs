//! Other receivers' names for a mention: the status ids the Lambda +
//! DynamoDB receiver (pfych/web-mentions) handed its senders in
//! `Location: /web-mentions/status/{id}`, kept when its tables are
//! imported so those addresses keep answering.
//!
//! Invariant: an alias names one mention for good: the first mention
//! recorded for it keeps it, and recording it again changes nothing.
//! Removing the mention removes what its aliases answer (a lookup then
//! finds no mention).

use async_trait::async_trait;

use super::{Imported, StoreError};
use crate::domain::mention::MentionId;

#[async_trait]
pub trait MentionAliasStore: Send + Sync {
    /// Records `alias` as naming mention `id`: `Copied` when new,
    /// `Present` when it named `id` already, `Conflict` when it names
    /// another mention (which keeps it).
    async fn alias_mention(&self, alias: &str, id: MentionId) -> Result<Imported, StoreError>;

    /// The mention `alias` names, if any.
    async fn find_mention_alias(&self, alias: &str) -> Result<Option<MentionId>, StoreError>;
}

/// The outcome of recording `alias` for `id` when `kept` is what the
/// store already holds for it.
pub fn outcome(kept: Option<MentionId>, id: MentionId) -> Imported {
    match kept {
        None => Imported::Copied,
        Some(kept) if kept == id => Imported::Present,
        Some(kept) => Imported::Conflict {
            kept: format!("mention {}", kept.0),
        },
    }
}
