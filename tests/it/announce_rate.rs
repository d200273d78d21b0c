//! `BACKFEED_ANNOUNCE_RATE`: new toots per process are limited; posts
//! already announced answer without limit. Time is a manual clock.

use std::time::Duration;

use crate::helpers::spawn_app_with_clock;

#[tokio::test]
async fn new_posts_beyond_the_rate_get_429_and_post_nothing_until_the_bucket_refills() {
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_ANNOUNCE_RATE".into(), "2/hour".into());
        },
        true,
    )
    .await;
    let first = app.publish("first", "First");
    let second = app.publish("second", "Second");
    let third = app.publish("third", "Third");
    assert_eq!(app.lookup(&first).await.status(), 200);
    assert_eq!(app.lookup(&second).await.status(), 200);

    let limited = app.lookup(&third).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(limited.headers()["access-control-allow-origin"], "*");
    assert_eq!(
        limited.headers()["retry-after"],
        "1800",
        "one toot per 30 minutes refills the bucket"
    );
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], 429);
    assert!(
        body["error"].as_str().unwrap().contains("new posts"),
        "{body}"
    );
    assert_eq!(app.mastodon.posts_received(), 2, "nothing posted");

    for _ in 0..20 {
        assert_eq!(
            app.lookup(&first).await.status(),
            200,
            "announced posts are not limited"
        );
        assert_eq!(app.lookup(&second).await.status(), 200);
    }

    app.advance(Duration::from_secs(29 * 60));
    assert_eq!(app.lookup(&third).await.status(), 429, "not yet");
    app.advance(Duration::from_secs(60));
    assert_eq!(app.lookup(&third).await.status(), 200, "refilled");
    assert_eq!(app.mastodon.posts_received(), 3);
}
