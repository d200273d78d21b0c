//! Redirect policy of the outbound client.
//!
//! Invariant: a redirect is followed only if it is at most the
//! `max_redirects`-th of the request, goes to an http(s) URL, and (unless
//! private addresses are allowed) does not name a forbidden IP literal. Host
//! names reached by a redirect are judged by the guarded resolver when
//! reqwest connects. Loops need no special case: they run into the cap.

use reqwest::redirect::{Attempt, Policy};
use url::Url;

use super::address_guard::check_literal_host;
use super::error::GuardError;
use super::is_fetchable_scheme;

/// The reqwest policy enforcing [`judge`] on every redirect.
pub(super) fn policy(max_redirects: usize, allow_private: bool) -> Policy {
    Policy::custom(move |attempt: Attempt<'_>| {
        // `previous` holds every URL already requested, so its length is the
        // number of this redirect (1 for the first).
        let number = attempt.previous().len();
        match judge(attempt.url(), number, max_redirects, allow_private) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// Whether the `number`-th redirect of a request, to `next`, may be followed.
pub(super) fn judge(
    next: &Url,
    number: usize,
    max_redirects: usize,
    allow_private: bool,
) -> Result<(), GuardError> {
    if number > max_redirects {
        return Err(GuardError::TooManyRedirects {
            limit: max_redirects,
        });
    }
    if !is_fetchable_scheme(next) {
        return Err(GuardError::BadRedirectScheme(next.to_string()));
    }
    if !allow_private {
        check_literal_host(next)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    enum Expect {
        Follow,
        TooMany,
        BadScheme,
        Forbidden,
    }

    #[test]
    fn redirects_are_judged_by_count_scheme_and_literal_address() {
        use Expect::*;
        let table = [
            (
                "the first redirect to a public page",
                "https://example.com/a",
                1,
                10,
                false,
                Follow,
            ),
            (
                "the last allowed redirect",
                "https://example.com/a",
                10,
                10,
                false,
                Follow,
            ),
            (
                "one redirect past the cap",
                "https://example.com/a",
                11,
                10,
                false,
                TooMany,
            ),
            (
                "any redirect when the cap is zero",
                "https://example.com/a",
                1,
                0,
                false,
                TooMany,
            ),
            (
                "a redirect to ftp",
                "ftp://example.com/file",
                1,
                10,
                false,
                BadScheme,
            ),
            (
                "a redirect to a file URL",
                "file:///etc/passwd",
                1,
                10,
                true,
                BadScheme,
            ),
            (
                "a redirect to a loopback literal",
                "http://127.0.0.1:8080/",
                1,
                10,
                false,
                Forbidden,
            ),
            (
                "a redirect to the metadata service",
                "http://169.254.169.254/",
                1,
                10,
                false,
                Forbidden,
            ),
            (
                "a redirect to an IPv6 loopback literal",
                "http://[::1]/",
                1,
                10,
                false,
                Forbidden,
            ),
            (
                "a redirect to loopback when private is allowed",
                "http://127.0.0.1/",
                1,
                10,
                true,
                Follow,
            ),
            (
                "a redirect to a public literal",
                "http://8.8.8.8/",
                1,
                10,
                false,
                Follow,
            ),
        ];
        for (case, next, number, max, allow_private, expected) in table {
            let next = Url::parse(next).expect("test URLs parse");
            let result = judge(&next, number, max, allow_private);
            let matched = match expected {
                Follow => result.is_ok(),
                TooMany => {
                    matches!(result, Err(GuardError::TooManyRedirects { limit }) if limit == max)
                }
                BadScheme => matches!(result, Err(GuardError::BadRedirectScheme(_))),
                Forbidden => matches!(result, Err(GuardError::Forbidden { .. })),
            };
            assert!(matched, "{case}: got {result:?}");
        }
    }
}
