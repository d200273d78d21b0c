//! Which webmention endpoint a page advertises (Webmention §3.1.2): the
//! first `Link` header with a `webmention` rel, else the first `<link>` or
//! `<a>` element with one and an `href`, resolved against the page's URL
//! (after redirects), its query string kept. Pure: the fetched page in,
//! a URL or nothing out.

use std::sync::LazyLock;

use regex::Regex;
use scraper::{Html, Selector};
use url::Url;

/// One link-value of a `Link` header: `<uri>` and its parameters.
static LINK_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"<([^>]*)>((?:\s*;\s*[^;,"=]+(?:=(?:"[^"]*"|[^;,]*))?)*)"#).expect("valid regex")
});
static REL_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i);\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]*))"#).expect("valid regex")
});
static ELEMENTS: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("link[rel][href], a[rel][href]").expect("valid selector"));

fn has_webmention_rel(rel: &str) -> bool {
    rel.split_ascii_whitespace()
        .any(|token| token.eq_ignore_ascii_case("webmention"))
}

pub fn find(link_headers: &[&str], html: &str, page: &Url) -> Option<Url> {
    for header in link_headers {
        for link in LINK_VALUE.captures_iter(header) {
            let params = link.get(2).map_or("", |m| m.as_str());
            let rel = REL_PARAM
                .captures(params)
                .and_then(|c| c.get(1).or(c.get(2)));
            if rel.is_some_and(|rel| has_webmention_rel(rel.as_str())) {
                return page.join(&link[1]).ok();
            }
        }
    }
    let document = Html::parse_document(html);
    document
        .select(&ELEMENTS)
        .find(|element| element.value().attr("rel").is_some_and(has_webmention_rel))
        .and_then(|element| {
            page.join(element.value().attr("href").unwrap_or_default())
                .ok()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://blog.example/posts/one/?utm=x").unwrap()
    }

    #[test]
    fn a_link_header_comes_first() {
        let html = r#"<link rel="webmention" href="/from-html">"#;
        let headers =
            [r#"<https://blog.example/feed>; rel="alternate", </wm?a=1>; rel="other webmention""#];
        assert_eq!(
            find(&headers, html, &page()).unwrap().as_str(),
            "https://blog.example/wm?a=1"
        );
        assert_eq!(
            find(
                &["<https://c.example/webmention>; rel=webmention"],
                "",
                &page()
            )
            .unwrap()
            .as_str(),
            "https://c.example/webmention"
        );
    }

    #[test]
    fn otherwise_the_first_element_in_document_order() {
        let html = r#"<html><head><link rel="stylesheet" href="/s.css"></head>
            <body><a rel="WebMention me" href="https://c.example/webmention">wm</a>
            <link rel="webmention" href="/later"></body></html>"#;
        assert_eq!(
            find(&[], html, &page()).unwrap().as_str(),
            "https://c.example/webmention"
        );
        let empty_href = r#"<link rel="webmention" href="">"#;
        assert_eq!(
            find(&[], empty_href, &page()).unwrap().as_str(),
            "https://blog.example/posts/one/?utm=x",
            "an empty href is the page itself"
        );
        assert_eq!(find(&[], "<p>nothing</p>", &page()), None);
        assert_eq!(find(&[r#"<x>; rel="webmentions""#], "", &page()), None);
    }
}
