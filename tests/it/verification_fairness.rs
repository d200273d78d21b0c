//! A source that hangs cannot stall the verification queue: one source
//! host gets only its share of the workers at a time, and a first attempt
//! gives up quickly (a retry gets the full fetch time).
//!
//! The hanging sources here never answer until the test lets them, so every
//! wait is for an event (a connection, a settled job), bounded only as a
//! safety net; nothing asserts how long anything took.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use backfeed::domain::job::JobKind;
use backfeed::storage::JobFilter;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app_with_clock};

/// A source server on 127.0.0.1 that reads each request and then answers
/// only once `open` is set (with `body`, as HTML), holding the connection
/// until then. Counts connections and tells `arrived` about each.
struct GatedSource {
    base: String,
    connections: Arc<AtomicUsize>,
    arrived: Arc<Notify>,
    open: watch::Sender<bool>,
}

impl GatedSource {
    async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let arrived = Arc::new(Notify::new());
        let (open, gate) = watch::channel(false);
        let (count, tell) = (Arc::clone(&connections), Arc::clone(&arrived));
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tell.notify_one();
                let (mut gate, body) = (gate.clone(), body.clone());
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = stream.read(&mut buffer).await;
                    if gate.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(head.as_bytes()).await;
                    let _ = stream.write_all(body.as_bytes()).await;
                });
            }
        });
        Self {
            base,
            connections,
            arrived,
            open,
        }
    }

    /// This server under the host name `localhost` (another "domain" than
    /// the 127.0.0.1 of every other fake).
    fn url_on_localhost(&self, path: &str) -> String {
        format!("{}{path}", self.base.replace("127.0.0.1", "localhost"))
    }

    async fn wait_for_connection(&self) {
        while self.connections.load(Ordering::SeqCst) == 0 {
            tokio::time::timeout(Duration::from_secs(10), self.arrived.notified())
                .await
                .expect("the source was fetched");
        }
    }
}

fn reply_html(target: &str) -> String {
    format!(
        r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{target}">re</a></div>"#
    )
}

async fn target(app: &TestApp) -> String {
    app.blog.page("/posts/f/", "<p>post</p>");
    app.blog.url("/posts/f/")
}

#[tokio::test]
async fn a_hanging_source_gets_one_worker_and_an_honest_source_is_verified_meanwhile() {
    let app = spawn_app_with_clock(
        |env| {
            // Long limits everywhere: only the per-domain share can help.
            env.insert("BACKFEED_FETCH_TIMEOUT".into(), "120s".into());
            env.insert("BACKFEED_VERIFY_FIRST_TIMEOUT".into(), "120s".into());
            env.insert("BACKFEED_VERIFY_PER_DOMAIN".into(), "1".into());
        },
        true,
    )
    .await;
    let target = target(&app).await;
    let hanging = GatedSource::start(reply_html(&target)).await;
    for i in 0..8 {
        let source = hanging.url_on_localhost(&format!("/hang/{i}"));
        let response = app.send_webmention(&source, &target).await;
        assert_eq!(response.status(), 201);
    }
    hanging.wait_for_connection().await;

    let honest = FakeBlog::start().await;
    honest.page("/reply/", &reply_html(&target));
    let status_url = app
        .accepted_webmention(&honest.url("/reply/"), &target)
        .await;
    app.wait_for_status(&status_url, "verified").await;
    assert_eq!(
        hanging.connections.load(Ordering::SeqCst),
        1,
        "the hanging host had one fetch in flight, the others waited their turn"
    );

    // The held-back ones were put off, not failed: no attempt was spent.
    let jobs = app
        .app
        .store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    let waiting: Vec<_> = jobs.iter().filter(|j| j.attempts == 0).collect();
    assert_eq!(waiting.len(), 7, "{jobs:#?}");
}

#[tokio::test]
async fn a_first_attempt_gives_up_early_and_the_retry_has_the_full_fetch_time() {
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_FETCH_TIMEOUT".into(), "60s".into());
            env.insert("BACKFEED_VERIFY_FIRST_TIMEOUT".into(), "300ms".into());
        },
        true,
    )
    .await;
    let target = target(&app).await;
    let slow = GatedSource::start(reply_html(&target)).await;
    let status_url = app
        .accepted_webmention(&slow.url_on_localhost("/slow/"), &target)
        .await;

    // The first attempt ends (the source still holds its answer back).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let error = loop {
        let jobs = app
            .app
            .store
            .list_jobs(&JobFilter {
                kind: Some(JobKind::VerifyMention),
                limit: 10,
                ..JobFilter::default()
            })
            .await
            .unwrap();
        if let Some(error) = jobs.iter().find_map(|j| j.last_error.clone()) {
            break error;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the first attempt never ended: {jobs:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(error.contains("timed out"), "{error}");

    // The retry waits as long as the source needs.
    slow.open.send_replace(true);
    app.advance(Duration::from_secs(120));
    app.wait_for_status(&status_url, "verified").await;
}

/// Runs one unit of work and says what it did (`None`: nothing was due).
async fn run_one(app: &TestApp) -> Option<&'static str> {
    backfeed::jobs::run_one(&app.app)
        .await
        .expect("the store answers")
        .map(|ran| ran.outcome)
}

#[tokio::test]
async fn held_back_verifications_run_in_turn_as_soon_as_their_host_frees_a_slot() {
    // No workers: the test runs each unit itself, and the clock never
    // moves, so no booked wait (two minutes apart here) ever comes due.
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_FETCH_TIMEOUT".into(), "120s".into());
            env.insert("BACKFEED_VERIFY_FIRST_TIMEOUT".into(), "120s".into());
            env.insert("BACKFEED_VERIFY_PER_DOMAIN".into(), "1".into());
        },
        false,
    )
    .await;
    let target = target(&app).await;
    let source = GatedSource::start(reply_html(&target)).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let source = source.url_on_localhost(&format!("/reply/{i}"));
        statuses.push(app.accepted_webmention(&source, &target).await);
    }

    // The first holds the host's one slot while its source hangs …
    let first = tokio::spawn({
        let app = Arc::clone(&app.app);
        async move { backfeed::jobs::run_one(&app).await.unwrap().unwrap() }
    });
    source.wait_for_connection().await;
    // … so the others are put off, and nothing else is due.
    for _ in 1..4 {
        assert_eq!(run_one(&app).await, Some("deferred"));
    }
    assert_eq!(run_one(&app).await, None);

    source.open.send_replace(true);
    assert_eq!(first.await.unwrap().outcome, "done");
    assert_eq!(verified(&app, &statuses).await, 1);
    // Each freed slot brings a waiting one forward.
    for done in 2..=4 {
        assert_eq!(run_one(&app).await, Some("done"));
        assert_eq!(verified(&app, &statuses).await, done);
    }
    assert_eq!(run_one(&app).await, None);
    assert_eq!(source.connections.load(Ordering::SeqCst), 4);
}

async fn verified(app: &TestApp, statuses: &[String]) -> usize {
    let mut verified = 0;
    for status in statuses {
        if app.get_json(status).await["status"] == "verified" {
            verified += 1;
        }
    }
    verified
}
