//! The socket server's limits against slow and idle clients, with the real
//! binary: a request head must arrive within the header timeout, a kept-alive
//! connection may idle only so long, connections beyond the cap wait, a slow
//! handler or request body gets an answer in time, and SIGTERM ends the
//! process within the grace period whoever is still connected.
//!
//! Every wait here is for an event (a disconnect, an answer, a log line, an
//! exit) with a generous deadline; nothing asserts on elapsed time.

use std::collections::HashMap;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{Failure, FakeMastodon};
use crate::helpers::test_env;
use crate::process::Backfeed;

/// Far longer than any limit a test sets, far shorter than "forever".
const GENEROUS: Duration = Duration::from_secs(30);
const HALF_A_HEAD: &[u8] = b"GET /status HTTP/1.1\r\nHost: backfeed.test\r\nUser-Agent: slo";

struct Server {
    process: Backfeed,
    mastodon: FakeMastodon,
    blog: FakeBlog,
    _dir: tempfile::TempDir,
}

async fn serve_with(settings: &[(&str, &str)]) -> Server {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = test_env(&mastodon, &blog, &dir);
    for (key, value) in settings {
        env.insert((*key).to_owned(), (*value).to_owned());
    }
    Server {
        process: Backfeed::serve(&env).await,
        mastodon,
        blog,
        _dir: dir,
    }
}

async fn connect(server: &Backfeed) -> TcpStream {
    TcpStream::connect(server.address.trim_start_matches("http://"))
        .await
        .expect("connects")
}

/// Reads until the server closes the connection (or resets it), returning
/// what it sent; panics if it is still open after [`GENEROUS`].
async fn wait_for_close(stream: &mut TcpStream, what: &str) -> String {
    let mut received = Vec::new();
    let read = tokio::time::timeout(GENEROUS, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    let received = String::from_utf8_lossy(&received).into_owned();
    assert!(read.is_ok(), "{what}: still open; received {received:?}");
    received
}

/// One whole `GET /status` on a kept-alive connection; returns the answer.
async fn get_status(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: backfeed.test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(GENEROUS, async {
        while !String::from_utf8_lossy(&received).contains(r#""rev":"test-rev"}"#) {
            let n = stream.read(&mut buffer).await.expect("the answer");
            assert!(n > 0, "closed before answering");
            received.extend_from_slice(&buffer[..n]);
        }
    })
    .await
    .expect("answered in time");
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_client_sending_half_a_request_head_is_disconnected_after_the_header_timeout() {
    let server = serve_with(&[("BACKFEED_HEADER_READ_TIMEOUT", "1s")]).await;
    let mut slow = connect(&server.process).await;
    slow.write_all(HALF_A_HEAD).await.unwrap();
    wait_for_close(&mut slow, "half a head").await;
    // A client that sends nothing at all is no better off.
    let mut silent = connect(&server.process).await;
    wait_for_close(&mut silent, "nothing sent").await;
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout_not_the_header_timeout() {
    // The header timeout alone would keep this connection for 5 minutes.
    let server = serve_with(&[
        ("BACKFEED_HEADER_READ_TIMEOUT", "300s"),
        ("BACKFEED_IDLE_TIMEOUT", "1s"),
    ])
    .await;
    let mut client = connect(&server.process).await;
    assert!(get_status(&mut client).await.starts_with("HTTP/1.1 200"));
    wait_for_close(&mut client, "idle after an answer").await;
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let server = serve_with(&[
        ("BACKFEED_MAX_CONNECTIONS", "2"),
        ("BACKFEED_HEADER_READ_TIMEOUT", "300s"),
    ])
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut slow = connect(&server.process).await;
        slow.write_all(HALF_A_HEAD).await.unwrap();
        held.push(slow);
    }
    let mut waiting = connect(&server.process).await;
    let answer = tokio::spawn(async move { get_status(&mut waiting).await });
    let deadline = tokio::time::Instant::now() + GENEROUS;
    while !server
        .process
        .stderr_text()
        .contains("connection limit reached")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the cap was never reached: {}",
            server.process.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held.pop());
    let answer = tokio::time::timeout(GENEROUS, answer)
        .await
        .expect("served once a slot is free")
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
}

#[tokio::test]
async fn a_request_slower_than_the_request_timeout_gets_a_json_503_with_cors() {
    let server = serve_with(&[
        ("BACKFEED_REQUEST_TIMEOUT", "1s"),
        ("BACKFEED_MASTODON_TIMEOUT", "300s"),
    ])
    .await;
    server.mastodon.fail_next(Failure::Hang);
    let post = server.blog.publish_post("slow", "Slow");
    let response = reqwest::Client::new()
        .get(format!("{}/", server.process.address))
        .query(&[("url", &post)])
        .timeout(GENEROUS)
        .send()
        .await
        .expect("an answer before the client gives up");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], 503, "{body}");
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
}

