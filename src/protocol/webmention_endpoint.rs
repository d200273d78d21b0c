//! The webmention endpoint an HTML page advertises (Webmention §3.1.2).
//!
//! "the first HTTP Link header takes precedence, followed by the first
//! `<link>` or `<a>` element in document order": the header is
//! `link_header`'s job; this finds the element. The page is read by a real
//! HTML tokenizer (`lol_html`, streaming, in time linear in the page's size
//! however deeply a hostile page nests its elements, and stopping at the
//! first match), so markup inside comments (webmention.rocks 13), escaped
//! as text (14) or inside `<script>` is never an element, and a `<link>` in
//! the body counts where it stands (16, 17). The `rel` attribute
//! is a set of space-separated tokens compared ASCII case-insensitively
//! (HTML's link types), so `rel="webmention somethingelse"` matches (9) and
//! `rel="not-webmention"` does not (12). An element without an `href`
//! attribute is skipped (20); an empty `href` is returned as it is, since it
//! means the page itself (15).
//!
//! Invariant: pure and total; hostile HTML yields `None` or an attribute
//! value, never a panic. Resolving the value (against the URL the page was
//! finally fetched from, §3.1.2) is the caller's business.

use lol_html::{HtmlRewriter, Settings, element};

/// Raised by the element handler to stop reading once the endpoint is found.
#[derive(Debug, thiserror::Error)]
#[error("found")]
struct Found;

/// The `href` of the first `<link>` or `<a>` whose `rel` has the
/// `webmention` token, as written (entities decoded).
pub fn find_in_html(html: &str) -> Option<String> {
    let mut found = None;
    let handler = element!("link[rel][href], a[rel][href]", |el| {
        let advertises = el.get_attribute("rel").is_some_and(|rel| {
            rel.split_ascii_whitespace()
                .any(|token| token.eq_ignore_ascii_case("webmention"))
        });
        if !advertises {
            return Ok(());
        }
        found = el.get_attribute("href").map(|href| href.trim().to_owned());
        Err(Box::new(Found))
    });
    let settings = Settings::new().append_element_content_handler(handler);
    let mut reader = HtmlRewriter::new(settings, |_: &[u8]| {});
    // An error is either our `Found` or a limit of the tokenizer: in both
    // cases what was found so far is the answer.
    if reader.write(html.as_bytes()).is_ok() {
        let _ = reader.end();
    } else {
        drop(reader);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(head: &str, body: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head>\
             <link href=\"/assets/a.css\" rel=\"stylesheet\">{head}</head>\
             <body><div class=\"h-entry\"><a href=\"/\">author</a>\
             <div class=\"e-content\">{body}</div></div></body></html>"
        )
    }

    /// (what, head, body, expected)
    const CASES: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "rocks 3: a <link> after stylesheets",
            r#"<link rel="webmention" href="/test/3/webmention">"#,
            "",
            Some("/test/3/webmention"),
        ),
        (
            "rocks 4: href before rel",
            r#"<link href="https://webmention.rocks/test/4/webmention" rel="webmention">"#,
            "",
            Some("https://webmention.rocks/test/4/webmention"),
        ),
        (
            "rocks 5: an <a> in the content",
            "",
            r#"<a rel="webmention" href="/test/5/webmention">Webmention endpoint</a>"#,
            Some("/test/5/webmention"),
        ),
        (
            "rocks 9: several rel tokens",
            r#"<link rel="webmention somethingelse" href="/test/9/webmention">"#,
            "",
            Some("/test/9/webmention"),
        ),
        (
            "rocks 12: not-webmention is another token",
            r#"<link rel="not-webmention" href="/test/12/webmention/error">"#,
            r#"<a href="/test/12/webmention" rel="webmention">x</a>"#,
            Some("/test/12/webmention"),
        ),
        (
            "rocks 13: a commented-out element is no element",
            "",
            r#"<!-- <a href="/test/13/webmention/error" rel="webmention"></a> --><a href="/test/13/webmention" rel="webmention">x</a>"#,
            Some("/test/13/webmention"),
        ),
        (
            "rocks 14: escaped markup is text",
            "",
            r#"<code>&lt;a href="/test/14/webmention/error" rel="webmention"&gt;&lt;/a&gt;</code><a href="/test/14/webmention" rel="webmention">x</a>"#,
            Some("/test/14/webmention"),
        ),
        (
            "rocks 15: an empty href is the page itself",
            r#"<link rel="webmention" href="">"#,
            "",
            Some(""),
        ),
        (
            "rocks 16: an <a> before a <link>, in document order",
            "",
            r#"<a href="/test/16/webmention" rel="webmention">x</a><link rel="webmention" href="/test/16/webmention/error">"#,
            Some("/test/16/webmention"),
        ),
        (
            "rocks 17: a <link> before an <a>",
            "",
            r#"<link rel="webmention" href="/test/17/webmention"><a href="/test/17/webmention/error" rel="webmention">x</a>"#,
            Some("/test/17/webmention"),
        ),
        (
            "rocks 20: a <link> without href is skipped",
            "",
            r#"<link rel="webmention"><a href="/test/20/webmention" rel="webmention">x</a>"#,
            Some("/test/20/webmention"),
        ),
        (
            "a <link> without href, then a <link> with one",
            r#"<link rel="webmention"><link rel="webmention" href="/wm">"#,
            "",
            Some("/wm"),
        ),
        (
            "rocks 21: the query string is part of the value",
            r#"<link rel="webmention" href="/test/21/webmention?query=yes">"#,
            "",
            Some("/test/21/webmention?query=yes"),
        ),
        (
            "rel in capitals",
            r#"<link rel="Webmention" href="/wm">"#,
            "",
            Some("/wm"),
        ),
        (
            "rel with surrounding and inner whitespace",
            "<link rel=\"  me\twebmention \" href=\" /wm \">",
            "",
            Some("/wm"),
        ),
        ("no endpoint", "", "<a href=\"/x\">x</a>", None),
        (
            "an <area> does not count",
            "",
            r#"<map><area rel="webmention" href="/area"></map>"#,
            None,
        ),
    ];

    #[test]
    fn finds_the_first_advertised_endpoint_in_document_order() {
        for (what, head, body, expected) in CASES {
            assert_eq!(
                find_in_html(&page(head, body)).as_deref(),
                *expected,
                "{what}"
            );
        }
    }

    #[test]
    fn hostile_html_never_panics() {
        for html in [
            "",
            "<",
            "<a rel=webmention href",
            "<link rel=\"webmention\" href=\"\0\">",
        ] {
            let _ = find_in_html(html);
        }
        let deep = "<div>".repeat(200_000) + r#"<a rel="webmention" href="/deep">"#;
        assert_eq!(find_in_html(&deep).as_deref(), Some("/deep"));
        let script = r#"<script>document.write('<a rel="webmention" href="/no">')</script>"#;
        assert_eq!(find_in_html(script), None);
    }
}
