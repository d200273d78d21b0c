//! Mentions as an HTML page (`/api/mentions.html`): an `h-feed` of
//! `h-entry` items, as webmention.io's `views/mentions.erb` renders them,
//! so that Microsub readers (Aperture, …) can follow it like any feed.
//!
//! Each entry: the target it responds to, marked with its relation
//! (`u-in-reply-to`, `u-like-of`, `u-repost-of`, `u-bookmark-of`, else
//! `u-mention-of`; an RSVP is a reply with `p-rsvp`), the author as an
//! `h-card`, the name, the content (`e-content`), and a permalink (`u-url`)
//! on the published time (`dt-published`, else the received time).
//!
//! Invariant: pure; every text and URL is escaped, and the HTML given is
//! already sanitised (it is inserted as it is).

use std::fmt::Write;

use super::atom::escape;
use super::jf2::{received, verb};
use crate::domain::mention::{Mention, Relation};
use crate::images::ImageUrls;

/// The page, with every image a reader's browser would load (the author's
/// photo, `<img>` in content) written by `images`: through the image proxy,
/// or https only (`images::ImageUrls`), so a sender cannot watch who reads.
pub fn page(mentions: &[Mention], images: &ImageUrls) -> String {
    let mut out = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Mentions</title></head>\n\
         <body>\n<div class=\"h-feed\">\n<h1 class=\"p-name\">Mentions</h1>\n",
    );
    for mention in mentions {
        entry(&mut out, mention, images);
    }
    out.push_str("</div>\n</body></html>\n");
    out
}