#[tokio::test]
async fn a_request_body_slower_than_the_body_timeout_gets_a_json_408() {
    let server = serve_with(&[("BACKFEED_BODY_TIMEOUT", "1s")]).await;
    let mut client = connect(&server.process).await;
    client
        .write_all(
            b"POST /webmention HTTP/1.1\r\nHost: backfeed.test\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nsource=",
        )
        .await
        .unwrap();
    let answer = wait_for_close(&mut client, "a body that never ends").await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":408"#), "{answer}");
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let server = serve_with(&[]).await;
    server.mastodon.set_post_delay(Duration::from_secs(2));
    let post = server.blog.publish_post("in-flight", "In flight");
    let url = format!("{}/", server.process.address);
    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .query(&[("url", &post)])
            .timeout(GENEROUS)
            .send()
            .await
            .map(|r| r.status())
    });
    let deadline = tokio::time::Instant::now() + GENEROUS;
    while server.mastodon.posts_received() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (exit, stderr) = server.process.terminate().await;
    assert!(exit.success(), "{stderr}");
    assert_eq!(request.await.unwrap().expect("answered"), 200, "{stderr}");
}

#[tokio::test]
async fn sigterm_ends_the_process_within_the_grace_period_despite_slow_clients() {
    // Slow clients that the header timeout would keep for 5 minutes.
    let server = serve_with(&[
        ("BACKFEED_HEADER_READ_TIMEOUT", "300s"),
        ("BACKFEED_SHUTDOWN_GRACE", "1s"),
    ])
    .await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut client = connect(&server.process).await;
        client.write_all(HALF_A_HEAD).await.unwrap();
        slow.push(client);
    }
    // Connections are accepted in order: once a later one is answered, the
    // slow ones are the server's.
    let mut probe = connect(&server.process).await;
    assert!(get_status(&mut probe).await.starts_with("HTTP/1.1 200"));

    let mut process = server.process;
    let pid = process.child.id().expect("running").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let exit = tokio::time::timeout(GENEROUS, process.child.wait())
        .await
        .unwrap_or_else(|_| panic!("still running: {}", process.stderr_text()))
        .expect("exit status");
    assert!(exit.success(), "{}", process.stderr_text());
    drop(slow);
}

#[tokio::test]
async fn sigterm_ends_the_process_after_the_grace_period_even_with_a_request_in_flight() {
    // The request would wait on a hung Mastodon for 5 minutes.
    let server = serve_with(&[
        ("BACKFEED_SHUTDOWN_GRACE", "1s"),
        ("BACKFEED_REQUEST_TIMEOUT", "300s"),
        ("BACKFEED_MASTODON_TIMEOUT", "300s"),
    ])
    .await;
    server.mastodon.fail_next(Failure::Hang);
    let post = server.blog.publish_post("hung", "Hung");
    let url = format!("{}/", server.process.address);
    let request = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .query(&[("url", &post)])
            .send()
            .await
    });
    let deadline = tokio::time::Instant::now() + GENEROUS;
    while server.mastodon.posts_received() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "never posted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut process = server.process;
    let pid = process.child.id().expect("running").to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let exit = tokio::time::timeout(GENEROUS, process.child.wait())
        .await
        .unwrap_or_else(|_| panic!("still running: {}", process.stderr_text()))
        .expect("exit status");
    assert!(exit.success(), "{}", process.stderr_text());
    assert!(
        request.await.unwrap().is_err(),
        "the hung request is cut off, not answered"
    );
    let deadline = tokio::time::Instant::now() + GENEROUS;
    while !process
        .stderr_text()
        .contains("after the shutdown grace period")
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            process.stderr_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
