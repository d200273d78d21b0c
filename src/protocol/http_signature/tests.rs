use rsa::pkcs8::DecodePublicKey;

use super::*;
use crate::activitypub::keys::KeyPair;

const KEY: &str = include_str!("../../../tests/fixtures/activitypub/test-key.pem");
const PUBLIC: &str = include_str!("../../../tests/fixtures/activitypub/test-key.pub.pem");
const POST_STRING: &str = include_str!("../../../tests/fixtures/activitypub/post.txt");
const POST_SIG: &str = include_str!("../../../tests/fixtures/activitypub/post.sig");
const GET_STRING: &str = include_str!("../../../tests/fixtures/activitypub/get.txt");
const GET_SIG: &str = include_str!("../../../tests/fixtures/activitypub/get.sig");
const BODY: &[u8] = br#"{"type":"Follow"}"#;
const DATE: &str = "Sun, 06 Dec 2026 10:00:00 GMT";

fn post_headers() -> Vec<(&'static str, String)> {
    vec![
        ("host", "comments.example".into()),
        ("date", DATE.into()),
        ("digest", digest_header(BODY)),
        ("content-type", "application/activity+json".into()),
    ]
}

fn lookup(headers: Vec<(&'static str, String)>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

fn public_key() -> PublicKey {
    PublicKey::from_public_key_pem(PUBLIC).unwrap()
}

#[test]
fn our_signer_produces_the_openssl_vectors_exactly() {
    let pair = KeyPair::from_pkcs8_pem(KEY).unwrap();
    let headers = post_headers();
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let string = outgoing_signing_string("POST", "/ap/inbox", &pairs);
    assert_eq!(string, POST_STRING);
    assert_eq!(pair.sign_base64(string.as_bytes()), POST_SIG.trim());
    let get = outgoing_signing_string(
        "GET",
        "/ap/actor",
        &[
            ("host", "comments.example"),
            ("date", DATE),
            ("accept", "application/activity+json"),
        ],
    );
    assert_eq!(get, GET_STRING);
    assert_eq!(pair.sign_base64(get.as_bytes()), GET_SIG.trim());
}

#[test]
fn the_digest_of_the_vector_body_is_known() {
    assert_eq!(
        digest_header(BODY),
        "SHA-256=GYwYnH3BiO6aICFt0ThC5bUIJ4byvqdpWtR8m5fNkww="
    );
    check_digest(&digest_header(BODY), BODY).unwrap();
    check_digest(
        "sha-512=xx, SHA-256=GYwYnH3BiO6aICFt0ThC5bUIJ4byvqdpWtR8m5fNkww=",
        BODY,
    )
    .unwrap();
    assert_eq!(
        check_digest(&digest_header(b"other"), BODY),
        Err(SignatureError::Digest)
    );
    assert_eq!(
        check_digest("SHA-512=abc", BODY),
        Err(SignatureError::Digest)
    );
}

fn vector_header(headers: &str, sig: &str) -> String {
    format!(
        r#"keyId="https://peer.example/users/a#main-key",algorithm="rsa-sha256",headers="{headers}",signature="{sig}""#
    )
}

#[test]
fn a_vector_signature_verifies_and_any_change_breaks_it() {
    let params = parse(&vector_header(
        "(request-target) host date digest content-type",
        POST_SIG.trim(),
    ))
    .unwrap();
    assert_eq!(params.key_id, "https://peer.example/users/a#main-key");
    check_coverage(&params, "post").unwrap();
    let header = lookup(post_headers());
    let request = Request {
        method: "post",
        target: "/ap/inbox",
        header: &header,
    };
    let string = signing_string(&params, &request).unwrap();
    assert_eq!(string, POST_STRING);
    verify_rsa(&public_key(), &string, &params.signature).unwrap();

    // Another host (a proxy's), another path or another date: refused.
    for (name, value) in [
        ("host", "127.0.0.1:8080"),
        ("date", "Sun, 06 Dec 2026 10:00:01 GMT"),
    ] {
        let mut headers = post_headers();
        headers.retain(|(n, _)| *n != name);
        headers.push((name, value.to_owned()));
        let header = lookup(headers);
        let request = Request {
            method: "post",
            target: "/ap/inbox",
            header: &header,
        };
        let string = signing_string(&params, &request).unwrap();
        assert_eq!(
            verify_rsa(&public_key(), &string, &params.signature),
            Err(SignatureError::Invalid),
            "{name}"
        );
    }
    let request = Request {
        method: "post",
        target: "/inbox",
        header: &header,
    };
    let string = signing_string(&params, &request).unwrap();
    assert_eq!(
        verify_rsa(&public_key(), &string, &params.signature),
        Err(SignatureError::Invalid)
    );
}

#[test]
fn a_get_vector_verifies() {
    let params = parse(&vector_header(
        "(request-target) host date accept",
        GET_SIG.trim(),
    ))
    .unwrap();
    check_coverage(&params, "get").unwrap();
    let header = lookup(vec![
        ("host", "comments.example".into()),
        ("date", DATE.into()),
        ("accept", "application/activity+json".into()),
    ]);
    let request = Request {
        method: "get",
        target: "/ap/actor",
        header: &header,
    };
    verify_rsa(
        &public_key(),
        &signing_string(&params, &request).unwrap(),
        &params.signature,
    )
    .unwrap();
}

#[test]
fn headers_are_parsed_leniently_and_refused_for_the_right_reason() {
    let params =
        parse(r#"Signature keyId="k",signature="AAAA",algorithm="hs2019",created=1700000000"#)
            .unwrap();
    assert_eq!(params.headers, ["date"]);
    assert_eq!(params.created, Some(1_700_000_000));
    let cases: [(&str, SignatureError); 4] = [
        (r#"signature="AAAA""#, SignatureError::Malformed("no keyId")),
        (r#"keyId="k""#, SignatureError::Malformed("no signature")),
        (
            r#"keyId="k",signature="!!""#,
            SignatureError::Malformed("the signature is not base64"),
        ),
        (
            r#"keyId="k",signature="AAAA",algorithm="ed25519""#,
            SignatureError::Algorithm("ed25519".into()),
        ),
    ];
    for (header, error) in cases {
        assert_eq!(parse(header), Err(error), "{header}");
    }
}

#[test]
fn mastodons_coverage_rules_hold() {
    let with = |headers: &str| parse(&vector_header(headers, "AAAA")).unwrap();
    assert!(check_coverage(&with("(request-target) host date"), "post").is_err());
    assert!(check_coverage(&with("(request-target) date digest"), "post").is_ok());
    assert!(check_coverage(&with("(request-target) host digest"), "post").is_err());
    assert!(check_coverage(&with("(request-target) date"), "get").is_err());
    assert!(check_coverage(&with("(request-target) host date"), "get").is_ok());
    assert!(check_coverage(&with("(request-target) host (created)"), "get").is_ok());
}

#[test]
fn a_missing_signed_header_is_named() {
    let params = parse(&vector_header("(request-target) host date digest", "AAAA")).unwrap();
    let header = |_: &str| None;
    let request = Request {
        method: "post",
        target: "/",
        header: &header,
    };
    assert_eq!(
        signing_string(&params, &request),
        Err(SignatureError::HeaderMissing("host".into()))
    );
}
