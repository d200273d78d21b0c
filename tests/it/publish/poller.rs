//! The other ways publishing runs: the poller under `serve` (a
//! `poll-feeds` job that re-queues itself every `BACKFEED_FEED_INTERVAL`),
//! the deploy hook `POST /admin/publish`, and a scheduled serverless run
//! (`jobs::run_until`), which all share the poller's code path.

use std::time::Duration;

use backfeed::domain::job::JobKind;
use backfeed::jobs::run_until;
use tokio::time::Instant;

use super::harness::{Scene, item, scene_with, with_feed};
use crate::helpers::jobs_waiting;

const TOKEN: &str = "an-admin-token-for-tests";

/// Waits (advancing the manual clock by `step` each round) until the local
/// rocks received `n` POSTs; panics after 15 s of wall time.
async fn until_posted(s: &Scene, n: usize, step: Duration) {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while s.rocks.posted().len() < n {
        assert!(
            std::time::Instant::now() < deadline,
            "never sent: {:#?}",
            s.rocks.posted()
        );
        s.app.advance(step);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn under_serve_the_poller_publishes_new_posts_every_interval() {
    let s = scene_with(with_feed, true).await;
    let first = s.post("first", &[s.rocks.target(3)]);
    s.feed(&[item(&first, "First", "1")]);

    until_posted(&s, 1, Duration::from_secs(300)).await;

    let second = s.post("second", &[s.rocks.target(4)]);
    s.feed(&[item(&second, "Second", "2"), item(&first, "First", "1")]);
    until_posted(&s, 2, Duration::from_secs(300)).await;
    let paths: Vec<String> = s.rocks.posted().iter().map(|p| p.path.clone()).collect();
    assert_eq!(paths, ["/test/3/webmention", "/test/4/webmention"]);
    assert_eq!(
        jobs_waiting(&*s.app.app.store, JobKind::PollFeeds).await,
        1,
        "the next poll is queued"
    );
}

#[tokio::test]
async fn post_admin_publish_reads_the_feed_now_and_the_workers_send() {
    let s = scene_with(
        |env| {
            with_feed(env);
            env.insert("BACKFEED_FEED_INTERVAL".into(), "0".into());
            env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
        },
        true,
    )
    .await;
    let post = s.post("deployed", &[s.rocks.target(5)]);
    s.feed(&[item(&post, "Deployed", "d")]);
    let url = format!("{}/admin/publish", s.app.address);
    let refused = s.app.http.post(&url).send().await.unwrap();
    assert_eq!(refused.status(), 401);

    let response = s
        .app
        .http
        .post(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let report: serde_json::Value = response.json().await.unwrap();
    assert_eq!(report["new"], 1, "{report}");
    assert_eq!(report["sends_queued"], 1, "{report}");
    until_posted(&s, 1, Duration::from_secs(1)).await;
    assert_eq!(
        jobs_waiting(&*s.app.app.store, JobKind::PollFeeds).await,
        0,
        "polling is off"
    );
}

#[tokio::test]
async fn a_scheduled_run_polls_and_sends_within_its_deadline_and_then_has_nothing_to_do() {
    let s = scene_with(with_feed, false).await;
    let post = s.post("scheduled", &[s.rocks.target(6)]);
    s.feed(&[item(&post, "Scheduled", "s")]);

    let report = run_until(&s.app.app, Instant::now() + Duration::from_secs(30)).await;

    assert_eq!(report.by_kind.get("poll-feeds"), Some(&1), "{report:?}");
    assert_eq!(
        report.by_kind.get("send-webmention"),
        Some(&1),
        "{report:?}"
    );
    assert_eq!(s.rocks.posted().len(), 1);

    let again = run_until(&s.app.app, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(again.by_kind.get("send-webmention"), None, "{again:?}");
    assert_eq!(s.rocks.posted().len(), 1);
    assert_eq!(
        s.app.blog.hits(super::harness::FEED_PATH),
        1,
        "the feed is not due yet"
    );
}
