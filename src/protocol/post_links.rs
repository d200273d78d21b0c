//! Which links a post makes, and a version of what it says (Webmention
//! §3.1: "the sender … MUST send webmentions for each link in the post").
//!
//! The post is what the author wrote, not the page's navigation: the links
//! inside the page's first `h-entry` (its `e-content`, plus `u-in-reply-to`,
//! `u-like-of`, `u-repost-of` and `u-bookmark-of`), else inside the feed
//! entry's content, else inside the page's `<main>` (else first
//! `<article>`). Links are `<a href>` resolved against the page (microformats
//! already resolved `e-content` against its `<base>`), http(s) only,
//! without the post's own URL, unique, in document order, each exactly as
//! linked (fragment included: receivers compare the target with the links
//! they find, §3.2.2).
//!
//! The version is a digest of that content (which part it came from, the
//! markup, the relation URLs): it changes when the post's text or links do
//! (§3.1.4), not when the site's chrome does.
//!
//! Invariant: pure and total; hostile HTML yields fewer links, never a panic.

use scraper::{Html, Selector};
use sha2::{Digest, Sha256};
use url::Url;

use crate::domain::webmention::without_fragment;
use crate::protocol::mf2::{self, Item, PropertyValue};

/// The microformats2 properties whose URLs are the post's response targets.
const RELATIONS: [&str; 4] = ["in-reply-to", "like-of", "repost-of", "bookmark-of"];

/// Where a post's links were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    HEntry,
    FeedContent,
    Main,
    /// Nothing to read: no h-entry, feed content, `<main>` or `<article>`.
    Nothing,
}

impl Origin {
    pub fn label(self) -> &'static str {
        match self {
            Self::HEntry => "h-entry",
            Self::FeedContent => "feed",
            Self::Main => "main",
            Self::Nothing => "nothing",
        }
    }
}

/// A post's links and the version of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostLinks {
    pub links: Vec<Url>,
    pub origin: Origin,
    /// Hex digest of the content the links were read from.
    pub version: String,
}

/// Reads a post page fetched from `page_url`; `feed_content` is the feed
/// entry's HTML content (or summary), if the post came from a feed.
pub fn read_post(html: &str, page_url: &Url, feed_content: Option<&str>) -> PostLinks {
    let document = mf2::parse(html, page_url);
    if let Some(entry) = first_entry(&document.items)
        && let Some((content, relations)) = entry_parts(entry)
    {
        let mut links = links_in_fragment(&content, page_url);
        links.extend(relations.iter().filter_map(|r| Url::parse(r).ok()));
        let version = digest(Origin::HEntry, &content, &relations);
        return finish(links, page_url, Origin::HEntry, version);
    }
    if let Some(content) = feed_content.filter(|c| !c.trim().is_empty()) {
        let links = links_in_fragment(content, page_url);
        let version = digest(Origin::FeedContent, content, &[]);
        return finish(links, page_url, Origin::FeedContent, version);
    }
    let page = Html::parse_document(html);
    let main = ["main", "article"].into_iter().find_map(|name| {
        let selector = Selector::parse(name).expect("static selector");
        page.select(&selector).next()
    });
    match main {
        Some(main) => {
            let anchors = Selector::parse("a[href]").expect("static selector");
            let links = main
                .select(&anchors)
                .filter_map(|a| a.value().attr("href"))
                .filter_map(|href| page_url.join(href.trim()).ok())
                .collect();
            let version = digest(Origin::Main, &main.html(), &[]);
            finish(links, page_url, Origin::Main, version)
        }
        None => finish(
            Vec::new(),
            page_url,
            Origin::Nothing,
            digest(Origin::Nothing, "", &[]),
        ),
    }
}

/// The first h-entry, outermost first (top level, then nested children).
fn first_entry(items: &[Item]) -> Option<&Item> {
    let mut stack: Vec<&Item> = items.iter().rev().collect();
    while let Some(item) = stack.pop() {
        if item.r#type.iter().any(|t| t == "h-entry") {
            return Some(item);
        }
        stack.extend(item.children.iter().rev());
    }
    None
}

/// The entry's `e-content` HTML and relation URLs; `None` when it has
/// neither (an h-entry that holds nothing the author linked from).
fn entry_parts(entry: &Item) -> Option<(String, Vec<String>)> {
    let content = entry
        .properties
        .get("content")
        .and_then(|values| values.first())
        .and_then(|value| match value {
            PropertyValue::Embedded { html, .. } => Some(html.clone()),
            PropertyValue::Item(item) => item.html.clone(),
            _ => None,
        });
    let relations: Vec<String> = RELATIONS
        .iter()
        .filter_map(|property| entry.properties.get(*property))
        .flatten()
        .filter_map(|value| match value {
            PropertyValue::Item(item) => item.value.clone().or_else(|| {
                item.properties
                    .get("url")
                    .and_then(|urls| urls.first())
                    .and_then(PropertyValue::as_str)
                    .map(str::to_owned)
            }),
            other => other.as_str().map(str::to_owned),
        })
        .map(|url| url.trim().to_owned())
        .collect();
    (content.is_some() || !relations.is_empty()).then(|| (content.unwrap_or_default(), relations))
}

