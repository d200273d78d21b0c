//! Reading a webmention.io export: pages of `/api/mentions.jf2`
//! (`{"type":"feed","children":[…]}`), one after another in a file or in a
//! JSON array, into verified mentions (our read API, `protocol::jf2`, writes
//! the same shape).
//!
//! Invariant: the file is someone else's output and its HTML is hostile:
//! content HTML passes through the sanitiser, author and mention URLs must
//! be http(s), text is length-capped, exactly as for a source we fetched
//! ourselves (`webmention::extract`). An entry that cannot make a mention
//! is reported and skipped; the rest are imported. A private entry
//! (`wm-private: true`) waits for the owner (moderation pending) instead of
//! being shown.

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::domain::mention::{
    Author, Mention, MentionData, MentionId, Moderation, Relation, Verification, Via,
};
use crate::protocol::sanitize::{
    MAX_CONTENT, MAX_TEXT, capped, plain_text, safe_url, sanitize_html,
};

/// What the file holds.
#[derive(Debug, Default)]
pub struct Export {
    pub mentions: Vec<Mention>,
    /// Entries that make no mention, with why.
    pub invalid: Vec<String>,
}

impl Export {
    pub fn read(&self) -> u64 {
        (self.mentions.len() + self.invalid.len()) as u64
    }
}

