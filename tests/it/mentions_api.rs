//! The webmention.io-compatible read API.

use backfeed::domain::mention::{MentionId, Moderation};

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app};

struct Thread {
    app: TestApp,
    _sources: FakeBlog,
    target: String,
    ids: Vec<i64>,
}

/// A post with a reply (carrying an XSS payload), a like and a mention, all verified.
async fn thread() -> Thread {
    let app = spawn_app().await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/t/", "<p>post</p>");
    let target = app.blog.url("/posts/t/");
    let pages = [
        (
            "/reply/",
            format!(
                r#"<div class="h-entry"><div class="p-author h-card"><a class="p-name u-url" href="https://alice.example/">Alice</a>
                <img class="u-photo" src="https://alice.example/a.jpg"></div>
                <div class="e-content">Hi <img src=x onerror="alert(1)"><script>alert(2)</script></div>
                <time class="dt-published" datetime="2026-11-01T10:00:00Z">x</time>
                <a class="u-in-reply-to" href="{target}">re</a></div>"#
            ),
        ),
        (
            "/like/",
            format!(r#"<div class="h-entry"><a class="u-like-of" href="{target}">like</a></div>"#),
        ),
        (
            "/mention/",
            format!(r#"<p>See <a href="{target}">this</a></p>"#),
        ),
    ];
    let mut ids = Vec::new();
    for (path, html) in pages {
        sources.page(path, &html);
        let status_url = app.accepted_webmention(&sources.url(path), &target).await;
        let status = app.wait_for_status(&status_url, "verified").await;
        ids.push(status["id"].as_i64().unwrap());
    }
    Thread {
        app,
        _sources: sources,
        target,
        ids,
    }
}

async fn jf2(app: &TestApp, query: &str) -> serde_json::Value {
    let response = app.get(&format!("/api/mentions.jf2?{query}")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    response.json().await.unwrap()
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn mentions_jf2_returns_a_webmention_io_shaped_feed() {
    let t = thread().await;
    let feed = jf2(&t.app, &format!("target={}", encoded(&t.target))).await;
    assert_eq!(feed["type"], "feed");
    let children = feed["children"].as_array().unwrap();
    assert_eq!(children.len(), 3);
    assert_eq!(children[0]["wm-id"], t.ids[2], "newest first");

    let reply = children
        .iter()
        .find(|c| c["wm-property"] == "in-reply-to")
        .unwrap();
    assert_eq!(reply["type"], "entry");
    assert_eq!(reply["in-reply-to"], t.target);
    assert_eq!(reply["wm-target"], t.target);
    assert!(reply["wm-source"].as_str().unwrap().ends_with("/reply/"));
    assert!(reply["wm-received"].as_str().unwrap().starts_with("20"));
    assert_eq!(reply["published"], "2026-11-01T10:00:00Z");
    assert_eq!(reply["author"]["name"], "Alice");
    assert_eq!(reply["author"]["photo"], "https://alice.example/a.jpg");
    let html = reply["content"]["html"].as_str().unwrap();
    assert!(
        !html.contains("onerror") && !html.contains("<script"),
        "{html}"
    );
    assert!(reply["content"]["text"].as_str().unwrap().contains("Hi"));

    let properties: Vec<_> = children
        .iter()
        .map(|c| c["wm-property"].as_str().unwrap())
        .collect();
    assert!(
        properties.contains(&"like-of") && properties.contains(&"mention-of"),
        "{properties:?}"
    );
}

#[tokio::test]
async fn mentions_jf2_filters_pages_and_sorts() {
    let t = thread().await;
    let target = encoded(&t.target);
    let likes = jf2(&t.app, &format!("target={target}&wm-property=like-of")).await;
    assert_eq!(likes["children"].as_array().unwrap().len(), 1);
    let page = jf2(
        &t.app,
        &format!("target={target}&per-page=2&page=1&sort-dir=up"),
    )
    .await;
    let ids: Vec<_> = page["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["wm-id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![t.ids[2]]);
    let since = jf2(&t.app, &format!("target={target}&since_id={}", t.ids[0])).await;
    assert_eq!(since["children"].as_array().unwrap().len(), 2);
    let two_targets = jf2(
        &t.app,
        &format!(
            "target[]={target}&target[]={}",
            encoded("https://elsewhere.example/")
        ),
    )
    .await;
    assert_eq!(two_targets["children"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn hidden_mentions_never_appear() {
    let t = thread().await;
    let now = time::OffsetDateTime::now_utc();
    t.app
        .app
        .store
        .set_moderation(MentionId(t.ids[0]), Moderation::Hidden, now)
        .await
        .unwrap();
    let feed = jf2(&t.app, &format!("target={}", encoded(&t.target))).await;
    let ids: Vec<_> = feed["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["wm-id"].as_i64().unwrap())
        .collect();
    assert!(!ids.contains(&t.ids[0]));
    let count: serde_json::Value = t
        .app
        .get(&format!("/api/count?target={}", encoded(&t.target)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(count["count"], 2);
}

#[tokio::test]
async fn count_counts_by_type() {
    let t = thread().await;
    let response = t
        .app
        .get(&format!("/api/count?target={}", encoded(&t.target)))
        .await;
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let count: serde_json::Value = response.json().await.unwrap();
    assert_eq!(count["count"], 3);
    assert_eq!(count["type"]["reply"], 1);
    assert_eq!(count["type"]["like"], 1);
    assert_eq!(count["type"]["mention"], 1);
}

#[tokio::test]
async fn the_seed_receivers_query_route_answers_for_a_target() {
    let t = thread().await;
    let response = t
        .app
        .http
        .post(format!("{}/web-mentions/query", t.app.address))
        .form(&[("target", t.target.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mentions: serde_json::Value = response.json().await.unwrap();
    assert_eq!(mentions.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_parameters_are_400_with_a_reason() {
    let app = spawn_app().await;
    for (query, expected) in [
        ("target=nope", "not a valid URL"),
        (
            "target=https://a.example/&per-page=many",
            "`per-page` must be a whole number",
        ),
        (
            "target=https://a.example/&since=yesterday",
            "`since` must be an ISO 8601 time",
        ),
        (
            "target=https://a.example/&jsonp=alert(1)",
            "`jsonp` must be",
        ),
        ("token=x&domain=a/b", "`domain` must be a host name"),
    ] {
        let response = app.get(&format!("/api/mentions.jf2?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(expected),
            "{query}: {body}"
        );
    }
}
