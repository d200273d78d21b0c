//! Killing the process at any moment loses no accepted webmention.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::Html;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process::Backfeed;

/// A source site that hangs every request while `hang` is set, then answers
/// with a reply page linking to `target`.
#[derive(Clone)]
struct Source {
    hang: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    target: String,
}

async fn page(State(source): State<Source>) -> Html<String> {
    source.requests.fetch_add(1, Ordering::SeqCst);
    while source.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Html(format!(
        r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{}">re</a></div>"#,
        source.target
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_mid_verification_loses_nothing_and_a_restart_finishes_every_request() {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    blog.page("/posts/durable/", "<p>post</p>");
    let target = blog.url("/posts/durable/");
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "1s".into());
    env.insert(
        "BACKFEED_VERIFY_RETRY_DELAYS".into(),
        "100ms,100ms,100ms,100ms".into(),
    );

    let source = Source {
        hang: Arc::new(AtomicBool::new(true)),
        requests: Arc::new(AtomicUsize::new(0)),
        target: target.clone(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let source_base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/{*path}", axum::routing::get(page))
        .with_state(source.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let first = Backfeed::serve(&env).await;
    let http = reqwest::Client::new();
    let mut status_urls = Vec::new();
    for i in 0..12 {
        let response = http
            .post(format!("{}/webmention", first.address))
            .form(&[
                ("source", format!("{source_base}/reply/{i}")),
                ("target", target.clone()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        status_urls.push(response.headers()["location"].to_str().unwrap().to_owned());
    }
    while source.requests.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut first = first;
    first.child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    first.child.wait().await.unwrap();

    source.hang.store(false, Ordering::SeqCst);
    let second = Backfeed::serve(&env).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for status_url in &status_urls {
        loop {
            let body: serde_json::Value = http
                .get(format!("{}{status_url}", second.address))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body["status"] == "verified" {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "not finished after restart: {body}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
