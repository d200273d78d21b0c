//! An HTTP event becomes the `http::Request` the Router takes: method, the
//! routed path (see `path`) with the query, headers, cookies, the body
//! (base64-decoded when the event says so), and the client's address as
//! API Gateway or the Function URL saw it (used for per-client rate limits).
//!
//! Written here rather than taken from `lambda_http`'s conversion because
//! that one routes on the stage-prefixed path and panics on a body that is
//! not valid base64; here every problem is an [`InvocationError`].

use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::ConnectInfo;
use base64::Engine;
use http::header::{COOKIE, HeaderValue};
use http::{HeaderMap, Method, Request};
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};

use super::event::InvocationError;
use super::path::{self, RoutedPath};

/// Which response format the event's source expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `multiValueHeaders` (REST API; HTTP API payload 1.0).
    RestApi,
    /// `headers` with joined values and `cookies` (HTTP API 2.0, Function URL).
    HttpApi,
}

/// A request ready for the Router, with what its answer needs.
pub struct RouterRequest {
    pub request: Request<Body>,
    pub format: Format,
    pub public_prefix: String,
}

const REST_API: &str = "API Gateway REST";
const HTTP_API: &str = "HTTP API / Function URL";

pub fn from_rest_api(event: ApiGatewayProxyRequest) -> Result<RouterRequest, InvocationError> {
    let context = &event.request_context;
    let routed = path::rest_api(
        event.resource.as_deref(),
        &event.path_parameters,
        event.path.as_deref(),
        context.path.as_deref(),
        context.stage.as_deref(),
    );
    let query = if event.multi_value_query_string_parameters.is_empty() {
        event.query_string_parameters.to_query_string()
    } else {
        event.multi_value_query_string_parameters.to_query_string()
    };
    // `multiValueHeaders` holds every value; `headers` only the last of each.
    let mut headers = event.multi_value_headers;
    for (name, value) in &event.headers {
        if !headers.contains_key(name) {
            headers.insert(name, value.clone());
        }
    }
    let client = context.identity.source_ip.as_deref();
    let parts = Parts {
        kind: REST_API,
        method: event.http_method,
        routed,
        query,
        headers,
        body: event.body,
        is_base64_encoded: event.is_base64_encoded,
        client,
    };
    parts.build(Format::RestApi)
}

pub fn from_http_api(event: ApiGatewayV2httpRequest) -> Result<RouterRequest, InvocationError> {
    let context = &event.request_context;
    let route_key = event.route_key.as_deref().or(context.route_key.as_deref());
    let routed = path::http_api(
        route_key,
        &event.path_parameters,
        event.raw_path.as_deref(),
        context.stage.as_deref(),
    );
    let mut headers = event.headers;
    if let Some(cookies) = event.cookies.filter(|c| !c.is_empty()) {
        let value = HeaderValue::from_str(&cookies.join("; ")).map_err(|e| {
            InvocationError::BadRequest {
                kind: HTTP_API,
                reason: format!("cookies: {e}"),
            }
        })?;
        headers.insert(COOKIE, value);
    }
    let parts = Parts {
        kind: HTTP_API,
        method: context.http.method.clone(),
        routed,
        query: event.raw_query_string.unwrap_or_default(),
        headers,
        body: event.body,
        is_base64_encoded: event.is_base64_encoded,
        client: context.http.source_ip.as_deref(),
    };
    parts.build(Format::HttpApi)
}

/// What both event formats carry, once read.
struct Parts<'a> {
    kind: &'static str,
    method: Method,
    routed: RoutedPath,
    query: String,
    headers: HeaderMap,
    body: Option<String>,
    is_base64_encoded: bool,
    client: Option<&'a str>,
}

impl Parts<'_> {
    fn build(self, format: Format) -> Result<RouterRequest, InvocationError> {
        let bad = |reason: String| InvocationError::BadRequest {
            kind: self.kind,
            reason,
        };
        let body = match (self.body, self.is_base64_encoded) {
            (None, _) => Vec::new(),
            (Some(text), false) => text.into_bytes(),
            (Some(encoded), true) => base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|e| bad(format!("the body is not valid base64: {e}")))?,
        };
        let uri = if self.query.is_empty() {
            self.routed.route.clone()
        } else {
            format!("{}?{}", self.routed.route, self.query)
        };
        let mut request = Request::builder()
            .method(self.method)
            .uri(&uri)
            .body(Body::from(body))
            .map_err(|e| bad(format!("`{uri}`: {e}")))?;
        *request.headers_mut() = self.headers;
        if let Some(ip) = self.client.and_then(|ip| ip.parse::<IpAddr>().ok()) {
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip, 0)));
        }
        Ok(RouterRequest {
            request,
            format,
            public_prefix: self.routed.public_prefix,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn http_api_event(body: serde_json::Value, base64: bool) -> ApiGatewayV2httpRequest {
        serde_json::from_value(json!({
            "version": "2.0",
            "routeKey": "$default",
            "rawPath": "/webmention",
            "rawQueryString": "a=1&b=two%20words",
            "cookies": ["k=v", "l=w"],
            "headers": {"content-type": "application/x-www-form-urlencoded"},
            "requestContext": {
                "stage": "$default",
                "http": {"method": "POST", "path": "/webmention", "sourceIp": "203.0.113.9"}
            },
            "body": body,
            "isBase64Encoded": base64
        }))
        .unwrap()
    }

    #[test]
    fn an_http_api_event_keeps_method_query_cookies_body_and_client_address() {
        let built = from_http_api(http_api_event(json!("c291cmNlPXg="), true)).unwrap();
        let request = &built.request;
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "/webmention?a=1&b=two%20words");
        assert_eq!(request.headers()[COOKIE], "k=v; l=w");
        let ConnectInfo(peer) = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .unwrap();
        assert_eq!(peer.ip().to_string(), "203.0.113.9");
        assert_eq!(built.format, Format::HttpApi);
    }

    #[test]
    fn a_body_that_is_not_base64_is_an_error_not_a_panic() {
        let error = from_http_api(http_api_event(json!("not base64!"), true))
            .err()
            .unwrap();
        assert!(error.to_string().contains("base64"), "{error}");
    }

    #[test]
    fn a_rest_event_merges_single_and_multi_value_headers_and_queries() {
        let event: ApiGatewayProxyRequest = serde_json::from_value(json!({
            "resource": "/",
            "path": "/",
            "httpMethod": "GET",
            "headers": {"Origin": "https://blog.example", "Accept": "application/json"},
            "multiValueHeaders": {"Accept": ["application/json", "text/plain"]},
            "queryStringParameters": {"url": "https://blog.example/posts/a/"},
            "multiValueQueryStringParameters": {"url": ["https://blog.example/posts/a/"]},
            "requestContext": {"httpMethod": "GET", "stage": "prod", "path": "/prod/"}
        }))
        .unwrap();
        let built = from_rest_api(event).unwrap();
        let request = &built.request;
        assert_eq!(
            request.uri(),
            "/?url=https%3A%2F%2Fblog.example%2Fposts%2Fa%2F"
        );
        assert_eq!(request.headers().get_all("accept").iter().count(), 2);
        assert_eq!(request.headers()["origin"], "https://blog.example");
        assert_eq!(built.public_prefix, "/prod");
        assert_eq!(built.format, Format::RestApi);
    }
}
