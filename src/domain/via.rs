//! How a mention reached us: a webmention, or a fediverse activity
//! (`activitypub::conversation`), and how the stores keep that.

/// How a mention reached us.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Via {
    /// A webmention, verified by fetching its source.
    #[default]
    Webmention,
    /// An activity a fediverse account sent to the blog's actor
    /// (`activitypub::conversation`), verified by its HTTP Signature. The
    /// mention's source is the activity's object (a reply's note) or the
    /// activity itself (a like or boost).
    ActivityPub {
        /// `user@host` of the account.
        handle: String,
        /// The note a reply answers, when it is not the post itself: the
        /// source of another mention of the post (threading).
        in_reply_to: Option<String>,
    },
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredVia {
    activitypub: StoredFediverse,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredFediverse {
    handle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    in_reply_to: Option<String>,
}

impl Via {
    /// As the stores keep it: nothing for a webmention (so rows written
    /// before this existed read as webmentions), else a small JSON object.
    pub fn to_stored(&self) -> Option<String> {
        match self {
            Self::Webmention => None,
            Self::ActivityPub {
                handle,
                in_reply_to,
            } => serde_json::to_string(&StoredVia {
                activitypub: StoredFediverse {
                    handle: handle.clone(),
                    in_reply_to: in_reply_to.clone(),
                },
            })
            .ok(),
        }
    }

    /// The inverse of [`Via::to_stored`]; `None` for what it cannot read.
    pub fn from_stored(stored: Option<&str>) -> Option<Self> {
        let Some(stored) = stored else {
            return Some(Self::Webmention);
        };
        let StoredVia { activitypub } = serde_json::from_str(stored).ok()?;
        Some(Self::ActivityPub {
            handle: activitypub.handle,
            in_reply_to: activitypub.in_reply_to,
        })
    }

    pub fn is_activitypub(&self) -> bool {
        matches!(self, Self::ActivityPub { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn via_round_trips_through_its_stored_form() {
        assert_eq!(Via::Webmention.to_stored(), None);
        assert_eq!(Via::from_stored(None), Some(Via::Webmention));
        for via in [
            Via::ActivityPub {
                handle: "ann@social.example".into(),
                in_reply_to: None,
            },
            Via::ActivityPub {
                handle: "ann@social.example".into(),
                in_reply_to: Some("https://social.example/notes/1".into()),
            },
        ] {
            let stored = via.to_stored();
            assert_eq!(Via::from_stored(stored.as_deref()), Some(via));
        }
        assert_eq!(Via::from_stored(Some("not json")), None);
    }
}
