//! The `html` of an `e-*` property: the element's inner HTML, serialised
//! (HTML §13.3 "Serializing HTML fragments"), with URL attributes resolved
//! against the page's base so the markup still works away from its page.
//!
//! Invariant: `<script>` elements are dropped from the output (a deliberate
//! deviation: nothing downstream should ever receive executable markup from a
//! stranger's page; display code must still sanitise). Everything else is
//! escaped as the HTML serialisation requires. Attribute order is scraper's
//! (sorted by name) unless its `deterministic` feature is enabled.

use scraper::ElementRef;
use url::Url;

use super::rules::Rules;
use super::tree::{Visit, tag, walk};
use super::urls::resolve;

/// Serialises the children of `el`.
pub(super) fn inner_html(el: ElementRef<'_>, base: &Url, rules: Rules) -> String {
    let mut out = String::new();
    let raw_text_parent = |el: ElementRef<'_>| {
        matches!(
            tag(el),
            "style"
                | "script"
                | "xmp"
                | "iframe"
                | "noembed"
                | "noframes"
                | "plaintext"
                | "noscript"
        )
    };
    let mut raw_depth = 0usize;
    walk(el, |visit| match visit {
        Visit::Text(text) => {
            if raw_depth > 0 {
                out.push_str(text);
            } else {
                escape_into(&mut out, text, false);
            }
            false
        }
        Visit::Comment(comment) => {
            out.push_str("<!--");
            out.push_str(comment);
            out.push_str("-->");
            false
        }
        Visit::Open(child) => {
            if tag(child) == "script" {
                return false;
            }
            open_tag(&mut out, child, base, rules);
            if raw_text_parent(child) {
                raw_depth += 1;
            }
            true
        }
        Visit::Close(child) => {
            if raw_text_parent(child) {
                raw_depth -= 1;
            }
            if !is_void(tag(child)) {
                out.push_str("</");
                out.push_str(tag(child));
                out.push('>');
            }
            false
        }
    });
    out
}

fn open_tag(out: &mut String, el: ElementRef<'_>, base: &Url, rules: Rules) {
    let name = tag(el);
    out.push('<');
    out.push_str(name);
    for (attr_name, value) in el.value().attrs() {
        out.push(' ');
        out.push_str(attr_name);
        out.push_str("=\"");
        if is_url_attribute(name, attr_name) {
            escape_into(out, &resolve(base, value), true);
        } else if attr_name == "srcset" {
            escape_into(out, &resolve_srcset(base, value), true);
        } else {
            escape_into(out, value, true);
        }
        out.push('"');
    }
    if is_void(name) && rules.self_closes_void_elements() {
        out.push_str(" />");
    } else {
        out.push('>');
    }
}

fn is_url_attribute(element: &str, attr_name: &str) -> bool {
    match attr_name {
        "href" | "src" | "poster" | "cite" | "action" | "formaction" | "longdesc" => true,
        "data" => element == "object",
        _ => false,
    }
}

/// `srcset` is a comma-separated list of "URL [descriptor]" candidates.
fn resolve_srcset(base: &Url, srcset: &str) -> String {
    srcset
        .split(',')
        .map(|candidate| {
            let candidate = candidate.trim();
            match candidate.split_once(|c: char| c.is_ascii_whitespace()) {
                Some((url, descriptor)) => format!("{} {}", resolve(base, url), descriptor.trim()),
                None if candidate.is_empty() => String::new(),
                None => resolve(base, candidate),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "source"
            | "track"
            | "wbr"
            | "basefont"
            | "bgsound"
            | "frame"
            | "keygen"
            | "param"
    )
}

fn escape_into(out: &mut String, text: &str, in_attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '\u{a0}' => out.push_str("&nbsp;"),
            '"' if in_attribute => out.push_str("&quot;"),
            '<' if !in_attribute => out.push_str("&lt;"),
            '>' if !in_attribute => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use scraper::Html;

    use super::*;

    fn html_of(fragment: &str, rules: Rules) -> String {
        let doc = Html::parse_fragment(fragment);
        let base = Url::parse("http://example.com/a/").unwrap();
        inner_html(doc.root_element(), &base, rules)
    }

    #[test]
    fn relative_urls_in_markup_are_resolved() {
        let out = html_of(
            r#"<a href="b">x</a><img srcset="s.png 2x, /t.png 3x">"#,
            Rules::Living,
        );
        assert_eq!(
            out,
            r#"<a href="http://example.com/a/b">x</a><img srcset="http://example.com/a/s.png 2x, http://example.com/t.png 3x">"#
        );
    }

    #[test]
    fn scripts_are_dropped_and_text_is_escaped() {
        let out = html_of(
            "<p>1 &lt; 2 &amp;&nbsp;<script>alert(1)</script></p>",
            Rules::Living,
        );
        assert_eq!(out, "<p>1 &lt; 2 &amp;&nbsp;</p>");
    }

    #[test]
    fn void_elements_self_close_only_under_2015_rules() {
        assert_eq!(html_of("<br>", Rules::Living), "<br>");
        assert_eq!(html_of("<br>", Rules::Legacy2015), "<br />");
    }
}
