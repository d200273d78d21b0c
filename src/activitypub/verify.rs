//! Checking an inbox request's draft-cavage HTTP Signature (research §2.1).
//!
//! The `host` line and the request target are rebuilt from the configured
//! public URL, never from the incoming `Host` header (a proxy may rewrite
//! it, research §2.4); the target is tried with its query and without (as
//! Mastodon does, for senders that sign only the path). A `Date` (or
//! `(created)`) more than 12 hours away from now is refused, so an old
//! request cannot be replayed. A request with an RFC 9421 `Signature-Input`
//! is verified by RFC 9421's rules instead (`protocol::rfc9421`), with the
//! derived components (`@authority`, `@target-uri`, `host`) rebuilt from
//! the configuration the same way and `created` in the same window; one
//! we cannot verify gets 401, so its sender falls back to draft-cavage.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use time::OffsetDateTime;

use super::Federation;
use super::remote::RemoteActor;
use crate::protocol::http_signature::{self, Request, SignatureError};
use crate::protocol::rfc9421;

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
        check_date(request.headers, now)?;
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

/// A signed `Date` header: there, an HTTP date, within [`WINDOW`] of now.
fn check_date(headers: &HeaderMap, now: OffsetDateTime) -> Result<(), SignatureError> {
    let date = header_value(headers, "date")
        .ok_or_else(|| SignatureError::HeaderMissing("date".into()))?;
    let at = httpdate::parse_http_date(&date)
        .map(OffsetDateTime::from)
        .map_err(|_| SignatureError::Malformed("the Date header is not an HTTP date"))?;
    if (now - at).unsigned_abs() > WINDOW {
        return Err(SignatureError::Expired);
    }
    Ok(())
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
        if request.headers.contains_key("signature-input") {
            return self.verify_rfc9421(request).await;
        }
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
        self.key_owner(&params.key_id, verifies).await
    }

    /// The actor whose key `key_id` makes `verifies` true; a cached key
    /// that fails is fetched again once (key rotation).
    async fn key_owner(
        &self,
        key_id: &str,
        verifies: impl Fn(&RemoteActor) -> bool,
    ) -> Result<Arc<RemoteActor>, VerifyError> {
        let (actor, cached) = self.actor_for_key(key_id, false).await?;
        if verifies(&actor) {
            return Ok(actor);
        }
        if cached {
            let (fresh, _) = self.actor_for_key(key_id, true).await?;
            if verifies(&fresh) {
                return Ok(fresh);
            }
        }
        Err(SignatureError::Invalid.into())
    }

    /// An RFC 9421 signature (`rsa-v1_5-sha256`).
    async fn verify_rfc9421(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<Arc<RemoteActor>, VerifyError> {
        let (signature, base) = rfc9421_base(request, &self.urls, self.clock.now())?;
        self.key_owner(&signature.key_id, |actor| {
            http_signature::verify_rsa(&actor.key, &base, &signature.signature).is_ok()
        })
        .await
    }
}

/// An RFC 9421 signature checked as far as it can be without the key, and
/// its signature base, with the derived components (`@authority`,
/// `@target-uri`, …) and `host` rebuilt from the configured public URL.
pub fn rfc9421_base(
    request: &SignedRequest<'_>,
    urls: &super::Urls,
    now: OffsetDateTime,
) -> Result<(rfc9421::Signature9421, String), SignatureError> {
    let signature = check_rfc9421(request, now)?;
    let host = urls.host().to_ascii_lowercase();
    let path = urls.public_path(request.path);
    let mut target = urls.at(request.path);
    target.set_query(request.query);
    let component = |name: &str| -> Option<String> {
        Some(match name {
            "@method" => request.method.to_ascii_uppercase(),
            "@target-uri" => target.to_string(),
            "@authority" | "host" => host.clone(),
            "@scheme" => target.scheme().to_owned(),
            "@path" => path.clone(),
            "@query" => format!("?{}", request.query.unwrap_or_default()),
            "@request-target" => match request.query {
                Some(query) => format!("{path}?{query}"),
                None => path.clone(),
            },
            derived if derived.starts_with('@') => return None,
            header => header_value(request.headers, header)?,
        })
    };
    let base = signature.base(&component)?;
    Ok((signature, base))
}

