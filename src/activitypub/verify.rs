//! Checking an inbox request's draft-cavage HTTP Signature (research §2.1).
//!
//! The `host` line and the request target are rebuilt from the configured
//! public URL, never from the incoming `Host` header (a proxy may rewrite
//! it, research §2.4); the target is tried with its query and without (as
//! Mastodon does, for senders that sign only the path). A `Date` (or
//! `(created)`) more than 12 hours away from now is refused, so an old
//! request cannot be replayed. A request carrying only an RFC 9421
//! `Signature-Input` gets its own error (answered 401), so senders that
//! knock with RFC 9421 first fall back to draft-cavage.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use time::OffsetDateTime;

use super::Federation;
use super::remote::RemoteActor;
use crate::protocol::http_signature::{self, Request, SignatureError};

/// How far a signature's date may be from now, either way.
pub const WINDOW: Duration = Duration::from_secs(12 * 3600);

/// What the inbox handler knows of the request.
pub struct SignedRequest<'a> {
    /// `post` or `get`.
    pub method: &'a str,
    /// The router's path (`/ap/inbox`), without the public prefix.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a signed request was refused.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The key could not be fetched or is not an actor's.
    #[error("the signing key cannot be used: {0}")]
    Key(#[from] super::remote::RemoteError),
}

/// The `Signature` header's value (or `Authorization: Signature …`).
pub fn signature_header(headers: &HeaderMap) -> Result<String, SignatureError> {
    // RFC 9421 puts its signatures in a `Signature` header too, beside
    // `Signature-Input`.
    if headers.contains_key("signature-input") {
        return Err(SignatureError::Rfc9421Only);
    }
    if let Some(value) = headers.get("signature").and_then(|v| v.to_str().ok()) {
        return Ok(value.to_owned());
    }
    if let Some(value) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("Signature "))
    {
        return Ok(value.to_owned());
    }
    Err(SignatureError::Missing)
}

/// The checks that need no key: coverage, date window, digest.
pub fn check_request(
    request: &SignedRequest<'_>,
    now: OffsetDateTime,
) -> Result<http_signature::SignatureParams, SignatureError> {
    let params = http_signature::parse(&signature_header(request.headers)?)?;
    http_signature::check_coverage(&params, request.method)?;
    let within = |at: OffsetDateTime| (now - at).unsigned_abs() <= WINDOW;
    if params.covers("date") {
        let date = header_value(request.headers, "date")
            .ok_or_else(|| SignatureError::HeaderMissing("date".into()))?;
        let at = httpdate::parse_http_date(&date)
            .map(OffsetDateTime::from)
            .map_err(|_| SignatureError::Malformed("the Date header is not an HTTP date"))?;
        if !within(at) {
            return Err(SignatureError::Expired);
        }
    }
    if let Some(created) = params.created {
        let at =
            OffsetDateTime::from_unix_timestamp(created).map_err(|_| SignatureError::Expired)?;
        if !within(at) {
            return Err(SignatureError::Expired);
        }
    }
    if params
        .expires
        .is_some_and(|expires| expires < now.unix_timestamp())
    {
        return Err(SignatureError::Expired);
    }
    if request.method == "post" {
        let digest = header_value(request.headers, "digest")
            .ok_or_else(|| SignatureError::HeaderMissing("digest".into()))?;
        http_signature::check_digest(&digest, request.body)?;
    }
    Ok(params)
}

/// A header's values joined as draft-cavage says (`, `).
fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

impl Federation {
    /// Verifies the request's signature and returns the actor owning the
    /// key. A cached key that fails is fetched again once (key rotation).
    pub async fn verify(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<Arc<RemoteActor>, VerifyError> {
        let params = check_request(request, self.clock.now())?;
        let host = self.urls.host();
        let lookup = |name: &str| {
            if name == "host" {
                Some(host.clone())
            } else {
                header_value(request.headers, name)
            }
        };
        let path = self.urls.public_path(request.path);
        let mut targets = vec![path.clone()];
        if let Some(query) = request.query {
            targets.insert(0, format!("{path}?{query}"));
        }
        let strings = targets
            .iter()
            .map(|target| {
                http_signature::signing_string(
                    &params,
                    &Request {
                        method: request.method,
                        target,
                        header: &lookup,
                    },
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        let verifies = |actor: &RemoteActor| {
            strings.iter().any(|string| {
                http_signature::verify_rsa(&actor.key, string, &params.signature).is_ok()
            })
        };
        let (actor, cached) = self.actor_for_key(&params.key_id, false).await?;
        if verifies(&actor) {
            return Ok(actor);
        }
        if cached {
            let (fresh, _) = self.actor_for_key(&params.key_id, true).await?;
            if verifies(&fresh) {
                return Ok(fresh);
            }
        }
        Err(SignatureError::Invalid.into())
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    const DATE: &str = "Sun, 06 Dec 2026 10:00:00 GMT";
    const BODY: &[u8] = br#"{"type":"Follow"}"#;

    fn headers(signature: &str, date: &str, digest: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("signature", HeaderValue::from_str(signature).unwrap());
        h.insert("date", HeaderValue::from_str(date).unwrap());
        h.insert("digest", HeaderValue::from_str(digest).unwrap());
        h
    }

    fn at(date: &str) -> OffsetDateTime {
        OffsetDateTime::from(httpdate::parse_http_date(date).unwrap())
    }

    fn request(h: &HeaderMap) -> SignedRequest<'_> {
        SignedRequest {
            method: "post",
            path: "/ap/inbox",
            query: None,
            headers: h,
            body: BODY,
        }
    }

    const SIG: &str = r#"keyId="https://p.example/a#k",headers="(request-target) host date digest",signature="AAAA""#;

    #[test]
    fn dates_within_twelve_hours_pass_and_older_ones_are_replays() {
        let digest = http_signature::digest_header(BODY);
        let h = headers(SIG, DATE, &digest);
        let now = at(DATE);
        check_request(&request(&h), now + Duration::from_secs(11 * 3600)).unwrap();
        check_request(&request(&h), now - Duration::from_secs(11 * 3600)).unwrap();
        for off in [
            now + Duration::from_secs(13 * 3600),
            now - Duration::from_secs(13 * 3600),
        ] {
            assert!(matches!(
                check_request(&request(&h), off),
                Err(SignatureError::Expired)
            ));
        }
    }

    #[test]
    fn a_body_that_does_not_match_its_digest_is_refused() {
        let h = headers(SIG, DATE, &http_signature::digest_header(b"other"));
        assert!(matches!(
            check_request(&request(&h), at(DATE)),
            Err(SignatureError::Digest)
        ));
    }

    #[test]
    fn rfc9421_only_and_unsigned_requests_are_told_apart() {
        let mut h = HeaderMap::new();
        assert!(matches!(signature_header(&h), Err(SignatureError::Missing)));
        h.insert(
            "signature-input",
            HeaderValue::from_static("sig1=(\"@method\")"),
        );
        assert!(matches!(
            signature_header(&h),
            Err(SignatureError::Rfc9421Only)
        ));
        h.insert("signature", HeaderValue::from_static("sig1=:AAAA:"));
        assert!(matches!(
            signature_header(&h),
            Err(SignatureError::Rfc9421Only)
        ));
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_static("Signature keyId=\"k\",signature=\"AAAA\""),
        );
        assert!(signature_header(&h).is_ok());
    }
}
