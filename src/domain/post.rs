//! The life of one announced post: claimed → announced, or claimed → failed.
//!
//! The store, not Mastodon's one-hour `Idempotency-Key`, is the source of
//! truth for "has this post been tooted?". A request first *claims* the post
//! (atomically, in the store); only the claim holder talks to Mastodon. A
//! claim is a lease: if its holder dies, the lease runs out and the next
//! request takes the post over, so nothing is stuck forever.

use std::fmt;

use time::OffsetDateTime;

use super::PostUrl;

/// A Mastodon status id. Opaque: GoToSocial and Akkoma ids are not numbers,
/// so it is never parsed or compared numerically.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TootId(String);

impl TootId {
    /// Returns `None` for an empty id, which no server hands out.
    pub fn new(id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        (!id.trim().is_empty()).then_some(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TootId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one holder of a claim, so a late holder whose lease was taken
/// over cannot overwrite the new holder's result.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(String);

impl ClaimToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostState {
    /// Someone is composing and posting the toot right now.
    Claimed {
        token: ClaimToken,
        expires_at: OffsetDateTime,
    },
    /// The toot exists.
    Announced { toot_id: TootId },
    /// Mastodon refused the text for good (422): not retried on page views,
    /// only by `backfeed posts retry`.
    Failed { reason: String },
}

impl PostState {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Claimed { .. } => "claimed",
            Self::Announced { .. } => "announced",
            Self::Failed { .. } => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRecord {
    pub url: PostUrl,
    pub state: PostState,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// What `Store::claim_post` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// The caller holds the claim and must post (or release) the toot.
    Claimed(ClaimToken),
    /// Already tooted.
    Announced(TootId),
    /// Failed for good earlier.
    Failed(String),
    /// Another holder's lease is still running: wait and look again.
    InProgress,
}
