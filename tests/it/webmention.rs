//! The webmention receiver, named after the spec sections it checks
//! (W3C Webmention Recommendation, 2017).

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app, wait_until};

/// A reply page on another site that links to `target`.
fn reply_html(target: &str, text: &str) -> String {
    format!(
        r#"<!doctype html><html><body><article class="h-entry">
        <div class="p-author h-card"><a class="p-name u-url" href="https://alice.example/">Alice</a></div>
        <div class="e-content">{text}</div>
        <a class="u-in-reply-to" href="{target}">in reply to</a>
        </article></body></html>"#
    )
}

struct Setup {
    app: TestApp,
    source_site: FakeBlog,
    target: String,
}

async fn setup() -> Setup {
    let app = spawn_app().await;
    let source_site = FakeBlog::start().await;
    app.blog.page("/posts/target/", "<p>the post</p>");
    let target = app.blog.url("/posts/target/");
    Setup {
        app,
        source_site,
        target,
    }
}

#[tokio::test]
async fn s3_2_a_valid_request_gets_201_with_a_location_and_is_verified() {
    let s = setup().await;
    s.source_site
        .page("/reply/", &reply_html(&s.target, "Nice post!"));
    let status_url = s
        .app
        .accepted_webmention(&s.source_site.url("/reply/"), &s.target)
        .await;
    assert!(status_url.contains("/webmention/status/"), "{status_url}");
    let status = s.app.wait_for_status(&status_url, "verified").await;
    assert_eq!(status["source"], s.source_site.url("/reply/"));
    assert_eq!(status["target"], s.target);
    assert_eq!(status["moderation"], "approved");
}

#[tokio::test]
async fn s3_2_1_malformed_requests_get_400_with_a_reason() {
    let s = setup().await;
    let source = s.source_site.url("/reply/");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("target", s.target.as_str())],
            "`source` parameter is missing",
        ),
        (
            vec![("source", source.as_str())],
            "`target` parameter is missing",
        ),
        (
            vec![("source", "not a url"), ("target", s.target.as_str())],
            "not a valid URL",
        ),
        (
            vec![
                ("source", "ftp://a.example/x"),
                ("target", s.target.as_str()),
            ],
            "http or https",
        ),
        (
            vec![("source", s.target.as_str()), ("target", s.target.as_str())],
            "same URL",
        ),
        (
            vec![
                ("source", source.as_str()),
                ("target", "https://elsewhere.example/post"),
            ],
            "not on a site",
        ),
    ];
    for (form, expected) in cases {
        let response = s
            .app
            .http
            .post(format!("{}/webmention", s.app.address))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{form:?}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(expected),
            "{form:?}: {body}"
        );
    }
    assert_eq!(
        crate::helpers::jobs_waiting(
            &*s.app.app.store,
            backfeed::domain::job::JobKind::VerifyMention
        )
        .await,
        0,
        "nothing was stored"
    );
}

#[tokio::test]
async fn s3_1_2_a_charset_suffix_is_fine_and_other_bodies_are_refused() {
    let s = setup().await;
    s.source_site.page("/reply/", &reply_html(&s.target, "hi"));
    let body = format!(
        "source={}&target={}",
        urlencode(&s.source_site.url("/reply/")),
        urlencode(&s.target)
    );
    let with_charset = s
        .app
        .http
        .post(format!("{}/webmention", s.app.address))
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(with_charset.status(), 201);
    let json = s
        .app
        .http
        .post(format!("{}/webmention", s.app.address))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
}

#[tokio::test]
async fn s3_2_2_a_source_without_the_link_is_rejected_with_the_reason() {
    let s = setup().await;
    s.source_site.page("/unrelated/", "<p>no link here</p>");
    let status_url = s
        .app
        .accepted_webmention(&s.source_site.url("/unrelated/"), &s.target)
        .await;
    let status = s.app.wait_for_status(&status_url, "rejected").await;
    assert_eq!(
        status["reason"], "the source does not link to the target",
        "{status}"
    );
}

