//! A received webmention and the rules of its life.
//!
//! Verification (Webmention §3.2.2) and moderation are separate: a mention is
//! shown only when it is verified *and* approved. Re-sending a webmention
//! re-verifies the same record (keyed by source and target): it keeps its id
//! and its moderation state (§3.2.4 "Updating existing Webmentions").
//! Only a source that is gone (410) or answers without the link deletes an
//! already-verified mention (§3.2.4, deleting); anything else that goes
//! wrong on a later verification (a timeout, a 404 or 403, a type we cannot
//! read) keeps it as it was: a 404 is deliberately not a delete signal in
//! the spec (w3c/webmention#6). Re-verified content may need approval
//! again (`approval.rs`).

use std::fmt;

use url::Url;

pub use super::via::Via;

/// A mention's id: a positive integer, as webmention.io's `wm-id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MentionId(pub i64);

impl fmt::Display for MentionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Pending,
    Verified,
    Rejected { reason: String },
    Deleted { reason: String },
}

impl Verification {
    pub fn label(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected { .. } => "rejected",
            Self::Deleted { .. } => "deleted",
        }
    }

    /// The full reason: for the operator (logs, admin API, CLI).
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Rejected { reason } | Self::Deleted { reason } => Some(reason),
            Self::Pending | Self::Verified => None,
        }
    }

    /// What the public status resource may say of the reason: one of a few
    /// fixed phrases, never the detail (which can hold what our resolver
    /// answered, or which of our limits refused what). A reason written by
    /// anything else (another store, an import) gets the vaguest phrase.
    pub fn public_reason(&self) -> Option<&'static str> {
        let reason = self.reason()?;
        let starts = |prefix: &str| reason.starts_with(prefix);
        Some(if reason == reasons::GONE {
            reasons::GONE
        } else if reason == reasons::NO_LINK {
            reasons::NO_LINK
        } else if starts(reasons::FETCH_FAILED) || starts(reasons::GAVE_UP) {
            "the source could not be fetched"
        } else if starts(reasons::ERROR_STATUS) {
            "the source answered with an error"
        } else if starts(reasons::UNSUPPORTED_TYPE) {
            "the source's content type cannot be checked for links"
        } else if starts(reasons::BLOCKED) {
            "webmentions from this source are not accepted"
        } else {
            "the source could not be verified"
        })
    }
}

/// The reasons verification stores, or how they begin (a detail follows
/// after `: `). [`Verification::public_reason`] tells them apart by these.
pub mod reasons {
    pub const GONE: &str = "the source is gone (410)";
    pub const NO_LINK: &str = "the source does not link to the target";
    /// Followed by what the fetch said (which may name addresses).
    pub const FETCH_FAILED: &str = "fetching the source failed";
    /// Followed by the status code.
    pub const ERROR_STATUS: &str = "the source answered HTTP";
    pub const UNSUPPORTED_TYPE: &str = "the source's content type";
    /// The content was served from a blocked domain (after redirects).
    pub const BLOCKED: &str = "the source's content comes from a blocked domain";
    /// A transient failure that outlasted the retries.
    pub const GAVE_UP: &str = "gave up after";
}

/// A verification state without its reason: what the admin tools filter by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationState {
    Pending,
    Verified,
    Rejected,
    Deleted,
}

impl VerificationState {
    pub const ALL: [Self; 4] = [Self::Pending, Self::Verified, Self::Rejected, Self::Deleted];

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.label() == label)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Moderation {
    #[default]
    Approved,
    /// Waiting for the owner (manual moderation mode).
    Pending,
    Hidden,
}

impl Moderation {
    pub fn label(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Pending => "pending",
            Self::Hidden => "hidden",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        match label {
            "approved" => Some(Self::Approved),
            "pending" => Some(Self::Pending),
            "hidden" => Some(Self::Hidden),
            _ => None,
        }
    }
}

/// How the source relates to our target (its microformats2 property).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Relation {
    Reply,
    Like,
    Repost,
    Bookmark,
    Rsvp(String),
    #[default]
    Mention,
}

