//! Reads what a blog post page says about itself: `<meta>` tags, `<html lang>`
//! and which URL it is (`<link rel="canonical">`, RFC 6596, and `og:url`).
//!
//! Titles come from `mastodon:title`, else `og:title`, else `twitter:title`;
//! descriptions from `mastodon:description`, `og:description`,
//! `twitter:description`; tags from `mastodon:tags`. A tag may name itself
//! with `property=` (Open Graph) or `name=` (Twitter cards); the first
//! occurrence of a name wins. Values are entity-decoded by the HTML parser.
//! The page's identity is read from `<head>` only, where a page's author puts
//! it, never from the body, where comments and quoted pages live.

use std::collections::HashMap;

use scraper::{Html, Selector};

use crate::domain::PageMeta;

/// Parses a page's meta data. Never fails: a page without meta tags simply
/// yields an empty [`PageMeta`].
pub fn parse_page_meta(html: &str) -> PageMeta {
    let document = Html::parse_document(html);
    let metas = meta_tags(&document);
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| metas.get(*name))
            .map(|value| collapse_whitespace(value))
            .filter(|value| !value.is_empty())
    };
    PageMeta {
        mastodon_title: first(&["mastodon:title"]),
        page_title: first(&["og:title", "twitter:title"]),
        description: first(&[
            "mastodon:description",
            "og:description",
            "twitter:description",
        ]),
        tags: first(&["mastodon:tags"]),
        lang: document_language(&document),
        canonical_link: canonical_link(&document),
        og_url: head_meta(&document, "og:url"),
    }
}

/// The first `<link>` in `<head>` whose `rel` has the `canonical` token.
fn canonical_link(document: &Html) -> Option<String> {
    let selector = Selector::parse("head link[rel][href]").expect("static selector is valid");
    document
        .select(&selector)
        .find(|link| {
            link.value().attr("rel").is_some_and(|rel| {
                rel.split_ascii_whitespace()
                    .any(|token| token.eq_ignore_ascii_case("canonical"))
            })
        })
        .and_then(|link| link.value().attr("href"))
        .map(str::trim)
        .filter(|href| !href.is_empty())
        .map(str::to_owned)
}

/// The first non-empty `<meta property|name=… content>` in `<head>`.
fn head_meta(document: &Html, name: &str) -> Option<String> {
    let selector = Selector::parse("head meta[content]").expect("static selector is valid");
    document
        .select(&selector)
        .find(|meta| {
            let attrs = meta.value();
            [attrs.attr("property"), attrs.attr("name")]
                .into_iter()
                .flatten()
                .any(|n| n.trim().eq_ignore_ascii_case(name))
        })
        .and_then(|meta| meta.value().attr("content"))
        .map(str::trim)
        .filter(|content| !content.is_empty())
        .map(str::to_owned)
}

fn meta_tags(document: &Html) -> HashMap<String, String> {
    let selector = Selector::parse("meta[content]").expect("static selector is valid");
    let mut metas = HashMap::new();
    for element in document.select(&selector) {
        let attrs = element.value();
        let Some(content) = attrs.attr("content") else {
            continue;
        };
        for name in [attrs.attr("property"), attrs.attr("name")]
            .into_iter()
            .flatten()
        {
            metas
                .entry(name.trim().to_ascii_lowercase())
                .or_insert_with(|| content.to_owned());
        }
    }
    metas
}

fn document_language(document: &Html) -> Option<String> {
    let selector = Selector::parse("html[lang]").expect("static selector is valid");
    document
        .select(&selector)
        .next()
        .and_then(|html| html.value().attr("lang"))
        .map(str::trim)
        .filter(|lang| is_language_tag(lang))
        .map(str::to_owned)
}

/// A BCP 47-looking tag: letters, digits and hyphens, starting with a letter.
/// Anything else (`lang="{{ page.lang }}"`) is ignored rather than sent.
fn is_language_tag(lang: &str) -> bool {
    (2..=35).contains(&lang.len())
        && lang.starts_with(|c: char| c.is_ascii_alphabetic())
        && lang.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn collapse_whitespace(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_graph_title_and_description_are_read() {
        let meta = parse_page_meta(
            r##"<html lang="en-GB"><head>
            <meta property="og:title" content="Fish &amp; Chips">
            <meta property="og:description" content="A   tasty
            dish.">
            <meta name="mastodon:tags" content="#food">
            </head><body></body></html>"##,
        );
        assert_eq!(meta.page_title.as_deref(), Some("Fish & Chips"));
        assert_eq!(meta.description.as_deref(), Some("A tasty dish."));
        assert_eq!(meta.tags.as_deref(), Some("#food"));
        assert_eq!(meta.lang.as_deref(), Some("en-GB"));
        assert_eq!(meta.mastodon_title, None);
    }

    #[test]
    fn mastodon_tags_win_over_open_graph_and_open_graph_over_twitter() {
        let meta = parse_page_meta(
            r#"<head>
            <meta name="twitter:title" content="T">
            <meta property="og:title" content="O">
            <meta name="twitter:description" content="td">
            <meta property="og:description" content="od">
            <meta property="mastodon:description" content="md">
            <meta property="mastodon:title" content="M">
            </head>"#,
        );
        assert_eq!(meta.mastodon_title.as_deref(), Some("M"));
        assert_eq!(meta.page_title.as_deref(), Some("O"));
        assert_eq!(meta.description.as_deref(), Some("md"));
    }

    #[test]
    fn twitter_card_names_are_a_fallback() {
        let meta = parse_page_meta(
            r#"<meta name="twitter:title" content="T"><meta name="twitter:description" content="D">"#,
        );
        assert_eq!(meta.page_title.as_deref(), Some("T"));
        assert_eq!(meta.description.as_deref(), Some("D"));
    }

    #[test]
    fn the_first_occurrence_of_a_name_wins_and_empty_values_are_missing() {
        let meta = parse_page_meta(
            r#"<meta property="og:title" content="first"><meta property="og:title" content="second">
               <meta property="og:description" content="   ">"#,
        );
        assert_eq!(meta.page_title.as_deref(), Some("first"));
        assert_eq!(meta.description, None);
    }

    #[test]
    fn the_canonical_link_and_og_url_are_read_from_the_head_only() {
        let meta = parse_page_meta(
            r#"<html><head>
            <link rel="stylesheet" href="/style.css">
            <link rel="Canonical  alternate" href=" /posts/hello/ ">
            <link rel="canonical" href="/second/">
            <meta property="og:url" content="https://blog.example/posts/hello/">
            </head><body>
            <link rel="canonical" href="https://spam.example/">
            </body></html>"#,
        );
        assert_eq!(meta.canonical_link.as_deref(), Some("/posts/hello/"));
        assert_eq!(
            meta.og_url.as_deref(),
            Some("https://blog.example/posts/hello/")
        );

        let in_body = parse_page_meta(
            r#"<html><head><title>t</title></head><body>
            <p>A comment quoting a page:</p>
            <link rel="canonical" href="https://spam.example/">
            <meta property="og:url" content="https://spam.example/">
            </body></html>"#,
        );
        assert_eq!(in_body.canonical_link, None);
        assert_eq!(in_body.og_url, None);
        assert_eq!(
            parse_page_meta(r#"<link rel="canonical" href="">"#).canonical_link,
            None
        );
    }

    #[test]
    fn a_template_placeholder_is_not_a_language() {
        assert_eq!(parse_page_meta(r#"<html lang="{{ lang }}">"#).lang, None);
        assert_eq!(parse_page_meta("<p>no meta at all").lang, None);
    }
}