/// The RFC 9421 checks that need no key: coverage, `created` (and a
/// covered `Date`) within the window, `Content-Digest` against the body.
pub fn check_rfc9421(
    request: &SignedRequest<'_>,
    now: OffsetDateTime,
) -> Result<rfc9421::Signature9421, SignatureError> {
    let input = header_value(request.headers, "signature-input").ok_or(SignatureError::Missing)?;
    let value = header_value(request.headers, "signature").ok_or(SignatureError::Missing)?;
    let has_body = request.method == "post" || !request.body.is_empty();
    let signature = rfc9421::parse(&input, &value, has_body)?;
    let within = |at: OffsetDateTime| (now - at).unsigned_abs() <= WINDOW;
    let created = OffsetDateTime::from_unix_timestamp(signature.created)
        .map_err(|_| SignatureError::Expired)?;
    if !within(created)
        || signature
            .expires
            .is_some_and(|expires| expires < now.unix_timestamp())
    {
        return Err(SignatureError::Expired);
    }
    if signature.covers("date") {
        check_date(request.headers, now)?;
    }
    if signature.covers("content-digest") {
        let digest = header_value(request.headers, "content-digest")
            .ok_or_else(|| SignatureError::HeaderMissing("content-digest".into()))?;
        rfc9421::check_content_digest(&digest, request.body)?;
    }
    Ok(signature)
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

    /// A request Fedify 2.3.6 signed with RFC 9421 (`make-rfc9421.mjs`,
    /// the fixed test key, `created` 2026-12-06T10:00:00Z): verified with
    /// the public key, against the configured host; refused once anything
    /// it covers changes.
    #[test]
    fn a_fedify_rfc9421_signature_verifies_and_a_changed_request_does_not() {
        let fixture = include_str!("../../tests/fixtures/activitypub/rfc9421-post.http");
        let (head, body) = fixture.split_once("\n\n").unwrap();
        let mut h = HeaderMap::new();
        for line in head.lines() {
            let (name, value) = line.split_once(": ").unwrap();
            h.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        let body = body.trim_end().as_bytes();
        let mut config = crate::activitypub::documents::tests::config();
        config.public_url = url::Url::parse("https://comments.example/").unwrap();
        let urls = super::super::Urls::new(&config);
        let key = <rsa::PublicKey as rsa::pkcs8::DecodePublicKey>::from_public_key_pem(
            include_str!("../../tests/fixtures/activitypub/test-key.pub.pem").trim(),
        )
        .unwrap();
        let now = at(DATE) + Duration::from_secs(60);
        let request = SignedRequest {
            method: "post",
            path: "/ap/inbox",
            query: None,
            headers: &h,
            body,
        };
        let (signature, base) = rfc9421_base(&request, &urls, now).unwrap();
        assert_eq!(
            signature.key_id,
            "https://peer.example/users/alice#main-key"
        );
        http_signature::verify_rsa(&key, &base, &signature.signature).unwrap();

        // Another public host (the proxy trap): the base differs, no match.
        let mut other = config.clone();
        other.public_url = url::Url::parse("https://else.example/").unwrap();
        let (_, base) = rfc9421_base(&request, &super::super::Urls::new(&other), now).unwrap();
        assert!(http_signature::verify_rsa(&key, &base, &signature.signature).is_err());
        // Another body: its Content-Digest no longer matches.
        let tampered = SignedRequest {
            body: b"{\"type\":\"Undo\"}",
            ..request
        };
        assert_eq!(
            rfc9421_base(&tampered, &urls, now).unwrap_err(),
            SignatureError::Digest
        );
        // Thirteen hours later: a replay.
        let late = now + Duration::from_secs(13 * 3600);
        assert_eq!(
            rfc9421_base(&request, &urls, late).unwrap_err(),
            SignatureError::Expired
        );
    }
}
