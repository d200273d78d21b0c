//! Hostile webmention sources: redirect loops, endless and slow bodies,
//! private addresses, script in content and in the author's h-card.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

/// A raw HTTP server whose every connection is handled by `respond`.
async fn raw_server<F, Fut>(respond: F) -> String
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = stream.read(&mut buffer).await;
            tokio::spawn(respond(stream));
        }
    });
    base
}

/// The operator's (full) reason for a rejection; the public status gives
/// only a fixed phrase (`status_privacy.rs`).
async fn rejected_reason(app: &TestApp, source: &str, target: &str) -> String {
    let status_url = app.accepted_webmention(source, target).await;
    app.wait_for_status(&status_url, "rejected").await;
    app.stored_reason(&status_url).await
}

async fn target(app: &TestApp) -> String {
    app.blog.page("/posts/h/", "<p>post</p>");
    app.blog.url("/posts/h/")
}

#[tokio::test]
async fn a_redirect_loop_is_rejected_without_fetching_forever() {
    let app = spawn_app().await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    sources.redirect("/a", "/b");
    sources.redirect("/b", "/a");
    let reason = rejected_reason(&app, &sources.url("/a"), &target).await;
    assert!(reason.contains("redirect"), "{reason}");
    assert!(
        sources.hits("/a") + sources.hits("/b") <= 21,
        "at most 20 redirects followed"
    );
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_cap() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_FETCH_MAX_BODY_BYTES".into(), "65536".into());
    })
    .await;
    let target = target(&app).await;
    let base = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\n",
            )
            .await;
        let chunk = format!("{:x}\r\n{}\r\n", 8192, "a".repeat(8192));
        while stream.write_all(chunk.as_bytes()).await.is_ok() {}
    })
    .await;
    let reason = rejected_reason(&app, &format!("{base}/endless"), &target).await;
    assert!(reason.contains("65536"), "{reason}");
}

#[tokio::test]
async fn a_slow_source_times_out_and_is_rejected_after_the_retries() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_FETCH_TIMEOUT".into(), "300ms".into());
        env.insert("BACKFEED_VERIFY_RETRY_DELAYS".into(), "10ms".into());
    })
    .await;
    let target = target(&app).await;
    let base = raw_server(|mut stream| async move {
        let _ = stream
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n",
            )
            .await;
        loop {
            if stream.write_all(b"a").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    // The source never finishes: only the fetch time limit ends each
    // attempt, as the reason says.
    let reason = rejected_reason(&app, &format!("{base}/slow"), &target).await;
    assert!(
        reason.contains("gave up after 2 attempts") && reason.contains("time"),
        "{reason}"
    );
}

#[tokio::test]
async fn sources_on_private_addresses_are_refused_unless_the_operator_opts_in() {
    let app = spawn_app_with(|env| {
        env.remove("BACKFEED_ALLOW_PRIVATE_ADDRESSES");
    })
    .await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    sources.page("/reply/", &format!(r#"<a href="{target}">x</a>"#));
    for source in [
        sources.url("/reply/"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://localhost:9/".to_owned(),
    ] {
        let reason = rejected_reason(&app, &source, &target).await;
        assert!(
            reason.contains("BACKFEED_ALLOW_PRIVATE_ADDRESSES"),
            "{source}: {reason}"
        );
    }
    assert_eq!(sources.hits("/reply/"), 0, "no connection was made");
}

#[tokio::test]
async fn script_in_content_and_in_the_author_card_never_reaches_the_api() {
    let app = spawn_app().await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    sources.page(
        "/evil/",
        &format!(
            r#"<div class="h-entry">
              <div class="p-author h-card"><span class="p-name">Mallory<script>alert('name')</script></span>
                <a class="u-url" href="javascript:alert('url')">me</a>
                <img class="u-photo" src="javascript:alert('photo')" onerror="alert('img')"></div>
              <div class="e-content"><p onclick="alert('p')">hi</p><a href="javascript:alert('a')">x</a>
                <iframe src="https://evil.example/"></iframe><svg onload="alert('svg')"></svg></div>
              <a class="u-in-reply-to" href="{target}">re</a></div>"#
        ),
    );
    let status_url = app
        .accepted_webmention(&sources.url("/evil/"), &target)
        .await;
    app.wait_for_status(&status_url, "verified").await;
    let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    let feed = app
        .get(&format!("/api/mentions.jf2?target={encoded}"))
        .await
        .text()
        .await
        .unwrap();
    for forbidden in [
        "<script",
        "javascript:",
        "onclick",
        "onerror",
        "onload",
        "<iframe",
        "<svg",
    ] {
        assert!(
            !feed.contains(forbidden),
            "{forbidden} reached the API: {feed}"
        );
    }
    assert!(feed.contains("Mallory"), "{feed}");
}
