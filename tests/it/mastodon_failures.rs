//! Mastodon's failures are handled, not retried blindly, and never duplicate.

use std::time::Duration;

use crate::fake_mastodon::Failure;
use crate::helpers::{TestApp, spawn_app, spawn_app_with};

async fn error_of(response: reqwest::Response) -> (u16, Option<String>, serde_json::Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "*",
        "CORS on every error"
    );
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: serde_json::Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], status, "body code matches the status");
    (status, retry_after, body)
}

async fn fails_then_recovers(
    app: &TestApp,
    failure: Failure,
    expected_status: u16,
    message_part: &str,
) {
    let post = app.publish(
        &format!("f{expected_status}-{}", app.mastodon.posts_received()),
        "Failing",
    );
    app.mastodon.fail_next(failure);
    let (status, _, body) = error_of(app.lookup(&post).await).await;
    assert_eq!(status, expected_status, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains(message_part),
        "{body}"
    );
    assert_eq!(
        app.lookup(&post).await.status(),
        200,
        "the next request tries again"
    );
    assert_eq!(app.mastodon.statuses_created(), 1);
}

#[tokio::test]
async fn a_rejected_token_is_a_502_that_says_the_token_is_wrong() {
    let app = spawn_app().await;
    fails_then_recovers(&app, Failure::Unauthorized, 502, "MASTODON_OAUTH_TOKEN").await;
    let app = spawn_app().await;
    fails_then_recovers(&app, Failure::Forbidden, 502, "access token").await;
}

#[tokio::test]
async fn mastodon_unavailable_is_a_503_and_a_server_error_a_502_both_retried_next_time() {
    let app = spawn_app().await;
    fails_then_recovers(&app, Failure::Unavailable, 503, "unavailable").await;
    let app = spawn_app().await;
    fails_then_recovers(&app, Failure::ServerError, 502, "HTTP 500").await;
}

#[tokio::test]
async fn a_rate_limit_is_a_503_with_retry_after_from_the_reset_header() {
    let app = spawn_app().await;
    let post = app.publish("limited", "Limited");
    app.mastodon
        .fail_next(Failure::RateLimited { reset_in_secs: 120 });
    let (status, retry_after, _) = error_of(app.lookup(&post).await).await;
    assert_eq!(status, 503);
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((115..=121).contains(&seconds), "{seconds}");
    assert_eq!(app.lookup(&post).await.status(), 200);
}

#[tokio::test]
async fn a_422_is_recorded_as_failed_and_not_retried_on_every_page_view() {
    let app = spawn_app().await;
    let post = app.publish("rejected", "Rejected");
    app.mastodon.fail_next(Failure::Unprocessable(
        "Validation failed: Text contains a forbidden word".into(),
    ));
    for _ in 0..3 {
        let (status, _, body) = error_of(app.lookup(&post).await).await;
        assert_eq!(status, 502);
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("forbidden word"), "{message}");
        assert!(message.contains("backfeed posts retry"), "{message}");
    }
    assert_eq!(
        app.mastodon.posts_received(),
        1,
        "page views do not retry a 422"
    );

    let announcer = app.app.announcer.clone().unwrap();
    let url = announcer.accept_url(Some(&post)).unwrap();
    let retried = announcer
        .retry(url)
        .await
        .expect("retry succeeds once Mastodon accepts");
    assert!(retried.created);
    assert_eq!(app.lookup(&post).await.status(), 200);
    assert_eq!(app.mastodon.statuses_created(), 1);
}

#[tokio::test]
async fn a_timeout_is_a_502_and_the_retry_gets_the_original_toot_through_the_idempotency_key() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "500ms".into());
    })
    .await;
    let post = app.publish("slow", "Slow");
    app.mastodon.fail_next(Failure::HangAfterCreating);
    let (status, _, body) = error_of(app.lookup(&post).await).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        app.mastodon.statuses_created(),
        1,
        "the toot was created although the answer was lost"
    );

    let response = app.lookup(&post).await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["toot_id"], app.mastodon.statuses()[0]["id"]);
    assert_eq!(app.mastodon.statuses_created(), 1, "never a duplicate");
}

