//! The Router's answer in the shape the event's source expects: a REST API
//! gets `multiValueHeaders`; an HTTP API (2.0) or Function URL gets
//! `headers` (repeated headers joined with commas) and `cookies`.
//!
//! Invariant: every answer deserialises into `aws_lambda_events`' response
//! type for its source (the tests check it). Lambda itself is lenient, but
//! tools built on those types are not: `cargo lambda watch` answered every
//! request 500 while an empty `cookies` list was left out.
//!
//! Bodies that are UTF-8 and not content-encoded go as text, anything else
//! as base64. A relative `Location` is made to point under the public
//! prefix (`/prod/webmention/status/3`), as the client sees the service.

use std::collections::BTreeMap;

use axum::body::Body;
use base64::Engine;
use http::header::{CONTENT_ENCODING, LOCATION, SET_COOKIE};
use http::{HeaderMap, Response};
use serde::Serialize;
use serde_json::Value;

use super::event::InvocationError;
use super::request::Format;

/// A synchronous invocation's response may not exceed 6 MB.
const MAX_BODY_BYTES: usize = 6 * 1024 * 1024;

/// REST API response (payload format 1.0).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestApiResponse {
    status_code: u16,
    multi_value_headers: BTreeMap<String, Vec<String>>,
    body: String,
    is_base64_encoded: bool,
}

/// HTTP API (payload format 2.0) and Function URL response. `cookies` is
/// always sent, empty or not: `aws_lambda_events` requires the field.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HttpApiResponse {
    status_code: u16,
    headers: BTreeMap<String, String>,
    cookies: Vec<String>,
    body: String,
    is_base64_encoded: bool,
}

pub async fn to_event_result(
    response: Response<Body>,
    format: Format,
    public_prefix: &str,
) -> Result<Value, InvocationError> {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| InvocationError::Response(e.to_string()))?;
    let mut headers = parts.headers;
    under_prefix(&mut headers, public_prefix);
    let (body, is_base64_encoded) = encode_body(&headers, bytes.to_vec());
    let status_code = parts.status.as_u16();
    let result = match format {
        Format::RestApi => serde_json::to_value(RestApiResponse {
            status_code,
            multi_value_headers: multi_value(&headers),
            body,
            is_base64_encoded,
        }),
        Format::HttpApi => {
            let cookies = values(&headers, SET_COOKIE.as_str());
            headers.remove(SET_COOKIE);
            serde_json::to_value(HttpApiResponse {
                status_code,
                headers: joined(&headers),
                cookies,
                body,
                is_base64_encoded,
            })
        }
    };
    result.map_err(|e| InvocationError::Response(e.to_string()))
}

fn encode_body(headers: &HeaderMap, bytes: Vec<u8>) -> (String, bool) {
    if headers.contains_key(CONTENT_ENCODING) {
        return (
            base64::engine::general_purpose::STANDARD.encode(bytes),
            true,
        );
    }
    match String::from_utf8(bytes) {
        Ok(text) => (text, false),
        Err(error) => (
            base64::engine::general_purpose::STANDARD.encode(error.into_bytes()),
            true,
        ),
    }
}

/// `/webmention/status/3` → `/prod/webmention/status/3`.
fn under_prefix(headers: &mut HeaderMap, public_prefix: &str) {
    if public_prefix.is_empty() {
        return;
    }
    let Some(location) = headers.get(LOCATION).and_then(|v| v.to_str().ok()) else {
        return;
    };
    if !location.starts_with('/') || location.starts_with("//") {
        return;
    }
    if let Ok(value) = format!("{public_prefix}{location}").parse() {
        headers.insert(LOCATION, value);
    }
}

fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

fn multi_value(headers: &HeaderMap) -> BTreeMap<String, Vec<String>> {
    headers
        .keys()
        .map(|name| (name.as_str().to_owned(), values(headers, name.as_str())))
        .collect()
}

