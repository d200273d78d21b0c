//! Which bodies travel as text and which as base64 between a web action and
//! the OpenWhisk controller that fronts it.
//!
//! The controller (akka-http) sorts media types into text and binary:
//! `text/*`, form data, JavaScript and XML are text; anything else, and a
//! body without a content type (`application/octet-stream`), is binary and
//! travels base64-encoded. `application/json` request bodies are base64 too,
//! "for legacy" (OpenWhisk `WebActions.scala`), while JSON response bodies
//! may be plain strings — unless such a string looks like base64, which the
//! controller then decodes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// The media type without parameters, lower-cased: `text/html`.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `application/json` and the `+json` types.
pub fn is_json_family(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence == "application/json" || essence.ends_with("+json")
}

/// Whether the controller treats bodies of this type as text.
pub fn is_textual(content_type: &str) -> bool {
    let essence = essence(content_type);
    essence.starts_with("text/")
        || is_json_family(&essence)
        || essence.ends_with("+xml")
        || matches!(
            essence.as_str(),
            "application/x-www-form-urlencoded"
                | "application/javascript"
                | "application/ecmascript"
                | "application/xml"
        )
        || has_charset(content_type)
}

/// Whether a request body of this type arrives in `__ow_body` base64-encoded.
pub fn request_body_is_base64(content_type: Option<&str>) -> bool {
    match content_type {
        None => true,
        Some(content_type) if essence(content_type) == "application/json" => true,
        Some(content_type) => !is_textual(content_type),
    }
}

/// OpenWhisk's own test for "this string is base64" (`Exec.isBinaryCode`).
pub fn looks_like_base64(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && text.len().is_multiple_of(4) && BASE64.decode(text).is_ok()
}

pub fn encode(bytes: &[u8]) -> String {
    BASE64.encode(bytes)
}

pub fn decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text.trim()).ok()
}

fn has_charset(content_type: &str) -> bool {
    content_type.split(';').skip(1).any(|parameter| {
        parameter
            .trim()
            .to_ascii_lowercase()
            .starts_with("charset=")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_are_textual_and_the_rest_binary() {
        for textual in [
            "text/html; charset=utf-8",
            "text/plain",
            "application/json",
            "application/jf2feed+json",
            "application/x-www-form-urlencoded",
            "text/javascript; charset=utf-8",
            "application/atom+xml",
            "application/x-custom; charset=utf-8",
        ] {
            assert!(is_textual(textual), "{textual}");
        }
        for binary in ["image/png", "application/octet-stream", "application/pdf"] {
            assert!(!is_textual(binary), "{binary}");
        }
    }

    #[test]
    fn request_bodies_in_json_or_without_a_type_arrive_base64() {
        assert!(request_body_is_base64(None));
        assert!(request_body_is_base64(Some(
            "application/json; charset=utf-8"
        )));
        assert!(request_body_is_base64(Some("image/png")));
        assert!(!request_body_is_base64(Some(
            "application/x-www-form-urlencoded"
        )));
        assert!(!request_body_is_base64(Some("text/plain")));
    }

    #[test]
    fn base64_lookalikes_are_recognised_as_openwhisk_does() {
        assert!(looks_like_base64("aGVsbG8="));
        assert!(looks_like_base64("true"), "four base64 letters");
        assert!(!looks_like_base64(r#"{"code":400}"#));
        assert!(!looks_like_base64("abc"));
        assert!(!looks_like_base64(""));
    }
}
