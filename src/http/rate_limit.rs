//! Abuse limits on `POST /webmention`: per client and per source domain,
//! answered with 429 and `Retry-After`. The buckets refill on the app's
//! [`Clock`].
//!
//! Who the client is ([`client_key`]):
//! - the socket peer, or, only when the operator says a trusted proxy sets
//!   it, *exactly* the last `X-Forwarded-For` entry (the one our proxy
//!   appended; earlier entries are whatever the client claimed), with a
//!   port stripped. A last entry that is not an address does not fall back
//!   to an earlier one: it fails closed, into one shared bucket;
//! - IPv6 clients are keyed by their /64, the block one subscriber gets, so
//!   rotating through it buys nothing;
//! - serverless runtimes have no peer; their requests share one "unknown"
//!   bucket unless the header is trusted. A request that arrives from a
//!   loopback or private peer carrying `X-Forwarded-For` that is not
//!   trusted is logged once: behind such a proxy every reader shares the
//!   proxy's bucket until the operator trusts the header.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap};
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::{Clock, GovernorClock};
use crate::config::RateLimit;

/// Forget idle keys once this many are tracked, so memory stays bounded.
const MAX_TRACKED_KEYS: usize = 10_000;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, GovernorClock, NoOpMiddleware<Duration>>;

/// Whose bucket a request counts against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    V4(std::net::Ipv4Addr),
    /// The first 64 bits of an IPv6 address.
    V6Net(u64),
    /// No usable address (serverless without a trusted header, or a
    /// trusted header whose last entry is not an address): one bucket.
    Unknown,
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self::V4(v4),
                None => Self::V6Net((u128::from(v6) >> 64) as u64),
            },
        }
    }
}

pub struct RateLimits {
    per_client: Option<Keyed<ClientKey>>,
    per_domain: Option<Keyed<String>>,
}

impl RateLimits {
    pub fn new(limit: Option<RateLimit>, clock: &Clock) -> Self {
        let quota = limit.and_then(quota);
        let clock = GovernorClock(clock.clone());
        Self {
            per_client: quota.map(|q| RateLimiter::dashmap_with_clock(q, clock.clone())),
            per_domain: quota.map(|q| RateLimiter::dashmap_with_clock(q, clock.clone())),
        }
    }

    /// `Err(wait)` when the client must wait before trying again.
    pub fn check_client(&self, client: ClientKey) -> Result<(), Duration> {
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
    limiter: Option<&Keyed<K>>,
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
        .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()))
}

/// The client's bucket, as far as it can be known.
pub fn client_key(
    headers: &HeaderMap,
    extensions: &Extensions,
    trust_forwarded_for: bool,
) -> ClientKey {
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .next_back()
        .map(|value| value.to_str().ok().and_then(last_forwarded_entry));
    if trust_forwarded_for {
        if let Some(last) = forwarded {
            return last.map_or(ClientKey::Unknown, ClientKey::from);
        }
    } else if forwarded.is_some() && peer.is_some_and(is_proxy_like) {
        warn_once_untrusted_proxy();
    }
    peer.map_or(ClientKey::Unknown, ClientKey::from)
}

/// Exactly the last entry of an `X-Forwarded-For` value, as an address:
/// `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1`, `[2001:db8::1]:443`.
fn last_forwarded_entry(value: &str) -> Option<IpAddr> {
    let entry = value.rsplit(',').next()?.trim();
    if let Ok(ip) = entry.parse() {
        return Some(ip);
    }
    if let Ok(with_port) = entry.parse::<SocketAddr>() {
        return Some(with_port.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse().ok())
}

fn is_proxy_like(peer: IpAddr) -> bool {
    match peer {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local(),
    }
}

fn warn_once_untrusted_proxy() {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "requests come through a proxy (X-Forwarded-For from a local address) that is not \
             trusted: every client shares the proxy's rate limit; set \
             BACKFEED_TRUST_X_FORWARDED_FOR=true if your proxy sets that header"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limits(requests: u32) -> (RateLimits, ManualClock) {
        let manual = ManualClock::new(time::macros::datetime!(2026-12-01 10:00 UTC));
        let limits = RateLimits::new(
            Some(RateLimit {
                requests,
                per: Duration::from_secs(60),
            }),
            &manual.clock(),
        );
        (limits, manual)
    }

    fn key(ip: &str) -> ClientKey {
        ClientKey::from(ip.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn a_client_gets_its_burst_then_waits_for_the_clock() {
        let (limits, clock) = limits(3);
        let client = key("192.0.2.1");
        for _ in 0..3 {
            assert!(limits.check_client(client).is_ok());
        }
        let wait = limits.check_client(client).unwrap_err();
        assert_eq!(wait, Duration::from_secs(20));
        assert!(
            limits.check_client(key("192.0.2.2")).is_ok(),
            "others are not affected"
        );
        clock.advance(Duration::from_secs(20));
        assert!(limits.check_client(client).is_ok(), "one came back");
    }

    #[test]
    fn an_ipv6_client_rotating_through_its_64_is_one_client() {
        let (limits, _) = limits(2);
        assert!(limits.check_client(key("2001:db8:1:2::1")).is_ok());
        assert!(limits.check_client(key("2001:db8:1:2:ffff::9")).is_ok());
        assert!(
            limits.check_client(key("2001:db8:1:2:abcd::77")).is_err(),
            "the same /64"
        );
        assert!(
            limits.check_client(key("2001:db8:1:3::1")).is_ok(),
            "another /64"
        );
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"), "v4-mapped is v4");
    }

    #[test]
    fn domains_are_limited_case_insensitively_and_off_means_off() {
        let (limits, _) = limits(1);
        assert!(limits.check_domain("Spam.example").is_ok());
        assert!(limits.check_domain("spam.EXAMPLE").is_err());
        let off = RateLimits::new(None, &Clock::system());
        for _ in 0..1000 {
            assert!(off.check_domain("x.example").is_ok());
        }
    }

    fn forwarded(values: &[&str], trusted: bool) -> ClientKey {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let mut extensions = Extensions::new();
        extensions.insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5000))));
        client_key(&headers, &extensions, trusted)
    }

    #[test]
    fn x_forwarded_for_counts_only_when_trusted_and_only_its_last_entry() {
        assert_eq!(
            forwarded(&["10.9.9.9, 203.0.113.7"], true),
            key("203.0.113.7")
        );
        assert_eq!(
            forwarded(&["10.9.9.9, 203.0.113.7"], false),
            key("127.0.0.1")
        );
        assert_eq!(
            forwarded(&["10.9.9.9", "203.0.113.8"], true),
            key("203.0.113.8"),
            "the last header field"
        );
        assert_eq!(
            client_key(&HeaderMap::new(), &Extensions::new(), true),
            ClientKey::Unknown
        );
    }

    #[test]
    fn a_port_is_stripped_and_an_unparsable_last_entry_fails_closed() {
        assert_eq!(
            forwarded(&["10.9.9.9, 203.0.113.7:4711"], true),
            key("203.0.113.7")
        );
        assert_eq!(
            forwarded(&["10.9.9.9, [2001:db8::1]:443"], true),
            key("2001:db8::1")
        );
        assert_eq!(
            forwarded(&["198.51.100.1, not-an-address"], true),
            ClientKey::Unknown,
            "never the earlier, client-supplied entry"
        );
        assert_eq!(forwarded(&["198.51.100.1, "], true), ClientKey::Unknown);
    }
}
