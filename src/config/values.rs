//! Typed setting values and the parsers that produce them from raw strings.
//!
//! Each parser returns a plain reason on failure; [`Reader`] wraps it with the
//! setting's key, environment variable and source.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use regex::Regex;
use url::Url;

use super::ConfigError;
use super::sources::{RawSettings, setting};
use crate::domain::job::RetryPolicy;
use crate::domain::webmention::{DomainList, Sites};

/// Reads typed values out of the merged raw settings.
pub struct Reader<'a> {
    raw: &'a RawSettings,
}

impl<'a> Reader<'a> {
    pub fn new(raw: &'a RawSettings) -> Self {
        Self { raw }
    }

    /// The trimmed text of a setting, `None` when unset or blank.
    pub fn text(&self, key: &str) -> Option<String> {
        self.raw
            .get(key)
            .map(|raw| raw.value.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub fn parsed<T>(
        &self,
        key: &'static str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        let Some(raw) = self.raw.get(key).filter(|raw| !raw.value.trim().is_empty()) else {
            return Ok(None);
        };
        parse(&raw.value)
            .map(Some)
            .map_err(|reason| ConfigError::Invalid {
                key: static_key(key),
                env: primary_env(key),
                origin: raw.source.to_string(),
                reason,
            })
    }

    pub fn required<T>(
        &self,
        key: &'static str,
        why: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, ConfigError> {
        self.parsed(key, parse)?
            .ok_or_else(|| ConfigError::Missing {
                key: static_key(key),
                env: primary_env(key),
                reason: why.to_owned(),
            })
    }
}

fn static_key(key: &str) -> &'static str {
    setting(key).map_or("?", |s| s.key)
}

fn primary_env(key: &str) -> &'static str {
    setting(key)
        .and_then(|s| s.env.first().copied())
        .unwrap_or("?")
}

/// A secret that never shows up in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `Access-Control-Allow-Origin`: any origin, or a list of exact origins.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum CorsOrigins {
    #[default]
    Any,
    List(Vec<String>),
}

impl CorsOrigins {
    pub fn parse(value: &str) -> Result<Self, String> {
        let items: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() || items == ["*"] {
            return Ok(Self::Any);
        }
        items
            .into_iter()
            .map(parse_origin)
            .collect::<Result<_, _>>()
            .map(Self::List)
    }
}

fn parse_origin(item: &str) -> Result<String, String> {
    let not_origin = || {
        format!(
            "`{item}` is not an origin like https://blog.example (scheme, host and optional port, no path)"
        )
    };
    let url = Url::parse(item).map_err(|_| not_origin())?;
    let origin = url.origin().ascii_serialization();
    let is_origin = matches!(url.scheme(), "http" | "https")
        && item.trim_end_matches('/').eq_ignore_ascii_case(&origin);
    if is_origin {
        Ok(origin)
    } else {
        Err(not_origin())
    }
}

/// The Mastodon instance: a bare host means https (the seed's form); a full
/// base URL such as `http://127.0.0.1:9000` is accepted too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MastodonBase {
    /// Base URL for API calls, without a trailing slash.
    pub api_base: Url,
    /// What `GET /?url=` reports as `host`: the host (and non-default port)
    /// the seed's loader builds its `https://{host}/…` URLs from.
    pub host: String,
}

impl MastodonBase {
    pub fn parse(value: &str) -> Result<Self, String> {
        let value = value.trim();
        let with_scheme = if value.contains("://") {
            value.to_owned()
        } else {
            format!("https://{value}")
        };
        let url = Url::parse(&with_scheme)
            .map_err(|e| format!("`{value}` is not a host name or base URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("`{value}` must be a host name or an http(s) URL"));
        }
        if url.path() != "/"
            || url.query().is_some()
            || url.fragment().is_some()
            || !url.username().is_empty()
        {
            return Err(format!(
                "`{value}` must be only a host or scheme://host[:port], with no path"
            ));
        }
        let host = url
            .host_str()
            .ok_or_else(|| format!("`{value}` has no host"))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        Ok(Self {
            api_base: url,
            host,
        })
    }

    /// An API endpoint such as `api/v1/statuses`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.api_base.clone();
        url.set_path(path);
        url
    }
}

/// `BLOG_POST_PATTERN`: which URLs are blog posts. Like Python's `re.match`
/// in the seed, it must match at the start of the canonical URL.
#[derive(Debug, Clone)]
pub struct PostPattern(Regex);

impl PostPattern {
    pub fn parse(value: &str) -> Result<Self, String> {
        Regex::new(value.trim())
            .map(Self)
            .map_err(|e| format!("not a valid regular expression: {e}"))
    }

    pub fn matches(&self, url: &str) -> bool {
        // The leftmost match starts at 0 exactly when some match does.
        self.0.find(url).is_some_and(|m| m.start() == 0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => Err(format!("`{other}` is not one of text, json")),
        }
    }
}

pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        other => Err(format!("`{other}` is not true or false")),
    }
}

/// `10s`, `500ms`, `1m`, or a bare number of seconds.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let duration = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => humantime::parse_duration(value)
            .map_err(|e| format!("`{value}` is not a duration like 10s or 500ms: {e}"))?,
    };
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}

pub fn parse_count(value: &str) -> Result<usize, String> {
    value
        .trim()
        .parse::<usize>()
        .map_err(|_| format!("`{}` is not a whole number", value.trim()))
}

