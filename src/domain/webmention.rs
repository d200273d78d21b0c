//! A webmention request, checked synchronously (Webmention §3.2.1).
//!
//! The receiver "MUST check that source and target are valid URLs and are of
//! schemes that are supported by the receiver", "MUST reject the request if
//! the source URL is the same as the target URL", and "SHOULD check that
//! target is a valid resource for which it can accept Webmentions". Every
//! rejection here says what was wrong, for a 400 answer. Invariant: a
//! [`WebmentionRequest`] only exists for a request that passed every check.

use url::Url;

use super::post_url::MAX_URL_LENGTH;

/// The sites we receive webmentions for (`BACKFEED_SITES`): a target must
/// lie under one of these base URLs (same scheme, host and port; path prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sites(Vec<Url>);

impl Sites {
    pub fn new(bases: Vec<Url>) -> Self {
        Self(bases)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn bases(&self) -> &[Url] {
        &self.0
    }

    /// Whether `url` is a page of one of our sites.
    pub fn contains(&self, url: &Url) -> bool {
        self.0.iter().any(|base| {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str()
                && base.port_or_known_default() == url.port_or_known_default()
                && url.path().starts_with(base.path())
        })
    }
}

/// Domains whose webmentions are refused. A listed domain also covers its
/// subdomains (`spam.example` blocks `a.spam.example`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DomainList(Vec<String>);

impl DomainList {
    pub fn new(domains: impl IntoIterator<Item = String>) -> Self {
        Self(
            domains
                .into_iter()
                .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        )
    }

    /// The domains, normalised, in the order given.
    pub fn domains(&self) -> &[String] {
        &self.0
    }

    pub fn matches(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.0
            .iter()
            .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("the `{0}` parameter is missing")]
    Missing(&'static str),
    #[error("the `{field}` parameter `{value}` is not a valid URL: {reason}")]
    Unparseable {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("the `{field}` parameter must be an http or https URL, not `{scheme}:`")]
    UnsupportedScheme { field: &'static str, scheme: String },
    #[error("the `{0}` parameter is longer than {MAX_URL_LENGTH} characters")]
    TooLong(&'static str),
    #[error("`source` and `target` are the same URL")]
    SameUrl,
    #[error("`{0}` is not on a site this server receives webmentions for")]
    TargetNotOurs(String),
    #[error("webmentions from `{0}` are not accepted here")]
    BlockedSource(String),
}

/// A request that passed the synchronous checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebmentionRequest {
    pub source: Url,
    pub target: Url,
}

impl WebmentionRequest {
    /// Applies every synchronous check, in the order a sender would want to
    /// hear about problems.
    pub fn check(
        source: Option<&str>,
        target: Option<&str>,
        sites: &Sites,
        blocked: &DomainList,
    ) -> Result<Self, RequestError> {
        let source = parse_field("source", source)?;
        let target = parse_field("target", target)?;
        if without_fragment(&source) == without_fragment(&target) {
            return Err(RequestError::SameUrl);
        }
        if !sites.contains(&target) {
            return Err(RequestError::TargetNotOurs(target.to_string()));
        }
        let source_host = source.host_str().unwrap_or_default();
        if blocked.matches(source_host) {
            return Err(RequestError::BlockedSource(source_host.to_owned()));
        }
        Ok(Self { source, target })
    }

    pub fn source_domain(&self) -> &str {
        self.source.host_str().unwrap_or_default()
    }
}

fn parse_field(field: &'static str, value: Option<&str>) -> Result<Url, RequestError> {
    let value = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(RequestError::Missing(field))?;
    if value.len() > MAX_URL_LENGTH {
        return Err(RequestError::TooLong(field));
    }
    let url = Url::parse(value).map_err(|e| RequestError::Unparseable {
        field,
        value: value.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RequestError::UnsupportedScheme {
            field,
            scheme: url.scheme().to_owned(),
        });
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(RequestError::Unparseable {
            field,
            value: value.to_owned(),
            reason: "it has no host".to_owned(),
        });
    }
    Ok(url)
}

/// `url` with its fragment dropped: fragments never tell two pages apart
/// (Webmention §3.2.1, §3.2.2).
pub fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sites() -> Sites {
        Sites::new(vec![
            Url::parse("https://blog.example/").unwrap(),
            Url::parse("https://www.example/blog/").unwrap(),
        ])
    }

    fn check(
        source: Option<&str>,
        target: Option<&str>,
    ) -> Result<WebmentionRequest, RequestError> {
        WebmentionRequest::check(
            source,
            target,
            &sites(),
            &DomainList::new(["spam.example".to_owned()]),
        )
    }

    #[test]
    fn a_valid_request_passes() {
        let request = check(
            Some("https://alice.example/reply"),
            Some("https://blog.example/post/"),
        )
        .unwrap();
        assert_eq!(request.source.as_str(), "https://alice.example/reply");
        assert_eq!(request.source_domain(), "alice.example");
    }

    #[test]
    fn each_bad_request_says_what_is_wrong() {
        let cases: [(Option<&str>, Option<&str>, &str); 9] = [
            (
                None,
                Some("https://blog.example/p"),
                "`source` parameter is missing",
            ),
            (
                Some("https://a.example/"),
                Some("  "),
                "`target` parameter is missing",
            ),
            (
                Some("not a url"),
                Some("https://blog.example/p"),
                "`source` parameter `not a url` is not a valid URL",
            ),
            (
                Some("ftp://a.example/x"),
                Some("https://blog.example/p"),
                "must be an http or https URL, not `ftp:`",
            ),
            (
                Some("https://a.example/"),
                Some("mailto:me@blog.example"),
                "`target` parameter must be an http",
            ),
            (
                Some("https://blog.example/p#a"),
                Some("https://blog.example/p#b"),
                "are the same URL",
            ),
            (
                Some("https://a.example/"),
                Some("https://other.example/p"),
                "not on a site this server receives",
            ),
            (
                Some("https://a.example/"),
                Some("https://www.example/shop/"),
                "not on a site this server receives",
            ),
            (
                Some("https://x.spam.example/"),
                Some("https://blog.example/p"),
                "from `x.spam.example` are not accepted",
            ),
        ];
        for (source, target, expected) in cases {
            let message = check(source, target).unwrap_err().to_string();
            assert!(
                message.contains(expected),
                "{source:?} {target:?}: {message}"
            );
        }
    }

    #[test]
    fn an_overlong_url_is_refused_naming_the_parameter() {
        let long = format!("https://alice.example/{}", "a".repeat(3000));
        let message = check(Some(&long), Some("https://blog.example/p"))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`source` parameter is longer than 2048"),
            "{message}"
        );
    }

    #[test]
    fn a_site_matches_by_scheme_host_port_and_path_prefix() {
        let sites = sites();
        let contains = |u: &str| sites.contains(&Url::parse(u).unwrap());
        assert!(contains("https://blog.example/any/post"));
        assert!(contains("https://www.example/blog/post"));
        assert!(!contains("http://blog.example/any/post"), "scheme differs");
        assert!(!contains("https://blog.example:8443/post"), "port differs");
        assert!(!contains("https://blog.example.evil/post"), "host differs");
        assert!(!contains("https://www.example/blogger"), "outside the path");
    }

    #[test]
    fn a_blocked_domain_covers_its_subdomains_only() {
        let list = DomainList::new(["Spam.Example.".to_owned()]);
        assert!(list.matches("spam.example"));
        assert!(list.matches("a.b.spam.example"));
        assert!(!list.matches("notspam.example"));
    }
}
