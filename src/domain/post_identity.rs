//! Which post a fetched page is: the page's own identity.
//!
//! One post answers under URLs that no string rule can merge (`/hello`,
//! `/hello/`, `/hello/index.html`, an old slug that redirects). The page
//! knows which one it is: its `<link rel="canonical">` (RFC 6596), else its
//! `og:url` (Open Graph), else the URL its fetch ended at after redirects.
//! A post is announced only under that URL, and only when that URL is on the
//! blog, i.e. matches `BLOG_POST_PATTERN`: anyone could request such a URL
//! directly, so following what a page says never lets a caller reach a post
//! they could not have asked for, and never announces a page as someone
//! else's or a redirect target off the blog as a post.
//!
//! Invariant: pure; no I/O, the same answer for the same arguments.

use url::Url;

use super::PostUrl;

/// What the fetch of a post page says about the page's identity.
#[derive(Debug, Clone, Copy)]
pub struct PageIdentity<'a> {
    /// Where the fetch ended, after redirects.
    pub final_url: &'a Url,
    /// `<link rel="canonical" href>`, as written (maybe relative).
    pub canonical_link: Option<&'a str>,
    /// `og:url`, as written.
    pub og_url: Option<&'a str>,
}

/// Why a page cannot be announced under any URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("The post page redirects to `{to}`, which is not a handled post URL")]
    RedirectedOffBlog { to: String },
    #[error("The post page names `{named}` as its canonical URL, which is not a handled post URL")]
    NamesOffBlog { named: String },
}

/// The post the page fetched from `requested` says it is: `requested`
/// itself, or another post URL on the blog (`is_post`).
pub fn identify(
    requested: &PostUrl,
    page: PageIdentity<'_>,
    is_post: impl Fn(&PostUrl) -> bool,
) -> Result<PostUrl, IdentityError> {
    let reached = if page.final_url == requested.as_url() {
        requested.clone()
    } else {
        PostUrl::parse(page.final_url.as_str())
            .ok()
            .filter(|reached| reached == requested || is_post(reached))
            .ok_or_else(|| IdentityError::RedirectedOffBlog {
                to: page.final_url.to_string(),
            })?
    };
    // A relative link is resolved against the page's own (final) URL.
    let Some(named) = page.canonical_link.or(page.og_url) else {
        return Ok(reached);
    };
    let off_blog = || IdentityError::NamesOffBlog {
        named: page
            .final_url
            .join(named)
            .map_or_else(|_| named.to_owned(), String::from),
    };
    let named = page
        .final_url
        .join(named)
        .ok()
        .and_then(|url| PostUrl::parse(url.as_str()).ok())
        .ok_or_else(off_blog)?;
    if named == reached || is_post(&named) {
        Ok(named)
    } else {
        Err(off_blog())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOG: &str = "https://blog.example/posts/";

    fn post(url: &str) -> PostUrl {
        PostUrl::parse(url).unwrap()
    }

    fn on_blog(url: &PostUrl) -> bool {
        url.as_str().starts_with(BLOG)
    }

    /// The identity of a page requested at `requested` whose fetch ended
    /// at `final_url`, with this canonical link and `og:url`.
    fn identity(
        requested: &str,
        final_url: &str,
        canonical_link: Option<&str>,
        og_url: Option<&str>,
    ) -> Result<String, IdentityError> {
        let final_url = Url::parse(final_url).unwrap();
        let page = PageIdentity {
            final_url: &final_url,
            canonical_link,
            og_url,
        };
        identify(&post(requested), page, on_blog).map(|url| url.as_str().to_owned())
    }

    #[test]
    fn a_page_that_names_nothing_is_the_url_it_was_fetched_from() {
        let hello = "https://blog.example/posts/hello/";
        assert_eq!(identity(hello, hello, None, None).unwrap(), hello);
    }

    #[test]
    fn a_canonical_link_names_the_post_and_wins_over_og_url() {
        let requested = "https://blog.example/posts/hello/index.html";
        let cases = [
            (Some("https://blog.example/posts/hello/"), None),
            (Some("/posts/hello/"), None),
            (Some("./"), None),
            (Some("HTTPS://BLOG.example/posts/%68ello/"), None),
            (None, Some("https://blog.example/posts/hello/")),
            (
                Some("/posts/hello/"),
                Some("https://blog.example/posts/other/"),
            ),
        ];
        for (canonical, og) in cases {
            assert_eq!(
                identity(requested, requested, canonical, og).unwrap(),
                "https://blog.example/posts/hello/",
                "{canonical:?} / {og:?}"
            );
        }
    }

    #[test]
    fn a_redirect_within_the_blog_names_the_post() {
        assert_eq!(
            identity(
                "https://blog.example/posts/hello",
                "https://blog.example/posts/hello/",
                None,
                None
            )
            .unwrap(),
            "https://blog.example/posts/hello/"
        );
    }

    #[test]
    fn a_redirect_off_the_blog_is_refused_whatever_the_page_says() {
        for to in [
            "https://elsewhere.example/posts/hello/",
            "https://blog.example/about/",
        ] {
            assert_eq!(
                identity(
                    "https://blog.example/posts/hello/",
                    to,
                    Some("https://blog.example/posts/hello/"),
                    None
                ),
                Err(IdentityError::RedirectedOffBlog { to: to.to_owned() })
            );
        }
    }

    #[test]
    fn a_canonical_url_off_the_blog_is_refused() {
        let hello = "https://blog.example/posts/hello/";
        for (canonical, named) in [
            (
                "https://elsewhere.example/original/",
                "https://elsewhere.example/original/",
            ),
            ("/", "https://blog.example/"),
            ("mailto:me@blog.example", "mailto:me@blog.example"),
        ] {
            assert_eq!(
                identity(hello, hello, Some(canonical), None),
                Err(IdentityError::NamesOffBlog {
                    named: named.to_owned()
                }),
                "{canonical}"
            );
        }
    }
}