fn joined(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .keys()
        .map(|name| {
            let joined = values(headers, name.as_str()).join(", ");
            (name.as_str().to_owned(), joined)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
    use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlResponse;
    use http::StatusCode;
    use serde_json::json;

    use super::*;

    fn answer() -> Response<Body> {
        Response::builder()
            .status(StatusCode::CREATED)
            .header("content-type", "application/json")
            .header("vary", "origin")
            .header("vary", "access-control-request-method")
            .header("set-cookie", "a=1")
            .header("location", "/webmention/status/3")
            .body(Body::from(r#"{"code":201}"#))
            .unwrap()
    }

    #[tokio::test]
    async fn a_rest_api_gets_every_header_value_and_a_location_under_its_stage() {
        let result = to_event_result(answer(), Format::RestApi, "/prod")
            .await
            .unwrap();
        assert_eq!(result["statusCode"], 201);
        assert_eq!(result["body"], r#"{"code":201}"#);
        assert_eq!(result["isBase64Encoded"], false);
        let headers = &result["multiValueHeaders"];
        assert_eq!(
            headers["vary"],
            json!(["origin", "access-control-request-method"])
        );
        assert_eq!(headers["location"], json!(["/prod/webmention/status/3"]));
        assert_eq!(headers["set-cookie"], json!(["a=1"]));
    }

    #[tokio::test]
    async fn an_http_api_gets_joined_headers_and_cookies_apart() {
        let result = to_event_result(answer(), Format::HttpApi, "")
            .await
            .unwrap();
        assert_eq!(
            result["headers"]["vary"],
            "origin, access-control-request-method"
        );
        assert_eq!(result["headers"]["location"], "/webmention/status/3");
        assert!(result["headers"].get("set-cookie").is_none());
        assert_eq!(result["cookies"], json!(["a=1"]));
    }

    /// Our answer for `format`, read back the way tools built on
    /// `aws_lambda_events` read it (`cargo lambda watch`'s emulator does).
    async fn read_back<T: serde::de::DeserializeOwned>(
        response: Response<Body>,
        format: Format,
    ) -> T {
        let result = to_event_result(response, format, "").await.unwrap();
        serde_json::from_value(result.clone())
            .unwrap_or_else(|e| panic!("not a {}: {e}\n{result}", std::any::type_name::<T>()))
    }

    fn plain() -> Response<Body> {
        Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(r#"{"code":200}"#))
            .unwrap()
    }

    #[tokio::test]
    async fn http_api_answers_read_back_as_aws_lambda_events_types_cookies_or_not() {
        for response in [answer(), plain()] {
            let had_cookie = response.headers().contains_key(SET_COOKIE);
            let v2: ApiGatewayV2httpResponse = read_back(response, Format::HttpApi).await;
            assert_eq!(v2.cookies.len(), usize::from(had_cookie));
        }
        let url: LambdaFunctionUrlResponse = read_back(plain(), Format::HttpApi).await;
        assert_eq!(url.status_code, 200);
        assert_eq!(url.body.as_deref(), Some(r#"{"code":200}"#));
        assert!(url.cookies.is_empty());
        let url: LambdaFunctionUrlResponse = read_back(answer(), Format::HttpApi).await;
        assert_eq!(url.cookies, ["a=1"]);
        assert_eq!(url.headers["vary"], "origin, access-control-request-method");
    }

    #[tokio::test]
    async fn rest_api_answers_read_back_as_aws_lambda_events_types() {
        for response in [answer(), plain()] {
            let status = response.status();
            let rest: ApiGatewayProxyResponse = read_back(response, Format::RestApi).await;
            assert_eq!(rest.status_code, i64::from(status.as_u16()));
        }
    }

    #[tokio::test]
    async fn bytes_that_are_not_text_go_as_base64() {
        let response = Response::new(Body::from(vec![0xff_u8, 0x00]));
        let result = to_event_result(response, Format::HttpApi, "")
            .await
            .unwrap();
        assert_eq!(result["isBase64Encoded"], true);
        assert_eq!(result["body"], "/wA=");
    }
}
