//! JF2, the wire format of the webmention.io-compatible read API and of
//! webhook payloads.
//!
//! Shapes follow webmention.io's `/api/mentions.jf2` (its
//! `helpers/formats.rb`, `build_jf2_from_link`) so existing widgets and
//! site generators work by changing one host name: a `feed` whose `children`
//! are `entry` objects with `wm-*` fields and the relation property.
//! `wm-received` is whole seconds in UTC (`%Y-%m-%dT%H:%M:%SZ`), as there:
//! clients send it back as `since`, often without URL-encoding it.

use serde::Serialize;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::domain::mention::{Mention, Relation};

#[derive(Serialize)]
pub struct Feed {
    r#type: &'static str,
    name: &'static str,
    children: Vec<Value>,
}

impl Feed {
    pub fn new(mentions: &[Mention]) -> Self {
        Self {
            r#type: "feed",
            name: "Webmentions",
            children: mentions.iter().map(entry).collect(),
        }
    }
}

/// One mention as a JF2 entry.
pub fn entry(mention: &Mention) -> Value {
    let data = mention.data.clone().unwrap_or_default();
    let mut entry = Map::new();
    let mut put = |key: &str, value: Value| {
        entry.insert(key.to_owned(), value);
    };
    put("type", "entry".into());
    let author = data.author.clone().unwrap_or_default();
    put(
        "author",
        serde_json::json!({
            "type": "card",
            "name": author.name.unwrap_or_default(),
            "photo": author.photo.unwrap_or_default(),
            "url": author.url.unwrap_or_default(),
        }),
    );
    put(
        "url",
        data.url
            .clone()
            .unwrap_or_else(|| mention.source.to_string())
            .into(),
    );
    put(
        "published",
        data.published.clone().map_or(Value::Null, Value::from),
    );
    put("wm-received", received(mention.received_at).into());
    put("wm-id", mention.id.0.into());
    put("wm-source", mention.source.to_string().into());
    put("wm-target", mention.target.to_string().into());
    put("wm-protocol", "webmention".into());
    if let Some(name) = &data.name {
        put("name", name.clone().into());
    }
    // HTML with its text, or the text alone, as webmention.io gives them.
    let text = data.content_text.clone().filter(|t| !t.trim().is_empty());
    match (
        data.content_html.clone().filter(|h| !h.trim().is_empty()),
        text,
    ) {
        (Some(html), text) => put(
            "content",
            serde_json::json!({ "html": html, "text": text.unwrap_or_default() }),
        ),
        (None, Some(text)) => put("content", serde_json::json!({ "text": text })),
        (None, None) => {}
    }
    put(data.relation.property(), mention.target.to_string().into());
    if let Relation::Rsvp(value) = &data.relation {
        put("rsvp", value.clone().into());
        put("in-reply-to", mention.target.to_string().into());
    }
    put("wm-property", data.relation.property().into());
    put("wm-private", false.into());
    Value::Object(entry)
}

/// webmention.io's stored `type` of a mention (`link` for a plain
/// mention, `rsvp-<value>` for an RSVP): what `/api/count` counts by (with
/// `link` said as `mention`) and the legacy JSON's `activity.type` shows
/// (with every RSVP said as `rsvp`).
pub fn link_type(relation: &Relation) -> String {
    match relation {
        Relation::Reply => "reply".into(),
        Relation::Like => "like".into(),
        Relation::Repost => "repost".into(),
        Relation::Bookmark => "bookmark".into(),
        Relation::Rsvp(value) => format!("rsvp-{value}"),
        Relation::Mention => "link".into(),
    }
}

/// webmention.io's English verb for a relation (Atom titles, h-feed).
pub fn verb(relation: &Relation) -> String {
    match relation {
        Relation::Reply => "replied to".into(),
        Relation::Like => "liked".into(),
        Relation::Repost => "reposted".into(),
        Relation::Bookmark => "bookmarked".into(),
        Relation::Rsvp(value) => format!("RSVPed “{value}” to"),
        Relation::Mention => "mentioned".into(),
    }
}

/// `wm-received`: whole seconds, UTC, `Z`.
pub fn received(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    utc.format(RECEIVED).unwrap_or_default()
}

const RECEIVED: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// RFC 3339 (fractions of a second kept), for other times.
pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn received_is_whole_seconds_in_utc_as_webmention_io_writes_it() {
        assert_eq!(
            received(datetime!(2026-11-01 10:00:00.789 +01:00)),
            "2026-11-01T09:00:00Z"
        );
    }

    #[test]
    fn link_types_are_webmention_io_s() {
        assert_eq!(link_type(&Relation::Mention), "link");
        assert_eq!(link_type(&Relation::Rsvp("maybe".into())), "rsvp-maybe");
        assert_eq!(verb(&Relation::Like), "liked");
    }
}