#[tokio::test]
async fn a_hanging_mastodon_does_not_hold_the_reader_past_the_timeout() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "300ms".into());
    })
    .await;
    let post = app.publish("hang", "Hang");
    app.mastodon.fail_next(Failure::Hang);
    // Mastodon hangs for an hour: only the timeout can end this request.
    let answer = tokio::time::timeout(Duration::from_secs(60), app.lookup(&post))
        .await
        .expect("answered at the Mastodon timeout, not when Mastodon answers");
    let (status, _, _) = error_of(answer).await;
    assert_eq!(status, 502);
}

#[tokio::test]
async fn a_status_that_cannot_fit_is_recorded_as_failed_without_posting() {
    let app = spawn_app_with(|env| {
        env.insert("BLOG_POST_POSTFIX".into(), "x".repeat(40));
    })
    .await;
    app.mastodon.set_instance_limits(50, 23);
    let post = app.publish("unfit", "Unfit");
    let (status, _, body) = error_of(app.lookup(&post).await).await;
    assert_eq!(status, 502);
    assert!(
        body["error"].as_str().unwrap().contains("limit of 50"),
        "{body}"
    );
    assert_eq!(app.mastodon.posts_received(), 0);
}

/// `GET /api/comments?url=…`: status and body.
async fn comments(app: &TestApp, post: &str) -> (u16, serde_json::Value) {
    let response = app
        .http
        .get(format!("{}/api/comments", app.address))
        .query(&[("url", post)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn a_mastodon_that_hangs_leaves_mapped_posts_answered_and_new_ones_failing_cleanly() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "300ms".into());
    })
    .await;
    let mapped = app.publish("mapped", "Mapped");
    let first = app.lookup(&mapped).await;
    assert_eq!(first.status(), 200);
    let first: serde_json::Value = first.json().await.unwrap();
    let (status, thread) = comments(&app, &mapped).await;
    assert_eq!(status, 200, "{thread}");
    let new = app.publish("new-while-hung", "New");

    // Every call to the instance now hangs for an hour: only backfeed's own
    // timeout can end a request that needs it.
    app.mastodon.set_hang_everything(true);
    let generous = Duration::from_secs(60);
    let answer = tokio::time::timeout(generous, app.lookup(&mapped))
        .await
        .expect("a mapped post is answered without Mastodon");
    assert_eq!(answer.status(), 200);
    let again: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(again, first, "the same mapping");
    let (status, cached) = tokio::time::timeout(generous, comments(&app, &mapped))
        .await
        .expect("a cached thread is answered without Mastodon");
    assert_eq!(status, 200, "{cached}");

    let answer = tokio::time::timeout(generous, app.lookup(&new))
        .await
        .expect("a new post fails at backfeed's timeout, not when Mastodon answers");
    let (status, _, body) = error_of(answer).await;
    assert_eq!(status, 502, "{body}");
    let message = body["error"].as_str().unwrap();
    assert!(
        message.contains("Mastodon"),
        "the error names Mastodon: {message}"
    );
    assert!(app.mastodon.hung_requests() > 0, "Mastodon was asked");

    // Nothing half-written: no toot id, no failure recorded, no claim left
    // that would make the next request wait.
    let url = backfeed::domain::PostUrl::parse(&new).unwrap();
    let record = app.app.store.find_post(&url).await.unwrap();
    assert!(
        !matches!(
            record.as_ref().map(|r| &r.state),
            Some(
                backfeed::domain::PostState::Announced { .. }
                    | backfeed::domain::PostState::Failed { .. }
                    | backfeed::domain::PostState::Claimed { .. }
            )
        ),
        "{record:?}"
    );
    assert_eq!(app.mastodon.statuses_created(), 1);

    // When Mastodon answers again, the new post is announced once.
    app.mastodon.set_hang_everything(false);
    let answer = app.lookup(&new).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(app.mastodon.statuses_created(), 2, "one toot per post");
    assert_eq!(app.lookup(&mapped).await.status(), 200);
}
