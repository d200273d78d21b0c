//! Webhook notifications: new, updated and deleted mentions, signed, retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use backfeed::webmention::webhook::signature;

use crate::fake_blog::FakeBlog;
use crate::helpers::spawn_app_with;

const SECRET: &str = "webhook-secret-0123456789";

#[derive(Clone, Default)]
struct Hook {
    received: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    /// Answers 500 this many times first.
    failures_left: Arc<Mutex<u32>>,
}

async fn receive(State(hook): State<Hook>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let mut failures = hook.failures_left.lock().unwrap();
    hook.received.lock().unwrap().push((headers, body));
    if *failures > 0 {
        *failures -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

async fn start_hook(failures: u32) -> (Hook, String) {
    let hook = Hook {
        failures_left: Arc::new(Mutex::new(failures)),
        ..Hook::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(hook.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (hook, url)
}

async fn events(hook: &Hook, count: usize) -> Vec<(HeaderMap, serde_json::Value, Bytes)> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let received = hook.received.lock().unwrap().clone();
        if received.len() >= count {
            return received
                .into_iter()
                .map(|(headers, body)| (headers, serde_json::from_slice(&body).unwrap(), body))
                .collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {count} deliveries",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn new_updated_and_deleted_mentions_are_posted_signed_and_retried() {
    let (hook, hook_url) = start_hook(1).await;
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_WEBHOOK_URL".into(), hook_url.clone());
        env.insert("BACKFEED_WEBHOOK_SECRET".into(), SECRET.into());
    })
    .await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/w/", "<p>post</p>");
    let target = app.blog.url("/posts/w/");
    let reply = |text: &str| {
        format!(
            r#"<div class="h-entry"><p class="e-content">{text}</p><a class="u-in-reply-to" href="{target}">r</a></div>"#
        )
    };
    let source = sources.url("/reply/");

    sources.page("/reply/", &reply("first"));
    let status_url = app.accepted_webmention(&source, &target).await;
    app.wait_for_status(&status_url, "verified").await;
    let delivered = events(&hook, 2).await;
    let (headers, body, raw) = &delivered[1];
    assert_eq!(
        delivered[0].1, delivered[1].1,
        "the failed attempt was retried with the same event"
    );
    assert_eq!(body["event"], "new");
    assert_eq!(body["mention"]["content"]["text"], "first");
    assert_eq!(body["mention"]["wm-property"], "in-reply-to");
    assert_eq!(headers["x-backfeed-event"], "new");
    assert_eq!(
        headers["x-backfeed-signature"],
        signature(SECRET, raw).as_str(),
        "signed with HMAC-SHA256"
    );

    sources.page("/reply/", &reply("edited"));
    app.accepted_webmention(&source, &target).await;
    let delivered = events(&hook, 3).await;
    assert_eq!(delivered[2].1["event"], "updated");
    assert_eq!(delivered[2].1["mention"]["content"]["text"], "edited");

    sources.page_with_status("/reply/", 410, "gone");
    app.accepted_webmention(&source, &target).await;
    let delivered = events(&hook, 4).await;
    assert_eq!(delivered[3].1["event"], "deleted");
    assert_eq!(delivered[3].1["status"], "deleted");
}

#[tokio::test]
async fn a_webhook_url_without_a_secret_is_a_configuration_error() {
    let env: std::collections::HashMap<String, String> = [
        (
            "BACKFEED_SITES".to_owned(),
            "https://blog.example/".to_owned(),
        ),
        (
            "BACKFEED_WEBHOOK_URL".to_owned(),
            "https://hooks.example/x".to_owned(),
        ),
    ]
    .into();
    let message =
        backfeed::config::Config::load(None, &|v| env.get(v).cloned(), Default::default())
            .unwrap_err()
            .to_string();
    assert!(message.contains("BACKFEED_WEBHOOK_SECRET"), "{message}");
}

/// `BACKFEED_WEBHOOK_FORMAT=webmention.io`: the bodies webmention.io's
/// callbacks post (`helpers/web_hooks.rb`): `{secret, source, target,
/// private, post: <JF2 entry>}` on every verification, new or re-sent, and
/// `{secret, source, target, private, deleted: true}` on a delete.
#[tokio::test]
async fn webmention_io_s_callback_shape_is_an_option() {
    let (hook, hook_url) = start_hook(0).await;
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_WEBHOOK_URL".into(), hook_url.clone());
        env.insert("BACKFEED_WEBHOOK_SECRET".into(), SECRET.into());
        env.insert("BACKFEED_WEBHOOK_FORMAT".into(), "webmention.io".into());
    })
    .await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/wio/", "<p>post</p>");
    let target = app.blog.url("/posts/wio/");
    let source = sources.url("/like/");
    sources.page(
        "/like/",
        &format!(r#"<div class="h-entry"><a class="u-like-of" href="{target}">like</a></div>"#),
    );
    let status_url = app.accepted_webmention(&source, &target).await;
    app.wait_for_status(&status_url, "verified").await;
    app.accepted_webmention(&source, &target).await;
    let delivered = events(&hook, 2).await;
    for (_, body, _) in &delivered {
        let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["post", "private", "secret", "source", "target"]);
        assert_eq!(body["secret"], SECRET);
        assert_eq!(body["source"], source);
        assert_eq!(body["target"], target);
        assert_eq!(body["private"], false);
        assert_eq!(body["post"]["type"], "entry");
        assert_eq!(body["post"]["wm-property"], "like-of");
        assert_eq!(body["post"]["like-of"], target);
    }

    sources.page_with_status("/like/", 410, "gone");
    app.accepted_webmention(&source, &target).await;
    let delivered = events(&hook, 3).await;
    assert_eq!(
        delivered[2].1,
        serde_json::json!({
            "secret": SECRET,
            "source": source,
            "target": target,
            "private": false,
            "deleted": true,
        })
    );
}
