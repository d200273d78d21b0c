//! Killing the process at any moment loses no job: a `kill -9` while
//! verifications or webhook deliveries are in flight, on each store, and a
//! restart finishes every one of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::Html;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process::Backfeed;
use crate::support_postgres::fresh_database;
use crate::support_s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, fresh_bucket, fresh_table};

const MENTIONS: usize = 8;

/// A remote that hangs every request while `hang` is set (so a kill comes
/// while requests are in flight): the sources of the webmentions, and the
/// operator's webhook.
#[derive(Clone)]
struct Remote {
    hang: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    /// Distinct webhook events received (`source` of each).
    delivered: Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>,
    target: String,
}

async fn wait_while_hanging(remote: &Remote) {
    remote.requests.fetch_add(1, Ordering::SeqCst);
    let mut unhung = remote.hang.load(Ordering::SeqCst);
    while unhung {
        // A fake remote simulating a slow server; nothing here waits for
        // the service under test.
        tokio::time::sleep(Duration::from_millis(20)).await;
        unhung = remote.hang.load(Ordering::SeqCst);
    }
}

async fn source_page(State(remote): State<Remote>) -> Html<String> {
    wait_while_hanging(&remote).await;
    Html(format!(
        r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{}">re</a></div>"#,
        remote.target
    ))
}

async fn webhook(State(remote): State<Remote>, body: axum::body::Bytes) -> axum::http::StatusCode {
    wait_while_hanging(&remote).await;
    let event: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if let Some(source) = event["source"].as_str() {
        remote.delivered.lock().unwrap().insert(source.to_owned());
    }
    axum::http::StatusCode::NO_CONTENT
}

async fn start_remote(target: &str) -> (Remote, String) {
    let remote = Remote {
        hang: Arc::new(AtomicBool::new(true)),
        requests: Arc::new(AtomicUsize::new(0)),
        delivered: Arc::default(),
        target: target.to_owned(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(webhook))
        .route("/{*path}", axum::routing::get(source_page))
        .with_state(remote.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (remote, base)
}

enum Interrupt {
    /// Kill while the sources hang: verifications are in flight.
    Verification,
    /// Let verification pass, kill while the webhook hangs.
    WebhookDelivery,
}

async fn kill_9_mid_job_loses_nothing(database_url: String, interrupt: Interrupt) {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    blog.page("/posts/durable/", "<p>post</p>");
    let target = blog.url("/posts/durable/");
    let (remote, base) = start_remote(&target).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = test_env(&mastodon, &blog, &dir);
    env.insert("DATABASE_URL".into(), database_url);
    env.insert("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into());
    // Short timeouts keep the lease short, so the restart takes the
    // killed process's jobs over soon.
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "1s".into());
    env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "1s".into());
    env.insert(
        "BACKFEED_VERIFY_RETRY_DELAYS".into(),
        "100ms,100ms,100ms,100ms,100ms,100ms".into(),
    );
    env.insert("BACKFEED_WEBHOOK_URL".into(), format!("{base}/hook"));
    env.insert(
        "BACKFEED_WEBHOOK_SECRET".into(),
        "durable-secret-0123456789".into(),
    );

    let mut first = Backfeed::serve(&env).await;
    let http = reqwest::Client::new();
    let mut status_urls = Vec::new();
    let mut sources = Vec::new();
    for i in 0..MENTIONS {
        let source = format!("{base}/reply/{i}");
        let response = http
            .post(format!("{}/webmention", first.address))
            .form(&[("source", source.as_str()), ("target", target.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        status_urls.push(response.headers()["location"].to_str().unwrap().to_owned());
        sources.push(source);
    }
    if matches!(interrupt, Interrupt::WebhookDelivery) {
        // Sources answer; the webhook hangs: deliveries are what is in
        // flight when the process dies.
        remote.hang.store(false, Ordering::SeqCst);
        let seen = remote.requests.load(Ordering::SeqCst);
        for url in &status_urls {
            wait_for(&http, &first.address, url, "verified").await;
        }
        remote.hang.store(true, Ordering::SeqCst);
        wait_until(|| remote.requests.load(Ordering::SeqCst) > seen + MENTIONS).await;
    } else {
        wait_until(|| remote.requests.load(Ordering::SeqCst) > 0).await;
    }
    first.child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    first.child.wait().await.unwrap();

    remote.hang.store(false, Ordering::SeqCst);
    let second = Backfeed::serve(&env).await;
    for url in &status_urls {
        wait_for(&http, &second.address, url, "verified").await;
    }
    wait_until(|| remote.delivered.lock().unwrap().len() == MENTIONS).await;
    let delivered = remote.delivered.lock().unwrap().clone();
    let expected: std::collections::BTreeSet<String> = sources.into_iter().collect();
    assert_eq!(delivered, expected, "every event delivered");
}

/// Waits for a condition with a generous deadline (a restarted process
/// takes jobs over only once their lease has run out).
async fn wait_until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for(http: &reqwest::Client, address: &str, status_url: &str, wanted: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let body: serde_json::Value = http
            .get(format!("{address}{status_url}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["status"] == wanted {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never {wanted}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("durable.db").display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_9_mid_verification_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_job_loses_nothing(sqlite(&dir), Interrupt::Verification).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_9_mid_webhook_delivery_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_job_loses_nothing(sqlite(&dir), Interrupt::WebhookDelivery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_kill_9_mid_verification_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_database().await, Interrupt::Verification).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_kill_9_mid_webhook_delivery_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_database().await, Interrupt::WebhookDelivery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_kill_9_mid_verification_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_bucket().await, Interrupt::Verification).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_kill_9_mid_webhook_delivery_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_bucket().await, Interrupt::WebhookDelivery).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamodb_kill_9_mid_verification_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_table().await, Interrupt::Verification).await;
}
