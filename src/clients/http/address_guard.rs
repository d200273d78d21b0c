//! Address guard: which IP addresses the outbound client may connect to.
//!
//! Invariant: unless the policy allows private addresses, the client never
//! connects to an address for which [`is_forbidden_address`] is true, however
//! the address was reached. Names are checked after resolution by
//! [`GuardedResolver`]; IP literals never reach a resolver (reqwest connects to
//! them directly), so [`check_literal_host`] checks them on the first URL and on
//! every redirect target. Addresses are judged after resolution, never by
//! looking at host names, so DNS rebinding and `127.0.0.1.nip.io` tricks fail too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::error::GuardError;

/// Whether an address is one we refuse by default: loopback, private,
/// link-local (including cloud metadata services), shared, documentation,
/// benchmarking, multicast, reserved, and IPv6 forms that embed such an IPv4
/// address.
pub fn is_forbidden_address(ip: IpAddr) -> bool {
    forbidden_reason(ip).is_some()
}

/// Why an address is refused, as a phrase completing "{address} is …",
/// or `None` when it may be contacted.
pub(super) fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

/// IPv4 special-purpose ranges (RFC 6890 and the IANA registry) that are not
/// globally reachable, or that reach something inside our own network.
fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, _, _) => "a \"this network\" address",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (127, _, _) => "a loopback address",
        // 169.254.169.254 is the metadata service of most clouds.
        (169, 254, _) => "a link-local address",
        (192, 0, 0) => "an IETF protocol assignment address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        _ if ip.is_broadcast() => "the broadcast address",
        (240..=255, _, _) => "a reserved address",
        _ => return None,
    };
    Some(reason)
}

/// IPv6 special-purpose ranges. Forms that carry an IPv4 address are judged by
/// that address, because the operating system or a translator delivers the
/// packets to it (`::ffff:127.0.0.1` is loopback on a dual-stack socket).
fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_ipv4(ip) {
        return v4_reason(v4);
    }
    let reason = match ip.segments() {
        [0, 0, 0, 0, 0, 0, 0, 0] => "the unspecified address",
        [0, 0, 0, 0, 0, 0, 0, 1] => "a loopback address",
        [0x100, 0, 0, 0, ..] => "a discard-only address",
        [0x2001, 0xdb8, ..] => "a documentation address",
        [0x2001, 2, 0, ..] => "a benchmarking address",
        // Local-use NAT64 (RFC 8215) puts the IPv4 address where the operator likes.
        [0x64, 0xff9b, 1, ..] => "a local-use NAT64 address",
        // fc00::/7 holds AWS's metadata service at fd00:ec2::254.
        [first, ..] if first & 0xfe00 == 0xfc00 => "a unique local (private) address",
        [first, ..] if first & 0xffc0 == 0xfe80 => "a link-local address",
        [first, ..] if first & 0xffc0 == 0xfec0 => "a site-local address",
        [first, ..] if first & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    };
    Some(reason)
}

/// The IPv4 address inside an IPv4-mapped, IPv4-translated, IPv4-compatible,
/// NAT64 (64:ff9b::/96) or 6to4 (2002::/16) address.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let [.., a, b, c, d] = ip.octets();
    let low = Ipv4Addr::new(a, b, c, d);
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] => Some(low),
        // :: and ::1 are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, high, low16, ..] => {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low16.to_be_bytes();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

/// Refuses a URL whose host is a forbidden IP literal; host names pass here
/// and are judged by [`GuardedResolver`] once resolved.
pub(super) fn check_literal_host(url: &Url) -> Result<(), GuardError> {
    let address = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        Some(Host::Domain(_)) | None => return Ok(()),
    };
    if !is_forbidden_address(address) {
        return Ok(());
    }
    let host = url.host_str().unwrap_or_default().to_owned();
    Err(GuardError::Forbidden { host, address })
}

/// A DNS resolver (the system's, through `tokio::net::lookup_host`) that drops
/// forbidden addresses from every answer unless private addresses are allowed.
#[derive(Clone, Copy, Debug)]
pub(super) struct GuardedResolver {
    allow_private: bool,
}

