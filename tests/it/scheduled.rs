//! Background work for runtimes that freeze the process between requests:
//! `jobs::run_until` (what a scheduled invocation runs) and inline
//! verification. The apps here run no background workers, as on Lambda.

use std::time::Duration;

use backfeed::jobs::run_until;
use tokio::time::Instant;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::ReplySpec;
use crate::helpers::{TestApp, spawn_app_with_clock, spawn_app_without_workers};

fn reply_html(target: &str) -> String {
    format!(
        r#"<article class="h-entry"><p class="e-content">Agreed.</p>
        <a class="u-in-reply-to" href="{target}">re</a></article>"#
    )
}

async fn status_of(app: &TestApp, status_url: &str) -> serde_json::Value {
    app.get_json(status_url).await
}

#[tokio::test]
async fn a_scheduled_run_verifies_what_earlier_requests_left_pending() {
    let app = spawn_app_without_workers(|_| {}).await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/a/", "<p>post</p>");
    let target = app.blog.url("/posts/a/");
    let mut status_urls = Vec::new();
    for n in 0..3 {
        let path = format!("/reply-{n}/");
        sources.page(&path, &reply_html(&target));
        status_urls.push(app.accepted_webmention(&sources.url(&path), &target).await);
    }
    for url in &status_urls {
        assert_eq!(status_of(&app, url).await["status"], "pending");
    }
    assert_eq!(
        sources.hits("/reply-0/"),
        0,
        "nothing runs between requests"
    );

    let report = run_until(&app.app, Instant::now() + Duration::from_secs(30)).await;

    assert_eq!(report.verifications, 3, "{report:?}");
    assert!(!report.stopped_early, "{report:?}");
    for url in &status_urls {
        assert_eq!(status_of(&app, url).await["status"], "verified");
    }
    let again = run_until(&app.app, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(
        again.verifications, 0,
        "nothing is verified twice: {again:?}"
    );
}

#[tokio::test]
async fn a_scheduled_run_starts_no_work_that_cannot_finish_before_its_deadline() {
    // BACKFEED_FETCH_TIMEOUT is 3 s in tests: a 2 s budget fits no fetch.
    let app = spawn_app_without_workers(|_| {}).await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/a/", "<p>post</p>");
    let target = app.blog.url("/posts/a/");
    sources.page("/reply/", &reply_html(&target));
    let status_url = app
        .accepted_webmention(&sources.url("/reply/"), &target)
        .await;

    let report = run_until(&app.app, Instant::now() + Duration::from_secs(2)).await;

    assert_eq!(report.verifications, 0, "{report:?}");
    assert!(report.stopped_early, "left for the next run: {report:?}");
    assert_eq!(sources.hits("/reply/"), 0);
    assert_eq!(status_of(&app, &status_url).await["status"], "pending");
}

#[tokio::test]
async fn a_viewed_stale_thread_is_refreshed_by_the_next_scheduled_run() {
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_THREAD_TTL".into(), "60s".into());
        },
        false,
    )
    .await;
    let stale_post = app.publish("stale", "Stale");
    let toot: serde_json::Value = app.lookup(&stale_post).await.json().await.unwrap();
    let toot = toot["toot_id"].as_str().unwrap().to_owned();
    let comments = |post: String| {
        let url = format!(
            "{}/api/comments?url={}",
            app.address,
            percent_encoding::utf8_percent_encode(&post, percent_encoding::NON_ALPHANUMERIC)
        );
        let app = &app;
        async move { app.get_json(&url).await }
    };
    assert_eq!(comments(stale_post.clone()).await["comment_count"], 0);
    let fetched = app.mastodon.context_requests();
    app.mastodon.add_reply(ReplySpec {
        in_reply_to_id: toot,
        acct: "alice@social.example".into(),
        display_name: "Alice".into(),
        content_html: "<p>Late reply</p>".into(),
        visibility: "public",
        ..ReplySpec::default()
    });
    let quiet = run_until(&app.app, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(quiet.threads_refreshed, 0, "a fresh thread is left alone");
    app.advance(Duration::from_secs(61));
    let stale = comments(stale_post.clone()).await;
    assert_eq!(
        stale["comment_count"], 0,
        "the stale copy is served at once"
    );

    let report = run_until(&app.app, Instant::now() + Duration::from_secs(30)).await;

    assert_eq!(report.threads_refreshed, 1, "{report:?}");
    assert_eq!(app.mastodon.context_requests(), fetched + 1);
    let thread = comments(stale_post).await;
    assert_eq!(thread["comment_count"], 1, "{thread}");
    let again = run_until(&app.app, Instant::now() + Duration::from_secs(30)).await;
    assert_eq!(again.threads_refreshed, 0, "refreshed once: {again:?}");
}

#[tokio::test]
async fn inline_verification_answers_with_the_settled_state() {
    let app = spawn_app_without_workers(|env| {
        env.insert("BACKFEED_VERIFY_INLINE".into(), "true".into());
    })
    .await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/a/", "<p>post</p>");
    let target = app.blog.url("/posts/a/");
    sources.page("/reply/", &reply_html(&target));
    sources.page("/unrelated/", "<p>no link here</p>");

    let response = app.send_webmention(&sources.url("/reply/"), &target).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "verified", "{body}");
    let status = status_of(&app, &format!("{}{location}", app.address)).await;
    assert_eq!(status["status"], "verified");

    let response = app
        .send_webmention(&sources.url("/unrelated/"), &target)
        .await;
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "rejected", "{body}");
}
