//! Importing records copied from another store (`backfeed migrate`): what
//! each backend's `import_posts` and `import_mentions` answer, and the one
//! rule, shared by every backend, for a post that the destination may
//! already know.
//!
//! Invariant: an import never overwrites what the destination already
//! holds, except to record a toot for a post it only knew as failed or
//! claimed (the toot exists on Mastodon either way, as `record_toot`
//! holds). The first toot recorded wins; a different one is a conflict that
//! changes nothing. So importing the same records again changes nothing.

use crate::domain::{PostState, TootId};

/// What importing one record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Imported {
    /// Written to the destination.
    Copied,
    /// The destination already had it (or knows more); nothing changed.
    Present,
    /// The destination holds something else under the same key, and keeps
    /// it: `kept` says what (e.g. its toot id).
    Conflict { kept: String },
}

/// What to do with one imported post, given the destination's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostImport {
    /// The destination has no record: write the incoming one.
    Insert,
    /// The destination's record (failed, or a claim) gives way to the
    /// incoming toot.
    Replace,
    Present,
    /// The destination recorded another toot, which stays.
    Conflict(TootId),
}

/// The rule every backend applies. Claims are never imported: a claim in
/// flight belongs to a process of the old store.
pub fn decide_post(existing: Option<&PostState>, incoming: &PostState) -> PostImport {
    match (existing, incoming) {
        (_, PostState::Claimed { .. }) => PostImport::Present,
        (None, _) => PostImport::Insert,
        (Some(PostState::Announced { toot_id: kept }), PostState::Announced { toot_id }) => {
            if kept == toot_id {
                PostImport::Present
            } else {
                PostImport::Conflict(kept.clone())
            }
        }
        (Some(_), PostState::Announced { .. }) => PostImport::Replace,
        (Some(_), PostState::Failed { .. }) => PostImport::Present,
    }
}

impl PostImport {
    /// The outcome reported for a decision that was carried out.
    pub fn outcome(&self) -> Imported {
        match self {
            Self::Insert | Self::Replace => Imported::Copied,
            Self::Present => Imported::Present,
            Self::Conflict(kept) => Imported::Conflict {
                kept: format!("toot {kept}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ClaimToken;

    fn announced(id: &str) -> PostState {
        PostState::Announced {
            toot_id: TootId::new(id).unwrap(),
        }
    }

    fn failed() -> PostState {
        PostState::Failed {
            reason: "422".into(),
        }
    }

    fn claimed() -> PostState {
        PostState::Claimed {
            token: ClaimToken::new("t"),
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_post_the_destination_lacks_is_inserted_whatever_its_final_state() {
        assert_eq!(decide_post(None, &announced("1")), PostImport::Insert);
        assert_eq!(decide_post(None, &failed()), PostImport::Insert);
    }

    #[test]
    fn the_first_recorded_toot_wins_and_another_is_a_conflict() {
        assert_eq!(
            decide_post(Some(&announced("1")), &announced("1")),
            PostImport::Present
        );
        assert_eq!(
            decide_post(Some(&announced("1")), &announced("2")),
            PostImport::Conflict(TootId::new("1").unwrap())
        );
        assert_eq!(
            decide_post(Some(&announced("1")), &failed()),
            PostImport::Present
        );
    }

    #[test]
    fn a_toot_replaces_a_failure_or_a_claim_but_a_failure_replaces_nothing() {
        assert_eq!(
            decide_post(Some(&failed()), &announced("1")),
            PostImport::Replace
        );
        assert_eq!(
            decide_post(Some(&claimed()), &announced("1")),
            PostImport::Replace
        );
        assert_eq!(decide_post(Some(&failed()), &failed()), PostImport::Present);
        assert_eq!(
            decide_post(Some(&claimed()), &failed()),
            PostImport::Present
        );
    }

    #[test]
    fn claims_are_never_imported() {
        assert_eq!(decide_post(None, &claimed()), PostImport::Present);
    }
}