fn entry(out: &mut String, mention: &Mention, images: &ImageUrls) {
    let data = mention.data.clone().unwrap_or_default();
    let class = match &data.relation {
        Relation::Reply | Relation::Rsvp(_) => "u-in-reply-to",
        Relation::Like => "u-like-of",
        Relation::Repost => "u-repost-of",
        Relation::Bookmark => "u-bookmark-of",
        Relation::Mention => "u-mention-of",
    };
    let target = escape(mention.target.as_str());
    out.push_str("<div class=\"h-entry\">\n");
    let _ = writeln!(
        out,
        "  <p class=\"context\">{} <a class=\"{class}\" href=\"{target}\">{target}</a></p>",
        escape(&verb(&data.relation))
    );
    if let Relation::Rsvp(value) = &data.relation {
        let _ = writeln!(
            out,
            "  <data class=\"p-rsvp\" value=\"{0}\">{0}</data>",
            escape(value)
        );
    }
    if let Some(author) = &data.author {
        let name = author.name.as_deref().unwrap_or_default();
        let has = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        if has(&author.name) || has(&author.url) || has(&author.photo) {
            out.push_str("  <div class=\"u-author h-card\">");
            if let Some(photo) = author.photo.as_deref().and_then(|p| images.image(p)) {
                let _ = write!(
                    out,
                    "<img class=\"u-photo\" src=\"{}\" alt=\"\">",
                    escape(&photo)
                );
            }
            match author.url.as_deref().filter(|u| !u.is_empty()) {
                Some(url) => {
                    let _ = write!(
                        out,
                        "<a class=\"p-name u-url\" href=\"{}\">{}</a>",
                        escape(url),
                        escape(name)
                    );
                }
                None => {
                    let _ = write!(out, "<span class=\"p-name\">{}</span>", escape(name));
                }
            }
            out.push_str("</div>\n");
        }
    }
    if let Some(name) = data.name.as_deref().filter(|n| !n.trim().is_empty()) {
        let _ = writeln!(out, "  <h2 class=\"p-name\">{}</h2>", escape(name));
    }
    match (data.content_html.as_deref(), data.content_text.as_deref()) {
        (Some(html), _) if !html.trim().is_empty() => {
            let html = images.content(html);
            let _ = writeln!(out, "  <div class=\"e-content\">{html}</div>");
        }
        (_, Some(text)) if !text.trim().is_empty() => {
            let _ = writeln!(out, "  <div class=\"e-content\">{}</div>", escape(text));
        }
        _ => {}
    }
    let when = data
        .published
        .clone()
        .unwrap_or_else(|| received(mention.received_at));
    let url = data
        .url
        .clone()
        .unwrap_or_else(|| mention.source.to_string());
    let _ = writeln!(
        out,
        "  <p><a class=\"u-url\" href=\"{}\"><time class=\"dt-published\" datetime=\"{1}\">{1}</time></a></p>",
        escape(&url),
        escape(&when)
    );
    out.push_str("</div>\n");
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::mention::{Author, MentionData, MentionId, Moderation, Verification};
    use crate::protocol::mf2::{self, PropertyValue};

    fn mention() -> Mention {
        Mention {
            id: MentionId(1),
            source: Url::parse("https://alice.example/r").unwrap(),
            target: Url::parse("https://blog.example/p/").unwrap(),
            verification: Verification::Verified,
            moderation: Moderation::Approved,
            data: Some(MentionData {
                relation: Relation::Reply,
                author: Some(Author {
                    name: Some("Alice".into()),
                    photo: Some("https://alice.example/a.png".into()),
                    url: Some("https://alice.example/".into()),
                }),
                content_html: Some("<p>Hi <b>there</b></p>".into()),
                published: Some("2026-11-01T10:00:00Z".into()),
                ..MentionData::default()
            }),
            received_at: time::macros::datetime!(2026-11-01 10:00 UTC),
            updated_at: time::macros::datetime!(2026-11-01 10:00 UTC),
        }
    }

    #[test]
    fn a_microformats_parser_reads_an_h_feed_of_h_entries() {
        let html = page(&[mention()], &ImageUrls::Direct);
        let document = mf2::parse(&html, &Url::parse("https://comments.example/").unwrap());
        assert_eq!(document.items.len(), 1);
        let feed = &document.items[0];
        assert_eq!(feed.r#type, ["h-feed"]);
        let entry = &feed.children[0];
        assert_eq!(entry.r#type, ["h-entry"]);
        let text = |item: &mf2::Item, name: &str| match &item.properties[name][0] {
            PropertyValue::Text(text) => text.clone(),
            PropertyValue::Url { value, .. } => value.clone(),
            other => format!("{other:?}"),
        };
        assert_eq!(text(entry, "in-reply-to"), "https://blog.example/p/");
        assert_eq!(text(entry, "url"), "https://alice.example/r");
        assert_eq!(text(entry, "published"), "2026-11-01T10:00:00Z");
        match &entry.properties["author"][0] {
            PropertyValue::Item(card) => assert_eq!(text(card, "name"), "Alice"),
            other => panic!("{other:?}"),
        }
        match &entry.properties["content"][0] {
            PropertyValue::Embedded { html, .. } => assert_eq!(html, "<p>Hi <b>there</b></p>"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn readers_load_no_image_from_the_sender() {
        let mut tracked = mention();
        let data = tracked.data.as_mut().unwrap();
        data.author.as_mut().unwrap().photo = Some("http://tracker.example/a.png".into());
        data.content_html = Some("<p>Hi<img src=\"https://tracker.example/pixel.gif\"></p>".into());
        let key = crate::signing::SigningKey::from_bytes(&[5; 32]);
        let proxied = page(std::slice::from_ref(&tracked), &ImageUrls::Proxied(key));
        assert!(!proxied.contains("src=\"http"), "{proxied}");
        assert_eq!(proxied.matches("src=\"../img?url=").count(), 2, "{proxied}");

        let direct = page(&[tracked], &ImageUrls::Direct);
        assert!(
            !direct.contains("http://tracker.example"),
            "plain http is dropped: {direct}"
        );
        assert!(
            direct.contains("src=\"https://tracker.example/pixel.gif\""),
            "{direct}"
        );
    }
}
