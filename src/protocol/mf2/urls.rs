//! URL resolution: the page's base URL (`<base href>`) and relative
//! references against it.
//!
//! Invariant: never fails. An authored absolute URL is returned exactly as
//! written (the corpus expects `http://example.com`, not `…com/`); a relative
//! one is resolved and serialised by the `url` crate; anything unresolvable
//! is returned trimmed but otherwise untouched.

use scraper::ElementRef;
use url::Url;

use super::tree::{attr, tag, walk};

/// The base URL in force: the first `<base href>`, resolved against the
/// document's own URL (HTML §4.2.3), else the document's URL.
pub(super) fn document_base(root: ElementRef<'_>, document_url: &Url) -> Url {
    let mut found = None;
    walk(root, |visit| {
        if found.is_some() {
            return false;
        }
        if let super::tree::Visit::Open(el) = visit {
            if tag(el) == "base"
                && let Some(href) = attr(el, "href")
            {
                found = document_url.join(href.trim()).ok();
            }
            return found.is_none();
        }
        false
    });
    found.unwrap_or_else(|| document_url.clone())
}

/// Resolves `reference` against `base`.
pub(super) fn resolve(base: &Url, reference: &str) -> String {
    let reference = reference.trim();
    if is_absolute(reference) {
        return reference.to_owned();
    }
    match base.join(reference) {
        Ok(url) => url.into(),
        Err(_) => reference.to_owned(),
    }
}

fn is_absolute(reference: &str) -> bool {
    // A scheme, then ':' (RFC 3986 §3.1); the `url` crate must agree it parses.
    let Some((scheme, _)) = reference.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && Url::parse(reference).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("http://example.com/blog/post").unwrap()
    }

    #[test]
    fn relative_paths_resolve_against_the_base() {
        assert_eq!(
            resolve(&base(), "img.png"),
            "http://example.com/blog/img.png"
        );
        assert_eq!(resolve(&base(), "/img.png"), "http://example.com/img.png");
        assert_eq!(resolve(&base(), "//cdn.example/x"), "http://cdn.example/x");
        assert_eq!(resolve(&base(), ""), "http://example.com/blog/post");
    }

    #[test]
    fn absolute_urls_are_kept_as_authored() {
        assert_eq!(
            resolve(&base(), " http://example.org "),
            "http://example.org"
        );
        assert_eq!(resolve(&base(), "mailto:a@b.c"), "mailto:a@b.c");
    }
}