/// Parses the whole file; `Err` when it is not JSON at all (nothing is
/// imported from a file that cannot be read to its end).
pub fn parse(text: &str, now: OffsetDateTime) -> Result<Export, String> {
    let mut export = Export::default();
    let documents = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let mut page = 0;
    for document in documents {
        let document = document.map_err(|e| format!("not JSON: {e}"))?;
        let pages = match document {
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in pages {
            page += 1;
            match item {
                Value::Object(object) if object.contains_key("children") => {
                    let children = match object.get("children") {
                        Some(Value::Array(children)) => children.as_slice(),
                        _ => &[],
                    };
                    for (n, child) in children.iter().enumerate() {
                        let at = format!("page {page} entry {}", n + 1);
                        export.add(child, &at, now);
                    }
                }
                // A bare entry, as in an array of entries.
                Value::Object(object) if object.contains_key("wm-source") => {
                    export.add(&Value::Object(object), &format!("item {page}"), now);
                }
                _ => export
                    .invalid
                    .push(format!("item {page}: not a JF2 feed page or entry")),
            }
        }
    }
    Ok(export)
}

impl Export {
    fn add(&mut self, entry: &Value, at: &str, now: OffsetDateTime) {
        match mention(entry, now) {
            Ok(mention) => self.mentions.push(mention),
            Err(why) => {
                let id = entry
                    .get("wm-id")
                    .map(|id| format!(" (wm-id {id})"))
                    .unwrap_or_default();
                self.invalid.push(format!("{at}{id}: {why}"));
            }
        }
    }
}

fn mention(entry: &Value, now: OffsetDateTime) -> Result<Mention, String> {
    let entry = entry.as_object().ok_or("not an object")?;
    let source = http_url(entry, "wm-source")?;
    let target = http_url(entry, "wm-target")?;
    let property = text(entry, "wm-property").unwrap_or_else(|| "mention-of".to_owned());
    let rsvp = text(entry, "rsvp").map(|r| capped(&r.to_ascii_lowercase(), MAX_TEXT));
    let relation = Relation::from_property(&property, rsvp.as_deref())
        .ok_or_else(|| format!("unknown wm-property `{}`", capped(&property, 40)))?;
    let received_at = time(entry, "wm-received")
        .or_else(|| time(entry, "published"))
        .unwrap_or(now);
    let private = entry.get("wm-private").and_then(Value::as_bool) == Some(true);
    let (content_html, content_text) = content(entry.get("content"), &source);
    let data = MentionData {
        relation,
        author: entry.get("author").and_then(author),
        content_html,
        content_text,
        name: text(entry, "name").map(|n| capped(&n, MAX_TEXT)),
        published: text(entry, "published").map(|p| capped(&p, MAX_TEXT)),
        url: text(entry, "url")
            .and_then(|u| safe_url(&u))
            .or_else(|| Some(source.to_string())),
        via: Via::Webmention,
    };
    Ok(Mention {
        id: MentionId(0),
        source,
        target,
        verification: Verification::Verified,
        moderation: if private {
            Moderation::Pending
        } else {
            Moderation::Approved
        },
        data: Some(data),
        received_at,
        updated_at: received_at,
    })
}

fn text(entry: &Map<String, Value>, key: &str) -> Option<String> {
    entry
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn http_url(entry: &Map<String, Value>, key: &str) -> Result<Url, String> {
    let value = text(entry, key).ok_or_else(|| format!("no {key}"))?;
    let url = Url::parse(&value).map_err(|_| format!("{key} is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{key} is not an http(s) URL"));
    }
    Ok(url)
}

fn time(entry: &Map<String, Value>, key: &str) -> Option<OffsetDateTime> {
    text(entry, key).and_then(|t| OffsetDateTime::parse(&t, &Rfc3339).ok())
}

fn author(value: &Value) -> Option<Author> {
    let card = value.as_object()?;
    let author = Author {
        name: text(card, "name").map(|n| capped(&n, MAX_TEXT)),
        photo: text(card, "photo").and_then(|u| safe_url(&u)),
        url: text(card, "url").and_then(|u| safe_url(&u)),
    };
    (author != Author::default()).then_some(author)
}

/// `content` as `{html, text}` (or a plain string): the HTML sanitised
/// against the source, the text as given, else taken from the HTML.
fn content(value: Option<&Value>, source: &Url) -> (Option<String>, Option<String>) {
    let (html, text) = match value {
        Some(Value::Object(content)) => (text_of(content, "html"), text_of(content, "text")),
        Some(Value::String(text)) => (None, Some(text.clone())),
        _ => (None, None),
    };
    let html = match (&html, &text) {
        (Some(html), _) => Some(sanitize_html(&capped(html, MAX_CONTENT), source)),
        (None, Some(text)) => Some(ammonia::clean_text(&capped(text, MAX_CONTENT))),
        (None, None) => None,
    };
    let text = text
        .or_else(|| html.as_deref().map(plain_text))
        .map(|t| capped(t.trim(), MAX_CONTENT));
    (
        html.filter(|h| !h.trim().is_empty()),
        text.filter(|t| !t.is_empty()),
    )
}

fn text_of(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    fn entry(extra: &str) -> String {
        format!(
            r#"{{"type":"entry","wm-id":7,"wm-source":"https://alice.example/r/1",
               "wm-target":"https://blog.example/p/","wm-property":"in-reply-to",
               "wm-received":"2024-02-03T04:05:06Z"{extra}}}"#
        )
    }

    #[test]
    fn pages_may_follow_each_other_or_sit_in_an_array() {
        let page = format!(r#"{{"type":"feed","children":[{}]}}"#, entry(""));
        for text in [format!("{page}\n{page}"), format!("[{page},{page}]")] {
            let export = parse(&text, now()).unwrap();
            assert_eq!(export.mentions.len(), 2, "{text}");
            assert!(export.invalid.is_empty());
        }
        assert!(parse("{\"type\":\"feed\",", now()).is_err());
    }

    #[test]
    fn an_entry_becomes_a_verified_approved_mention_with_safe_content() {
        let text = entry(
            r#","author":{"name":"Alice","photo":"javascript:alert(1)","url":"https://alice.example/"},
               "content":{"html":"<p onclick=\"x()\">Hi<script>alert(2)</script></p>","text":"Hi"},
               "url":"javascript:alert(3)","published":"2024-02-03T00:00:00Z""#,
        );
        let export = parse(&text, now()).unwrap();
        let mention = &export.mentions[0];
        assert_eq!(mention.verification, Verification::Verified);
        assert_eq!(mention.moderation, Moderation::Approved);
        assert_eq!(
            mention.received_at,
            OffsetDateTime::parse("2024-02-03T04:05:06Z", &Rfc3339).unwrap()
        );
        let data = mention.data.clone().unwrap();
        assert_eq!(data.relation, Relation::Reply);
        let html = data.content_html.unwrap();
        assert!(
            !html.contains("script") && !html.contains("onclick"),
            "{html}"
        );
        assert_eq!(data.author.unwrap().photo, None);
        assert_eq!(data.url.as_deref(), Some("https://alice.example/r/1"));
    }

    #[test]
    fn entries_that_make_no_mention_are_reported() {
        let text = format!(
            r#"{{"children":[{},{{"wm-id":8,"wm-target":"https://blog.example/"}},
               {{"wm-source":"https://a.example/","wm-target":"https://blog.example/","wm-property":"poke-of"}},
               {{"wm-source":"ftp://a.example/","wm-target":"https://blog.example/"}}]}}"#,
            entry(r#","wm-private":true"#)
        );
        let export = parse(&text, now()).unwrap();
        assert_eq!(export.mentions.len(), 1);
        assert_eq!(export.mentions[0].moderation, Moderation::Pending);
        assert_eq!(export.invalid.len(), 3, "{:?}", export.invalid);
        assert!(export.invalid[0].contains("page 1 entry 2 (wm-id 8): no wm-source"));
        assert!(export.invalid[1].contains("unknown wm-property `poke-of`"));
        assert_eq!(export.read(), 4);
    }
}
