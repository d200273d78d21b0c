//! The Mastodon API client: instance limits and posting the announcing toot.
//!
//! Wire types (Mastodon's JSON) live here and are converted to domain types
//! explicitly. Every answer Mastodon can give maps to one [`MastodonError`]
//! variant that says whether trying again can help. The token is only ever
//! sent in the `Authorization` header, never logged.

use std::sync::Mutex;
use std::time::Duration;

use http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub mod oauth;
mod thread;

pub use thread::FetchedThread;

use super::http::{FetchError, FetchPolicy, Fetched, HttpClient};
use crate::clock::Clock;
use crate::config::MastodonConfig;
use crate::domain::{InstanceLimits, TootId, Visibility};

/// How long instance limits are trusted before they are read again.
const LIMITS_TTL: Duration = Duration::from_secs(3600);
/// After a failed read, how long the defaults are used before asking again.
const LIMITS_RETRY: Duration = Duration::from_secs(60);
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Largest API answer read from the instance.
const MAX_API_BODY: usize = 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum MastodonError {
    #[error(
        "Mastodon rejected the access token (HTTP {status}): check MASTODON_OAUTH_TOKEN and its write:statuses scope"
    )]
    Unauthorized { status: u16 },
    #[error("Mastodon refused the status (HTTP 422): {reason}")]
    Rejected { reason: String },
    #[error("Mastodon's rate limit is exhausted; try again in {} s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    #[error("Mastodon is unavailable (HTTP {status}){}", detail.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Unavailable { status: u16, detail: Option<String> },
    #[error("Mastodon could not be reached: {0}")]
    Unreachable(#[source] FetchError),
    #[error("Mastodon gave an unexpected answer: {0}")]
    Unexpected(String),
}

impl MastodonError {
    /// A fetch failure: unreachable, unless the answer came but was unusable.
    pub(crate) fn from_fetch(error: FetchError) -> Self {
        match error {
            FetchError::TooLarge { limit } => {
                Self::Unexpected(format!("the answer was larger than {limit} bytes"))
            }
            other => Self::Unreachable(other),
        }
    }
}

/// A status to post.
#[derive(Debug, Clone)]
pub struct NewStatus<'a> {
    pub text: &'a str,
    pub visibility: Visibility,
    pub language: Option<&'a str>,
    pub idempotency_key: &'a str,
}

pub struct MastodonClient {
    http: HttpClient,
    config: MastodonConfig,
    clock: Clock,
    limits: Mutex<Option<(OffsetDateTime, InstanceLimits)>>,
}

impl MastodonClient {
    /// The instance is the operator's own choice, not a URL someone else
    /// gave us, so private addresses are allowed (self-hosted instances).
    pub fn new(
        config: &MastodonConfig,
        base_policy: &FetchPolicy,
        clock: Clock,
    ) -> Result<Self, FetchError> {
        let policy = FetchPolicy {
            allow_private_addresses: true,
            total_timeout: config.timeout,
            // A context of 4,096 replies runs to megabytes; the page
            // fetcher's cap is for strangers' pages, not the owner's instance.
            max_body_bytes: base_policy.max_body_bytes.max(MAX_API_BODY),
            ..base_policy.clone()
        };
        Ok(Self {
            http: HttpClient::new(policy)?,
            config: config.clone(),
            clock,
            limits: Mutex::new(None),
        })
    }

    /// The instance's status limits, cached; Mastodon's defaults when the
    /// instance does not say (with a warning, and a retry a minute later).
    pub async fn instance_limits(&self) -> InstanceLimits {
        if let Some(limits) = self.cached_limits() {
            return limits;
        }
        let (limits, ttl) = match self.fetch_limits().await {
            Ok(limits) => (limits, LIMITS_TTL),
            Err(error) => {
                tracing::warn!(%error, "cannot read the instance's status limits; assuming Mastodon's defaults");
                (InstanceLimits::default(), LIMITS_RETRY)
            }
        };
        if let Ok(mut cache) = self.limits.lock() {
            *cache = Some((self.clock.now() + ttl, limits));
        }
        limits
    }

    fn cached_limits(&self) -> Option<InstanceLimits> {
        let cache = self.limits.lock().ok()?;
        cache
            .filter(|(until, _)| *until > self.clock.now())
            .map(|(_, limits)| limits)
    }

    async fn fetch_limits(&self) -> Result<InstanceLimits, MastodonError> {
        let url = self.config.base.endpoint("/api/v2/instance");
        let response = self
            .http
            .execute(
                self.http
                    .request(Method::GET, url)
                    .header("Accept", "application/json"),
            )
            .await
            .map_err(MastodonError::from_fetch)?;
        let body: InstanceWire = parse_success(&response, self.clock.now())?;
        Ok(body.into_limits())
    }

    /// Posts a status; the `Idempotency-Key` makes a retried request return
    /// the original status instead of a second one (for an hour).
    pub async fn post_status(&self, status: &NewStatus<'_>) -> Result<TootId, MastodonError> {
        let url = self.config.base.endpoint("/api/v1/statuses");
        let mut form = vec![
            ("status", status.text),
            ("visibility", status.visibility.as_str()),
        ];
        if let Some(language) = status.language {
            form.push(("language", language));
        }
        let request = self
            .http
            .request(Method::POST, url)
            .bearer_auth(self.config.token.expose())
            .header("Idempotency-Key", status.idempotency_key)
            .header("Accept", "application/json")
            .form(&form);
        let response = self
            .http
            .execute(request)
            .await
            .map_err(MastodonError::from_fetch)?;
        let created: StatusWire = parse_success(&response, self.clock.now())?;
        created.id.into_toot_id()
    }
}

