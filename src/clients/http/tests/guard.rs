//! The address guard end to end: refused before any connection is made.
//!
//! Each refusal is checked together with the listener's accept count, so a
//! guard that only failed after connecting would fail these tests.

use super::server::{TestServer, ok, redirect};
use super::*;

async fn assert_refused_without_connecting(server: &TestServer, url: &Url) {
    let result = client(guarded_policy()).get(url, "*/*").await;
    assert!(
        matches!(result, Err(FetchError::ForbiddenAddress { .. })),
        "{url}: {result:?}"
    );
    assert_eq!(server.accepted(), 0, "{url} must not be connected to");
}

#[tokio::test]
async fn a_loopback_ipv4_literal_is_refused_without_connecting() {
    let server = TestServer::start(|_| ok("text/plain", b"secret")).await;
    assert_refused_without_connecting(&server, &server.url("/")).await;
}

#[tokio::test]
async fn localhost_by_name_is_refused_without_connecting() {
    let server = TestServer::start(|_| ok("text/plain", b"secret")).await;
    let url = Url::parse(&format!("http://localhost:{}/", server.addr.port())).expect("a URL");
    assert_refused_without_connecting(&server, &url).await;
}

#[tokio::test]
async fn a_loopback_ipv6_literal_is_refused_without_connecting() {
    let Ok(server) = TestServer::start_on("[::1]:0", |_| ok("text/plain", b"secret")).await else {
        // No IPv6 loopback here: the refusal must still come before any connection attempt.
        let result = client(guarded_policy())
            .get(&Url::parse("http://[::1]:9/").expect("a URL"), "*/*")
            .await;
        assert!(
            matches!(result, Err(FetchError::ForbiddenAddress { .. })),
            "{result:?}"
        );
        return;
    };
    assert_refused_without_connecting(&server, &server.url("/")).await;
}

#[tokio::test]
async fn the_guard_also_applies_to_requests_built_for_execute() {
    let server = TestServer::start(|_| ok("text/plain", b"secret")).await;
    let http = client(guarded_policy());
    let result = http
        .execute(http.request(reqwest::Method::POST, server.url("/")))
        .await;
    assert!(
        matches!(result, Err(FetchError::ForbiddenAddress { .. })),
        "{result:?}"
    );
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn the_refusal_names_the_host_and_the_address() {
    let result = client(guarded_policy())
        .get(
            &Url::parse("http://169.254.169.254/latest/meta-data/").expect("a URL"),
            "*/*",
        )
        .await;
    let message = result
        .err()
        .map(|error| error.to_string())
        .unwrap_or_default();
    assert_eq!(
        message,
        "refused to connect to 169.254.169.254: 169.254.169.254 is a link-local address \
         (set BACKFEED_ALLOW_PRIVATE_ADDRESSES=true to allow)"
    );
}

/// A guarded client that reaches `server` under the public-looking name
/// `blog.test` (pinned in reqwest, past the resolver), so a redirect can start
/// from an allowed host even though every test server lives on loopback.
fn guarded_client_pinning_blog_test(server: &TestServer) -> HttpClient {
    let addr = server.addr;
    HttpClient::with_builder(guarded_policy(), move |builder| {
        builder.resolve("blog.test", addr)
    })
    .expect("the client builds")
}

#[tokio::test]
async fn a_redirect_to_a_loopback_literal_is_refused_without_connecting() {
    let target = TestServer::start(|_| ok("text/plain", b"secret")).await;
    let location = target.url("/admin").to_string();
    let blog = TestServer::start(move |_| redirect(&location)).await;
    let start = Url::parse(&format!("http://blog.test:{}/post", blog.addr.port())).expect("a URL");
    let result = guarded_client_pinning_blog_test(&blog)
        .get(&start, "*/*")
        .await;
    assert!(
        matches!(&result, Err(FetchError::ForbiddenAddress { host, .. }) if host == "127.0.0.1"),
        "{result:?}"
    );
    assert_eq!(blog.accepted(), 1, "the allowed first hop is fetched");
    assert_eq!(
        target.accepted(),
        0,
        "the loopback target must not be connected to"
    );
}

#[tokio::test]
async fn a_redirect_to_localhost_by_name_is_refused_without_connecting() {
    let target = TestServer::start(|_| ok("text/plain", b"secret")).await;
    let location = format!("http://localhost:{}/admin", target.addr.port());
    let blog = TestServer::start(move |_| redirect(&location)).await;
    let start = Url::parse(&format!("http://blog.test:{}/post", blog.addr.port())).expect("a URL");
    let result = guarded_client_pinning_blog_test(&blog)
        .get(&start, "*/*")
        .await;
    assert!(
        matches!(&result, Err(FetchError::ForbiddenAddress { host, .. }) if host == "localhost"),
        "{result:?}"
    );
    assert_eq!(blog.accepted(), 1, "the allowed first hop is fetched");
    assert_eq!(
        target.accepted(),
        0,
        "the loopback target must not be connected to"
    );
}