impl Relation {
    /// webmention.io's `wm-property`.
    pub fn property(&self) -> &'static str {
        match self {
            Self::Reply => "in-reply-to",
            Self::Like => "like-of",
            Self::Repost => "repost-of",
            Self::Bookmark => "bookmark-of",
            Self::Rsvp(_) => "rsvp",
            Self::Mention => "mention-of",
        }
    }

    pub fn from_property(property: &str, rsvp: Option<&str>) -> Option<Self> {
        Some(match property {
            "in-reply-to" => Self::Reply,
            "like-of" => Self::Like,
            "repost-of" => Self::Repost,
            "bookmark-of" => Self::Bookmark,
            "rsvp" => Self::Rsvp(rsvp.unwrap_or("yes").to_owned()),
            "mention-of" => Self::Mention,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Author {
    pub name: Option<String>,
    pub photo: Option<String>,
    pub url: Option<String>,
}

/// What the source says, already sanitised.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MentionData {
    pub relation: Relation,
    pub author: Option<Author>,
    /// Sanitised HTML.
    pub content_html: Option<String>,
    pub content_text: Option<String>,
    pub name: Option<String>,
    /// As the source wrote it (ISO 8601 is expected, not enforced).
    pub published: Option<String>,
    /// The mention's own permalink (`u-url`), else the source URL.
    pub url: Option<String>,
    pub via: Via,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub id: MentionId,
    pub source: Url,
    pub target: Url,
    pub verification: Verification,
    pub moderation: Moderation,
    pub data: Option<MentionData>,
    pub received_at: time::OffsetDateTime,
    pub updated_at: time::OffsetDateTime,
}

impl Mention {
    /// Shown on the site: verified and approved.
    pub fn is_visible(&self) -> bool {
        self.verification == Verification::Verified && self.moderation == Moderation::Approved
    }
}

/// What one verification attempt found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    Links(Box<MentionData>),
    /// 410 Gone, or a page that declares status 410.
    Gone,
    NoLink,
    /// A permanent problem with the source (unsupported type, 404, too large…).
    Unusable(String),
    /// A failure that may pass: timeout, DNS, connection, 5xx, 429.
    Transient(String),
}

/// What to do with the mention after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Verified with this content; moderation stays as it is.
    Verify(MentionData),
    /// Verified with this content, and moderation becomes this (see
    /// `approval::moderation_on_verify`).
    VerifyAndModerate(MentionData, Moderation),
    Reject(String),
    Delete(String),
    /// Try again later (the job's retry policy says when); the mention
    /// keeps its current state.
    Retry(String),
    /// Give up on this attempt but keep the (verified) mention as it is.
    Keep(String),
}

/// What a webhook tells the owner about a mention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionEvent {
    New,
    Updated,
    Deleted,
}

