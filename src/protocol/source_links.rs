//! Does a webmention source link to its target? (Webmention §3.2.2)
//!
//! The receiver "MUST check that source does contain a link to target". By
//! media type: HTML counts `a[href]`, `img[src]`, and `video`, `audio` and
//! `source` `[src]`, resolved against the source's final URL (after
//! redirects, honouring `<base href>`), fragments ignored; JSON counts a
//! string value equal to the target; plain text counts a substring. A page
//! that says `<meta http-equiv="Status" content="410 Gone">` is gone.
//! Invariant: pure; hostile input yields a verdict, never a panic.

use scraper::{Html, Selector};
use url::Url;

use crate::domain::webmention::without_fragment;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkVerdict {
    /// The source links to the target.
    Links,
    /// The source does not (or no longer) link to the target.
    NoLink,
    /// The page declares itself gone (HTML `Status: 410`).
    Gone,
    /// A media type we cannot check for links.
    Unsupported(String),
}

/// Checks a fetched source body. `content_type` is the media type without
/// parameters (`text/html`); a missing type is treated as HTML, as browsers do.
pub fn check_source(
    content_type: Option<&str>,
    body: &str,
    final_url: &Url,
    target: &Url,
) -> LinkVerdict {
    let media_type = content_type.unwrap_or("text/html");
    match media_type {
        "text/html" | "application/xhtml+xml" => check_html(body, final_url, target),
        "application/json"
        | "application/activity+json"
        | "application/ld+json"
        | "application/mf2+json"
        | "application/jf2+json" => check_json(body, target),
        "text/plain" => verdict(body.contains(target.as_str())),
        other if other.ends_with("+json") => check_json(body, target),
        other => LinkVerdict::Unsupported(other.to_owned()),
    }
}

fn verdict(links: bool) -> LinkVerdict {
    if links {
        LinkVerdict::Links
    } else {
        LinkVerdict::NoLink
    }
}

fn check_html(body: &str, final_url: &Url, target: &Url) -> LinkVerdict {
    let document = Html::parse_document(body);
    if declares_gone(&document) {
        return LinkVerdict::Gone;
    }
    let base = document_base(&document, final_url);
    let wanted = without_fragment(target);
    let selector = Selector::parse("a[href], img[src], video[src], audio[src], source[src]")
        .expect("static selector");
    let links = document.select(&selector).any(|element| {
        let attrs = element.value();
        attrs
            .attr("href")
            .or_else(|| attrs.attr("src"))
            .and_then(|value| base.join(value.trim()).ok())
            .is_some_and(|url| without_fragment(&url) == wanted)
    });
    verdict(links)
}

/// Whether an HTML page says `<meta http-equiv="Status" content="410 Gone">`
/// (a static site's way to answer 410; Webmention §3.1.5 senders check it too).
pub fn html_declares_gone(body: &str) -> bool {
    declares_gone(&Html::parse_document(body))
}

/// `<meta http-equiv="Status" content="410 Gone">`, the way static sites
/// say a page is deleted.
fn declares_gone(document: &Html) -> bool {
    let selector = Selector::parse("meta[http-equiv][content]").expect("static selector");
    document.select(&selector).any(|meta| {
        let attrs = meta.value();
        attrs
            .attr("http-equiv")
            .is_some_and(|name| name.trim().eq_ignore_ascii_case("status"))
            && attrs
                .attr("content")
                .is_some_and(|content| content.trim().starts_with("410"))
    })
}

/// The first `<base href>`, resolved against the page URL, else the page URL.
fn document_base(document: &Html, final_url: &Url) -> Url {
    let selector = Selector::parse("base[href]").expect("static selector");
    document
        .select(&selector)
        .next()
        .and_then(|base| base.value().attr("href"))
        .and_then(|href| final_url.join(href.trim()).ok())
        .unwrap_or_else(|| final_url.clone())
}

fn check_json(body: &str, target: &Url) -> LinkVerdict {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(value) => verdict(contains_string(&value, target.as_str())),
        Err(_) => LinkVerdict::NoLink,
    }
}

/// Depth-first search without recursion, so deeply nested JSON cannot
/// exhaust the stack.
fn contains_string(root: &serde_json::Value, wanted: &str) -> bool {
    let mut stack = vec![root];
    while let Some(value) = stack.pop() {
        match value {
            serde_json::Value::String(s) if s == wanted => return true,
            serde_json::Value::Array(items) => stack.extend(items),
            serde_json::Value::Object(map) => stack.extend(map.values()),
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests;
