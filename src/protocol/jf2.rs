//! JF2, the wire format of the webmention.io-compatible read API and of
//! webhook payloads.
//!
//! Shapes follow webmention.io's `/api/mentions.jf2` so existing widgets and
//! site generators work by changing one host name: a `feed` whose `children`
//! are `entry` objects with `wm-*` fields and the relation property.

use serde::Serialize;
use serde_json::{Map, Value};
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
    put("wm-received", rfc3339(mention.received_at).into());
    put("wm-id", mention.id.0.into());
    put("wm-source", mention.source.to_string().into());
    put("wm-target", mention.target.to_string().into());
    put("wm-protocol", "webmention".into());
    if let Some(name) = &data.name {
        put("name", name.clone().into());
    }
    if data.content_html.is_some() || data.content_text.is_some() {
        put(
            "content",
            serde_json::json!({
                "html": data.content_html.clone().unwrap_or_default(),
                "text": data.content_text.clone().unwrap_or_default(),
            }),
        );
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

/// webmention.io's `/api/count` type names.
pub fn count_type(relation: &Relation) -> &'static str {
    match relation {
        Relation::Reply => "reply",
        Relation::Like => "like",
        Relation::Repost => "repost",
        Relation::Bookmark => "bookmark",
        Relation::Rsvp(_) => "rsvp",
        Relation::Mention => "mention",
    }
}

fn rfc3339(time: time::OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}