pub fn parse_positive(value: &str) -> Result<usize, String> {
    match parse_count(value)? {
        0 => Err("must be greater than zero".to_owned()),
        n => Ok(n),
    }
}

pub fn parse_socket_addr(value: &str) -> Result<SocketAddr, String> {
    value.trim().parse().map_err(|_| {
        format!(
            "`{}` is not an address like 127.0.0.1:8080 or [::]:8080",
            value.trim()
        )
    })
}

/// Whether verified mentions show at once or wait for the owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModerationMode {
    #[default]
    Auto,
    Manual,
}

impl ModerationMode {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "manual" => Ok(Self::Manual),
            other => Err(format!("`{other}` is not one of auto, manual")),
        }
    }
}

/// Comma-separated site base URLs, e.g. `https://blog.example/`.
pub fn parse_sites(value: &str) -> Result<Sites, String> {
    let bases = value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let url = Url::parse(item).map_err(|e| {
                format!("`{item}` is not a site URL like https://blog.example/: {e}")
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("`{item}` is not an http(s) site URL"));
            }
            if url.query().is_some() || url.fragment().is_some() {
                return Err(format!("`{item}` must not have a query or fragment"));
            }
            Ok(url)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if bases.is_empty() {
        return Err("names no site".to_owned());
    }
    Ok(Sites::new(bases))
}

/// Comma-separated domain names.
pub fn parse_domains(value: &str) -> Result<DomainList, String> {
    let domains: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(bad) = domains
        .iter()
        .find(|d| d.contains('/') || d.contains(':') || d.contains(' '))
    {
        return Err(format!("`{bad}` is not a domain name like spam.example"));
    }
    Ok(DomainList::new(domains))
}

/// Comma-separated delays between verification attempts, e.g. `1m,5m,30m`.
pub fn parse_retry_delays(value: &str) -> Result<RetryPolicy, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_duration)
        .collect::<Result<Vec<_>, _>>()
        .map(RetryPolicy::new)
}

/// A secret of at least 16 characters, so that it cannot be guessed by trying.
pub fn parse_admin_token(value: &str) -> Result<Secret, String> {
    let token = value.trim();
    if token.chars().count() < 16 {
        return Err("must be at least 16 characters long (e.g. `openssl rand -hex 24`)".to_owned());
    }
    Ok(Secret::new(token))
}

/// `BACKFEED_READ_TOKENS`: one or more tokens (comma-separated) that list
/// mentions through the read API without a `target`, each at least 16
/// characters.
pub fn parse_read_tokens(value: &str) -> Result<Vec<Secret>, String> {
    let tokens = value
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|token| {
            parse_admin_token(token).map_err(|reason| {
                format!(
                    "each token {reason}; one is {} characters",
                    token.chars().count()
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if tokens.is_empty() {
        return Err("names no token".to_owned());
    }
    Ok(tokens)
}

/// What a webhook delivery looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WebhookFormat {
    /// `{"event", "id", "source", "target", "status", "moderation",
    /// "mention"}`, signed with `X-Backfeed-Signature`.
    #[default]
    Backfeed,
    /// webmention.io's callbacks: `{secret, source, target, private, post}`
    /// on a verification, `{secret, source, target, private, deleted}` on a
    /// delete.
    WebmentionIo,
}

impl WebhookFormat {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "backfeed" => Ok(Self::Backfeed),
            "webmention.io" | "webmentionio" => Ok(Self::WebmentionIo),
            other => Err(format!("`{other}` is not `backfeed` or `webmention.io`")),
        }
    }
}

/// A number of requests per period, e.g. `60/min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per: Duration,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            requests: 60,
            per: Duration::from_secs(60),
        }
    }
}

/// `60/min`, `10/s`, `1000/hour`, `5/10s`, or `off` (`None`).
pub fn parse_rate_limit(value: &str) -> Result<Option<RateLimit>, String> {
    let value = value.trim().to_ascii_lowercase();
    if value == "off" {
        return Ok(None);
    }
    let invalid = || format!("`{value}` is not a rate like 60/min, 10/s or off");
    let (count, period) = value.split_once('/').ok_or_else(invalid)?;
    let requests: u32 = count.trim().parse().map_err(|_| invalid())?;
    let per = match period.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        "d" | "day" => Duration::from_secs(86_400),
        other => parse_duration(other).map_err(|_| invalid())?,
    };
    if requests == 0 {
        return Err("allow at least one request per period, or say `off`".to_owned());
    }
    Ok(Some(RateLimit { requests, per }))
}

/// An absolute http(s) URL.
pub fn parse_http_url(value: &str) -> Result<Url, String> {
    let url =
        Url::parse(value.trim()).map_err(|e| format!("`{}` is not a URL: {e}", value.trim()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{url}` must be an http or https URL"));
    }
    Ok(url)
}

/// Comma-separated http(s) URLs (TOML: a list).
pub fn parse_http_urls(value: &str) -> Result<Vec<Url>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_http_url)
        .collect()
}

/// A duration, or `0` / `off` for "never" (`BACKFEED_FEED_INTERVAL`).
pub fn parse_interval(value: &str) -> Result<Option<Duration>, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "0" | "off" | "0s" => Ok(None),
        _ => parse_duration(value).map(Some),
    }
}
