//! `PostUrl`: the canonical form of a blog post's address.
//!
//! The canonical form is what is matched against `BLOG_POST_PATTERN`, stored
//! and hashed into the `Idempotency-Key`, so two spellings of one post can
//! never produce two toots. Canonical means: http(s) only, no userinfo, no
//! query, no fragment, and RFC 3986 §6.2.2's syntax-based normalisation
//! (what the `url` crate's WHATWG parser already does: lower-case scheme,
//! IDNA-mapped lower-case host, default port dropped, dot segments removed;
//! what we add: percent-encoded unreserved characters decoded, other escapes
//! in upper-case hex) plus what web servers fold together: runs of slashes
//! in the path, and the DNS root's trailing dot on the host.
//! (The seed's loader strips query, userinfo and fragment the same way before
//! calling us; doing it here as well protects against other callers.)
//!
//! Invariant: a URL that was already in this form keeps exactly its string,
//! so posts stored and keyed by earlier versions keep their key. `/hello`,
//! `/hello/` and `/hello/index.html` stay three URLs: no string rule can know
//! that they are one page; the page's own identity (`post_identity`) does.

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
    /// Parses and canonicalises a URL given by a client or a page.
    pub fn parse(input: &str) -> Result<Self, PostUrlError> {
        let mut url = parse_as_given(input)?;
        if let Some(url::Host::Domain(domain)) = url.host() {
            let bare = domain.trim_end_matches('.');
            if bare.is_empty() {
                return Err(PostUrlError::MissingHost(input.to_owned()));
            }
            if bare.len() != domain.len() {
                let bare = bare.to_owned();
                url.set_host(Some(&bare))
                    .map_err(|e| PostUrlError::Unparseable {
                        input: input.to_owned(),
                        reason: e.to_string(),
                    })?;
            }
        }
        let path = normalise_path(url.path());
        if path != url.path() {
            // Setting the path also removes dot segments that decoding uncovered.
            url.set_path(&path);
        }
        // The limit is on what is kept: escaping can make the canonical
        // form three times longer than what was given.
        if url.as_str().len() > MAX_URL_LENGTH {
            return Err(PostUrlError::TooLong);
        }
        Ok(Self(url))
    }

    /// A key read back from a store, as it was stored: earlier versions did
    /// not normalise escapes, slashes or a trailing dot, and a record must be
    /// found again under its own key. Never for input from outside.
    pub fn from_stored(stored: &str) -> Result<Self, PostUrlError> {
        parse_as_given(stored).map(Self)
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

    /// The key under which earlier versions, which kept escapes as given,
    /// may have stored this post: its escapes in lower-case hex (as
    /// WordPress writes them). A key to look up, never one to claim or post
    /// under; `None` when it is the canonical form itself.
    pub fn earlier_spelling(&self) -> Option<PostUrl> {
        let path = self.0.path();
        if !path.contains('%') {
            return None;
        }
        // Only the hex digits of real escapes: a `%` that starts none is
        // followed by ordinary characters, which keep their case.
        let bytes = path.as_bytes();
        let mut lower = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let escape = bytes[i] == b'%'
                && i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if escape {
                lower.extend([
                    b'%',
                    bytes[i + 1].to_ascii_lowercase(),
                    bytes[i + 2].to_ascii_lowercase(),
                ]);
                i += 3;
            } else {
                lower.push(bytes[i]);
                i += 1;
            }
        }
        let lower = String::from_utf8(lower).unwrap_or_else(|_| path.to_owned());
        if lower == path {
            return None;
        }
        let mut earlier = self.0.clone();
        earlier.set_path(&lower);
        Some(Self(earlier))
    }
}

/// RFC 3986 §6.2.2.1–2 on a serialised path: an escape of an unreserved
/// character becomes the character, any other escape gets upper-case hex;
/// a `%` that starts no escape is left alone. Runs of slashes become one.
/// Works on bytes: everything it writes is ASCII or copied as it was, so
/// the result is UTF-8 whenever the input is.
fn normalise_path(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'/' if out.last() == Some(&b'/') => i += 1,
            b'%' if i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit() =>
            {
                let value = (hex_value(bytes[i + 1]) << 4) | hex_value(bytes[i + 2]);
                if is_unreserved(value) && !completes_an_escape(&out, value) {
                    out.push(value);
                } else {
                    out.extend([
                        b'%',
                        bytes[i + 1].to_ascii_uppercase(),
                        bytes[i + 2].to_ascii_uppercase(),
                    ]);
                }
                i += 3;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| path.to_owned())
}