impl MentionEvent {
    pub fn label(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Updated => "updated",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        match label {
            "new" => Some(Self::New),
            "updated" => Some(Self::Updated),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }

    /// The event a settled attempt causes, if any.
    pub fn of(before: &Verification, transition: &Transition) -> Option<Self> {
        match (before, transition) {
            (Verification::Verified, Transition::Verify(_) | Transition::VerifyAndModerate(..)) => {
                Some(Self::Updated)
            }
            (_, Transition::Verify(_) | Transition::VerifyAndModerate(..)) => Some(Self::New),
            (_, Transition::Delete(_)) => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// The rule for one attempt: `attempt` is its number (1-based) and `last`
/// says whether the job's retry policy allows no further one.
pub fn decide(current: &Verification, finding: Finding, attempt: u32, last: bool) -> Transition {
    let was_verified = *current == Verification::Verified;
    let drop = |reason: &str| match current {
        Verification::Verified => Transition::Delete(reason.to_owned()),
        // Deleted already (a re-send queued while the deleting attempt
        // ran): it stays deleted, not rejected, and says so only once.
        Verification::Deleted { .. } => Transition::Keep(reason.to_owned()),
        Verification::Pending | Verification::Rejected { .. } => {
            Transition::Reject(reason.to_owned())
        }
    };
    match finding {
        Finding::Links(data) => Transition::Verify(*data),
        Finding::Gone => drop(reasons::GONE),
        Finding::NoLink => drop(reasons::NO_LINK),
        // Not a delete signal: the source may be back (a 404 or 403 in a
        // redeploy, a type we cannot read): what was verified stays.
        Finding::Unusable(reason) if was_verified => Transition::Keep(reason),
        Finding::Unusable(reason) => Transition::Reject(reason),
        Finding::Transient(reason) if !last => Transition::Retry(reason),
        Finding::Transient(reason) if was_verified => Transition::Keep(reason),
        Finding::Transient(reason) => {
            Transition::Reject(format!("{} {attempt} attempts: {reason}", reasons::GAVE_UP))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_whatever_the_state_was() {
        for current in [
            Verification::Pending,
            Verification::Verified,
            Verification::Deleted { reason: "x".into() },
        ] {
            let data = MentionData::default();
            assert_eq!(
                decide(&current, Finding::Links(Box::new(data.clone())), 1, false),
                Transition::Verify(data)
            );
        }
    }

    #[test]
    fn gone_or_unlinked_sources_reject_new_mentions_and_delete_verified_ones() {
        for finding in [Finding::Gone, Finding::NoLink] {
            assert!(matches!(
                decide(&Verification::Pending, finding.clone(), 1, false),
                Transition::Reject(_)
            ));
            assert!(matches!(
                decide(&Verification::Verified, finding, 1, false),
                Transition::Delete(_)
            ));
        }
    }

    #[test]
    fn a_deleted_mention_whose_source_is_still_gone_stays_deleted() {
        let deleted = Verification::Deleted {
            reason: reasons::GONE.into(),
        };
        for finding in [Finding::Gone, Finding::NoLink] {
            assert!(matches!(
                decide(&deleted, finding, 1, false),
                Transition::Keep(_)
            ));
        }
    }

    #[test]
    fn an_unusable_source_rejects_a_new_mention_but_never_deletes_a_verified_one() {
        for reason in [
            "the source answered HTTP 404",
            "the source answered HTTP 403",
            "the source's content type image/png cannot be checked for links",
        ] {
            let unusable = || Finding::Unusable(reason.into());
            assert_eq!(
                decide(&Verification::Pending, unusable(), 1, false),
                Transition::Reject(reason.into())
            );
            assert_eq!(
                decide(&Verification::Verified, unusable(), 1, false),
                Transition::Keep(reason.into())
            );
        }
    }

    #[test]
    fn transient_failures_retry_until_the_last_attempt_then_reject_a_new_mention() {
        let failure = || Finding::Transient("timed out".into());
        assert_eq!(
            decide(&Verification::Pending, failure(), 1, false),
            Transition::Retry("timed out".into())
        );
        assert_eq!(
            decide(&Verification::Pending, failure(), 3, true),
            Transition::Reject("gave up after 3 attempts: timed out".into())
        );
    }

    #[test]
    fn transient_failures_never_delete_or_hide_a_verified_mention() {
        let last = decide(
            &Verification::Verified,
            Finding::Transient("503".into()),
            3,
            true,
        );
        assert_eq!(last, Transition::Keep("503".into()));
    }

    #[test]
    fn verifying_is_new_or_updated_and_deleting_is_deleted() {
        let verify = Transition::Verify(MentionData::default());
        assert_eq!(
            MentionEvent::of(&Verification::Pending, &verify),
            Some(MentionEvent::New)
        );
        assert_eq!(
            MentionEvent::of(&Verification::Verified, &verify),
            Some(MentionEvent::Updated)
        );
        assert_eq!(
            MentionEvent::of(&Verification::Verified, &Transition::Delete("gone".into())),
            Some(MentionEvent::Deleted)
        );
        assert_eq!(
            MentionEvent::of(&Verification::Pending, &Transition::Reject("no".into())),
            None
        );
        assert_eq!(
            MentionEvent::of(&Verification::Verified, &Transition::Keep("503".into())),
            None
        );
        for event in [
            MentionEvent::New,
            MentionEvent::Updated,
            MentionEvent::Deleted,
        ] {
            assert_eq!(MentionEvent::parse(event.label()), Some(event));
        }
    }

    #[test]
    fn public_reasons_are_a_few_fixed_phrases_without_the_detail() {
        let rejected = |reason: &str| Verification::Rejected {
            reason: reason.to_owned(),
        };
        let table = [
            (reasons::GONE, reasons::GONE),
            (reasons::NO_LINK, reasons::NO_LINK),
            (
                "fetching the source failed: refused to connect to localhost: 127.0.0.1 is a loopback address",
                "the source could not be fetched",
            ),
            (
                "gave up after 6 attempts: fetching the source failed: could not resolve a.example: NXDOMAIN",
                "the source could not be fetched",
            ),
            (
                "the source answered HTTP 404",
                "the source answered with an error",
            ),
            (
                "the source's content type image/png cannot be checked for links",
                "the source's content type cannot be checked for links",
            ),
            (
                "the source's content comes from a blocked domain: spam.example",
                "webmentions from this source are not accepted",
            ),
            (
                "imported: whatever another store said",
                "the source could not be verified",
            ),
        ];
        for (stored, public) in table {
            assert_eq!(rejected(stored).public_reason(), Some(public), "{stored}");
        }
        let deleted = Verification::Deleted {
            reason: reasons::GONE.to_owned(),
        };
        assert_eq!(deleted.public_reason(), Some(reasons::GONE));
        assert_eq!(Verification::Verified.public_reason(), None);
    }

    #[test]
    fn relations_round_trip_through_their_property_names() {
        for relation in [
            Relation::Reply,
            Relation::Like,
            Relation::Repost,
            Relation::Bookmark,
            Relation::Mention,
        ] {
            assert_eq!(
                Relation::from_property(relation.property(), None),
                Some(relation)
            );
        }
        assert_eq!(
            Relation::from_property("rsvp", Some("maybe")),
            Some(Relation::Rsvp("maybe".into()))
        );
        assert_eq!(Relation::from_property("nonsense", None), None);
    }

    #[test]
    fn only_verified_and_approved_mentions_are_visible() {
        let mention = |verification, moderation| Mention {
            id: MentionId(1),
            source: Url::parse("https://a.example/").unwrap(),
            target: Url::parse("https://b.example/").unwrap(),
            verification,
            moderation,
            data: None,
            received_at: time::OffsetDateTime::UNIX_EPOCH,
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        };
        assert!(mention(Verification::Verified, Moderation::Approved).is_visible());
        assert!(!mention(Verification::Verified, Moderation::Pending).is_visible());
        assert!(!mention(Verification::Verified, Moderation::Hidden).is_visible());
        assert!(!mention(Verification::Pending, Moderation::Approved).is_visible());
    }
}
