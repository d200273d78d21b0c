//! Who approves a verified mention, and what an approval covers.
//!
//! In manual moderation, a mention is shown once the owner approves it, or
//! at once when its content comes from an allowed domain. Two rules keep
//! that promise whatever the sender does:
//!
//! - **The content's origin is judged, not the URL sent.** A source URL on
//!   an allowed domain may redirect (up to 20 times) anywhere; what is shown
//!   is what the last hop served. So a mention is trusted only when both the
//!   source URL's host and the host that served the content are allowed, and
//!   it is refused when either is blocked (intermediate hops serve nothing
//!   and are not judged).
//! - **An approval covers the content that was approved.** Re-sending a
//!   webmention re-verifies it in place (Webmention §3.2.4); when the
//!   content differs from what the owner approved, it waits for approval
//!   again (unless it is trusted).
//!
//! The owner's own decisions stand: a hidden mention stays hidden, and in
//! automatic mode nothing here changes anything.

use super::mention::{MentionData, Moderation, Transition};
use super::webmention::DomainList;

/// The owner's moderation settings, as far as approving goes.
#[derive(Debug, Clone, Copy)]
pub struct Rules<'a> {
    /// Manual moderation (else everything verified is shown).
    pub manual: bool,
    pub allowed: &'a DomainList,
}

/// Where a verified mention's content came from.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The host of the source URL the sender gave.
    pub source_host: &'a str,
    /// The host that served the content (after redirects).
    pub content_host: &'a str,
}

impl Origin<'_> {
    /// Both hosts are allowed.
    pub fn is_trusted(&self, allowed: &DomainList) -> bool {
        allowed.matches(self.source_host) && allowed.matches(self.content_host)
    }

    /// The first of the two hosts that `blocked` refuses.
    pub fn blocked_host<'h>(&'h self, blocked: &DomainList) -> Option<&'h str> {
        [self.source_host, self.content_host]
            .into_iter()
            .find(|host| blocked.matches(host))
    }
}

/// A new mention's moderation before anything is verified: in manual mode
/// it waits (whether it is trusted is known only once its content is).
pub fn initial(rules: Rules<'_>) -> Moderation {
    if rules.manual {
        Moderation::Pending
    } else {
        Moderation::Approved
    }
}

/// The moderation a mention gets when `data` is verified for it: `current`
/// is its moderation now, `previous` the content verified before (`None`
/// when it never was).
pub fn moderation_on_verify(
    rules: Rules<'_>,
    origin: Origin<'_>,
    current: Moderation,
    previous: Option<&MentionData>,
    data: &MentionData,
) -> Moderation {
    match current {
        Moderation::Hidden => Moderation::Hidden,
        _ if !rules.manual => current,
        _ if origin.is_trusted(rules.allowed) => Moderation::Approved,
        Moderation::Approved if previous != Some(data) => Moderation::Pending,
        other => other,
    }
}

