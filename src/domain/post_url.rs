//! `PostUrl`: the canonical form of a blog post's address.
//!
//! The canonical form is what is matched against `BLOG_POST_PATTERN`, stored
//! and hashed into the `Idempotency-Key`, so two spellings of one post can
//! never produce two toots. Canonical means: http(s) only, no userinfo, no
//! query, no fragment, lower-case scheme and host, default port dropped.
//! (The seed's loader strips query, userinfo and fragment the same way before
//! calling us; doing it here as well protects against other callers.)

use std::fmt;

use md5::{Digest, Md5};
use url::Url;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PostUrl(Url);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostUrlError {
    #[error("`{input}` is not a valid URL: {reason}")]
    Unparseable { input: String, reason: String },
    #[error("`{0}` is not an http or https URL")]
    UnsupportedScheme(String),
    #[error("`{0}` has no host")]
    MissingHost(String),
    #[error("the URL is longer than {MAX_URL_LENGTH} characters")]
    TooLong,
}

/// Longer URLs are refused at the door: no blog post needs one, and every
/// store must be able to index what it keeps (PostgreSQL's unique indexes
/// hold about 2.7 kB per entry).
pub const MAX_URL_LENGTH: usize = 2048;

impl PostUrl {
    /// Parses and canonicalises a URL given by a client.
    pub fn parse(input: &str) -> Result<Self, PostUrlError> {
        if input.len() > MAX_URL_LENGTH {
            return Err(PostUrlError::TooLong);
        }
        let mut url = Url::parse(input.trim()).map_err(|e| PostUrlError::Unparseable {
            input: input.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PostUrlError::UnsupportedScheme(input.to_owned()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(PostUrlError::MissingHost(input.to_owned()));
        }
        // `Url` already lower-cases scheme and host and drops a default port.
        // Userinfo setters only fail for URLs that cannot have a host, which
        // http(s) URLs always have, so the results can be ignored.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }

    /// The path without its leading slash (the seed's S3 key suffix).
    pub fn path_without_leading_slash(&self) -> &str {
        self.0.path().trim_start_matches('/')
    }

    /// Lower-case hex MD5 of the canonical URL: the seed's `Idempotency-Key`,
    /// kept so that a migrated service does not post a second toot.
    pub fn idempotency_key(&self) -> String {
        hex::encode(Md5::digest(self.as_str().as_bytes()))
    }
}

impl fmt::Display for PostUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(input: &str) -> String {
        PostUrl::parse(input).unwrap().as_str().to_owned()
    }

    #[test]
    fn canonical_form_drops_query_fragment_and_userinfo() {
        let cases = [
            (
                "https://blog.example/post/1?utm=x#c",
                "https://blog.example/post/1",
            ),
            ("https://user:pw@blog.example/p", "https://blog.example/p"),
            ("HTTPS://Blog.EXAMPLE/Post", "https://blog.example/Post"),
            ("https://blog.example:443/p", "https://blog.example/p"),
            ("http://blog.example:80/p", "http://blog.example/p"),
            ("http://blog.example:8080/p", "http://blog.example:8080/p"),
            ("https://blog.example", "https://blog.example/"),
            ("  https://blog.example/p  ", "https://blog.example/p"),
        ];
        for (input, expected) in cases {
            assert_eq!(canonical(input), expected, "canonical form of {input}");
        }
    }

    #[test]
    fn only_http_urls_with_a_host_are_posts() {
        assert!(matches!(
            PostUrl::parse("ftp://blog.example/p"),
            Err(PostUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            PostUrl::parse("javascript:alert(1)"),
            Err(PostUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            PostUrl::parse("/relative/path"),
            Err(PostUrlError::Unparseable { .. })
        ));
    }

    #[test]
    fn an_overlong_url_is_refused() {
        let long = format!("https://blog.example/{}", "a".repeat(MAX_URL_LENGTH));
        assert_eq!(PostUrl::parse(&long), Err(PostUrlError::TooLong));
    }

    #[test]
    fn idempotency_key_is_the_seeds_md5_of_the_canonical_url() {
        // md5("https://blog.example/post/1"), computed independently.
        let url = PostUrl::parse("https://blog.example/post/1?x=1").unwrap();
        assert_eq!(url.idempotency_key(), "45aa443ff86971132c3d60a4e0dc7558");
        assert_eq!(url.idempotency_key().len(), 32);
    }

    #[test]
    fn path_without_leading_slash_is_the_seed_key_suffix() {
        let url = PostUrl::parse("https://claassen.net/geek/blog/2024/02/x.html").unwrap();
        assert_eq!(url.path_without_leading_slash(), "geek/blog/2024/02/x.html");
    }
}