impl GuardedResolver {
    pub(super) fn new(allow_private: bool) -> Self {
        Self { allow_private }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found = lookup(&host).await?;
            let kept = keep_allowed(&host, found, allow_private)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

async fn lookup(host: &str) -> Result<Vec<SocketAddr>, GuardError> {
    // Port 0: reqwest puts the URL's port (or the scheme's default) in its place.
    match tokio::net::lookup_host((host, 0)).await {
        Ok(addresses) => Ok(addresses.collect()),
        Err(error) => Err(GuardError::Dns {
            host: host.to_owned(),
            reason: error.to_string(),
        }),
    }
}

/// Keeps the addresses we may connect to. A name whose every address is
/// forbidden is refused outright, naming the first one, so the operator sees
/// why rather than a vague connection failure.
pub(super) fn keep_allowed(
    host: &str,
    found: Vec<SocketAddr>,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, GuardError> {
    if found.is_empty() {
        return Err(GuardError::Dns {
            host: host.to_owned(),
            reason: "the name has no addresses".to_owned(),
        });
    }
    if allow_private {
        return Ok(found);
    }
    let (kept, refused): (Vec<_>, Vec<_>) = found
        .into_iter()
        .partition(|address| !is_forbidden_address(address.ip()));
    match refused.first() {
        Some(first) if kept.is_empty() => Err(GuardError::Forbidden {
            host: host.to_owned(),
            address: first.ip(),
        }),
        Some(_) => {
            tracing::debug!(
                host,
                dropped = refused.len(),
                "dropped forbidden addresses from a DNS answer"
            );
            Ok(kept)
        }
        None => Ok(kept),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test addresses are valid")
    }

    #[test]
    fn special_purpose_addresses_are_forbidden_and_public_ones_are_not() {
        let table: &[(&str, &str, bool)] = &[
            ("the IPv4 'this network' range", "0.0.0.0", true),
            ("the top of 0.0.0.0/8", "0.255.255.255", true),
            ("a 10/8 private address", "10.1.2.3", true),
            ("the bottom of CGNAT 100.64/10", "100.64.0.1", true),
            ("the top of CGNAT 100.64/10", "100.127.255.254", true),
            ("loopback", "127.0.0.1", true),
            ("the rest of 127/8", "127.255.0.9", true),
            ("the cloud metadata address", "169.254.169.254", true),
            ("other link-local", "169.254.0.1", true),
            ("the bottom of 172.16/12", "172.16.0.1", true),
            ("the top of 172.16/12", "172.31.255.255", true),
            ("IETF protocol assignments", "192.0.0.8", true),
            ("TEST-NET-1", "192.0.2.10", true),
            ("a 192.168/16 private address", "192.168.1.1", true),
            ("benchmarking 198.18/15", "198.19.0.1", true),
            ("TEST-NET-2", "198.51.100.7", true),
            ("TEST-NET-3", "203.0.113.9", true),
            ("multicast", "224.0.0.1", true),
            ("the top of multicast", "239.255.255.255", true),
            ("reserved 240/4", "240.0.0.1", true),
            ("broadcast", "255.255.255.255", true),
            ("the IPv6 unspecified address", "::", true),
            ("the IPv6 loopback", "::1", true),
            ("unique local", "fc00::1", true),
            ("AWS's IPv6 metadata address", "fd00:ec2::254", true),
            ("IPv6 link-local", "fe80::1", true),
            ("the top of fe80::/10", "febf::1", true),
            ("IPv6 multicast", "ff02::1", true),
            ("IPv6 documentation", "2001:db8::1", true),
            ("IPv4-mapped loopback", "::ffff:127.0.0.1", true),
            ("IPv4-mapped metadata", "::ffff:169.254.169.254", true),
            ("IPv4-translated private", "::ffff:0:10.0.0.1", true),
            ("IPv4-compatible loopback", "::127.0.0.1", true),
            ("NAT64 of a private address", "64:ff9b::192.168.0.1", true),
            ("local-use NAT64", "64:ff9b:1::1", true),
            ("6to4 of loopback", "2002:7f00:1::1", true),
            ("6to4 of the metadata address", "2002:a9fe:a9fe::", true),
            ("a public IPv4 address", "93.184.215.14", false),
            ("a public resolver", "1.1.1.1", false),
            ("just above 172.16/12", "172.32.0.1", false),
            ("just above CGNAT", "100.128.0.1", false),
            ("just below CGNAT", "100.63.255.255", false),
            ("next to TEST-NET-1", "192.0.3.1", false),
            ("just above benchmarking", "198.20.0.1", false),
            ("the last unicast block", "223.255.255.254", false),
            ("a public IPv6 address", "2606:4700:4700::1111", false),
            ("deprecated site-local fec0::/10", "fec0::1", true),
            ("IPv4-mapped public address", "::ffff:8.8.8.8", false),
            ("NAT64 of a public address", "64:ff9b::8.8.8.8", false),
            ("6to4 of a public address", "2002:808:808::1", false),
            ("a global IPv6 address near 2001:db8", "2001:db9::1", false),
        ];
        for (case, address, forbidden) in table {
            assert_eq!(
                is_forbidden_address(ip(address)),
                *forbidden,
                "{case} ({address}) should be {}",
                if *forbidden { "forbidden" } else { "allowed" }
            );
        }
    }

    #[test]
    fn refusals_name_the_kind_of_address() {
        let table = [
            ("127.0.0.1", "a loopback address"),
            ("10.0.0.1", "a private address"),
            ("169.254.169.254", "a link-local address"),
            ("::ffff:192.168.0.1", "a private address"),
            ("fd00:ec2::254", "a unique local (private) address"),
            ("255.255.255.255", "the broadcast address"),
        ];
        for (address, phrase) in table {
            assert_eq!(forbidden_reason(ip(address)), Some(phrase), "{address}");
        }
    }

    #[test]
    fn literal_hosts_in_urls_are_checked_and_names_are_left_to_the_resolver() {
        let table = [
            ("a loopback literal", "http://127.0.0.1/", true),
            ("a loopback literal in hex", "http://0x7f000001/", true),
            (
                "a loopback literal as one number",
                "http://2130706433/",
                true,
            ),
            (
                "a loopback literal with a trailing dot",
                "http://127.0.0.1./",
                true,
            ),
            (
                "the metadata literal",
                "http://169.254.169.254/latest/meta-data/",
                true,
            ),
            ("an IPv6 loopback literal", "http://[::1]:8080/", true),
            ("an IPv4-mapped literal", "https://[::ffff:7f00:1]/", true),
            ("a public literal", "http://8.8.8.8/", false),
            (
                "a host name, even one that resolves to loopback",
                "http://localhost/",
                false,
            ),
            ("an ordinary host name", "https://example.com/post", false),
        ];
        for (case, url, refused) in table {
            let url = Url::parse(url).expect("test URLs parse");
            let result = check_literal_host(&url);
            assert_eq!(
                matches!(result, Err(GuardError::Forbidden { .. })),
                refused,
                "{case}: {url} gave {result:?}"
            );
        }
    }

    fn socket(text: &str) -> SocketAddr {
        SocketAddr::new(ip(text), 0)
    }

    #[test]
    fn dns_answers_keep_only_allowed_addresses() {
        let found = vec![socket("127.0.0.1"), socket("93.184.215.14"), socket("::1")];
        let kept = keep_allowed("mixed.example", found, false);
        assert_eq!(kept.ok(), Some(vec![socket("93.184.215.14")]));
    }

    #[test]
    fn a_name_with_only_forbidden_addresses_is_refused_naming_the_first() {
        let found = vec![socket("10.0.0.7"), socket("::1")];
        match keep_allowed("internal.example", found, false) {
            Err(GuardError::Forbidden { host, address }) => {
                assert_eq!(host, "internal.example");
                assert_eq!(address, ip("10.0.0.7"));
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn private_answers_pass_when_private_addresses_are_allowed() {
        let found = vec![socket("10.0.0.7"), socket("::1")];
        assert_eq!(
            keep_allowed("internal.example", found.clone(), true).ok(),
            Some(found)
        );
    }

    #[test]
    fn an_empty_dns_answer_is_a_dns_error() {
        let result = keep_allowed("nothing.example", Vec::new(), true);
        assert!(matches!(result, Err(GuardError::Dns { .. })), "{result:?}");
    }

    #[tokio::test]
    async fn the_resolver_refuses_localhost() {
        let name: Name = "localhost".parse().expect("a valid name");
        let result = GuardedResolver::new(false).resolve(name).await;
        let error = result.err().expect("localhost must be refused");
        assert!(
            matches!(error.downcast_ref::<GuardError>(), Some(GuardError::Forbidden { host, .. }) if host == "localhost"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn the_resolver_returns_localhost_when_private_addresses_are_allowed() {
        let name: Name = "localhost".parse().expect("a valid name");
        let addresses = GuardedResolver::new(true).resolve(name).await;
        let addresses: Vec<_> = addresses.map(Iterator::collect).unwrap_or_default();
        assert!(
            addresses.iter().any(|a: &SocketAddr| a.ip().is_loopback()),
            "{addresses:?}"
        );
    }
}
