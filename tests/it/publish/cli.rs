//! The real binary: `backfeed publish` (dry run, JSON, exit codes) and
//! `backfeed sent list`, and a run killed with SIGKILL mid-send, which a
//! later run finishes without losing or repeating a webmention (beyond the
//! at most two that were in flight, one per connection to the host).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::{get, post};
use tempfile::TempDir;

use super::harness::{item, post_html, rss};
use super::rocks::Rocks;
use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process::{command, run};

struct Env {
    env: HashMap<String, String>,
    blog: FakeBlog,
    _mastodon: FakeMastodon,
    _dir: TempDir,
}

async fn env() -> Env {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("BACKFEED_FEEDS".into(), blog.url("/feed.xml"));
    Env {
        env,
        blog,
        _mastodon: mastodon,
        _dir: dir,
    }
}

impl Env {
    fn post(&self, slug: &str, links: &[String]) -> String {
        let path = format!("/posts/{slug}/");
        self.blog.page(&path, &post_html(slug, links));
        let url = self.blog.url(&path);
        self.blog.page_with_headers(
            "/feed.xml",
            200,
            &[("content-type", "application/rss+xml")],
            &rss(&[item(&url, slug, "d")]),
        );
        url
    }
}

#[tokio::test]
async fn publish_dry_run_prints_every_target_with_its_endpoint_and_writes_nothing() {
    let e = env().await;
    let rocks = Rocks::start().await;
    let post = e.post("dry", &[rocks.target(3), rocks.url("/extra/no-endpoint")]);

    let (code, stdout, stderr) = run(&e.env, &["publish", "--dry-run", "--json"]).await;

    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(stdout.trim()).expect(&stdout);
    let plan = &report["scan"]["plans"][0];
    assert_eq!(plan["url"], post);
    assert_eq!(plan["announce"], "would be announced");
    assert_eq!(
        plan["targets"][0]["endpoint"],
        rocks.url("/test/3/webmention")
    );
    assert!(plan["targets"][1]["endpoint"].is_null(), "{plan}");
    assert!(rocks.posted().is_empty());

    let (code, text, _) = run(&e.env, &["publish", "--dry-run"]).await;
    assert_eq!(code, 0);
    assert!(
        text.contains(&format!("endpoint: {}", rocks.url("/test/3/webmention"))),
        "{text}"
    );
    assert!(text.contains("would send 2 webmentions"), "{text}");

    let (code, listed, _) = run(&e.env, &["sent", "list", "--json"]).await;
    assert_eq!((code, listed.trim()), (0, ""), "a dry run records nothing");
}

#[tokio::test]
async fn publish_sends_and_sent_list_shows_each_target_and_a_refusal_is_no_failure_of_the_run() {
    let e = env().await;
    let rocks = Rocks::start().await;
    let post = e.post("real", &[rocks.target(3), rocks.url("/extra/refuses")]);

    let (code, stdout, stderr) = run(&e.env, &["publish"]).await;

    assert_eq!(
        code, 0,
        "a refusing endpoint does not fail the run: {stderr}"
    );
    assert!(stdout.contains("posts seen 1, new 1"), "{stdout}");
    assert!(
        stdout.contains("announced 1, sent 1, no endpoint 0, failed 1, retrying 0"),
        "{stdout}"
    );
    let (code, listed, _) = run(&e.env, &["sent", "list", "--source", &post]).await;
    assert_eq!(code, 0);
    assert!(listed.contains(&post), "{listed}");
    assert!(
        listed.contains("sent") && listed.contains(&rocks.target(3)),
        "{listed}"
    );
    assert!(
        listed.contains("failed") && listed.contains("no_link_found"),
        "{listed}"
    );
    let (_, json, _) = run(&e.env, &["sent", "list", "--json"]).await;
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines
            .iter()
            .all(|l| l["source"] == post && l["attempts"] == 1)
    );

    let (code, again, _) = run(&e.env, &["publish"]).await;
    assert_eq!(code, 0);
    assert!(again.contains("announced 0, sent 0"), "{again}");
    assert_eq!(rocks.posted().len(), 2, "nothing is sent twice");
}

#[tokio::test]
async fn an_unreachable_feed_fails_the_run() {
    let e = env().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let feed = format!("http://{}/feed.xml", closed.local_addr().unwrap());
    drop(closed);

    let (code, _, stderr) = run(&e.env, &["publish", "--feed", &feed]).await;

    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("could not read every feed"), "{stderr}");
}

/// A receiver that takes its time: every target advertises `/wm`, and a
/// POST there is recorded at once and answered half a second later.
async fn slow_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/t/{n}",
            get(|Path(n): Path<u32>| async move {
                Html(format!("<html><head><link rel=\"webmention\" href=\"/wm\"></head><body>{n}</body></html>"))
            }),
        )
        .route(
            "/wm",
            post(
                |State(received): State<Arc<Mutex<Vec<String>>>>, body: String| async move {
                    let form: HashMap<String, String> =
                        url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                    received.lock().unwrap().push(form["target"].clone());
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    http::StatusCode::ACCEPTED
                },
            ),
        )
        .with_state(Arc::clone(&received));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

#[tokio::test]
async fn a_run_killed_mid_send_loses_nothing_and_a_later_run_finishes_it() {
    let mut e = env().await;
    // A short lease, so the killed run's jobs are taken over soon.
    e.env.insert("BACKFEED_FETCH_TIMEOUT".into(), "2s".into());
    e.env
        .insert("BACKFEED_MASTODON_TIMEOUT".into(), "1s".into());
    let (base, received) = slow_receiver().await;
    let targets: Vec<String> = (0..12).map(|n| format!("{base}/t/{n}")).collect();
    let post = e.post("many", &targets);

    let mut child = command(&e.env, &["publish"]).spawn().unwrap();
    crate::helpers::wait_until("the run sent three", || received.lock().unwrap().len() >= 3).await;
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "killed");
    let at_kill = received.lock().unwrap().len();
    assert!(at_kill < targets.len(), "killed before the end ({at_kill})");

    // Finished when every target is recorded as sent: the receiver may
    // have all of them before that (the sends in flight at the kill
    // arrived, but their jobs wait for the killed run's lease to end).
    let list_args = ["sent", "list", "--json", "--source", post.as_str()];
    let sent_list = || run(&e.env, &list_args);
    crate::helpers::wait_for("every target recorded as sent", || async {
        let (code, _, stderr) = run(&e.env, &["publish"]).await;
        assert_eq!(code, 0, "{stderr}");
        let (_, listed, _) = sent_list().await;
        listed
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|l| l["status"] == "sent")
            .count()
            == targets.len()
    })
    .await;
    let (_, listed, _) = sent_list().await;

    let got = received.lock().unwrap().clone();
    assert!(targets.iter().all(|t| got.contains(t)), "{got:#?}");
    // Only a send the killed run had started (in flight, or answered but
    // not yet recorded) may be repeated, and only once.
    let started_before_kill = &got[..at_kill];
    for target in &targets {
        let times = got.iter().filter(|g| *g == target).count();
        assert!(
            times == 1 || (times == 2 && started_before_kill.contains(target)),
            "{target} sent {times} times; started before the kill: {started_before_kill:#?}"
        );
    }
    let lines: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), targets.len());
    let (code, _, _) = run(&e.env, &["publish"]).await;
    assert_eq!(code, 0);
    assert_eq!(
        received.lock().unwrap().len(),
        got.len(),
        "a further run sends nothing"
    );
}
