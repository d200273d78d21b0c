//! A blog's feed as the posts it lists: RSS 2.0, Atom 1.0 and JSON Feed
//! 1.1 (and the older RSS versions), read by `feed-rs`.
//!
//! Each entry becomes its post URL (the entry's alternate link, else its id
//! when that is an http(s) URL, resolved against the feed's URL), its HTML
//! content (content, else summary) and a digest of everything the entry
//! says, which tells a changed entry from an unchanged one between runs
//! without fetching its page.
//!
//! Invariant: pure; a document that is no feed is an error, an entry without
//! a usable URL is skipped, never a panic.

use sha2::{Digest, Sha256};
use url::Url;

#[derive(Debug, thiserror::Error)]
#[error("not a feed (RSS, Atom or JSON Feed): {0}")]
pub struct FeedError(String);

/// One post a feed lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub url: Url,
    /// The entry's HTML content, else its summary.
    pub content: Option<String>,
    /// Hex digest of the entry as the feed shows it.
    pub digest: String,
}

/// The entries of a feed fetched from `feed_url`, in feed order, each URL once.
pub fn parse(body: &[u8], feed_url: &Url) -> Result<Vec<FeedEntry>, FeedError> {
    let feed = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build()
        .parse(body)
        .map_err(|e| FeedError(e.to_string()))?;
    let mut entries: Vec<FeedEntry> = Vec::with_capacity(feed.entries.len());
    for entry in feed.entries {
        let Some(url) = entry_url(&entry, feed_url) else {
            continue;
        };
        if entries.iter().any(|e| e.url == url) {
            continue;
        }
        let content = entry
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .or_else(|| entry.summary.as_ref().map(|s| s.content.clone()));
        let digest = digest(&entry, &url, content.as_deref());
        entries.push(FeedEntry {
            url,
            content,
            digest,
        });
    }
    Ok(entries)
}

fn entry_url(entry: &feed_rs::model::Entry, feed_url: &Url) -> Option<Url> {
    let alternate = entry
        .links
        .iter()
        .find(|l| {
            l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        })
        .map(|l| l.href.as_str());
    let id = Some(entry.id.as_str()).filter(|id| id.starts_with("http"));
    let url = feed_url.join(alternate.or(id)?.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

fn digest(entry: &feed_rs::model::Entry, url: &Url, content: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    let parts = [
        Some(url.as_str().to_owned()),
        entry.title.as_ref().map(|t| t.content.clone()),
        entry.updated.map(|t| t.to_rfc3339()),
        entry.published.map(|t| t.to_rfc3339()),
        entry.summary.as_ref().map(|s| s.content.clone()),
        content.map(str::to_owned),
    ];
    for part in parts {
        hasher.update(part.unwrap_or_default().as_bytes());
        hasher.update(b"\n\x1f");
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_url() -> Url {
        Url::parse("https://blog.example/feed.xml").unwrap()
    }

    fn urls(entries: &[FeedEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.url.as_str()).collect()
    }

    #[test]
    fn reads_rss_atom_and_json_feed() {
        let rss = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>B</title>
            <item><title>One</title><link>https://blog.example/posts/1/</link>
            <description>&lt;a href="https://x.example/"&gt;x&lt;/a&gt;</description></item>
            <item><title>Two</title><link>/posts/2/</link></item></channel></rss>"#;
        let entries = parse(rss.as_bytes(), &feed_url()).unwrap();
        assert_eq!(
            urls(&entries),
            [
                "https://blog.example/posts/1/",
                "https://blog.example/posts/2/"
            ]
        );
        assert_eq!(
            entries[0].content.as_deref(),
            Some(r#"<a href="https://x.example/">x</a>"#)
        );

        let atom = r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
            <title>B</title><id>urn:b</id><updated>2026-01-01T00:00:00Z</updated>
            <entry><title>A</title><id>urn:a</id><updated>2026-01-01T00:00:00Z</updated>
            <link rel="alternate" href="https://blog.example/posts/a/"/>
            <content type="html">&lt;p&gt;hi&lt;/p&gt;</content></entry></feed>"#;
        let entries = parse(atom.as_bytes(), &feed_url()).unwrap();
        assert_eq!(urls(&entries), ["https://blog.example/posts/a/"]);
        assert_eq!(entries[0].content.as_deref(), Some("<p>hi</p>"));

        let json = r#"{"version":"https://jsonfeed.org/version/1.1","title":"B","items":[
            {"id":"https://blog.example/posts/j/","url":"https://blog.example/posts/j/","content_html":"<p>j</p>"},
            {"id":"https://blog.example/posts/k/","content_text":"k"}]}"#;
        let entries = parse(json.as_bytes(), &feed_url()).unwrap();
        assert_eq!(
            urls(&entries),
            [
                "https://blog.example/posts/j/",
                "https://blog.example/posts/k/"
            ]
        );
    }

    #[test]
    fn the_digest_changes_with_the_entry_only() {
        let rss = |title: &str| {
            format!(
                r#"<rss version="2.0"><channel><title>B</title><item><title>{title}</title>
                <link>https://blog.example/posts/1/</link></item></channel></rss>"#
            )
        };
        let a = parse(rss("One").as_bytes(), &feed_url()).unwrap();
        let same = parse(rss("One").as_bytes(), &feed_url()).unwrap();
        let edited = parse(rss("One, edited").as_bytes(), &feed_url()).unwrap();
        assert_eq!(a[0].digest, same[0].digest);
        assert_ne!(a[0].digest, edited[0].digest);
    }

    #[test]
    fn a_page_that_is_no_feed_is_an_error() {
        assert!(parse(b"<html><body>hi</body></html>", &feed_url()).is_err());
        assert!(parse(b"", &feed_url()).is_err());
    }
}
