//! The stored form of a cached Mastodon thread: a versioned JSON document,
//! the same in every backend (SQLite's and PostgreSQL's `payload` column,
//! the S3 record's `payload`), kept apart from the domain's types so that
//! either can change without the other.
//!
//! Invariant: a cache is never an error. A payload written by another
//! version (no `format`, or one this version does not know) or one that
//! does not read back into domain values is treated as absent, and the
//! thread is fetched again.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::thread::{Emoji, Media, Reply, ReplyAuthor, StatusId, TootSummary};

/// Bumped whenever the shape below changes; older documents are refetched.
pub const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Document {
    format: u32,
    toot: StoredToot,
    replies: Vec<StoredReply>,
}

#[derive(Serialize, Deserialize)]
struct StoredToot {
    id: String,
    url: Option<String>,
    replies_count: u64,
    reblogs_count: u64,
    favourites_count: u64,
}

#[derive(Serialize, Deserialize)]
struct StoredEmoji {
    shortcode: String,
    url: String,
}

#[derive(Serialize, Deserialize)]
struct StoredAuthor {
    display_name: String,
    acct: String,
    avatar: Option<String>,
    url: Option<String>,
    emojis: Vec<StoredEmoji>,
}

#[derive(Serialize, Deserialize)]
struct StoredMedia {
    kind: String,
    url: String,
    preview_url: Option<String>,
    description: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredReply {
    id: String,
    in_reply_to_id: Option<String>,
    /// Mastodon's name for it; an unknown one reads back as unknown.
    visibility: Option<String>,
    author: StoredAuthor,
    content_html: String,
    content_text: String,
    spoiler_text: Option<String>,
    /// RFC 3339.
    created_at: String,
    edited_at: Option<String>,
    url: Option<String>,
    media: Vec<StoredMedia>,
    emojis: Vec<StoredEmoji>,
}

/// The document to store for a toot and its replies.
pub fn encode(toot: &TootSummary, replies: &[Reply]) -> serde_json::Result<String> {
    serde_json::to_string(&Document {
        format: FORMAT,
        toot: StoredToot {
            id: toot.id.to_string(),
            url: toot.url.clone(),
            replies_count: toot.replies_count,
            reblogs_count: toot.reblogs_count,
            favourites_count: toot.favourites_count,
        },
        replies: replies.iter().map(stored_reply).collect(),
    })
}

/// The toot and replies a stored document holds; `None` when it was
/// written by another version or does not read back.
pub fn decode(text: &str) -> Option<(TootSummary, Vec<Reply>)> {
    #[derive(Deserialize)]
    struct Format {
        #[serde(default)]
        format: u32,
    }
    if serde_json::from_str::<Format>(text).ok()?.format != FORMAT {
        return None;
    }
    let document: Document = serde_json::from_str(text).ok()?;
    let toot = TootSummary {
        id: StatusId::new(document.toot.id)?,
        url: document.toot.url,
        replies_count: document.toot.replies_count,
        reblogs_count: document.toot.reblogs_count,
        favourites_count: document.toot.favourites_count,
    };
    let replies = document
        .replies
        .into_iter()
        .map(domain_reply)
        .collect::<Option<Vec<_>>>()?;
    Some((toot, replies))
}

fn emojis(list: &[Emoji]) -> Vec<StoredEmoji> {
    list.iter()
        .map(|e| StoredEmoji {
            shortcode: e.shortcode.clone(),
            url: e.url.clone(),
        })
        .collect()
}

fn domain_emojis(list: Vec<StoredEmoji>) -> Vec<Emoji> {
    list.into_iter()
        .map(|e| Emoji {
            shortcode: e.shortcode,
            url: e.url,
        })
        .collect()
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn stored_reply(reply: &Reply) -> StoredReply {
    StoredReply {
        id: reply.id.to_string(),
        in_reply_to_id: reply.in_reply_to_id.as_ref().map(ToString::to_string),
        visibility: reply.visibility.map(|v| v.as_str().to_owned()),
        author: StoredAuthor {
            display_name: reply.author.display_name.clone(),
            acct: reply.author.acct.clone(),
            avatar: reply.author.avatar.clone(),
            url: reply.author.url.clone(),
            emojis: emojis(&reply.author.emojis),
        },
        content_html: reply.content_html.clone(),
        content_text: reply.content_text.clone(),
        spoiler_text: reply.spoiler_text.clone(),
        created_at: rfc3339(reply.created_at),
        edited_at: reply.edited_at.map(rfc3339),
        url: reply.url.clone(),
        media: reply
            .media
            .iter()
            .map(|m| StoredMedia {
                kind: m.kind.clone(),
                url: m.url.clone(),
                preview_url: m.preview_url.clone(),
                description: m.description.clone(),
            })
            .collect(),
        emojis: emojis(&reply.emojis),
    }
}

fn domain_reply(stored: StoredReply) -> Option<Reply> {
    let time = |text: &str| OffsetDateTime::parse(text, &Rfc3339).ok();
    Some(Reply {
        id: StatusId::new(stored.id)?,
        in_reply_to_id: match stored.in_reply_to_id {
            Some(parent) => Some(StatusId::new(parent)?),
            None => None,
        },
        visibility: stored.visibility.and_then(|v| v.parse().ok()),
        author: ReplyAuthor {
            display_name: stored.author.display_name,
            acct: stored.author.acct,
            avatar: stored.author.avatar,
            url: stored.author.url,
            emojis: domain_emojis(stored.author.emojis),
        },
        content_html: stored.content_html,
        content_text: stored.content_text,
        spoiler_text: stored.spoiler_text,
        created_at: time(&stored.created_at)?,
        edited_at: match stored.edited_at {
            Some(text) => Some(time(&text)?),
            None => None,
        },
        url: stored.url,
        media: stored
            .media
            .into_iter()
            .map(|m| Media {
                kind: m.kind,
                url: m.url,
                preview_url: m.preview_url,
                description: m.description,
            })
            .collect(),
        emojis: domain_emojis(stored.emojis),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Visibility;

    fn toot() -> TootSummary {
        TootSummary {
            id: StatusId::new("113").unwrap(),
            url: Some("https://social.example/@blog/113".into()),
            replies_count: 1,
            reblogs_count: 2,
            favourites_count: 3,
        }
    }

    fn reply() -> Reply {
        Reply {
            id: StatusId::new("114").unwrap(),
            in_reply_to_id: StatusId::new("113"),
            visibility: Some(Visibility::Unlisted),
            author: ReplyAuthor {
                display_name: "Alice".into(),
                acct: "alice@social.example".into(),
                avatar: None,
                url: None,
                emojis: vec![Emoji {
                    shortcode: "blobcat".into(),
                    url: "https://social.example/e.png".into(),
                }],
            },
            content_html: "<p>hi</p>".into(),
            content_text: "hi".into(),
            spoiler_text: Some("cw".into()),
            created_at: time::macros::datetime!(2026-11-22 10:44:12.345 UTC),
            edited_at: Some(time::macros::datetime!(2026-11-22 11:00 UTC)),
            url: None,
            media: vec![],
            emojis: vec![],
        }
    }

    #[test]
    fn a_thread_round_trips_through_its_stored_form() {
        let text = encode(&toot(), &[reply()]).unwrap();
        assert!(text.starts_with(r#"{"format":2,"#), "{text}");
        assert_eq!(decode(&text), Some((toot(), vec![reply()])));
    }

    #[test]
    fn older_unknown_or_unreadable_documents_are_absent_not_errors() {
        // What version 1 stored: the domain structs, no format.
        let old = r#"{"toot":{"id":"1","url":null,"replies_count":0,"reblogs_count":0,"favourites_count":0},"replies":[]}"#;
        for text in [
            old,
            r#"{"format":99,"toot":{},"replies":[]}"#,
            "not json",
            "",
        ] {
            assert_eq!(decode(text), None, "{text}");
        }
        let bad_time = encode(&toot(), &[reply()])
            .unwrap()
            .replace("2026-11-22T10:44:12.345Z", "yesterday");
        assert_eq!(decode(&bad_time), None);
    }
}