fn links_in_fragment(html: &str, base: &Url) -> Vec<Url> {
    let fragment = Html::parse_fragment(html);
    let anchors = Selector::parse("a[href]").expect("static selector");
    fragment
        .select(&anchors)
        .filter_map(|a| a.value().attr("href"))
        .filter_map(|href| base.join(href.trim()).ok())
        .collect()
}

/// http(s) links other than the post itself, each once, in order.
fn finish(links: Vec<Url>, page_url: &Url, origin: Origin, version: String) -> PostLinks {
    let own = without_fragment(page_url);
    let mut unique: Vec<Url> = Vec::with_capacity(links.len());
    for link in links {
        let fetchable = matches!(link.scheme(), "http" | "https") && link.host().is_some();
        if fetchable && without_fragment(&link) != own && !unique.contains(&link) {
            unique.push(link);
        }
    }
    PostLinks {
        links: unique,
        origin,
        version,
    }
}

fn digest(origin: Origin, content: &str, relations: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(origin.label().as_bytes());
    hasher.update(b"\n");
    hasher.update(content.trim().as_bytes());
    for relation in relations {
        hasher.update(b"\n");
        hasher.update(relation.as_bytes());
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn links(post: &PostLinks) -> Vec<&str> {
        post.links.iter().map(Url::as_str).collect()
    }

    const PAGE: &str = "https://blog.example/posts/a/";

    #[test]
    fn reads_the_first_h_entry_content_and_its_response_properties() {
        let html = r##"<html><body><nav><a href="/about">About</a></nav>
            <article class="h-entry"><a class="u-in-reply-to" href="https://other.example/note">re</a>
            <a class="u-like-of h-cite" href="https://liked.example/x">liked</a>
            <div class="e-content"><p>See <a href="/posts/b/">b</a> and
            <a href="https://x.example/page#part">x</a>, <a href="mailto:a@b">mail</a>,
            <a href="#top">top</a>, <a href="https://x.example/page#part">again</a>.</p></div>
            </article><article class="h-entry"><div class="e-content"><a href="https://second.example/">no</a></div></article></body></html>"##;
        let post = read_post(
            html,
            &url(PAGE),
            Some(r#"<a href="https://feed.example/">f</a>"#),
        );
        assert_eq!(post.origin, Origin::HEntry);
        assert_eq!(
            links(&post),
            [
                "https://blog.example/posts/b/",
                "https://x.example/page#part",
                "https://other.example/note",
                "https://liked.example/x",
            ]
        );
    }

    #[test]
    fn falls_back_to_the_feed_content_then_to_main_or_article() {
        let plain = r#"<html><body><nav><a href="/nav">n</a></nav><main><p><a href="/in-main">m</a></p></main></body></html>"#;
        let from_feed = read_post(plain, &url(PAGE), Some(r#"<p><a href="../c/">c</a></p>"#));
        assert_eq!(from_feed.origin, Origin::FeedContent);
        assert_eq!(links(&from_feed), ["https://blog.example/posts/c/"]);

        let from_main = read_post(plain, &url(PAGE), None);
        assert_eq!(from_main.origin, Origin::Main);
        assert_eq!(links(&from_main), ["https://blog.example/in-main"]);

        let article = r#"<body><header><a href="/h">h</a></header><article><a href="https://a.example/">a</a></article></body>"#;
        assert_eq!(
            links(&read_post(article, &url(PAGE), None)),
            ["https://a.example/"]
        );

        let bare = read_post("<p><a href='/x'>x</a></p>", &url(PAGE), None);
        assert_eq!(bare.origin, Origin::Nothing);
        assert!(bare.links.is_empty());
    }

    #[test]
    fn the_version_follows_the_content_not_the_chrome() {
        let page = |nav: &str, body: &str| {
            format!(
                r#"<body><nav><a href="{nav}">n</a></nav><div class="h-entry"><div class="e-content">{body}</div></div></body>"#
            )
        };
        let one = read_post(&page("/a", "<p>Hello</p>"), &url(PAGE), None);
        let chrome = read_post(&page("/b", "<p>Hello</p>"), &url(PAGE), None);
        let edited = read_post(&page("/a", "<p>Hello, world</p>"), &url(PAGE), None);
        assert_eq!(one.version, chrome.version);
        assert_ne!(one.version, edited.version);
        assert_eq!(one.version.len(), 32);
    }
}
