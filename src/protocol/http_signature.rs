//! draft-cavage HTTP Signatures (draft-cavage-http-signatures-12), as the
//! fediverse uses them: parsing a `Signature` header, building the signing
//! string, the `Digest` header, and RSASSA-PKCS1-v1_5 SHA-256 checks.
//!
//! The rules on what must be signed are Mastodon's (`signed_request.rb`,
//! research §2.1): `Date` or `(created)`; on POST `Digest`, on GET `host`;
//! algorithm absent, `rsa-sha256` or `hs2019`. Pure: the caller supplies the
//! header values (with `host` taken from the configured public URL, never
//! from the request, research §2.4) and the key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::PublicKey;
use rsa::sha2::{Digest as _, Sha256};

/// Why a signature was refused; each says which rule failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the request is not signed (no Signature header)")]
    Missing,
    #[error(
        "only draft-cavage HTTP Signatures are verified here, not RFC 9421 (Signature-Input); \
         sign with draft-cavage-http-signatures-12"
    )]
    Rfc9421Only,
    #[error("the Signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature algorithm `{0}` is not supported (rsa-sha256 or hs2019)")]
    Algorithm(String),
    #[error("the signature must cover {0}")]
    NotCovered(&'static str),
    #[error("a signed header is missing from the request: {0}")]
    HeaderMissing(String),
    #[error("the Digest header does not match the body (only SHA-256 is supported)")]
    Digest,
    #[error("the signature's date is outside the accepted window")]
    Expired,
    #[error("the signature does not verify with the key")]
    Invalid,
}

/// A parsed `Signature` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub key_id: String,
    /// Lower-cased header names, in signing order.
    pub headers: Vec<String>,
    pub signature: Vec<u8>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
}

impl SignatureParams {
    pub fn covers(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h == name)
    }
}

/// Parses `keyId="…",algorithm="…",headers="…",signature="…"` (also as the
/// value of `Authorization: Signature …`).
pub fn parse(header: &str) -> Result<SignatureParams, SignatureError> {
    let header = header.trim();
    let header = header.strip_prefix("Signature ").unwrap_or(header);
    let mut key_id = None;
    let mut algorithm = None;
    let mut headers = None;
    let mut signature = None;
    let mut created = None;
    let mut expires = None;
    for (name, value) in params(header)? {
        match name.to_ascii_lowercase().as_str() {
            "keyid" => key_id = Some(value),
            "algorithm" => algorithm = Some(value),
            "headers" => headers = Some(value),
            "signature" => signature = Some(value),
            "created" => created = Some(number(&value)?),
            "expires" => expires = Some(number(&value)?),
            _ => {}
        }
    }
    let key_id = key_id.ok_or(SignatureError::Malformed("no keyId"))?;
    let signature = signature.ok_or(SignatureError::Malformed("no signature"))?;
    let signature = STANDARD
        .decode(signature.trim())
        .map_err(|_| SignatureError::Malformed("the signature is not base64"))?;
    if let Some(algorithm) = algorithm {
        let lower = algorithm.to_ascii_lowercase();
        if lower != "rsa-sha256" && lower != "hs2019" {
            return Err(SignatureError::Algorithm(algorithm));
        }
    }
    let headers = headers
        .unwrap_or_else(|| "date".to_owned())
        .split_ascii_whitespace()
        .map(str::to_ascii_lowercase)
        .collect();
    Ok(SignatureParams {
        key_id,
        headers,
        signature,
        created,
        expires,
    })
}

