//! Text content as the parsing spec defines it for `p-*`, `e-*` values,
//! implied names and rel-url text (microformats2-parsing, "parsing a p-
//! property", textContent rules).
//!
//! Invariant: `<script>`, `<style>` and `<template>` never contribute text;
//! under the living rules a nested `<img>` contributes its `alt`, else its
//! resolved `src` padded with a space on each side. Results are trimmed of
//! HTML whitespace only; inner whitespace is kept as authored.

use scraper::ElementRef;
use url::Url;

use super::rules::Rules;
use super::tree::{Visit, attr, tag, trim_html, walk};
use super::urls::resolve;

/// The element's trimmed text content under `rules`.
pub(super) fn text_content(el: ElementRef<'_>, base: &Url, rules: Rules) -> String {
    let mut out = String::new();
    walk(el, |visit| match visit {
        Visit::Text(text) => {
            out.push_str(text);
            false
        }
        Visit::Open(child) => match tag(child) {
            "script" | "style" | "template" => false,
            "img" if rules.text_includes_images() => {
                if let Some(alt) = attr(child, "alt") {
                    out.push_str(alt);
                } else if let Some(src) = attr(child, "src") {
                    out.push(' ');
                    out.push_str(&resolve(base, src));
                    out.push(' ');
                }
                false
            }
            _ => true,
        },
        Visit::Comment(_) | Visit::Close(_) => false,
    });
    trimmed(out)
}

/// Trims HTML whitespace, reusing the allocation when nothing needs trimming.
pub(super) fn trimmed(text: String) -> String {
    let inner = trim_html(&text);
    if inner.len() == text.len() {
        text
    } else {
        inner.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use scraper::Html;

    use super::*;

    fn text_of(html: &str, rules: Rules) -> String {
        let doc = Html::parse_fragment(html);
        let base = Url::parse("http://example.com/").unwrap();
        text_content(doc.root_element(), &base, rules)
    }

    #[test]
    fn scripts_and_styles_contribute_no_text() {
        let html = "<p> a<script>evil()</script><style>p{}</style>b </p>";
        assert_eq!(text_of(html, Rules::Living), "ab");
        assert_eq!(text_of(html, Rules::Legacy2015), "ab");
    }

    #[test]
    fn images_contribute_alt_else_padded_src_under_living_rules() {
        let html = r#"<p>I <img alt="love"> it <img src="x.png">!</p>"#;
        assert_eq!(
            text_of(html, Rules::Living),
            "I love it  http://example.com/x.png !"
        );
        assert_eq!(text_of(html, Rules::Legacy2015), "I  it !");
    }

    #[test]
    fn only_outer_html_whitespace_is_trimmed() {
        assert_eq!(
            text_of("<p>\n  a\n  b\u{a0}</p>", Rules::Living),
            "a\n  b\u{a0}"
        );
    }
}
