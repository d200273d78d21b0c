//! The Router's response → a web action's result, `{"statusCode",
//! "headers", "body"}` (OpenWhisk `docs/webactions.md`, "Handling HTTP
//! requests with actions").
//!
//! Header names are lower-case; a repeated header becomes an array of
//! values. Text bodies are plain strings and binary ones base64 (see
//! [`media`]); an empty body is left out, so the controller answers with no
//! entity. Framing headers are dropped: the controller frames the answer.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::HeaderValue;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
use serde_json::{Map, Value, json};

use super::media;
use crate::http::error::{ApiError, RequestProblem};

/// Larger bodies are refused: OpenWhisk's own result limit is far lower
/// (1 MB by default), so such an answer could never be delivered.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

pub async fn to_result(response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(body) => result_of(&parts, &body),
        Err(_) => {
            let error = ApiError::from(RequestProblem::AnswerTooLarge);
            let (parts, body) = error.into_response().into_parts();
            let body = axum::body::to_bytes(body, MAX_BODY_BYTES)
                .await
                .unwrap_or_default();
            result_of(&parts, &body)
        }
    }
}

fn result_of(parts: &http::response::Parts, body: &[u8]) -> Value {
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        let values: Vec<Value> = parts
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| Value::String(v.to_owned()))
            .collect();
        let value = match <[Value; 1]>::try_from(values) {
            Ok([single]) => single,
            Err(values) if values.is_empty() => continue,
            Err(values) => Value::Array(values),
        };
        headers.insert(name.as_str().to_owned(), value);
    }
    let mut result = Map::new();
    result.insert("statusCode".into(), json!(parts.status.as_u16()));
    if !body.is_empty() {
        let content_type = parts.headers.get(CONTENT_TYPE).and_then(text_of);
        let body = match (content_type, std::str::from_utf8(body)) {
            (Some(ct), Ok(text)) if media::is_textual(ct) => {
                if media::is_json_family(ct) && media::looks_like_base64(text) {
                    // The controller would decode it: send it encoded.
                    media::encode(text.as_bytes())
                } else {
                    text.to_owned()
                }
            }
            // Without a type the controller passes a string on as it is.
            (None, Ok(text)) => text.to_owned(),
            (None, Err(_)) => {
                headers.insert(
                    CONTENT_TYPE.as_str().to_owned(),
                    Value::String("application/octet-stream".into()),
                );
                media::encode(body)
            }
            (Some(_), _) => media::encode(body),
        };
        result.insert("body".into(), Value::String(body));
    }
    result.insert("headers".into(), Value::Object(headers));
    Value::Object(result)
}

fn text_of(value: &HeaderValue) -> Option<&str> {
    value.to_str().ok()
}

#[cfg(test)]
mod tests {
    use http::header::{LOCATION, VARY};

    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: impl Into<Body>) -> Response<Body> {
        let mut response = Response::new(body.into());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        for (name, value) in headers {
            response.headers_mut().append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        response
    }

    #[tokio::test]
    async fn a_json_answer_is_a_plain_string_body_with_its_headers() {
        let result = to_result(response(
            201,
            &[
                ("content-type", "application/json"),
                ("Location", "/webmention/status/1"),
                ("content-length", "12"),
            ],
            r#"{"code":201}"#,
        ))
        .await;
        assert_eq!(
            result,
            json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json", "location": "/webmention/status/1"},
                "body": "{\"code\":201}",
            })
        );
    }

    #[tokio::test]
    async fn a_binary_answer_is_base64() {
        let result = to_result(response(
            200,
            &[("content-type", "image/png")],
            vec![137u8, 80, 78, 71],
        ))
        .await;
        assert_eq!(result["body"], media::encode(&[137, 80, 78, 71]));
        assert_eq!(
            media::decode(result["body"].as_str().unwrap()).unwrap(),
            [137, 80, 78, 71]
        );
    }

    #[tokio::test]
    async fn bytes_without_a_type_are_labelled_and_encoded() {
        let result = to_result(response(200, &[], vec![0xff, 0xfe])).await;
        assert_eq!(
            result["headers"]["content-type"],
            "application/octet-stream"
        );
        assert_eq!(result["body"], media::encode(&[0xff, 0xfe]));
    }

    #[tokio::test]
    async fn a_json_body_that_looks_like_base64_is_sent_encoded() {
        let result = to_result(response(
            200,
            &[("content-type", "application/json")],
            "true",
        ))
        .await;
        assert_eq!(
            media::decode(result["body"].as_str().unwrap()).unwrap(),
            b"true"
        );
    }

    #[tokio::test]
    async fn repeated_headers_become_arrays_and_an_empty_body_is_left_out() {
        let result = to_result(response(
            304,
            &[
                (VARY.as_str(), "origin"),
                (VARY.as_str(), "accept"),
                (LOCATION.as_str(), "/x"),
            ],
            Body::empty(),
        ))
        .await;
        assert_eq!(result["statusCode"], 304);
        assert_eq!(result["headers"]["vary"], json!(["origin", "accept"]));
        assert!(result.get("body").is_none(), "{result}");
    }
}
