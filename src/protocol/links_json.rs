//! webmention.io's legacy JSON format (`/api/mentions.json`, and
//! `/api/mentions` with no extension): `{"links": [...]}`, each link built
//! as its `Formats.links_to_json` builds it.
//!
//! A link: `source`, `verified` (always true: only verified mentions are
//! listed), `verified_date` (the last update), `id`, `private` (false),
//! `data` (`author` only when something is known of the author, then
//! `url`, `name`, `content` (HTML, else text), `published`,
//! `published_ts`, and `rsvp` for yes/no/maybe), `activity.type`
//! (`reply`, `like`, `repost`, `bookmark`, `rsvp`, or `link` for a plain
//! mention) and `target`.
//!
//! Invariant: pure; the HTML given is already sanitised.

use serde_json::{Map, Value, json};

use super::iso8601;
use super::jf2::{link_type, rfc3339};
use crate::domain::mention::{Mention, Relation};

pub fn links(mentions: &[Mention]) -> Value {
    json!({ "links": mentions.iter().map(link).collect::<Vec<_>>() })
}

fn link(mention: &Mention) -> Value {
    let data = mention.data.clone().unwrap_or_default();
    let mut fields = Map::new();
    if let Some(author) = data.author.as_ref().filter(|a| {
        [&a.name, &a.url, &a.photo]
            .iter()
            .any(|v| v.as_deref().is_some_and(|v| !v.is_empty()))
    }) {
        fields.insert(
            "author".into(),
            json!({
                "name": author.name,
                "url": author.url.as_deref().filter(|u| !u.is_empty()),
                "photo": author.photo.as_deref().filter(|p| !p.is_empty()),
            }),
        );
    }
    let url = data
        .url
        .clone()
        .unwrap_or_else(|| mention.source.to_string());
    fields.insert("url".into(), url.into());
    fields.insert("name".into(), data.name.clone().into());
    let content = data
        .content_html
        .clone()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| data.content_text.clone());
    fields.insert("content".into(), content.into());
    fields.insert("published".into(), data.published.clone().into());
    let published_ts = data
        .published
        .as_deref()
        .and_then(iso8601::parse)
        .map(|t| t.unix_timestamp());
    fields.insert("published_ts".into(), published_ts.into());
    if let Relation::Rsvp(value) = &data.relation
        && ["yes", "no", "maybe"].contains(&value.as_str())
    {
        fields.insert("rsvp".into(), value.clone().into());
    }
    let activity = match &data.relation {
        Relation::Rsvp(_) => "rsvp".to_owned(),
        other => link_type(other),
    };
    json!({
        "source": mention.source.as_str(),
        "verified": true,
        "verified_date": rfc3339(mention.updated_at),
        "id": mention.id.0,
        "private": false,
        "data": Value::Object(fields),
        "activity": { "type": activity },
        "target": mention.target.as_str(),
    })
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::mention::{Author, MentionData, MentionId, Moderation, Verification};

    fn mention(relation: Relation, author: Option<Author>) -> Mention {
        Mention {
            id: MentionId(7),
            source: Url::parse("https://alice.example/r").unwrap(),
            target: Url::parse("https://blog.example/p/").unwrap(),
            verification: Verification::Verified,
            moderation: Moderation::Approved,
            data: Some(MentionData {
                relation,
                author,
                content_text: Some("Hello".into()),
                published: Some("2026-11-01T10:00:00+01:00".into()),
                ..MentionData::default()
            }),
            received_at: time::macros::datetime!(2026-11-01 10:00 UTC),
            updated_at: time::macros::datetime!(2026-11-02 10:00 UTC),
        }
    }

    #[test]
    fn a_link_has_webmention_io_s_legacy_shape() {
        let author = Author {
            name: Some("Alice".into()),
            photo: None,
            url: Some("https://alice.example/".into()),
        };
        let value = links(&[mention(Relation::Reply, Some(author))]);
        let link = &value["links"][0];
        assert_eq!(link["source"], "https://alice.example/r");
        assert_eq!(link["target"], "https://blog.example/p/");
        assert_eq!(link["verified"], true);
        assert_eq!(link["verified_date"], "2026-11-02T10:00:00Z");
        assert_eq!(link["id"], 7);
        assert_eq!(link["private"], false);
        assert_eq!(link["activity"]["type"], "reply");
        assert_eq!(link["data"]["author"]["name"], "Alice");
        assert_eq!(link["data"]["author"]["photo"], Value::Null);
        assert_eq!(link["data"]["content"], "Hello");
        assert_eq!(link["data"]["url"], "https://alice.example/r");
        assert_eq!(link["data"]["published_ts"], 1_793_523_600);
        assert!(link["data"].get("rsvp").is_none());
    }

    #[test]
    fn a_mention_is_a_link_and_an_rsvp_keeps_its_value_without_author() {
        let value = links(&[
            mention(Relation::Mention, None),
            mention(Relation::Rsvp("maybe".into()), None),
            mention(Relation::Rsvp("interested".into()), None),
        ]);
        assert_eq!(value["links"][0]["activity"]["type"], "link");
        assert!(value["links"][0]["data"].get("author").is_none());
        assert_eq!(value["links"][1]["activity"]["type"], "rsvp");
        assert_eq!(value["links"][1]["data"]["rsvp"], "maybe");
        assert!(value["links"][2]["data"].get("rsvp").is_none());
    }
}
