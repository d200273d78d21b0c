//! Moderation: manual approval, hiding, deleting and blocking, through the
//! admin API (bearer token) and the CLI.

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app_with, test_env};
use crate::process::run;

const TOKEN: &str = "admin-token-0123456789";

async fn manual_app() -> (TestApp, FakeBlog, String) {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MODERATION".into(), "manual".into());
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
        env.insert(
            "BACKFEED_ALLOWED_DOMAINS".into(),
            "trusted.localhost".into(),
        );
    })
    .await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/m/", "<p>post</p>");
    let target = app.blog.url("/posts/m/");
    (app, sources, target)
}

async fn verified_mention(app: &TestApp, sources: &FakeBlog, path: &str, target: &str) -> i64 {
    sources.page(path, &format!(r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{target}">r</a></div>"#));
    let status_url = app.accepted_webmention(&sources.url(path), target).await;
    app.wait_for_status(&status_url, "verified").await["id"]
        .as_i64()
        .unwrap()
}

async fn visible_ids(app: &TestApp, target: &str) -> Vec<i64> {
    let encoded: String = url::form_urlencoded::byte_serialize(target.as_bytes()).collect();
    let feed: serde_json::Value = app
        .get(&format!("/api/mentions.jf2?target={encoded}"))
        .await
        .json()
        .await
        .unwrap();
    feed["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["wm-id"].as_i64().unwrap())
        .collect()
}

async fn admin(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.http
        .request(method, format!("{}/admin{path}", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_admin_api_needs_the_token_and_is_off_without_one() {
    let (app, _, _) = manual_app().await;
    let none = app.get("/admin/mentions").await;
    assert_eq!(none.status(), 401);
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    let wrong = app
        .http
        .get(format!("{}/admin/mentions", app.address))
        .bearer_auth("admin-token-0123456788")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        admin(&app, reqwest::Method::GET, "/mentions")
            .await
            .status(),
        200
    );

    let off = spawn_app_with(|_| {}).await;
    let response = off.get("/admin/mentions").await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("BACKFEED_ADMIN_TOKEN")
    );
}

#[tokio::test]
async fn in_manual_mode_verified_mentions_wait_for_approval() {
    let (app, sources, target) = manual_app().await;
    let id = verified_mention(&app, &sources, "/r1/", &target).await;
    assert!(
        visible_ids(&app, &target).await.is_empty(),
        "waits for approval"
    );

    let listed: serde_json::Value =
        admin(&app, reqwest::Method::GET, "/mentions?moderation=pending")
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(listed["mentions"][0]["id"], id);
    assert_eq!(listed["mentions"][0]["status"], "verified");

    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            &format!("/mentions/{id}/approve")
        )
        .await
        .status(),
        200
    );
    assert_eq!(visible_ids(&app, &target).await, vec![id]);

    assert_eq!(
        admin(&app, reqwest::Method::POST, &format!("/mentions/{id}/hide"))
            .await
            .status(),
        200
    );
    assert!(visible_ids(&app, &target).await.is_empty());

    let status_path = app.status_path(id).await;
    assert_eq!(app.get(&status_path).await.status(), 200);
    assert_eq!(
        admin(&app, reqwest::Method::DELETE, &format!("/mentions/{id}"))
            .await
            .status(),
        200
    );
    assert_eq!(app.get(&status_path).await.status(), 404);
    assert_eq!(
        admin(
            &app,
            reqwest::Method::POST,
            &format!("/mentions/{id}/approve")
        )
        .await
        .status(),
        404
    );
}

#[tokio::test]
async fn blocking_a_domain_hides_its_mentions_and_refuses_new_ones() {
    let (app, sources, target) = manual_app().await;
    let id = verified_mention(&app, &sources, "/r2/", &target).await;
    admin(
        &app,
        reqwest::Method::POST,
        &format!("/mentions/{id}/approve"),
    )
    .await;
    let host = url::Url::parse(&sources.base_url)
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();

    let response = app
        .http
        .post(format!("{}/admin/blocks", app.address))
        .bearer_auth(TOKEN)
        .form(&[("domain", host.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["hidden"], 1);
    assert!(visible_ids(&app, &target).await.is_empty());

    let refused = app.send_webmention(&sources.url("/r3/"), &target).await;
    assert_eq!(refused.status(), 400);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("not accepted"),
        "{body}"
    );

    let blocks: serde_json::Value = admin(&app, reqwest::Method::GET, "/blocks")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(blocks["domains"][0], host);
    assert_eq!(
        admin(&app, reqwest::Method::DELETE, &format!("/blocks/{host}"))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.send_webmention(&sources.url("/r3/"), &target)
            .await
            .status(),
        201
    );
}

#[tokio::test]
async fn the_cli_lists_approves_and_blocks() {
    let mastodon = crate::fake_mastodon::FakeMastodon::start().await;
    let (app, sources, target) = manual_app().await;
    let id = verified_mention(&app, &sources, "/r4/", &target).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &app.blog, &dir);
    let db = app.app.config.database.clone();
    let backfeed::config::DatabaseUrl::Sqlite(path) = db else {
        panic!("the test app runs on SQLite")
    };
    env.insert(
        "DATABASE_URL".into(),
        format!("sqlite://{}", path.display()),
    );

    let (code, stdout, stderr) = run(&env, &["mentions", "list"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&id.to_string()) && l.contains("pending")),
        "{stdout}"
    );
    let (code, stdout, _) = run(&env, &["mentions", "approve", &id.to_string()]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("approved"));
    assert_eq!(visible_ids(&app, &target).await, vec![id]);
    let (code, _, stderr) = run(&env, &["mentions", "approve", "999999"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("no mention 999999"), "{stderr}");
    let (code, stdout, _) = run(&env, &["mentions", "block", "127.0.0.1"]).await;
    assert_eq!(code, 0);
    assert!(stdout.contains("hid 1"), "{stdout}");
    let (code, _, stderr) = run(&env, &["mentions", "block", "not a domain"]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("not a domain name"), "{stderr}");
}
