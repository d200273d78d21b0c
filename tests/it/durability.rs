//! Killing the process at any moment loses no job: a `kill -9` during each
//! kind of job (verifications and webhook deliveries on each store; thread
//! refreshes on SQLite and PostgreSQL; feed polling, announcing and sending
//! webmentions on SQLite), and a restart finishes every one of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::response::Html;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::{test_env, wait_until};
use crate::process::Backfeed;
#[cfg(feature = "postgres")]
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
        wait_until("the condition", || {
            remote.requests.load(Ordering::SeqCst) > seen + MENTIONS
        })
        .await;
    } else {
        wait_until("the condition", || {
            remote.requests.load(Ordering::SeqCst) > 0
        })
        .await;
    }
    first.child.start_kill().unwrap(); // SIGKILL: no chance to clean up
    first.child.wait().await.unwrap();

    remote.hang.store(false, Ordering::SeqCst);
    let second = Backfeed::serve(&env).await;
    for url in &status_urls {
        wait_for(&http, &second.address, url, "verified").await;
    }
    wait_until("the condition", || {
        remote.delivered.lock().unwrap().len() == MENTIONS
    })
    .await;
    let delivered = remote.delivered.lock().unwrap().clone();
    let expected: std::collections::BTreeSet<String> = sources.into_iter().collect();
    assert_eq!(delivered, expected, "every event delivered");
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

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_kill_9_mid_verification_loses_nothing() {
    kill_9_mid_job_loses_nothing(fresh_database().await, Interrupt::Verification).await;
}

#[cfg(feature = "postgres")]
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

