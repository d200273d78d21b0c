//! The public status resource (Webmention §3.2: "201 Created" with a status
//! URL) tells a sender how its webmention fares, and nothing else: its URL
//! cannot be guessed from a mention id, and its reasons say nothing about
//! our network. Details stay in the logs and the admin API.

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

const TOKEN: &str = "admin-token-0123456789";

fn reply_html(target: &str) -> String {
    format!(
        r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{target}">re</a></div>"#
    )
}

async fn target(app: &TestApp) -> String {
    app.blog.page("/posts/s/", "<p>post</p>");
    app.blog.url("/posts/s/")
}

#[tokio::test]
async fn a_status_url_cannot_be_guessed_from_the_mention_id() {
    let app = spawn_app().await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    sources.page("/a/", &reply_html(&target));
    sources.page("/b/", &reply_html(&target));

    let response = app.send_webmention(&sources.url("/a/"), &target).await;
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let body: serde_json::Value = response.json().await.unwrap();
    let id = body["id"].as_i64().expect("the 201 names the wm-id");
    assert_eq!(body["location"], location, "body and header agree");
    let token = location
        .strip_prefix("/webmention/status/")
        .unwrap_or_else(|| panic!("a status URL: {location}"));
    assert_ne!(token, id.to_string(), "the URL is not the sequential id");
    assert!(token.len() >= 20, "long enough not to be guessed: {token}");

    // The sender's URL works, under the seed receiver's route too.
    let status = app
        .wait_for_status(&format!("{}{location}", app.address), "verified")
        .await;
    assert_eq!(status["id"], id);
    let alias = app
        .get_json(&format!("{}/web-mentions/status/{token}", app.address))
        .await;
    assert_eq!(alias["status"], "verified");

    // Anyone else's guesses do not: the bare id (the old URLs), its
    // neighbour, and a token with one character changed.
    let other = app.accepted_webmention(&sources.url("/b/"), &target).await;
    assert_ne!(other, format!("{}{location}", app.address));
    let mut tampered = token.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    for path in [
        format!("/webmention/status/{id}"),
        format!("/webmention/status/{}", id + 1),
        format!("/web-mentions/status/{id}"),
        format!("/webmention/status/{tampered}"),
        format!(
            "/webmention/status/{}-{}",
            id + 1,
            &token[token.find('-').unwrap_or(0) + 1..]
        ),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 404, "{path}");
    }
}

#[tokio::test]
async fn a_public_reason_says_nothing_about_our_network_and_the_admin_api_has_the_detail() {
    let app = spawn_app_with(|env| {
        env.remove("BACKFEED_ALLOW_PRIVATE_ADDRESSES");
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
    })
    .await;
    let target = target(&app).await;
    let status_url = app
        .accepted_webmention("http://localhost:9/reply", &target)
        .await;
    let status = app.wait_for_status(&status_url, "rejected").await;
    let reason = status["reason"].as_str().unwrap();
    for leak in [
        "127.0.0.1",
        "::1",
        "loopback",
        "refused to connect",
        "BACKFEED_",
    ] {
        assert!(
            !reason.contains(leak),
            "`{leak}` in the public reason: {status}"
        );
    }
    assert_eq!(reason, "the source could not be fetched", "{status}");

    let listed: serde_json::Value = app
        .http
        .get(format!("{}/admin/mentions", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let detail = listed["mentions"][0]["reason"].as_str().unwrap();
    assert!(
        detail.contains("loopback"),
        "the operator sees why: {listed}"
    );
}

#[tokio::test]
async fn instances_sharing_a_store_hand_out_the_same_status_urls() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}", dir.path().join("shared.db").display());
    let shared = |env: &mut std::collections::HashMap<String, String>| {
        env.insert("DATABASE_URL".into(), database.clone());
    };
    let first = spawn_app_with(shared).await;
    let target = target(&first).await;
    let sources = FakeBlog::start().await;
    sources.page("/r/", &reply_html(&target));
    // A second instance (or the first after a restart) on the same store,
    // receiving for the same site.
    let second = spawn_app_with(|env| {
        shared(env);
        env.insert("BACKFEED_SITES".into(), format!("{}/", first.blog.base_url));
    })
    .await;
    let from_first = first
        .accepted_webmention(&sources.url("/r/"), &target)
        .await;
    let from_second = second
        .accepted_webmention(&sources.url("/r/"), &target)
        .await;
    let path = |url: &str, app: &TestApp| url.strip_prefix(&app.address).unwrap().to_owned();
    assert_eq!(path(&from_first, &first), path(&from_second, &second));
    // And the other instance answers it.
    second
        .wait_for_status(
            &format!("{}{}", second.address, path(&from_first, &first)),
            "verified",
        )
        .await;
}

#[tokio::test]
async fn a_sender_does_not_learn_that_the_owner_hid_its_mention() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
    })
    .await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    sources.page("/h/", &reply_html(&target));
    let status_url = app.accepted_webmention(&sources.url("/h/"), &target).await;
    let status = app.wait_for_status(&status_url, "verified").await;
    assert_eq!(status["moderation"], "approved");
    let id = status["id"].as_i64().unwrap();

    let hidden = app
        .http
        .post(format!("{}/admin/mentions/{id}/hide", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 200);
    let status = app.get_json(&status_url).await;
    assert_eq!(status["status"], "verified", "{status}");
    assert_eq!(status["moderation"], "pending", "not `hidden`: {status}");
    assert!(!status.to_string().contains("hidden"), "{status}");
}
