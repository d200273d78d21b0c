//! RFC 9421 HTTP Message Signatures, as fediverse senders use them (Fedify
//! 1.7 and later sign with them first, research §2.2): parsing
//! `Signature-Input` and `Signature` (structured fields, RFC 8941, with
//! the `sfv` crate), building the signature base, and `Content-Digest`
//! (RFC 9530). Pure: the caller resolves each covered component (derived
//! ones such as `@authority` and `@target-uri` from the configured public
//! URL, never from the request) and supplies the key.
//!
//! Rules: the signature must cover `@method`, the target (`@target-uri`,
//! or `@path` with `@authority` or `host`) and, on a request with a body,
//! `content-digest`; it must carry `keyid` and `created`; the algorithm is
//! `rsa-v1_5-sha256` (absent is taken as that, the only one fediverse keys
//! use today; others are refused so the sender falls back to draft-cavage).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::sha2::{Digest as _, Sha256};
use sfv::{BareItem, InnerList, Item, ListEntry, ListSerializer, Parser};

use super::http_signature::SignatureError;

/// One signature of a request, ready to be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature9421 {
    pub key_id: String,
    pub created: i64,
    pub expires: Option<i64>,
    /// Covered component names (lower-case), in order, with their
    /// serialized identifiers (`"@method"`, `"content-digest"`, …).
    pub components: Vec<(String, String)>,
    /// The serialized inner list with its parameters: the value of the
    /// `@signature-params` line.
    pub params_line: String,
    pub signature: Vec<u8>,
}

impl Signature9421 {
    pub fn covers(&self, name: &str) -> bool {
        self.components.iter().any(|(n, _)| n == name)
    }

    /// The signature base (RFC 9421 §2.5); `component` gives a covered
    /// component's value, `None` when the request lacks it.
    pub fn base(
        &self,
        component: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, SignatureError> {
        let mut lines = Vec::with_capacity(self.components.len() + 1);
        for (name, id) in &self.components {
            let value =
                component(name).ok_or_else(|| SignatureError::HeaderMissing(name.clone()))?;
            lines.push(format!("{id}: {value}"));
        }
        lines.push(format!("\"@signature-params\": {}", self.params_line));
        Ok(lines.join("\n"))
    }
}

/// Parses the first signature of `Signature-Input` and its value in
/// `Signature`; checks what it covers against `has_body`.
pub fn parse(
    signature_input: &str,
    signature: &str,
    has_body: bool,
) -> Result<Signature9421, SignatureError> {
    let malformed = SignatureError::Malformed;
    let inputs: sfv::Dictionary = Parser::new(signature_input)
        .parse_dictionary()
        .map_err(|_| malformed("Signature-Input is not a structured-field dictionary"))?;
    let values: sfv::Dictionary = Parser::new(signature)
        .parse_dictionary()
        .map_err(|_| malformed("Signature is not a structured-field dictionary"))?;
    let (label, inner) = inputs
        .iter()
        .find_map(|(label, entry)| match entry {
            ListEntry::InnerList(inner) => Some((label, inner)),
            ListEntry::Item(_) => None,
        })
        .ok_or(malformed("Signature-Input has no signature"))?;
    let signature = match values.get(label) {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) => bytes.clone(),
        _ => {
            return Err(malformed(
                "Signature has no value for the Signature-Input's label",
            ));
        }
    };
    let param = |name: &str| inner.params.get(name);
    let key_id = param("keyid")
        .and_then(BareItem::as_string)
        .map(|s| s.as_str().to_owned())
        .ok_or(malformed("Signature-Input has no keyid"))?;
    let created = param("created")
        .and_then(BareItem::as_integer)
        .map(i64::from)
        .ok_or(malformed("Signature-Input has no created time"))?;
    let expires = param("expires")
        .and_then(BareItem::as_integer)
        .map(i64::from);
    if let Some(alg) = param("alg") {
        let alg = alg
            .as_string()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        if alg != "rsa-v1_5-sha256" {
            return Err(SignatureError::Algorithm(alg));
        }
    }
    let components = components(inner)?;
    let params_line = serialize(inner)?;
    let parsed = Signature9421 {
        key_id,
        created,
        expires,
        components,
        params_line,
        signature,
    };
    if !parsed.covers("@method") {
        return Err(SignatureError::NotCovered("@method"));
    }
    let target = parsed.covers("@target-uri")
        || (parsed.covers("@path") && (parsed.covers("@authority") || parsed.covers("host")));
    if !target {
        return Err(SignatureError::NotCovered("@target-uri"));
    }
    if has_body && !parsed.covers("content-digest") {
        return Err(SignatureError::NotCovered("content-digest"));
    }
    Ok(parsed)
}

