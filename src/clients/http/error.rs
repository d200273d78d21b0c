//! What can go wrong with an outbound fetch, in words an operator can act on.
//!
//! Invariant: every failure of [`super::HttpClient`] is one [`FetchError`];
//! refusals made by our own guards (addresses, redirects) keep their own
//! variant even though reqwest reports them wrapped in its generic errors.

use std::error::Error as StdError;
use std::net::IpAddr;
use std::time::Duration;

use super::FetchPolicy;
use super::address_guard::forbidden_reason;

/// A failed fetch. The messages are shown to operators and API clients.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not an http(s) URL with a host, or a redirect to one.
    #[error("not a fetchable URL: {0}")]
    InvalidUrl(String),
    /// The address guard refused every address of the host.
    #[error(
        "refused to connect to {host}: {address} is {} (set BACKFEED_ALLOW_PRIVATE_ADDRESSES=true to allow)",
        forbidden_phrase(.address)
    )]
    ForbiddenAddress { host: String, address: IpAddr },
    #[error("the request timed out after {after:?}")]
    Timeout { after: Duration },
    #[error("the response body is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("gave up after {limit} redirects (too many redirects, or a redirect loop)")]
    TooManyRedirects { limit: usize },
    #[error("could not resolve {host}: {reason}")]
    Dns { host: String, reason: String },
    #[error("could not connect: {0}")]
    Connect(String),
    #[error("the request failed: {0}")]
    Other(String),
}

impl FetchError {
    /// Whether trying again later may succeed. Refusals by our own limits and
    /// guards are permanent: the same URL will be refused the same way.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout { .. } | Self::Dns { .. } | Self::Connect(_) | Self::Other(_) => true,
            Self::InvalidUrl(_)
            | Self::ForbiddenAddress { .. }
            | Self::TooLarge { .. }
            | Self::TooManyRedirects { .. } => false,
        }
    }
}

fn forbidden_phrase(address: &IpAddr) -> &'static str {
    forbidden_reason(*address).unwrap_or("an address the client refuses")
}

/// Refusals raised inside reqwest's machinery (our resolver and redirect
/// policy). reqwest wraps them; [`from_reqwest`] digs them out again.
#[derive(Debug, thiserror::Error)]
pub(super) enum GuardError {
    #[error("{host} leads only to refused addresses such as {address}")]
    Forbidden { host: String, address: IpAddr },
    #[error("more than {limit} redirects")]
    TooManyRedirects { limit: usize },
    #[error("redirect to {0}, which is not an http or https URL")]
    BadRedirectScheme(String),
    #[error("could not resolve {host}: {reason}")]
    Dns { host: String, reason: String },
}

impl From<&GuardError> for FetchError {
    fn from(error: &GuardError) -> Self {
        match error {
            GuardError::Forbidden { host, address } => Self::ForbiddenAddress {
                host: host.clone(),
                address: *address,
            },
            GuardError::TooManyRedirects { limit } => Self::TooManyRedirects { limit: *limit },
            GuardError::BadRedirectScheme(url) => Self::InvalidUrl(format!(
                "{url} (reached by a redirect; only http and https are fetched)"
            )),
            GuardError::Dns { host, reason } => Self::Dns {
                host: host.clone(),
                reason: reason.clone(),
            },
        }
    }
}

impl From<GuardError> for FetchError {
    fn from(error: GuardError) -> Self {
        Self::from(&error)
    }
}

/// Maps a reqwest error to ours: first our own refusals anywhere in the
/// source chain, then timeouts, connection failures, and the rest.
pub(super) fn from_reqwest(error: &reqwest::Error, policy: &FetchPolicy) -> FetchError {
    if let Some(guard) = find_guard_error(error) {
        return guard.into();
    }
    if error.is_timeout() {
        let after = if error.is_connect() {
            policy.connect_timeout
        } else {
            policy.total_timeout
        };
        return FetchError::Timeout { after };
    }
    if error.is_connect() {
        return FetchError::Connect(describe_chain(error));
    }
    FetchError::Other(describe_chain(error))
}

fn find_guard_error<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e GuardError> {
    chain(error).find_map(|current| current.downcast_ref::<GuardError>())
}

/// An error followed by its sources, outermost first.
fn chain<'e>(
    error: &'e (dyn StdError + 'static),
) -> impl Iterator<Item = &'e (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&current| current.source())
}

/// The whole source chain in one line; reqwest's own message alone
/// ("error sending request") hides the cause.
pub(super) fn describe_chain(error: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for current in chain(error) {
        let text = current.to_string();
        // Layers often repeat their cause's message verbatim.
        if parts.last() != Some(&text) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that wraps another, like reqwest's and hyper's layers do.
    #[derive(Debug, thiserror::Error)]
    #[error("outer layer")]
    struct Wrapper(#[source] Box<dyn StdError + Send + Sync>);

    #[test]
    fn guard_errors_are_found_however_deeply_they_are_wrapped() {
        let guard = GuardError::TooManyRedirects { limit: 3 };
        let wrapped = Wrapper(Box::new(Wrapper(Box::new(guard))));
        let found = find_guard_error(&wrapped);
        assert!(
            matches!(found, Some(GuardError::TooManyRedirects { limit: 3 })),
            "{found:?}"
        );
    }

    #[test]
    fn errors_without_a_guard_error_yield_none() {
        let wrapped = Wrapper(Box::new(std::io::Error::other("plain")));
        assert!(find_guard_error(&wrapped).is_none());
    }

    #[test]
    fn chains_are_described_in_one_line_without_repeats() {
        let wrapped = Wrapper(Box::new(Wrapper(Box::new(std::io::Error::other("reset")))));
        assert_eq!(describe_chain(&wrapped), "outer layer: reset");
    }

    #[test]
    fn timeouts_dns_connect_and_other_are_transient_and_refusals_are_not() {
        let address: IpAddr = [127, 0, 0, 1].into();
        let table = [
            (
                FetchError::Timeout {
                    after: Duration::from_secs(1),
                },
                true,
            ),
            (
                FetchError::Dns {
                    host: "h".into(),
                    reason: "r".into(),
                },
                true,
            ),
            (FetchError::Connect("refused".into()), true),
            (FetchError::Other("reset".into()), true),
            (FetchError::InvalidUrl("ftp://x/".into()), false),
            (
                FetchError::ForbiddenAddress {
                    host: "h".into(),
                    address,
                },
                false,
            ),
            (FetchError::TooLarge { limit: 1 }, false),
            (FetchError::TooManyRedirects { limit: 1 }, false),
        ];
        for (error, transient) in table {
            assert_eq!(error.is_transient(), transient, "{error}");
        }
    }

    #[test]
    fn a_forbidden_address_message_names_the_kind_and_the_setting() {
        let error = FetchError::ForbiddenAddress {
            host: "localhost".into(),
            address: [127, 0, 0, 1].into(),
        };
        assert_eq!(
            error.to_string(),
            "refused to connect to localhost: 127.0.0.1 is a loopback address \
             (set BACKFEED_ALLOW_PRIVATE_ADDRESSES=true to allow)"
        );
    }

    #[test]
    fn a_redirect_to_another_scheme_becomes_an_invalid_url() {
        let error = FetchError::from(GuardError::BadRedirectScheme("ftp://x/".into()));
        assert!(
            matches!(&error, FetchError::InvalidUrl(message) if message.starts_with("ftp://x/")),
            "{error:?}"
        );
    }
}