/// Maps a non-success answer to its error, or parses the success body.
fn parse_success<T: for<'de> Deserialize<'de>>(
    response: &Fetched,
    now: OffsetDateTime,
) -> Result<T, MastodonError> {
    let status = response.status;
    if status.is_success() {
        return serde_json::from_slice(&response.body).map_err(|e| {
            MastodonError::Unexpected(format!("HTTP {status} with an unreadable body: {e}"))
        });
    }
    let reason = error_text(&response.body);
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => MastodonError::Unauthorized {
            status: status.as_u16(),
        },
        StatusCode::UNPROCESSABLE_ENTITY => MastodonError::Rejected {
            reason: reason.unwrap_or_else(|| "no reason given".to_owned()),
        },
        StatusCode::TOO_MANY_REQUESTS => MastodonError::RateLimited {
            retry_after: retry_after(&response.headers, now),
        },
        s if s.is_server_error() => MastodonError::Unavailable {
            status: s.as_u16(),
            detail: reason,
        },
        s => MastodonError::Unexpected(format!("HTTP {s}: {}", reason.unwrap_or_default())),
    })
}

/// Mastodon's `{"error": "…"}` body, if that is what came back.
fn error_text(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorWire {
        error: String,
    }
    serde_json::from_slice::<ErrorWire>(body)
        .ok()
        .map(|e| e.error)
}

/// Seconds until `X-RateLimit-Reset` (an ISO 8601 time), else `Retry-After`
/// (seconds), else a minute. Never less than one second.
pub fn retry_after(headers: &HeaderMap, now: OffsetDateTime) -> Duration {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let from_reset = header("x-ratelimit-reset")
        .and_then(|v| OffsetDateTime::parse(v, &Rfc3339).ok())
        .map(|reset| (reset - now).whole_seconds());
    let from_retry_after = || header("retry-after").and_then(|v| v.parse::<i64>().ok());
    from_reset
        .or_else(from_retry_after)
        .map_or(DEFAULT_RETRY_AFTER, |secs| {
            Duration::from_secs(secs.clamp(1, 86_400) as u64)
        })
}

#[derive(Deserialize)]
struct StatusWire {
    id: IdWire,
}

/// Ids are strings in Mastodon's API; some servers send numbers.
#[derive(Deserialize)]
#[serde(untagged)]
enum IdWire {
    Text(String),
    Number(u64),
}

impl IdWire {
    fn into_toot_id(self) -> Result<TootId, MastodonError> {
        let text = match self {
            Self::Text(text) => text,
            Self::Number(n) => n.to_string(),
        };
        TootId::new(text).ok_or_else(|| {
            MastodonError::Unexpected("the created status has an empty id".to_owned())
        })
    }
}

#[derive(Deserialize, Default)]
struct InstanceWire {
    #[serde(default)]
    configuration: ConfigurationWire,
}

#[derive(Deserialize, Default)]
struct ConfigurationWire {
    #[serde(default)]
    statuses: StatusesWire,
}

#[derive(Deserialize, Default)]
struct StatusesWire {
    max_characters: Option<usize>,
    characters_reserved_per_url: Option<usize>,
}

impl InstanceWire {
    fn into_limits(self) -> InstanceLimits {
        let defaults = InstanceLimits::default();
        let statuses = self.configuration.statuses;
        InstanceLimits {
            max_characters: statuses
                .max_characters
                .filter(|&n| n > 0)
                .unwrap_or(defaults.max_characters),
            characters_reserved_per_url: statuses
                .characters_reserved_per_url
                .unwrap_or(defaults.characters_reserved_per_url),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_counts_down_to_the_rate_limit_reset() {
        let now = datetime!(2026-11-22 10:00:00 UTC);
        let reset = headers(&[("x-ratelimit-reset", "2026-11-22T10:05:00.000000Z")]);
        assert_eq!(retry_after(&reset, now), Duration::from_secs(300));
    }

    #[test]
    fn retry_after_is_never_zero_and_falls_back_sensibly() {
        let now = datetime!(2026-11-22 10:00:00 UTC);
        let past = headers(&[("x-ratelimit-reset", "2026-11-22T09:00:00Z")]);
        assert_eq!(retry_after(&past, now), Duration::from_secs(1));
        assert_eq!(
            retry_after(&headers(&[("retry-after", "42")]), now),
            Duration::from_secs(42)
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), DEFAULT_RETRY_AFTER);
    }

    #[test]
    fn status_ids_are_opaque_strings_even_when_sent_as_numbers() {
        let text: StatusWire = serde_json::from_str(r#"{"id":"01HXYZ-gts"}"#).unwrap();
        assert_eq!(text.id.into_toot_id().unwrap().as_str(), "01HXYZ-gts");
        let number: StatusWire = serde_json::from_str(r#"{"id":113456789012345678}"#).unwrap();
        assert_eq!(
            number.id.into_toot_id().unwrap().as_str(),
            "113456789012345678"
        );
    }

    #[test]
    fn missing_instance_limits_fall_back_to_mastodons_defaults() {
        let wire: InstanceWire =
            serde_json::from_str(r#"{"configuration":{"statuses":{"max_characters":1000}}}"#)
                .unwrap();
        assert_eq!(
            wire.into_limits(),
            InstanceLimits {
                max_characters: 1000,
                characters_reserved_per_url: 23
            }
        );
        let empty: InstanceWire = serde_json::from_str("{}").unwrap();
        assert_eq!(empty.into_limits(), InstanceLimits::default());
    }
}