/// Whether `byte`, written after `out`, would turn a `%` that starts no
/// escape into one (`%%34a` would become `%4a`, another spelling again):
/// such an escape stays encoded, so the canonical form is its own.
fn completes_an_escape(out: &[u8], byte: u8) -> bool {
    byte.is_ascii_hexdigit()
        && match out {
            [.., b'%'] => true,
            [.., b'%', digit] => digit.is_ascii_hexdigit(),
            _ => false,
        }
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// The checks and the canonicalisation every version did: http(s) with a
/// host; userinfo, query and fragment dropped; what `Url` itself normalises.
fn parse_as_given(input: &str) -> Result<Url, PostUrlError> {
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
    // Userinfo setters only fail for URLs that cannot have a host, which
    // http(s) URLs always have, so the results can be ignored.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
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

    /// RFC 3986 §6.2.2 syntax-based normalisation, plus what every static
    /// web server folds together (duplicate slashes, a host's trailing dot).
    const SPELLINGS_OF_ONE_POST: &[(&str, &str)] = &[
        // §6.2.2.2: percent-encoded unreserved characters are decoded…
        (
            "https://blog.example/posts/%68ello/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts/hell%6f/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/%7Euser/p",
            "https://blog.example/~user/p",
        ),
        (
            "https://blog.example/a%2Db%5Fc%2Ed%7E",
            "https://blog.example/a-b_c.d~",
        ),
        // …§6.2.2.1: and the hex digits of the others are upper-case.
        (
            "https://blog.example/caf%c3%a9/",
            "https://blog.example/caf%C3%A9/",
        ),
        (
            "https://blog.example/café/",
            "https://blog.example/caf%C3%A9/",
        ),
        ("https://blog.example/a%2fb", "https://blog.example/a%2Fb"),
        ("https://blog.example/100%", "https://blog.example/100%"),
        ("https://blog.example/%zz", "https://blog.example/%zz"),
        // §6.2.2.3: dot segments, also percent-encoded ones.
        (
            "https://blog.example/posts/./hello/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts/x/../hello/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts/x/%2E%2e/hello/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts/hello/.",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts\\hello/",
            "https://blog.example/posts/hello/",
        ),
        // Duplicate slashes: servers merge them (nginx's merge_slashes).
        (
            "https://blog.example//posts/hello/",
            "https://blog.example/posts/hello/",
        ),
        (
            "https://blog.example/posts//hello//",
            "https://blog.example/posts/hello/",
        ),
        // Hosts: case, IDNA, percent-encoding, the DNS root's trailing dot.
        (
            "https://blog.example./posts/hello/",
            "https://blog.example/posts/hello/",
        ),
        ("https://BLOG.Example..:443/p", "https://blog.example/p"),
        (
            "https://bücher.example/p",
            "https://xn--bcher-kva.example/p",
        ),
        (
            "https://BÜCHER.example/p",
            "https://xn--bcher-kva.example/p",
        ),
        (
            "https://\u{ff42}\u{ff4c}\u{ff4f}\u{ff47}.example/p",
            "https://blog.example/p",
        ),
        ("https://bl%6Fg.example/p", "https://blog.example/p"),
        ("http://127.0.0.1./p", "http://127.0.0.1/p"),
    ];

    #[test]
    fn spellings_of_one_post_normalise_to_one_canonical_form() {
        let wrong: Vec<String> = SPELLINGS_OF_ONE_POST
            .iter()
            .filter(|(input, expected)| canonical(input) != *expected)
            .map(|(input, expected)| format!("{input} gave {}, not {expected}", canonical(input)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_canonical_form_is_its_own_canonical_form() {
        for (_, expected) in SPELLINGS_OF_ONE_POST {
            assert_eq!(canonical(expected), *expected, "{expected} is stable");
        }
    }

    #[test]
    fn urls_that_were_already_canonical_keep_their_string_and_their_key() {
        // Stored keys and Idempotency-Keys of migrated posts: never changed.
        let stable = [
            "https://blog.example/posts/hello/",
            "https://blog.example/posts/hello",
            "https://blog.example/posts/hello/index.html",
            "https://claassen.net/geek/blog/2024/02/x.html",
            "https://blog.example/",
            "http://blog.example:8080/p",
            "http://127.0.0.1:8080/posts/1",
            "https://blog.example/Posts/CamelCase",
            "https://blog.example/posts/caf%C3%A9/",
            "https://blog.example/~user/post",
            "https://blog.example/posts/a-b_c.d~e/",
            "https://blog.example/p%2Fq",
            "https://blog.example/p%20q",
            "https://blog.example/p;x=1/@:!$&'()*+,=",
            "https://xn--bcher-kva.example/p",
        ];
        for url in stable {
            let parsed = PostUrl::parse(url).unwrap();
            assert_eq!(parsed.as_str(), url, "{url} keeps its canonical string");
            assert_eq!(
                parsed.idempotency_key(),
                hex::encode(Md5::digest(url.as_bytes())),
                "{url} keeps its key"
            );
        }
    }

    #[test]
    fn a_trailing_slash_and_index_html_are_left_to_the_page_to_decide() {
        // Different resources as far as strings go; the page's canonical
        // link or a redirect merges them (see `domain::post_identity`).
        let spellings = [
            "https://blog.example/posts/hello",
            "https://blog.example/posts/hello/",
            "https://blog.example/posts/hello/index.html",
        ];
        for url in spellings {
            assert_eq!(canonical(url), url);
        }
    }

    #[test]
    fn a_stored_key_reads_back_exactly_as_it_was_stored() {
        let stored = "https://blog.example//caf%c3%a9/";
        assert_eq!(PostUrl::from_stored(stored).unwrap().as_str(), stored);
        assert!(PostUrl::from_stored("ftp://blog.example/").is_err());
    }

    #[test]
    fn the_earlier_spelling_is_the_one_with_lower_case_escapes() {
        let url = PostUrl::parse("https://blog.example/caf%C3%A9/").unwrap();
        assert_eq!(
            url.earlier_spelling().map(|u| u.as_str().to_owned()),
            Some("https://blog.example/caf%c3%a9/".to_owned())
        );
        let plain = PostUrl::parse("https://blog.example/posts/hello/").unwrap();
        assert_eq!(plain.earlier_spelling(), None);
    }

    /// Found by the `post_url` fuzz target: decoding `%34` after a `%` that
    /// starts no escape made a new escape, so the canonical form of
    /// `/caf%%34a` was `/caf%4a`, whose own canonical form is `/cafJ`: two
    /// keys, two toots, for one post.
    #[test]
    fn decoding_never_makes_a_new_escape() {
        let cases = [
            ("https://b.example/caf%%34a", "https://b.example/caf%%34a"),
            ("https://b.example/caf%4%61", "https://b.example/caf%4%61"),
            ("https://b.example/caf%%7e", "https://b.example/caf%~"),
            ("https://b.example/100%%2D", "https://b.example/100%-"),
        ];
        for (input, expected) in cases {
            let once = canonical(input);
            assert_eq!(once, expected, "canonical form of {input}");
            assert_eq!(canonical(&once), once, "{once} is its own canonical form");
        }
    }

    /// Found by the `post_url` fuzz target: a `%` that starts no escape
    /// lower-cased the two characters after it, so `/%2Hello` was looked
    /// up under `/%2hello`, another post's key.
    #[test]
    fn the_earlier_spelling_lower_cases_real_escapes_only() {
        let url = PostUrl::parse("https://blog.example/a%2Hello/caf%C3%A9/%zz%E9").unwrap();
        let earlier = url.earlier_spelling().unwrap();
        assert_eq!(
            earlier.as_str(),
            "https://blog.example/a%2Hello/caf%c3%a9/%zz%e9"
        );
        let back = PostUrl::parse(earlier.as_str()).unwrap();
        assert_eq!(back, url, "the earlier spelling is a spelling of this post");
        let no_escape = PostUrl::parse("https://blog.example/100%2Hot").unwrap();
        assert_eq!(no_escape.earlier_spelling(), None);
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

    /// Found by the `post_url` fuzz target: a 766-byte URL of control
    /// characters escaped to a canonical form over the limit, which could
    /// be stored but never parsed again.
    #[test]
    fn a_url_whose_canonical_form_is_overlong_is_refused() {
        let escaped = format!("https://blog.example/{}x", "\u{0}".repeat(700));
        assert!(escaped.len() <= MAX_URL_LENGTH);
        assert_eq!(PostUrl::parse(&escaped), Err(PostUrlError::TooLong));
        let fits = format!("https://blog.example/{}x", "\u{0}".repeat(600));
        let canonical = PostUrl::parse(&fits).unwrap();
        assert!(canonical.as_str().len() <= MAX_URL_LENGTH);
        assert_eq!(PostUrl::parse(canonical.as_str()), Ok(canonical));
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