/// `kill -9` while a thread refresh is in flight (Mastodon holds the
/// context request): the restarted process takes the job over once its
/// lease runs out, with no reader asking, and the cached thread gets the
/// reply that was added meanwhile.
async fn kill_9_mid_thread_refresh_loses_nothing(database_url: String) {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = test_env(&mastodon, &blog, &dir);
    env.insert("DATABASE_URL".into(), database_url);
    env.insert("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY_ID.into());
    env.insert("AWS_SECRET_ACCESS_KEY".into(), SECRET_ACCESS_KEY.into());
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "1s".into());
    // Long enough that the held request is still held at the kill; the
    // lease (twice this, plus 2 s) is what the restart waits out.
    env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "5s".into());
    // Every view after the first finds the thread stale.
    env.insert("BACKFEED_THREAD_TTL".into(), "1ms".into());
    let post = blog.publish_post("refreshed", "Refreshed");

    let first = Backfeed::serve(&env).await;
    let http = reqwest::Client::new();
    let comments = |address: String| {
        let http = http.clone();
        let post = post.clone();
        async move {
            let response = http
                .get(format!("{address}/api/comments"))
                .query(&[("url", post.as_str())])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<serde_json::Value>().await.unwrap()
        }
    };
    let thread = comments(first.address.clone()).await;
    assert_eq!(thread["comments"], serde_json::json!([]), "{thread}");
    let toot = mastodon.statuses()[0]["id"].as_str().unwrap().to_owned();
    mastodon.add_reply(crate::fake_mastodon::ReplySpec {
        in_reply_to_id: toot,
        acct: "alice@social.example".into(),
        display_name: "Alice".into(),
        content_html: "<p>added before the refresh</p>".into(),
        visibility: "public",
        ..Default::default()
    });

    // The next view queues a refresh; its context request is held.
    mastodon.hold_contexts();
    let before = mastodon.context_requests();
    let stale = comments(first.address.clone()).await;
    assert_eq!(stale["comments"], serde_json::json!([]), "served stale");
    wait_until("the condition", || mastodon.context_requests() > before).await;
    let mut first = first;
    first.child.start_kill().unwrap(); // SIGKILL mid-refresh
    first.child.wait().await.unwrap();
    let at_kill = mastodon.context_requests();
    mastodon.release_contexts();

    // No reader asks: only the taken-over job fetches the thread again.
    let second = Backfeed::serve(&env).await;
    wait_until("the condition", || mastodon.context_requests() > at_kill).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let thread = comments(second.address.clone()).await;
        if thread["comments"].as_array().is_some_and(|c| c.len() == 1) {
            assert_eq!(thread["comments"][0]["author"]["name"], "Alice");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never refreshed: {thread}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_9_mid_thread_refresh_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_thread_refresh_loses_nothing(sqlite(&dir)).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_kill_9_mid_thread_refresh_loses_nothing() {
    kill_9_mid_thread_refresh_loses_nothing(fresh_database().await).await;
}

/// The remote side of publishing: the blog's feed, a page the post links
/// to, and that page's webmention endpoint, each hanging while told to.
#[derive(Clone, Default)]
struct Outside {
    hang_feed: Arc<AtomicBool>,
    hang_endpoint: Arc<AtomicBool>,
    feed_requests: Arc<AtomicUsize>,
    endpoint_requests: Arc<AtomicUsize>,
    /// `source` of every webmention the endpoint answered.
    received: Arc<std::sync::Mutex<Vec<String>>>,
    /// The RSS the feed serves.
    feed: Arc<std::sync::Mutex<String>>,
}

async fn hang_while(flag: &AtomicBool) {
    while flag.load(Ordering::SeqCst) {
        // A fake remote simulating a server that stopped answering.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn outside_feed(State(outside): State<Outside>) -> axum::response::Response {
    use axum::response::IntoResponse;
    outside.feed_requests.fetch_add(1, Ordering::SeqCst);
    hang_while(&outside.hang_feed).await;
    let body = outside.feed.lock().unwrap().clone();
    ([("content-type", "application/rss+xml")], body).into_response()
}

async fn outside_target() -> Html<&'static str> {
    Html(r#"<html><head><link rel="webmention" href="/endpoint"></head><body>hi</body></html>"#)
}

async fn outside_endpoint(
    State(outside): State<Outside>,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    outside.endpoint_requests.fetch_add(1, Ordering::SeqCst);
    hang_while(&outside.hang_endpoint).await;
    let source = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "source")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    outside.received.lock().unwrap().push(source);
    axum::http::StatusCode::ACCEPTED
}

async fn start_outside() -> (Outside, String) {
    let outside = Outside::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/feed.xml", axum::routing::get(outside_feed))
        .route("/target", axum::routing::get(outside_target))
        .route("/endpoint", axum::routing::post(outside_endpoint))
        .with_state(outside.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (outside, base)
}

/// Like [`wait_until`], with room for two job leases to run out.
async fn wait_long_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `kill -9` during each publishing job: while the poller reads the feed
/// (`poll-feeds`), then while the post is being announced (`announce-post`)
/// and a webmention sent (`send-webmention`). The third process finishes
/// the work: one toot, the webmention delivered.
async fn kill_9_mid_publishing_loses_nothing(database_url: String) {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let (outside, base) = start_outside().await;
    let post = blog.url("/posts/published/");
    blog.page(
        "/posts/published/",
        &format!(
            r#"<html lang="en"><head><title>Published</title><meta property="og:title" content="Published"></head>
            <body><article class="h-entry"><h1 class="p-name">Published</h1>
            <div class="e-content"><p>See <a href="{base}/target">this</a>.</p></div></article></body></html>"#
        ),
    );
    *outside.feed.lock().unwrap() = format!(
        r#"<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>
        <link>{blog}/</link><description>d</description>
        <item><title>Published</title><link>{post}</link><guid>{post}</guid><description>p</description></item>
        </channel></rss>"#,
        blog = blog.base_url
    );
    let dir = tempfile::tempdir().unwrap();
    let mut env: HashMap<String, String> = test_env(&mastodon, &blog, &dir);
    env.insert("DATABASE_URL".into(), database_url);
    env.insert("BACKFEED_FEEDS".into(), format!("{base}/feed.xml"));
    // Long enough that a hung request is still in flight at the kill (a
    // timed-out attempt would be retried only minutes later); the lease,
    // twice this plus 2 s, is what each restart waits out.
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "8s".into());
    env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "8s".into());

    // 1. The poller is reading the feed.
    outside.hang_feed.store(true, Ordering::SeqCst);
    let mut first = Backfeed::serve(&env).await;
    wait_long_until("the feed is read", || {
        outside.feed_requests.load(Ordering::SeqCst) > 0
    })
    .await;
    first.child.start_kill().unwrap();
    first.child.wait().await.unwrap();
    outside.hang_feed.store(false, Ordering::SeqCst);

    // 2. The post is being announced and its webmention sent.
    mastodon.fail_always(Some(crate::fake_mastodon::Failure::Hang));
    outside.hang_endpoint.store(true, Ordering::SeqCst);
    let mut second = Backfeed::serve(&env).await;
    wait_long_until("announcing and sending are in flight", || {
        mastodon.posts_received() > 0 && outside.endpoint_requests.load(Ordering::SeqCst) > 0
    })
    .await;
    second.child.start_kill().unwrap();
    second.child.wait().await.unwrap();
    assert_eq!(mastodon.statuses_created(), 0);
    assert!(outside.received.lock().unwrap().is_empty());

    // 3. Everything answers: the restarted process finishes both jobs.
    mastodon.fail_always(None);
    outside.hang_endpoint.store(false, Ordering::SeqCst);
    let third = Backfeed::serve(&env).await;
    wait_long_until("the post is announced and the webmention delivered", || {
        mastodon.statuses_created() == 1 && !outside.received.lock().unwrap().is_empty()
    })
    .await;
    assert!(
        outside.received.lock().unwrap().iter().all(|s| *s == post),
        "{:?}",
        outside.received.lock().unwrap()
    );
    let answer: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/", third.address))
        .query(&[("url", post.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["toot_id"], mastodon.statuses()[0]["id"], "{answer}");
    assert_eq!(mastodon.statuses_created(), 1, "one toot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_kill_9_mid_publishing_jobs_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    kill_9_mid_publishing_loses_nothing(sqlite(&dir)).await;
}
