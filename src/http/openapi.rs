//! `GET /openapi.json`: the OpenAPI 3.1 document of every route.
//!
//! The document is kept by hand in `openapi.json` beside this file rather
//! than generated from annotations: handlers here read raw query strings
//! and forms through `extract.rs` (webmention.io's repeated names, the
//! seed's lenient parsing), which no derive macro describes, and the
//! document says what clients may rely on, in words too. Two tests keep it
//! true: `openapi_document_matches_the_router` (every path and method the
//! Router serves is documented, and nothing more) and the schemathesis run
//! against the live server (every answer conforms).
//!
//! Invariant: the bytes served are the file's, parsed once by the tests.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        DOCUMENT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::DOCUMENT;

    fn refs<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    found.push(target);
                }
                map.values().for_each(|v| refs(v, found));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, found)),
            _ => {}
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_and_every_reference_resolves() {
        let document: Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        assert_eq!(document["openapi"], "3.1.0");
        let mut found = Vec::new();
        refs(&document, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let pointer = target.strip_prefix('#').expect("a local reference");
            assert!(
                document.pointer(pointer).is_some(),
                "{target} does not resolve"
            );
        }
    }

    #[test]
    fn every_operation_has_an_id_and_documents_its_answers() {
        let document: Value = serde_json::from_str(DOCUMENT).unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id = operation["operationId"].as_str();
                assert!(
                    id.is_some_and(|id| ids.insert(id.to_owned())),
                    "{method} {path}: operationId"
                );
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| !r.is_empty()),
                    "{method} {path}: responses"
                );
            }
        }
    }
}
