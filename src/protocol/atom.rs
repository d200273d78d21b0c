//! Mentions as an Atom feed (`/api/mentions.atom`), shaped like
//! webmention.io's (`Formats.links_to_atom`): a feed titled "Mentions",
//! one entry per mention titled "`<source host> <verb> <target path>`"
//! with a summary "`<source> <verb> <target>`". Unlike webmention.io's,
//! each entry also carries the mention itself: its content (sanitised HTML,
//! else text), author, link and published time, so a feed reader shows
//! what was said, not only that something was.
//!
//! Invariant: pure; every text is XML-escaped, and the HTML given is
//! already sanitised (it is escaped once more as the `html` content type
//! requires).

use std::fmt::Write;

use time::OffsetDateTime;

use super::iso8601;
use super::jf2::{rfc3339, verb};
use crate::domain::mention::Mention;

/// The feed; `feed_id` names it (an IRI), `now` dates an empty one.
pub fn feed(mentions: &[Mention], feed_id: &str, now: OffsetDateTime) -> String {
    let updated = mentions.iter().map(|m| m.updated_at).max().unwrap_or(now);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    let _ = writeln!(out, "  <id>{}</id>", escape(feed_id));
    out.push_str("  <title>Mentions</title>\n");
    let _ = writeln!(out, "  <updated>{}</updated>", rfc3339(updated));
    out.push_str("  <author><name>backfeed</name></author>\n");
    for mention in mentions {
        entry(&mut out, mention);
    }
    out.push_str("</feed>\n");
    out
}

fn entry(out: &mut String, mention: &Mention) {
    let data = mention.data.clone().unwrap_or_default();
    let verb = verb(&data.relation);
    let host = mention.source.host_str().unwrap_or_default();
    let path = match mention.target.path() {
        "" => "/",
        path => path,
    };
    let (source, target) = (mention.source.as_str(), mention.target.as_str());
    out.push_str("  <entry>\n");
    let _ = writeln!(
        out,
        "    <title>{}</title>",
        escape(&format!("{host} {verb} {path}"))
    );
    let _ = writeln!(out, "    <id>{}</id>", escape(&entry_id(mention)));
    let _ = writeln!(
        out,
        "    <updated>{}</updated>",
        rfc3339(mention.updated_at)
    );
    if let Some(published) = data.published.as_deref().and_then(iso8601::parse) {
        let _ = writeln!(out, "    <published>{}</published>", rfc3339(published));
    }
    let url = data.url.clone().unwrap_or_else(|| source.to_owned());
    let _ = writeln!(
        out,
        "    <link rel=\"alternate\" href=\"{}\"/>",
        escape(&url)
    );
    if let Some(author) = &data.author {
        let name = author.name.as_deref().filter(|n| !n.is_empty());
        if let Some(name) = name {
            out.push_str("    <author>");
            let _ = write!(out, "<name>{}</name>", escape(name));
            if let Some(uri) = author.url.as_deref().filter(|u| !u.is_empty()) {
                let _ = write!(out, "<uri>{}</uri>", escape(uri));
            }
            out.push_str("</author>\n");
        }
    }
    let _ = writeln!(
        out,
        "    <summary>{}</summary>",
        escape(&format!("{source} {verb} {target}"))
    );
    let mut html = format!(
        "<p><a href=\"{s}\">{s}</a> {verb} <a href=\"{t}\">{t}</a></p>",
        s = escape(source),
        t = escape(target),
        verb = escape(&verb),
    );
    match (data.content_html.as_deref(), data.content_text.as_deref()) {
        (Some(content), _) if !content.trim().is_empty() => {
            let _ = write!(html, "<blockquote>{content}</blockquote>");
        }
        (_, Some(text)) if !text.trim().is_empty() => {
            let _ = write!(html, "<blockquote><p>{}</p></blockquote>", escape(text));
        }
        _ => {}
    }
    let _ = writeln!(
        out,
        "    <content type=\"html\">{}</content>",
        escape(&html)
    );
    out.push_str("  </entry>\n");
}

/// A stable, unique id: a `tag:` URI under the target's host.
fn entry_id(mention: &Mention) -> String {
    let host = mention.target.host_str().unwrap_or("backfeed");
    format!("tag:{host},2017:webmention/{}", mention.id.0)
}

/// Escapes text for XML (and HTML) element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow, even escaped.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::mention::{
        Author, MentionData, MentionId, Moderation, Relation, Verification,
    };

    #[test]
    fn an_entry_says_who_did_what_to_which_page_and_carries_the_content() {
        let mention = Mention {
            id: MentionId(3),
            source: Url::parse("https://alice.example/r?a=1&b=2").unwrap(),
            target: Url::parse("https://blog.example/posts/p/").unwrap(),
            verification: Verification::Verified,
            moderation: Moderation::Approved,
            data: Some(MentionData {
                relation: Relation::Like,
                author: Some(Author {
                    name: Some("Alice <3".into()),
                    ..Author::default()
                }),
                content_html: Some("<p>Nice &amp; short</p>".into()),
                ..MentionData::default()
            }),
            received_at: time::macros::datetime!(2026-11-01 10:00 UTC),
            updated_at: time::macros::datetime!(2026-11-01 10:00 UTC),
        };
        let xml = feed(
            &[mention],
            "tag:backfeed,2017:mentions",
            OffsetDateTime::UNIX_EPOCH,
        );
        assert!(
            xml.contains("<title>alice.example liked /posts/p/</title>"),
            "{xml}"
        );
        assert!(
            xml.contains("<id>tag:blog.example,2017:webmention/3</id>"),
            "{xml}"
        );
        assert!(xml.contains(
            "<summary>https://alice.example/r?a=1&amp;b=2 liked https://blog.example/posts/p/</summary>"
        ));
        assert!(xml.contains("<name>Alice &lt;3</name>"));
        assert!(
            xml.contains("&lt;blockquote&gt;&lt;p&gt;Nice &amp;amp; short&lt;/p&gt;"),
            "{xml}"
        );
    }

    #[test]
    fn an_empty_feed_is_dated_now_and_control_characters_are_dropped() {
        let xml = feed(&[], "x", time::macros::datetime!(2026-11-01 10:00 UTC));
        assert!(xml.contains("<updated>2026-11-01T10:00:00Z</updated>"));
        assert_eq!(escape("a\u{1}b\n"), "ab\n");
    }
}
