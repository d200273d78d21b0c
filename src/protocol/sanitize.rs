//! Sanitising third-party HTML before it is stored or served.
//!
//! Invariant: what leaves here has no script, no style, no event handler and
//! no URL with a scheme other than http, https or mailto; relative URLs are
//! made absolute against the page they came from; links get
//! `rel="nofollow noopener noreferrer ugc"`. Built on `ammonia`
//! (html5ever-based, allow-list), never on hand-written filtering.

use std::collections::HashSet;

use ammonia::{Builder, UrlRelative};
use url::Url;

/// Sanitises `html` that came from the page at `base`.
pub fn sanitize_html(html: &str, base: &Url) -> String {
    builder(base).clean(html).to_string()
}

fn builder(base: &Url) -> Builder<'static> {
    let mut builder = Builder::default();
    builder
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("nofollow noopener noreferrer ugc"))
        .add_tag_attributes("img", ["loading"])
        .strip_comments(true);
    builder
}

/// `text` as an absolute http(s) URL, or `None`: `javascript:`, `data:` and
/// relative URLs never reach a `href` or `src` we serve.
pub fn safe_url(text: &str) -> Option<String> {
    let url = Url::parse(text.trim()).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The visible text of sanitised or untrusted HTML, whitespace collapsed:
/// block boundaries and `<br>` become spaces; script and style are skipped.
pub fn plain_text(html: &str) -> String {
    const BLOCKS: &[&str] = &[
        "p",
        "br",
        "div",
        "li",
        "blockquote",
        "pre",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
    ];
    let fragment = scraper::Html::parse_fragment(html);
    let mut text = String::new();
    for node in fragment.root_element().descendants() {
        match node.value() {
            scraper::Node::Element(element) if BLOCKS.contains(&element.name()) => text.push(' '),
            scraper::Node::Text(chunk) => {
                let in_code = node
                    .parent()
                    .and_then(|p| {
                        p.value()
                            .as_element()
                            .map(|e| matches!(e.name(), "script" | "style"))
                    })
                    .unwrap_or(false);
                if !in_code {
                    text.push_str(chunk);
                }
            }
            _ => {}
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The longest one-line text (a name, an RSVP) kept from a third party.
pub const MAX_TEXT: usize = 500;
/// The longest content (HTML or text) kept from a third party.
pub const MAX_CONTENT: usize = 64 * 1024;

/// At most `limit` bytes of `text` (cut at a character boundary), marked
/// with `…` when cut. Third-party text is capped before it is sanitised or
/// stored, so that one page cannot fill the store; a cut inside markup is
/// harmless because sanitising comes after.
pub fn capped(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> String {
        sanitize_html(html, &Url::parse("https://alice.example/notes/1").unwrap())
    }

    #[test]
    fn scripts_styles_and_event_handlers_do_not_survive() {
        let hostile = r#"<p onclick="steal()">hi<script>alert(1)</script><style>p{}</style>
            <img src="x.png" onerror="alert(2)"><svg onload="alert(3)"></svg>
            <iframe src="https://evil.example/"></iframe></p>"#;
        let cleaned = clean(hostile);
        for forbidden in [
            "<script", "alert(", "onclick", "onerror", "onload", "<style", "<iframe", "<svg",
        ] {
            assert!(
                !cleaned.contains(forbidden),
                "{forbidden} survived: {cleaned}"
            );
        }
        assert!(cleaned.contains("hi"));
    }

    #[test]
    fn javascript_and_data_urls_are_removed() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "data:text/html,<script>",
            "vbscript:x",
        ] {
            let cleaned = clean(&format!(r#"<a href="{url}">x</a><img src="{url}">"#));
            assert!(
                !cleaned.to_ascii_lowercase().contains("script:"),
                "{url}: {cleaned}"
            );
            assert!(!cleaned.contains("data:"), "{url}: {cleaned}");
        }
    }

    #[test]
    fn relative_urls_become_absolute_and_links_get_a_safe_rel() {
        let cleaned = clean(r#"<a href="../about">me</a> <img src="/me.jpg" alt="me">"#);
        assert!(
            cleaned.contains(r#"href="https://alice.example/about""#),
            "{cleaned}"
        );
        assert!(
            cleaned.contains(r#"src="https://alice.example/me.jpg""#),
            "{cleaned}"
        );
        assert!(
            cleaned.contains(r#"rel="nofollow noopener noreferrer ugc""#),
            "{cleaned}"
        );
    }

    #[test]
    fn plain_text_collapses_whitespace_and_drops_tags() {
        assert_eq!(
            plain_text("<p>Hello,\n  <b>world</b></p><p>again</p>"),
            "Hello, world again"
        );
        assert_eq!(plain_text("a &amp; b"), "a & b");
        assert_eq!(
            plain_text("a<br>b<script>x()</script><style>p{}</style>"),
            "a b"
        );
    }
}