#[tokio::test]
async fn s3_2_4_a_resent_webmention_updates_in_place_and_a_deleted_source_deletes_it() {
    let s = setup().await;
    let source = s.source_site.url("/reply/");
    s.source_site
        .page("/reply/", &reply_html(&s.target, "first"));
    let first = s.app.accepted_webmention(&source, &s.target).await;
    s.app.wait_for_status(&first, "verified").await;

    s.source_site
        .page("/reply/", &reply_html(&s.target, "edited"));
    let second = s.app.accepted_webmention(&source, &s.target).await;
    assert_eq!(first, second, "same source and target, same id");

    s.source_site.page_with_status("/reply/", 410, "gone");
    s.app.accepted_webmention(&source, &s.target).await;
    let status = s.app.wait_for_status(&first, "deleted").await;
    assert_eq!(status["reason"], "the source is gone (410)", "{status}");
}

#[tokio::test]
async fn s3_2_2_transient_failures_are_retried_then_rejected_with_the_reason() {
    let s = setup().await;
    s.source_site.page_with_status("/flaky/", 503, "busy");
    let status_url = s
        .app
        .accepted_webmention(&s.source_site.url("/flaky/"), &s.target)
        .await;
    let status = s.app.wait_for_status(&status_url, "rejected").await;
    assert_eq!(
        status["reason"], "the source could not be fetched",
        "{status}"
    );
    let reason = s.app.stored_reason(&status_url).await;
    assert!(
        reason.contains("gave up after 3 attempts") && reason.contains("503"),
        "{reason}"
    );
    assert_eq!(
        s.source_site.hits("/flaky/"),
        3,
        "first try plus two retries"
    );
}

#[tokio::test]
async fn a_source_that_recovers_during_retries_is_verified() {
    let s = setup().await;
    s.source_site.page_with_status("/later/", 503, "busy");
    let status_url = s
        .app
        .accepted_webmention(&s.source_site.url("/later/"), &s.target)
        .await;
    wait_until("the source fetched", || s.source_site.hits("/later/") > 0).await;
    s.source_site
        .page("/later/", &reply_html(&s.target, "back"));
    s.app.wait_for_status(&status_url, "verified").await;
}

#[tokio::test]
async fn the_seed_receivers_routes_work_as_aliases() {
    let s = setup().await;
    s.source_site
        .page("/reply/", &reply_html(&s.target, "alias"));
    let response = s
        .app
        .http
        .post(format!("{}/web-mentions", s.app.address))
        .form(&[
            ("source", s.source_site.url("/reply/")),
            ("target", s.target.clone()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let token = location.rsplit('/').next().unwrap();
    s.app
        .wait_for_status(
            &format!("{}/web-mentions/status/{token}", s.app.address),
            "verified",
        )
        .await;
}

#[tokio::test]
async fn an_unknown_status_id_is_a_json_404() {
    let s = setup().await;
    for path in ["/webmention/status/999999", "/webmention/status/abc"] {
        let response = s.app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 404);
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn too_many_webmentions_from_one_client_or_domain_get_429_with_retry_after() {
    let app = crate::helpers::spawn_app_with(|env| {
        env.insert("BACKFEED_RATE_LIMIT".into(), "3/min".into());
    })
    .await;
    app.blog.page("/posts/limited/", "<p>post</p>");
    let target = app.blog.url("/posts/limited/");
    for i in 0..3 {
        let response = app
            .send_webmention(&format!("https://a{i}.example/reply"), &target)
            .await;
        assert_eq!(response.status(), 201);
    }
    let limited = app
        .send_webmention("https://a9.example/reply", &target)
        .await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["access-control-allow-origin"], "*");
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    let per_domain = crate::helpers::spawn_app_with(|env| {
        env.insert("BACKFEED_RATE_LIMIT".into(), "2/min".into());
        env.insert("BACKFEED_TRUST_X_FORWARDED_FOR".into(), "true".into());
    })
    .await;
    per_domain.blog.page("/posts/limited/", "<p>post</p>");
    let target = per_domain.blog.url("/posts/limited/");
    let send = |client: &'static str, source: &'static str| {
        per_domain
            .http
            .post(format!("{}/webmention", per_domain.address))
            .header("x-forwarded-for", client)
            .form(&[("source", source), ("target", target.as_str())])
            .send()
    };
    assert_eq!(
        send("198.51.100.1", "https://spam.example/1")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        send("198.51.100.2", "https://spam.example/2")
            .await
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        send("198.51.100.3", "https://spam.example/3")
            .await
            .unwrap()
            .status(),
        429,
        "per source domain"
    );
    assert_eq!(
        send("198.51.100.3", "https://ham.example/1")
            .await
            .unwrap()
            .status(),
        201,
        "forwarded clients are told apart"
    );
}
