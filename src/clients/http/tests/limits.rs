//! The limits of every fetch: redirect cap, body cap, timeouts.
//!
//! Each test drives a server that breaks one limit and checks the matching
//! error, and where it matters that the client gave up early enough.

use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::server::{Reply, TestServer, ok, path_of, redirect};
use super::*;

// --- Redirects ---------------------------------------------------------------

#[tokio::test]
async fn get_follows_redirects_and_reports_the_final_url() {
    let server = redirect_chain(3).await;
    let page = fetched(
        client(loopback_policy())
            .get(&server.url("/0"), "*/*")
            .await,
    );
    assert_eq!(page.final_url, server.url("/3"));
    assert_eq!(page.body.as_ref(), b"arrived");
}

#[tokio::test]
async fn exactly_max_redirects_hops_are_followed() {
    let server = redirect_chain(4).await;
    let policy = FetchPolicy {
        max_redirects: 4,
        ..loopback_policy()
    };
    let page = fetched(client(policy).get(&server.url("/0"), "*/*").await);
    assert_eq!(page.final_url, server.url("/4"));
}

#[tokio::test]
async fn one_redirect_more_than_the_limit_is_too_many_redirects() {
    let server = redirect_chain(5).await;
    let policy = FetchPolicy {
        max_redirects: 4,
        ..loopback_policy()
    };
    let result = client(policy).get(&server.url("/0"), "*/*").await;
    assert!(
        matches!(result, Err(FetchError::TooManyRedirects { limit: 4 })),
        "{result:?}"
    );
    assert_eq!(
        server.accepted(),
        5,
        "the fifth redirect must not be followed"
    );
}

#[tokio::test]
async fn a_redirect_loop_ends_as_too_many_redirects() {
    let server = TestServer::start(|request| match path_of(request) {
        "/a" => redirect("/b"),
        _ => redirect("/a"),
    })
    .await;
    let result = client(loopback_policy())
        .get(&server.url("/a"), "*/*")
        .await;
    assert!(
        matches!(result, Err(FetchError::TooManyRedirects { limit: 10 })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_redirect_to_a_non_http_scheme_is_refused() {
    let server = TestServer::start(|_| redirect("ftp://example.com/file")).await;
    let result = client(loopback_policy()).get(&server.url("/"), "*/*").await;
    assert!(
        matches!(&result, Err(FetchError::InvalidUrl(message)) if message.contains("ftp://example.com/file")),
        "{result:?}"
    );
}

// --- Body cap ----------------------------------------------------------------

fn capped_policy(max_body_bytes: usize) -> FetchPolicy {
    FetchPolicy {
        max_body_bytes,
        ..loopback_policy()
    }
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading_the_body() {
    // The body never comes: only an early refusal can answer before the timeout.
    let server = TestServer::start(|_| {
        Reply::ThenHang(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n".to_vec())
    })
    .await;
    let started = Instant::now();
    let result = client(capped_policy(1000))
        .get(&server.url("/"), "*/*")
        .await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit: 1000 })),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_endless_chunked_body_stops_at_the_cap() {
    let server = TestServer::start(|_| Reply::EndlessChunks).await;
    let result = client(capped_policy(64 * 1024))
        .get(&server.url("/"), "*/*")
        .await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit: 65536 })),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_body_exactly_at_the_cap_is_accepted() {
    let server = TestServer::start(|_| ok("text/plain", &[b'x'; 1000])).await;
    let page = fetched(
        client(capped_policy(1000))
            .get(&server.url("/"), "*/*")
            .await,
    );
    assert_eq!(page.body.len(), 1000);
}

#[tokio::test]
async fn an_undeclared_body_one_byte_over_the_cap_is_too_large() {
    // No Content-Length: the body ends when the connection closes.
    let mut response = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
    response.extend_from_slice(&[b'x'; 1001]);
    let server = TestServer::start(move |_| Reply::Raw(response.clone())).await;
    let result = client(capped_policy(1000))
        .get(&server.url("/"), "*/*")
        .await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { limit: 1000 })),
        "{result:?}"
    );
}

// --- Timeouts ----------------------------------------------------------------

fn quick_policy() -> FetchPolicy {
    FetchPolicy {
        connect_timeout: Duration::from_millis(200),
        total_timeout: Duration::from_millis(300),
        ..loopback_policy()
    }
}

fn assert_timed_out_near(result: Result<Fetched, FetchError>, limit: Duration, started: Instant) {
    assert!(
        matches!(result, Err(FetchError::Timeout { after }) if after == limit),
        "{result:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= limit && elapsed < limit * 3,
        "gave up after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_body_dribbled_byte_by_byte_times_out_at_the_total_limit() {
    // Each byte arrives well within any per-read timeout; only a deadline
    // over the whole exchange stops this.
    let server = TestServer::start(|_| Reply::Dribble {
        head: b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n".to_vec(),
        every: Duration::from_millis(50),
    })
    .await;
    let started = Instant::now();
    let result = client(quick_policy()).get(&server.url("/"), "*/*").await;
    assert_timed_out_near(result, Duration::from_millis(300), started);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_at_the_total_limit() {
    let server = TestServer::start(|_| Reply::ThenHang(Vec::new())).await;
    let started = Instant::now();
    let result = client(quick_policy()).get(&server.url("/"), "*/*").await;
    assert_timed_out_near(result, Duration::from_millis(300), started);
}

/// A listener whose accept queue is full and never drained: the kernel drops
/// further connection attempts, so they hang until the client gives up.
/// Returns the listener and the queued connections, to keep them open.
async fn unanswering_listener() -> (TcpListener, Vec<TcpStream>) {
    let socket = TcpSocket::new_v4().expect("a socket");
    socket
        .bind("127.0.0.1:0".parse().expect("an address"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("an address");
    let mut queued = Vec::new();
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => queued.push(stream),
            _ => return (listener, queued),
        }
    }
    panic!("the accept queue never filled up; this test relies on Linux backlog behaviour");
}

#[tokio::test]
async fn a_connection_that_is_never_established_times_out_at_the_connect_limit() {
    let (listener, _queued) = unanswering_listener().await;
    let addr = listener.local_addr().expect("an address");
    let policy = FetchPolicy {
        connect_timeout: Duration::from_millis(200),
        total_timeout: Duration::from_secs(2),
        ..loopback_policy()
    };
    let url = Url::parse(&format!("http://{addr}/")).expect("a URL");
    let started = Instant::now();
    let result = client(policy).get(&url, "*/*").await;
    assert_timed_out_near(result, Duration::from_millis(200), started);
}
