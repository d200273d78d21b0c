//! The read API's bounds (issue 14: #4, #10): its answer cache is keyed by
//! what a query means and held to a byte budget, on the app's clock; too
//! many `target` values are a clear 400, never a store failure.

use axum::http::StatusCode;
use backfeed::domain::mention::{Author, MentionData, MentionId, Moderation, Relation, Transition};
use backfeed::storage::Store;
use url::Url;

use crate::helpers::{TestApp, spawn_app_with_clock};

/// Stores `count` verified, approved mentions of `target` straight into the
/// store, each carrying `content_bytes` of text; returns their ids.
pub async fn seed_mentions(
    store: &dyn Store,
    now: time::OffsetDateTime,
    target: &str,
    count: usize,
    content_bytes: usize,
) -> Vec<MentionId> {
    let target = Url::parse(target).unwrap();
    let mut ids = Vec::new();
    for n in 0..count {
        let source = Url::parse(&format!("https://source{n}.example/post/{n}")).unwrap();
        let at = now + time::Duration::milliseconds(n as i64);
        let id = store
            .receive_mention(&source, &target, Moderation::Approved, at)
            .await
            .unwrap();
        let mention = store.find_mention(id).await.unwrap().unwrap();
        let data = MentionData {
            relation: Relation::Reply,
            author: Some(Author {
                name: Some(format!("Author {n}")),
                photo: None,
                url: Some(format!("https://source{n}.example/")),
            }),
            content_html: Some(format!("<p>{}</p>", "x".repeat(content_bytes))),
            content_text: Some("x".repeat(content_bytes)),
            ..MentionData::default()
        };
        store
            .settle_mention(id, &Transition::Verify(data), mention.updated_at, at)
            .await
            .unwrap();
        ids.push(id);
    }
    ids
}

async fn children(app: &TestApp, query: &str) -> usize {
    let response = app.get(&format!("/api/mentions.jf2?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let feed: serde_json::Value = response.json().await.unwrap();
    feed["children"].as_array().unwrap().len()
}

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Hides a mention behind the cache's back (straight in the store, so this
/// process's change counter does not move): only a cached answer still
/// shows it.
async fn hide_quietly(app: &TestApp, id: MentionId) {
    let now = app.app.clock.now();
    app.app
        .store
        .set_moderation(id, Moderation::Hidden, now)
        .await
        .unwrap();
}

#[tokio::test]
async fn parameter_order_and_junk_parameters_share_one_cached_answer_until_its_time_to_live() {
    let app = spawn_app_with_clock(|_| {}, false).await;
    let target = app.blog.url("/posts/cached/");
    let ids = seed_mentions(&*app.app.store, app.app.clock.now(), &target, 3, 10).await;
    let t = encoded(&target);

    assert_eq!(children(&app, &format!("target={t}&a=1&b=2")).await, 3);
    hide_quietly(&app, ids[0]).await;
    assert_eq!(
        children(&app, &format!("b=2&target={t}&a=1&utm_source=x")).await,
        3,
        "the same query, spelt differently, is answered from the cache"
    );
    // The time-to-live runs on the app's clock.
    app.advance(std::time::Duration::from_secs(60));
    assert_eq!(children(&app, &format!("target={t}")).await, 2);
}

#[tokio::test]
async fn the_answer_cache_keeps_to_its_byte_budget() {
    let app = spawn_app_with_clock(|_| {}, false).await;
    let target = app.blog.url("/posts/big/");
    // About 1.3 MB an answer: 20 mentions of 2 × 32 KB.
    let ids = seed_mentions(&*app.app.store, app.app.clock.now(), &target, 20, 32 * 1024).await;
    let t = encoded(&target);
    let first = format!("target={t}&per-page=20&since_id=-1");
    assert_eq!(children(&app, &first).await, 20);
    // 60 other queries with the same 20 mentions: far more than any budget.
    for n in 2..=61 {
        let query = format!("target={t}&per-page=20&since_id=-{n}");
        assert_eq!(children(&app, &query).await, 20);
    }
    hide_quietly(&app, ids[0]).await;
    assert_eq!(
        children(&app, &first).await,
        19,
        "the first answer was evicted to keep the cache within its budget"
    );
}

#[tokio::test]
async fn too_many_targets_are_a_clear_400_not_a_store_failure() {
    let app = spawn_app_with_clock(|_| {}, false).await;
    // Past the documented cap, yet within the 64 KB that a URI may have.
    let targets: Vec<String> = (0..1_001)
        .map(|n| format!("target[]=https://a.example/{n}"))
        .collect();
    let response = app
        .get(&format!("/api/mentions.jf2?{}", targets.join("&")))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("at most"),
        "{body}"
    );
}

#[tokio::test]
async fn the_seed_receivers_query_answers_its_own_shape() {
    let app = spawn_app_with_clock(|_| {}, false).await;
    let target = app.blog.url("/posts/seed/");
    let ids = seed_mentions(&*app.app.store, app.app.clock.now(), &target, 2, 10).await;
    let response = app
        .http
        .post(format!("{}/web-mentions/query", app.address))
        .json(&serde_json::json!({ "target": target }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let items = body
        .as_array()
        .expect("a JSON array, as pfych/web-mentions answered");
    assert_eq!(items.len(), 2);
    for item in items {
        let object = item.as_object().unwrap();
        let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["createdAt", "id", "source", "target"]);
        assert_eq!(item["target"], target);
        // Its ids were strings (UUIDs) and its `createdAt` the string of
        // `Date.now()`: milliseconds since the epoch.
        assert!(item["id"].is_string());
        let created: i64 = item["createdAt"].as_str().unwrap().parse().unwrap();
        assert!(created > 1_600_000_000_000, "{created}");
    }
    let listed: Vec<i64> = items
        .iter()
        .map(|i| i["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.iter().all(|id| listed.contains(&id.0)));
}
