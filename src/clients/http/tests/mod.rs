//! Behaviour of [`HttpClient`] against misbehaving servers on loopback.
//!
//! Most tests allow private addresses, since their servers live on 127.0.0.1;
//! the address-guard tests (`guard`) do not, and check that nothing was even
//! connected. The servers are written by hand (`server`) so they can misbehave.

mod guard;
mod limits;
mod server;

use std::time::Duration;

use tokio::net::TcpListener;

use super::*;
use server::{Reply, TestServer, ok, path_of, redirect};

fn loopback_policy() -> FetchPolicy {
    FetchPolicy {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_secs(2),
        allow_private_addresses: true,
        ..FetchPolicy::default()
    }
}

fn guarded_policy() -> FetchPolicy {
    FetchPolicy {
        allow_private_addresses: false,
        ..loopback_policy()
    }
}

fn client(policy: FetchPolicy) -> HttpClient {
    HttpClient::new(policy).expect("the client builds")
}

fn fetched(result: Result<Fetched, FetchError>) -> Fetched {
    result.unwrap_or_else(|error| panic!("expected a response, got {error:?}"))
}

/// Serves a redirect chain: /0 → /1 → … → /`hops`, which answers 200.
async fn redirect_chain(hops: usize) -> TestServer {
    TestServer::start(move |request| {
        let step: usize = path_of(request)
            .trim_start_matches('/')
            .parse()
            .unwrap_or(0);
        if step < hops {
            redirect(&format!("/{}", step + 1))
        } else {
            ok("text/plain", b"arrived")
        }
    })
    .await
}

// --- Plain fetches -----------------------------------------------------------

#[tokio::test]
async fn get_returns_status_headers_body_and_url() {
    let server = TestServer::start(|_| ok("text/html; charset=UTF-8", b"<p>hello</p>")).await;
    let page = fetched(
        client(loopback_policy())
            .get(&server.url("/post"), "text/html")
            .await,
    );
    assert_eq!(page.status, http::StatusCode::OK);
    assert_eq!(page.final_url, server.url("/post"));
    assert_eq!(page.body.as_ref(), b"<p>hello</p>");
    assert_eq!(page.content_type().as_deref(), Some("text/html"));
    assert_eq!(page.text_lossy(), "<p>hello</p>");
}

#[tokio::test]
async fn every_request_carries_the_policy_user_agent_and_the_accept_header() {
    let server = TestServer::start(|_| ok("text/plain", b"")).await;
    let policy = FetchPolicy {
        user_agent: "backfeed-test/9".into(),
        ..loopback_policy()
    };
    fetched(
        client(policy)
            .get(&server.url("/"), "application/activity+json")
            .await,
    );
    let request = server.requests().concat().to_ascii_lowercase();
    assert!(
        request.contains("user-agent: backfeed-test/9\r\n"),
        "{request}"
    );
    assert!(
        request.contains("accept: application/activity+json\r\n"),
        "{request}"
    );
}

#[tokio::test]
async fn error_statuses_are_returned_as_responses_not_errors() {
    let server = TestServer::start(|_| {
        Reply::Raw(
            b"HTTP/1.1 410 Gone\r\nContent-Length: 4\r\nConnection: close\r\n\r\ngone".to_vec(),
        )
    })
    .await;
    let page = fetched(client(loopback_policy()).get(&server.url("/"), "*/*").await);
    assert_eq!(page.status, http::StatusCode::GONE);
    assert_eq!(page.body.as_ref(), b"gone");
}

#[tokio::test]
async fn execute_sends_form_posts_with_the_user_agent() {
    let server = TestServer::start(|_| ok("application/json", b"{}")).await;
    let http = client(loopback_policy());
    let request = http
        .request(reqwest::Method::POST, server.url("/api/v1/statuses"))
        .bearer_auth("token")
        .form(&[("status", "hello world")]);
    let response = fetched(http.execute(request).await);
    assert_eq!(response.content_type().as_deref(), Some("application/json"));
    let sent = server.requests().concat();
    assert!(sent.starts_with("POST /api/v1/statuses "), "{sent}");
    assert!(sent.ends_with("status=hello+world"), "{sent}");
    assert!(
        sent.to_ascii_lowercase().contains("user-agent: backfeed/"),
        "{sent}"
    );
}

#[tokio::test]
async fn non_http_urls_are_invalid() {
    let http = client(loopback_policy());
    for url in [
        "ftp://example.com/file",
        "file:///etc/passwd",
        "mailto:someone@example.com",
        "data:text/plain,hi",
    ] {
        let url = Url::parse(url).expect("test URLs parse");
        let result = http.get(&url, "*/*").await;
        assert!(
            matches!(result, Err(FetchError::InvalidUrl(_))),
            "{url}: {result:?}"
        );
    }
}

// --- Connection and DNS failures ---------------------------------------------

#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let addr = {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        listener.local_addr().expect("an address")
    };
    let url = Url::parse(&format!("http://{addr}/")).expect("a URL");
    let result = client(loopback_policy()).get(&url, "*/*").await;
    assert!(matches!(result, Err(FetchError::Connect(_))), "{result:?}");
}

#[tokio::test]
async fn an_unresolvable_host_is_a_dns_error() {
    // .invalid is guaranteed never to resolve (RFC 6761).
    let url = Url::parse("http://no-such-host.invalid/").expect("a URL");
    let result = client(loopback_policy()).get(&url, "*/*").await;
    assert!(
        matches!(&result, Err(FetchError::Dns { host, .. }) if host == "no-such-host.invalid"),
        "{result:?}"
    );
}

// --- Small pieces ------------------------------------------------------------

#[test]
fn the_default_policy_has_the_documented_limits() {
    let policy = FetchPolicy::default();
    assert_eq!(policy.connect_timeout, Duration::from_secs(5));
    assert_eq!(policy.total_timeout, Duration::from_secs(10));
    assert_eq!(policy.max_body_bytes, 1_048_576);
    assert_eq!(policy.max_redirects, 10);
    assert!(!policy.allow_private_addresses);
    assert_eq!(
        policy.user_agent,
        format!(
            "backfeed/{} (+https://github.com/backfeed/backfeed)",
            env!("CARGO_PKG_VERSION")
        )
    );
}

fn with_content_type(value: &str) -> Fetched {
    let mut headers = http::HeaderMap::new();
    if let Ok(value) = http::HeaderValue::from_str(value) {
        headers.insert(CONTENT_TYPE, value);
    }
    Fetched {
        status: http::StatusCode::OK,
        final_url: Url::parse("https://example.com/").expect("a URL"),
        headers,
        body: Bytes::from_static(b"caf\xc3\xa9 \xff"),
    }
}

#[test]
fn the_content_type_is_the_lower_cased_essence() {
    let table = [
        ("text/html; charset=UTF-8", Some("text/html")),
        ("Application/JSON", Some("application/json")),
        ("  text/plain  ;q=1", Some("text/plain")),
        ("", None),
        ("; charset=utf-8", None),
    ];
    for (header, expected) in table {
        assert_eq!(
            with_content_type(header).content_type().as_deref(),
            expected,
            "{header:?}"
        );
    }
}

#[test]
fn text_lossy_replaces_invalid_utf8() {
    assert_eq!(
        with_content_type("text/plain").text_lossy(),
        "café \u{fffd}"
    );
}