/// `transition` with the moderation [`moderation_on_verify`] decides, when
/// it verifies content and that changes the moderation.
pub fn apply(
    transition: Transition,
    rules: Rules<'_>,
    origin: Origin<'_>,
    current: Moderation,
    previous: Option<&MentionData>,
) -> Transition {
    match transition {
        Transition::Verify(data) => {
            match moderation_on_verify(rules, origin, current, previous, &data) {
                next if next == current => Transition::Verify(data),
                next => Transition::VerifyAndModerate(data, next),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(text: &str) -> MentionData {
        MentionData {
            content_text: Some(text.to_owned()),
            ..MentionData::default()
        }
    }

    fn allowed() -> DomainList {
        DomainList::new(["friend.example".to_owned()])
    }

    const FROM_FRIEND: Origin<'static> = Origin {
        source_host: "blog.friend.example",
        content_host: "friend.example",
    };
    const REDIRECTED: Origin<'static> = Origin {
        source_host: "friend.example",
        content_host: "spam.example",
    };
    const STRANGER: Origin<'static> = Origin {
        source_host: "stranger.example",
        content_host: "stranger.example",
    };

    #[test]
    fn trust_needs_both_the_source_and_the_content_host_allowed() {
        assert!(FROM_FRIEND.is_trusted(&allowed()));
        assert!(!REDIRECTED.is_trusted(&allowed()));
        let reversed = Origin {
            source_host: "spam.example",
            content_host: "friend.example",
        };
        assert!(!reversed.is_trusted(&allowed()));
    }

    #[test]
    fn a_block_on_either_host_refuses() {
        let blocked = DomainList::new(["spam.example".to_owned()]);
        assert_eq!(REDIRECTED.blocked_host(&blocked), Some("spam.example"));
        assert_eq!(FROM_FRIEND.blocked_host(&blocked), None);
    }

    #[test]
    fn in_manual_mode_the_rules_decide_by_origin_and_content() {
        let allowed = allowed();
        let manual = Rules {
            manual: true,
            allowed: &allowed,
        };
        use Moderation::*;
        let v1 = data("v1");
        let table = [
            // (case, origin, current, previous, expected)
            (
                "a trusted first verification",
                FROM_FRIEND,
                Pending,
                None,
                Approved,
            ),
            (
                "an open redirect on a trusted domain",
                REDIRECTED,
                Pending,
                None,
                Pending,
            ),
            (
                "a stranger's first verification",
                STRANGER,
                Pending,
                None,
                Pending,
            ),
            (
                "an approved stranger, same content",
                STRANGER,
                Approved,
                Some(&v1),
                Approved,
            ),
            (
                "an approved stranger, new content",
                STRANGER,
                Approved,
                Some(&data("v2")),
                Pending,
            ),
            (
                "approved before any content was seen",
                STRANGER,
                Approved,
                None,
                Pending,
            ),
            (
                "trusted, new content",
                FROM_FRIEND,
                Approved,
                Some(&data("v2")),
                Approved,
            ),
            (
                "hidden by the owner, trusted",
                FROM_FRIEND,
                Hidden,
                None,
                Hidden,
            ),
            (
                "hidden by the owner, new content",
                STRANGER,
                Hidden,
                Some(&data("v2")),
                Hidden,
            ),
        ];
        for (case, origin, current, previous, expected) in table {
            assert_eq!(
                moderation_on_verify(manual, origin, current, previous, &v1),
                expected,
                "{case}"
            );
        }
    }

    #[test]
    fn in_automatic_mode_nothing_changes() {
        let allowed = allowed();
        let auto = Rules {
            manual: false,
            allowed: &allowed,
        };
        for current in [
            Moderation::Approved,
            Moderation::Pending,
            Moderation::Hidden,
        ] {
            assert_eq!(
                moderation_on_verify(auto, STRANGER, current, Some(&data("a")), &data("b")),
                current
            );
        }
        assert_eq!(initial(auto), Moderation::Approved);
    }

    #[test]
    fn a_changed_moderation_rides_on_the_verification() {
        let allowed = allowed();
        let manual = Rules {
            manual: true,
            allowed: &allowed,
        };
        let changed = apply(
            Transition::Verify(data("new")),
            manual,
            STRANGER,
            Moderation::Approved,
            Some(&data("old")),
        );
        assert_eq!(
            changed,
            Transition::VerifyAndModerate(data("new"), Moderation::Pending)
        );
        let same = apply(
            Transition::Verify(data("old")),
            manual,
            STRANGER,
            Moderation::Approved,
            Some(&data("old")),
        );
        assert_eq!(same, Transition::Verify(data("old")));
        let rejected = apply(
            Transition::Reject("no".into()),
            manual,
            STRANGER,
            Moderation::Approved,
            None,
        );
        assert_eq!(rejected, Transition::Reject("no".into()));
        assert_eq!(initial(manual), Moderation::Pending);
    }
}
