//! Operations: health, metrics, start-up notices, logs without secrets,
//! graceful shutdown.

use std::collections::HashMap;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{FAKE_TOKEN, FakeMastodon};
use crate::helpers::{spawn_app, test_env};
use crate::process::Backfeed;

#[tokio::test]
async fn status_answers_the_seeds_health_check_with_the_version() {
    let app = spawn_app().await;
    let response = app.get("/status").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"code":200,"message":"OK","rev":"test-rev"}"#
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_toots_created() {
    let app = spawn_app().await;
    let post = app.publish("measured", "Measured");
    assert_eq!(app.lookup(&post).await.status(), 200);
    assert_eq!(app.get("/").await.status(), 400);

    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = response.text().await.unwrap();
    for expected in [
        r#"http_requests_total{route="/",method="GET",status="200"}"#,
        r#"http_requests_total{route="/",method="GET",status="400"}"#,
        "http_request_duration_seconds_bucket{route=\"/\"",
        "backfeed_toots_created_total",
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[tokio::test]
async fn made_up_methods_and_paths_share_one_metrics_series_instead_of_one_each() {
    let app = spawn_app().await;
    for i in 0..200 {
        let method = reqwest::Method::from_bytes(format!("MADEUP{i}").as_bytes()).unwrap();
        let response = app
            .http
            .request(method, format!("{}/status", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        let response = app.get(&format!("/madeup-path-{i}")).await;
        assert_eq!(response.status(), 404);
    }
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(!text.contains("MADEUP"), "a series per method:\n{text}");
    assert!(!text.contains("madeup-path"), "a series per path:\n{text}");
    for expected in [
        r#"http_requests_total{route="/status",method="other",status="405"}"#,
        r#"http_requests_total{route="unmatched",method="GET",status="404"}"#,
    ] {
        assert!(text.contains(expected), "missing {expected} in:\n{text}");
    }
}

#[tokio::test]
async fn without_mastodon_settings_the_server_starts_and_says_once_what_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [(
        "DATABASE_URL".to_owned(),
        format!("sqlite://{}", dir.path().join("b.db").display()),
    )]
    .into();
    let server = Backfeed::serve(&env).await;
    let http = reqwest::Client::new();
    let status = http
        .get(format!("{}/status", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let lookup = http
        .get(format!("{}/?url=https://blog.example/p", server.address))
        .send()
        .await
        .unwrap();
    assert_eq!(lookup.status(), 503);
    assert_eq!(lookup.headers()["access-control-allow-origin"], "*");

    let (exit, stderr) = server.terminate().await;
    assert!(exit.success(), "{stderr}");
    assert_eq!(
        stderr
            .matches("announcing posts on Mastodon is off")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("MASTODON_HOST"), "{stderr}");
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_and_no_secret_reaches_the_logs() {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    blog.page(
        "/posts/logged/",
        &crate::fake_blog::post_html(Some("Logged"), None, None, None),
    );
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("BACKFEED_LOG".into(), "trace".into());
    let server = Backfeed::serve(&env).await;
    let response = reqwest::get(format!(
        "{}/?url={}",
        server.address,
        blog.url("/posts/logged/")
    ))
    .await
    .unwrap();
    assert_eq!(response.status(), 200);

    let (exit, stderr) = server.terminate().await;
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert!(stderr.contains("shut down cleanly"), "{stderr}");
    assert!(
        stderr.contains("announced post"),
        "the logs are real: {stderr}"
    );
    assert!(
        !stderr.contains(FAKE_TOKEN),
        "the token leaked into the logs"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}", dir.path().join("b.db").display()),
        ),
        ("BACKFEED_LOG_FORMAT".to_owned(), "json".to_owned()),
    ]
    .into();
    let server = Backfeed::serve(&env).await;
    let (_, stderr) = server.terminate().await;
    assert!(
        stderr.lines().count() >= 2,
        "start-up and shutdown are logged: {stderr}"
    );
    for line in stderr.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value.get("level").is_some(), "{line}");
    }
}

#[tokio::test]
async fn logs_written_to_a_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [(
        "DATABASE_URL".to_owned(),
        format!("sqlite://{}", dir.path().join("b.db").display()),
    )]
    .into();
    let server = Backfeed::serve(&env).await;
    let (_, stderr) = server.terminate().await;
    assert!(!stderr.contains('\u{1b}'), "ANSI escapes in: {stderr:?}");
}

#[tokio::test]
async fn a_server_logging_json_answers_at_the_address_it_logged() {
    let dir = tempfile::tempdir().unwrap();
    let env: HashMap<String, String> = [
        (
            "DATABASE_URL".to_owned(),
            format!("sqlite://{}", dir.path().join("b.db").display()),
        ),
        ("BACKFEED_LOG_FORMAT".to_owned(), "json".to_owned()),
    ]
    .into();
    let server = Backfeed::serve(&env).await;
    let status = reqwest::get(format!("{}/status", server.address))
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    server.terminate().await;
}