/// `name="value"` pairs separated by commas (values may hold commas).
fn params(header: &str) -> Result<Vec<(String, String)>, SignatureError> {
    let mut out = Vec::new();
    let mut rest = header;
    loop {
        rest = rest.trim_start_matches([',', ' ', '\t']);
        if rest.is_empty() {
            return Ok(out);
        }
        let (name, after) = rest
            .split_once('=')
            .ok_or(SignatureError::Malformed("a parameter has no value"))?;
        let (value, after) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or(SignatureError::Malformed("an unterminated quoted value"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push((name.trim().to_owned(), value.to_owned()));
        rest = after;
    }
}

fn number(value: &str) -> Result<i64, SignatureError> {
    value
        .trim()
        .parse()
        .map_err(|_| SignatureError::Malformed("created/expires is not a number"))
}

/// What the verifier knows of the request.
pub struct Request<'a> {
    /// Lower-case method (`post`, `get`).
    pub method: &'a str,
    /// Path and, when the request had one, `?query`, as the sender saw it.
    pub target: &'a str,
    /// A header's value by lower-cased name (`host` must be the configured
    /// public host).
    pub header: &'a dyn Fn(&str) -> Option<String>,
}

/// Mastodon's coverage rules (research §2.1).
pub fn check_coverage(params: &SignatureParams, method: &str) -> Result<(), SignatureError> {
    if !params.covers("date") && !params.covers("(created)") {
        return Err(SignatureError::NotCovered("the Date header or (created)"));
    }
    if !params.covers("(request-target)") && !params.covers("digest") {
        return Err(SignatureError::NotCovered("(request-target) or Digest"));
    }
    if method.eq_ignore_ascii_case("post") && !params.covers("digest") {
        return Err(SignatureError::NotCovered("the Digest header on a POST"));
    }
    if method.eq_ignore_ascii_case("get") && !params.covers("host") {
        return Err(SignatureError::NotCovered("the Host header on a GET"));
    }
    Ok(())
}

/// The string that was signed: one `name: value` line per listed header.
pub fn signing_string(
    params: &SignatureParams,
    request: &Request<'_>,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(params.headers.len());
    for name in &params.headers {
        let value = match name.as_str() {
            "(request-target)" => format!("{} {}", request.method, request.target),
            "(created)" => params
                .created
                .ok_or(SignatureError::HeaderMissing("(created)".into()))?
                .to_string(),
            "(expires)" => params
                .expires
                .ok_or(SignatureError::HeaderMissing("(expires)".into()))?
                .to_string(),
            other => (request.header)(other)
                .ok_or_else(|| SignatureError::HeaderMissing(other.to_owned()))?,
        };
        lines.push(format!("{name}: {value}"));
    }
    Ok(lines.join("\n"))
}

/// Checks `signature` over `message` with an RSA public key.
pub fn verify_rsa(key: &PublicKey, message: &str, signature: &[u8]) -> Result<(), SignatureError> {
    key.pkcs1v15_verify::<Sha256>(message.as_bytes(), signature)
        .map_err(|_| SignatureError::Invalid)
}

/// The `Digest` header of a body: `SHA-256=<base64>`.
pub fn digest_header(body: &[u8]) -> String {
    format!("SHA-256={}", STANDARD.encode(Sha256::digest(body)))
}

/// Checks a `Digest` header (possibly listing several digests) against the
/// body: the SHA-256 one must be there and match.
pub fn check_digest(header: &str, body: &[u8]) -> Result<(), SignatureError> {
    let expected = STANDARD.encode(Sha256::digest(body));
    let matched = header.split(',').any(|part| {
        part.trim()
            .split_once('=')
            .is_some_and(|(alg, value)| alg.eq_ignore_ascii_case("sha-256") && value == expected)
    });
    if matched {
        Ok(())
    } else {
        Err(SignatureError::Digest)
    }
}

/// The headers of an outgoing signature, in signing order: `(request-target)`
/// then each given header (names lower-cased).
pub fn outgoing_signing_string(method: &str, target: &str, headers: &[(&str, &str)]) -> String {
    let mut lines = vec![format!(
        "(request-target): {} {target}",
        method.to_ascii_lowercase()
    )];
    lines.extend(
        headers
            .iter()
            .map(|(name, value)| format!("{}: {value}", name.to_ascii_lowercase())),
    );
    lines.join("\n")
}

/// The `Signature` header value for a signature made over
/// [`outgoing_signing_string`] of the same headers.
pub fn signature_header(key_id: &str, headers: &[(&str, &str)], signature_b64: &str) -> String {
    let names: Vec<String> = std::iter::once("(request-target)".to_owned())
        .chain(headers.iter().map(|(n, _)| n.to_ascii_lowercase()))
        .collect();
    format!(
        "keyId=\"{key_id}\",algorithm=\"rsa-sha256\",headers=\"{}\",signature=\"{signature_b64}\"",
        names.join(" ")
    )
}

#[cfg(test)]
mod tests;
