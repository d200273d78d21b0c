//! How `GET /api/comments` writes the URL of anything a browser loads as an
//! image: an avatar, a custom emoji, a media preview, an `<img>` in content.
//!
//! With the proxy on, each becomes `../img?url=<the URL>&sig=<signature>`:
//! a reference relative to the answer's own URL (`<base>/api/comments`), so
//! it reaches this server's `GET /img` whatever path prefix a platform puts
//! in front (a Lambda stage, an OpenWhisk action path), and no Host header
//! ever goes into a cached answer. With the proxy off, https images stay as
//! they are and plain-http ones are dropped (a tracker on the wire, and
//! mixed content on an https blog).
//!
//! Invariant: what comes out is one of our signed proxy references, an
//! https URL (proxy off), or nothing; never a `javascript:`, `data:` or
//! other URL, whatever came in.

use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use url::Url;

use crate::signing::{Purpose, SigningKey};

/// The proxy, relative to `<base>/api/comments`.
pub const PROXY_REFERENCE: &str = "../img";

/// The comments API's way of writing image URLs.
#[derive(Debug, Clone)]
pub enum ImageUrls {
    /// Through `GET /img`, signed with this key.
    Proxied(SigningKey),
    /// As they are, https only.
    Direct,
}

impl ImageUrls {
    /// The URL to put in the answer for the image at `url`, or `None` when
    /// it must not be shown.
    pub fn image(&self, url: &str) -> Option<String> {
        let url = Url::parse(url.trim()).ok()?;
        match self {
            Self::Proxied(key) => match url.scheme() {
                "http" | "https" => Some(format!("{PROXY_REFERENCE}?{}", signed_query(key, &url))),
                _ => None,
            },
            Self::Direct => (url.scheme() == "https").then(|| url.to_string()),
        }
    }

    /// `html` with every `<img src>` written by [`ImageUrls::image`] (an
    /// image that must not be shown loses its `src`, which the widget
    /// drops). HTML without images is returned as it is; HTML with images
    /// is re-sanitised to the widget's own allow-list on the way.
    pub fn content(&self, html: &str) -> String {
        if !html.to_ascii_lowercase().contains("<img") {
            return html.to_owned();
        }
        let urls = self.clone();
        let mut builder = widget_allow_list();
        builder.attribute_filter(
            move |element, attribute, value| match (element, attribute) {
                ("img", "src") => urls.image(value).map(Into::into),
                _ => Some(value.into()),
            },
        );
        builder.clean(html).to_string()
    }
}

/// `url=<url>&sig=<signature>`, percent-encoded.
pub fn signed_query(key: &SigningKey, url: &Url) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", url.as_str())
        .append_pair("sig", &key.sign(Purpose::Image, url.as_str().as_bytes()))
        .finish()
}

/// What the widget keeps of content HTML (`web/backfeed-comments.js`:
/// `KEEP`, `ATTRS`), so re-sanitising changes nothing it would show:
/// Mastodon's markup (its `class`es included) passes, everything else the
/// widget would drop goes here already.
fn widget_allow_list() -> Builder<'static> {
    let tags = [
        "a",
        "p",
        "br",
        "span",
        "em",
        "strong",
        "b",
        "i",
        "u",
        "s",
        "del",
        "ins",
        "code",
        "pre",
        "blockquote",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "sub",
        "sup",
        "small",
        "img",
        "abbr",
        "q",
        "cite",
        "hr",
        "time",
        "mark",
    ];
    let mut builder = Builder::empty();
    builder
        .tags(HashSet::from(tags))
        .generic_attributes(HashSet::from(["lang", "dir", "title", "class"]))
        .tag_attributes(HashMap::from([
            ("a", HashSet::from(["href"])),
            ("img", HashSet::from(["src", "alt"])),
        ]))
        .url_schemes(HashSet::from(["http", "https"]))
        // Our proxy references are relative; the content's own URLs were
        // made absolute when it was stored (and the widget drops others).
        .url_relative(UrlRelative::PassThrough)
        .link_rel(None)
        .strip_comments(true);
    builder
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxied() -> ImageUrls {
        ImageUrls::Proxied(SigningKey::from_bytes(&[5; 32]))
    }

    #[test]
    fn with_the_proxy_every_http_image_becomes_a_signed_relative_reference() {
        let key = SigningKey::from_bytes(&[5; 32]);
        for url in ["http://t.example/a.png", "https://t.example/b.png?x=1&y=2"] {
            let written = proxied().image(url).expect("proxied");
            assert!(written.starts_with("../img?url="), "{written}");
            let api = Url::parse("https://comments.example/prod/api/comments?url=x").unwrap();
            let resolved = api.join(&written).unwrap();
            assert_eq!(resolved.path(), "/prod/img");
            let pairs: HashMap<_, _> = resolved.query_pairs().into_owned().collect();
            assert_eq!(pairs["url"], Url::parse(url).unwrap().as_str());
            assert!(key.verify(Purpose::Image, pairs["url"].as_bytes(), &pairs["sig"]));
        }
    }

    #[test]
    fn without_the_proxy_only_https_images_stay() {
        assert_eq!(
            ImageUrls::Direct
                .image("https://t.example/a.png")
                .as_deref(),
            Some("https://t.example/a.png")
        );
        assert_eq!(ImageUrls::Direct.image("http://t.example/a.png"), None);
    }

    #[test]
    fn other_schemes_and_junk_are_never_images() {
        for junk in [
            "javascript:alert(1)",
            "data:image/png;base64,AAAA",
            "x",
            "",
            "//t.example/a.png",
        ] {
            assert_eq!(proxied().image(junk), None, "{junk}");
            assert_eq!(ImageUrls::Direct.image(junk), None, "{junk}");
        }
    }

    #[test]
    fn images_in_content_are_rewritten_and_the_rest_kept() {
        let html = r#"<p class="x">Look <img src="http://t.example/p.png" alt="a picture" onerror="evil()"> and <a href="https://e.example/" class="u-url">this</a><span class="invisible">https://</span></p>"#;
        let direct = ImageUrls::Direct.content(html);
        assert!(!direct.contains("t.example"), "{direct}");
        assert!(direct.contains(r#"alt="a picture""#), "{direct}");
        assert!(!direct.contains("onerror"), "{direct}");
        assert!(
            direct.contains(r#"<span class="invisible">https://</span>"#),
            "{direct}"
        );
        assert!(
            direct.contains(r#"<a href="https://e.example/" class="u-url">"#),
            "{direct}"
        );

        let through = proxied().content(html);
        assert!(
            through.contains(r#"<img src="../img?url=http%3A%2F%2Ft.example%2Fp.png&amp;sig="#),
            "{through}"
        );
    }

    #[test]
    fn content_without_images_is_left_exactly_as_it_was() {
        let html = r#"<p>Hi <a href="https://e.example/" class="mention">@e</a></p>"#;
        assert_eq!(proxied().content(html), html);
    }
}
