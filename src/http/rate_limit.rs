//! Abuse limits on `POST /webmention`: per client address and per source
//! domain, answered with 429 and `Retry-After`.
//!
//! The client address is the socket peer, or, only when the operator says a
//! trusted proxy sets it, the last `X-Forwarded-For` entry (the one our proxy
//! appended; earlier entries are whatever the client claimed). Serverless
//! runtimes have no peer; their requests share one "unknown" bucket unless
//! the header is trusted.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;

/// Forget idle keys once this many are tracked, so memory stays bounded.
const MAX_TRACKED_KEYS: usize = 10_000;

pub struct RateLimits {
    per_client: Option<DefaultKeyedRateLimiter<Option<IpAddr>>>,
    per_domain: Option<DefaultKeyedRateLimiter<String>>,
}

impl RateLimits {
    pub fn new(limit: Option<RateLimit>) -> Self {
        let quota = limit.and_then(quota);
        Self {
            per_client: quota.map(RateLimiter::keyed),
            per_domain: quota.map(RateLimiter::keyed),
        }
    }

    /// `Err(wait)` when the client must wait before trying again.
    pub fn check_client(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        check(self.per_client.as_ref(), &client)
    }

    pub fn check_domain(&self, domain: &str) -> Result<(), Duration> {
        check(self.per_domain.as_ref(), &domain.to_ascii_lowercase())
    }
}

fn quota(limit: RateLimit) -> Option<Quota> {
    let burst = NonZeroU32::new(limit.requests)?;
    Quota::with_period(limit.per / limit.requests).map(|q| q.allow_burst(burst))
}

fn check<K: std::hash::Hash + Eq + Clone>(
    limiter: Option<&DefaultKeyedRateLimiter<K>>,
    key: &K,
) -> Result<(), Duration> {
    let Some(limiter) = limiter else {
        return Ok(());
    };
    if limiter.len() > MAX_TRACKED_KEYS {
        limiter.retain_recent();
    }
    limiter
        .check_key(key)
        .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
}

/// The client's address, as far as it can be known.
pub fn client_ip(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> Option<IpAddr> {
    if trust_forwarded_for {
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(requests: u32) -> RateLimits {
        RateLimits::new(Some(RateLimit {
            requests,
            per: Duration::from_secs(60),
        }))
    }

    #[test]
    fn a_client_gets_its_burst_then_waits() {
        let limits = limits(3);
        let client = Some("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert!(limits.check_client(client).is_ok());
        }
        let wait = limits.check_client(client).unwrap_err();
        assert!(
            wait > Duration::from_secs(1) && wait <= Duration::from_secs(20),
            "{wait:?}"
        );
        assert!(
            limits
                .check_client(Some("192.0.2.2".parse().unwrap()))
                .is_ok(),
            "others are not affected"
        );
    }

    #[test]
    fn domains_are_limited_case_insensitively_and_off_means_off() {
        let limits = limits(1);
        assert!(limits.check_domain("Spam.example").is_ok());
        assert!(limits.check_domain("spam.EXAMPLE").is_err());
        let off = RateLimits::new(None);
        for _ in 0..1000 {
            assert!(off.check_domain("x.example").is_ok());
        }
    }

    #[test]
    fn x_forwarded_for_counts_only_when_trusted_and_only_its_last_entry() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "10.9.9.9, 203.0.113.7".parse().unwrap());
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        assert_eq!(
            client_ip(&headers, &extensions, true),
            Some("203.0.113.7".parse().unwrap())
        );
        assert_eq!(
            client_ip(&headers, &extensions, false),
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(client_ip(&HeaderMap::new(), &Extensions::new(), true), None);
    }
}