/// The covered components: plain names only (a component with parameters,
/// such as `;sf` or `;key`, is not one we resolve, so it is refused).
fn components(inner: &InnerList) -> Result<Vec<(String, String)>, SignatureError> {
    inner
        .items
        .iter()
        .map(|item| {
            let name = item
                .bare_item
                .as_string()
                .map(|s| s.as_str().to_ascii_lowercase())
                .ok_or(SignatureError::Malformed(
                    "a covered component is not a string",
                ))?;
            if !item.params.is_empty() {
                return Err(SignatureError::Malformed(
                    "covered components with parameters are not supported",
                ));
            }
            Ok((name.clone(), format!("\"{name}\"")))
        })
        .collect()
}

fn serialize(inner: &InnerList) -> Result<String, SignatureError> {
    let mut list = ListSerializer::new();
    list.members(std::iter::once(&ListEntry::InnerList(inner.clone())));
    list.finish()
        .ok_or(SignatureError::Malformed("an empty Signature-Input"))
}

/// Checks a `Content-Digest` header (RFC 9530) against the body: its
/// `sha-256` member must be there and match.
pub fn check_content_digest(header: &str, body: &[u8]) -> Result<(), SignatureError> {
    let digests: sfv::Dictionary = Parser::new(header)
        .parse_dictionary()
        .map_err(|_| SignatureError::Digest)?;
    match digests.get("sha-256") {
        Some(ListEntry::Item(Item {
            bare_item: BareItem::ByteSequence(bytes),
            ..
        })) if bytes.as_slice() == Sha256::digest(body).as_slice() => Ok(()),
        _ => Err(SignatureError::Digest),
    }
}

/// `Content-Digest: sha-256=:<base64>:` of a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUT: &str = r#"sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest");alg="rsa-v1_5-sha256";keyid="https://p.example/users/a#main-key";created=1765000000"#;

    #[test]
    fn the_base_is_rebuilt_from_the_components_and_the_serialized_params() {
        let parsed = parse(INPUT, "sig1=:AAAA:", true).unwrap();
        assert_eq!(parsed.key_id, "https://p.example/users/a#main-key");
        assert_eq!(parsed.created, 1_765_000_000);
        assert_eq!(parsed.signature, vec![0, 0, 0]);
        let base = parsed.base(&|name| Some(format!("<{name}>"))).unwrap();
        assert_eq!(
            base,
            "\"@method\": <@method>\n\"@target-uri\": <@target-uri>\n\"@authority\": <@authority>\n\
             \"host\": <host>\n\"date\": <date>\n\"content-digest\": <content-digest>\n\
             \"@signature-params\": (\"@method\" \"@target-uri\" \"@authority\" \"host\" \"date\" \
             \"content-digest\");alg=\"rsa-v1_5-sha256\";keyid=\"https://p.example/users/a#main-key\";\
             created=1765000000"
        );
    }

    #[test]
    fn coverage_algorithm_and_shape_are_checked() {
        let no_digest = r#"sig1=("@method" "@target-uri");keyid="k";created=1"#;
        assert_eq!(
            parse(no_digest, "sig1=:AAAA:", true),
            Err(SignatureError::NotCovered("content-digest"))
        );
        assert!(parse(no_digest, "sig1=:AAAA:", false).is_ok());
        let no_method = r#"sig1=("@target-uri");keyid="k";created=1"#;
        assert_eq!(
            parse(no_method, "sig1=:AAAA:", false),
            Err(SignatureError::NotCovered("@method"))
        );
        let ed = r#"sig1=("@method" "@target-uri");keyid="k";created=1;alg="ed25519""#;
        assert_eq!(
            parse(ed, "sig1=:AAAA:", false),
            Err(SignatureError::Algorithm("ed25519".into()))
        );
        assert!(
            parse(no_digest, "other=:AAAA:", false).is_err(),
            "label mismatch"
        );
        assert!(parse("not a dictionary(", "sig1=:AAAA:", false).is_err());
        let no_created = r#"sig1=("@method" "@target-uri");keyid="k""#;
        assert!(parse(no_created, "sig1=:AAAA:", false).is_err());
    }

    #[test]
    fn content_digest_must_match_the_body() {
        let header = content_digest(b"hello");
        check_content_digest(&header, b"hello").unwrap();
        assert_eq!(
            check_content_digest(&header, b"other"),
            Err(SignatureError::Digest)
        );
        assert_eq!(
            check_content_digest("sha-512=:AAAA:", b"hello"),
            Err(SignatureError::Digest)
        );
    }
}
