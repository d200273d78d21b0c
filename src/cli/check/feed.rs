//! The post URLs a blog's feed lists (Atom, RSS or JSON Feed, through
//! `feed-rs`): each entry's alternate link, else its id when that is an
//! http(s) URL. Pure: the feed's bytes in, URLs out.

use url::Url;

pub fn post_urls(body: &[u8], feed_url: &Url) -> Result<Vec<Url>, String> {
    let feed = feed_rs::parser::parse(body).map_err(|e| format!("not a feed: {e}"))?;
    Ok(feed
        .entries
        .iter()
        .filter_map(|entry| {
            let link = entry
                .links
                .iter()
                .find(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
                .map(|l| l.href.as_str())
                .or_else(|| entry.id.starts_with("http").then_some(entry.id.as_str()))?;
            feed_url.join(link).ok()
        })
        .filter(|url| matches!(url.scheme(), "http" | "https"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atom_rss_and_json_feeds_give_their_entries_links() {
        let base = Url::parse("https://blog.example/feed.xml").unwrap();
        let atom = br#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>B</title><id>urn:b</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>One</title><id>urn:1</id><updated>2026-12-01T00:00:00Z</updated>
<link rel="alternate" href="https://blog.example/posts/one/"/><link rel="replies" href="https://x.example/"/></entry>
<entry><title>Two</title><id>https://blog.example/posts/two/</id><updated>2026-12-01T00:00:00Z</updated></entry>
</feed>"#;
        assert_eq!(
            post_urls(atom, &base).unwrap(),
            vec![
                Url::parse("https://blog.example/posts/one/").unwrap(),
                Url::parse("https://blog.example/posts/two/").unwrap()
            ]
        );
        let rss = br#"<rss version="2.0"><channel><title>B</title><link>https://blog.example/</link><description>d</description>
<item><title>One</title><link>/posts/one/</link></item></channel></rss>"#;
        assert_eq!(
            post_urls(rss, &base).unwrap(),
            vec![Url::parse("https://blog.example/posts/one/").unwrap()]
        );
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"B","items":[{"id":"1","url":"https://blog.example/posts/j/"}]}"#;
        assert_eq!(
            post_urls(json, &base).unwrap(),
            vec![Url::parse("https://blog.example/posts/j/").unwrap()]
        );
        assert!(post_urls(b"<html>not a feed</html>", &base).is_err());
    }
}
