//! The admin pages in real headless Chromium, with JavaScript off, against
//! this very server: seeds a post with a pending webmention (manual
//! moderation), a post Mastodon refused, and a dead webhook delivery, then
//! runs `tests/browser/admin.test.mjs`, which signs in, approves the
//! mention (and sees it in the widget), blocks a domain, retries the post
//! and the job, is refused a form without the CSRF token and one from
//! another origin, and signs out. Afterwards the store must show all of it.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use tokio::process::Command;

use crate::browser::ensure_browser_suite;
use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{Failure, ReplySpec};
use crate::helpers::{TestApp, spawn_app_with};
use crate::support_install::describe;

const TOKEN: &str = "admin-token-0123456789";
const SUITE_LIMIT: Duration = Duration::from_secs(240);

fn reply_page(target: &str, author: &str, text: &str) -> String {
    format!(
        r#"<div class="h-entry"><div class="p-author h-card"><a class="p-name u-url" href="https://wendy.example/">{author}</a></div>
        <p class="e-content">{text}</p><a class="u-in-reply-to" href="{target}">post</a></div>"#
    )
}

/// A webhook receiver that answers 503 until it is switched on.
async fn webhook(up: Arc<AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let up = Arc::clone(&up);
            async move {
                if up.load(Ordering::SeqCst) {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// Polls the store until a job is dead (the webhook answered 503 until
/// the retries ran out); returns its id.
async fn dead_job(app: &TestApp) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let filter = backfeed::storage::JobFilter {
            state: Some(backfeed::domain::job::JobState::Dead),
            limit: 10,
            ..Default::default()
        };
        if let Some(job) = app.app.store.list_jobs(&filter).await.unwrap().first() {
            return job.id.to_string();
        }
        assert!(Instant::now() < deadline, "the job never died");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_pages_work_in_headless_chromium_without_javascript() {
    let chromium =
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing");
    let suite = ensure_browser_suite();
    let hook_up = Arc::new(AtomicBool::new(false));
    let hook = webhook(Arc::clone(&hook_up)).await;
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
        env.insert("BACKFEED_MODERATION".into(), "manual".into());
        env.insert("BACKFEED_WEBHOOK_URL".into(), hook);
        env.insert(
            "BACKFEED_WEBHOOK_SECRET".into(),
            "webhook-secret-0123456789".into(),
        );
    })
    .await;
    let sources = FakeBlog::start().await;

    // A post with its toot, a few Mastodon replies, and a verified reply
    // from another blog awaiting approval.
    let post = app.publish("admin", "A post under moderation");
    let lookup: serde_json::Value = app.lookup(&post).await.json().await.unwrap();
    let toot = lookup["toot_id"].as_str().unwrap().to_owned();
    for (acct, text) in [
        ("alice@social.example", "<p>Lovely post!</p>"),
        ("bob@other.example", "<p>Agreed.</p>"),
    ] {
        app.mastodon.add_reply(ReplySpec {
            in_reply_to_id: toot.clone(),
            acct: acct.to_owned(),
            display_name: acct.split('@').next().unwrap().to_owned(),
            content_html: text.to_owned(),
            visibility: "public",
            ..ReplySpec::default()
        });
    }
    let encoded: String = url::form_urlencoded::byte_serialize(post.as_bytes()).collect();
    assert_eq!(
        app.get(&format!("/api/comments?url={encoded}"))
            .await
            .status(),
        200
    );
    sources.page(
        "/reply/",
        &reply_page(&post, "Wendy", "Replying from my own blog."),
    );
    let status = app
        .accepted_webmention(&sources.url("/reply/"), &post)
        .await;
    let pending = app.wait_for_status(&status, "verified").await;
    assert_eq!(pending["moderation"], "pending", "{pending}");
    let pending_id = pending["id"].as_i64().unwrap();

    // A post Mastodon refused for good.
    let failed = app.publish("refused", "Refused by Mastodon");
    app.mastodon.fail_next(Failure::Unprocessable(
        "Validation failed: Text character limit of 500 exceeded".into(),
    ));
    assert!(!app.lookup(&failed).await.status().is_success());

    // The webhook told of the new mention ran out of attempts while it was
    // down; it is back by the time the operator retries the delivery.
    let job = dead_job(&app).await;
    hook_up.store(true, Ordering::SeqCst);

    let mut command = Command::new("node");
    command
        .args(["--test", "--test-concurrency=1", "admin.test.mjs"])
        .current_dir(&suite)
        .env("BACKFEED_URL", &app.address)
        .env("BACKFEED_ADMIN_TOKEN", TOKEN)
        .env("BACKFEED_ADMIN_POST", &post)
        .env("BACKFEED_ADMIN_PENDING_SOURCE", sources.url("/reply/"))
        .env("BACKFEED_ADMIN_PENDING_ID", pending_id.to_string())
        .env("BACKFEED_ADMIN_FAILED_POST", &failed)
        .env("BACKFEED_ADMIN_DEAD_JOB", &job)
        .env("CHROMIUM_PATH", &chromium)
        .kill_on_drop(true);
    let output = tokio::time::timeout(SUITE_LIMIT, command.output())
        .await
        .expect("the admin browser suite finished in time")
        .expect("node runs");
    let report = describe(&output);
    println!("{report}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the admin browser suite failed:\n{report}"
    );
    assert!(
        stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "{report}"
    );
    assert!(stdout.contains("# skipped 0"), "nothing skipped:\n{report}");

    // What the browser did is in the store.
    let store = &app.app.store;
    let mention = store
        .find_mention(backfeed::domain::mention::MentionId(pending_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mention.moderation.label(), "approved");
    assert_eq!(store.blocked_domains().await.unwrap(), vec!["spam.example"]);
    let posts = store.list_posts().await.unwrap();
    let refused = posts.iter().find(|p| p.url.as_str() == failed).unwrap();
    assert_eq!(refused.state.label(), "announced");
    let retried = backfeed::domain::job::JobId::parse(&job).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.find_job(&retried).await.unwrap().is_some() {
        assert!(Instant::now() < deadline, "the retried job never finished");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
