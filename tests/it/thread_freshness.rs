//! How often a comment thread is fetched from Mastodon again: less often as
//! its post ages (`threads.max_ttl`), and, with `threads.refresh_inline`
//! (the serverless setting), by the reader who finds it stale rather than
//! by a queued job.

use std::time::Duration;

use backfeed::domain::job::JobKind;

use crate::comments::{answered, comments, reply, thread_with_settings};
use crate::helpers::{TestApp, wait_for, wait_until};

const HOUR: Duration = Duration::from_secs(3600);

/// Whether a thread refresh is queued or running.
async fn refresh_pending(app: &TestApp) -> bool {
    app.app
        .store
        .count_jobs()
        .await
        .unwrap()
        .iter()
        .any(|(kind, c)| *kind == JobKind::RefreshThread && c.queued + c.running > 0)
}

async fn count(t: &crate::comments::Thread) -> serde_json::Value {
    comments(&t.app, &t.post).await["comment_count"].clone()
}

#[tokio::test]
async fn an_old_posts_thread_is_fetched_less_often_than_a_new_ones() {
    let t = thread_with_settings(&[
        ("BACKFEED_THREAD_TTL", "5m"),
        ("BACKFEED_THREAD_MAX_TTL", "12h"),
    ])
    .await;
    let m = &t.app.mastodon;
    assert_eq!(count(&t).await, 0);
    // Ten days on, the first view finds the thread stale; the refresh
    // makes it fresh for five hours (half an hour per day of age).
    t.app.advance(240 * HOUR);
    count(&t).await;
    wait_until("the refresh at ten days", || m.context_requests() == 2).await;
    wait_for("the refresh to settle", || async {
        !refresh_pending(&t.app).await
    })
    .await;

    m.add_reply(reply(&t.toot, "alice@social.example", "<p>late</p>"));
    t.app.advance(4 * HOUR);
    assert_eq!(count(&t).await, 0, "still fresh four hours on");
    // Checked in this order, a refresh queued by that view would show as
    // pending or, once run, as a third request.
    assert!(!refresh_pending(&t.app).await, "no refresh queued");
    assert_eq!(m.context_requests(), 2);

    t.app.advance(HOUR + Duration::from_secs(1));
    count(&t).await;
    wait_until("the refresh at five hours", || m.context_requests() == 3).await;
    wait_for("the late reply", || async { count(&t).await == 1 }).await;
}

/// A thread read once, with refreshing inline on, then a new reply on
/// Mastodon (held there with `hold`) and the thread stale.
async fn stale_thread_refreshed_inline(hold: bool) -> crate::comments::Thread {
    let t = thread_with_settings(&[
        ("BACKFEED_THREAD_TTL", "5m"),
        ("BACKFEED_THREAD_REFRESH_INLINE", "true"),
    ])
    .await;
    let m = &t.app.mastodon;
    assert_eq!(count(&t).await, 0);
    m.add_reply(reply(&t.toot, "alice@social.example", "<p>new</p>"));
    if hold {
        m.hold_contexts();
    }
    t.app.advance(Duration::from_secs(5 * 60 + 1));
    t
}

#[tokio::test]
async fn with_inline_refresh_the_reader_of_a_stale_thread_gets_the_new_replies_at_once() {
    let t = stale_thread_refreshed_inline(false).await;
    let m = &t.app.mastodon;

    assert_eq!(count(&t).await, 1, "refreshed while the reader waited");
    assert_eq!(m.context_requests(), 2);
    assert!(!refresh_pending(&t.app).await, "nothing was queued");
    assert_eq!(count(&t).await, 1);
    assert_eq!(m.context_requests(), 2, "fresh again: no further fetch");
}

#[tokio::test]
async fn with_inline_refresh_a_hanging_mastodon_gives_the_stale_copy_and_queues_the_refresh() {
    let t = stale_thread_refreshed_inline(true).await;
    let m = &t.app.mastodon;

    // The reader waits at most the inline budget, then gets the stale copy.
    assert_eq!(answered(count(&t)).await, 0, "stale copy served");
    // The refresh is now a queued job; readers meanwhile get the stale copy
    // without trying Mastodon again.
    for _ in 0..3 {
        assert_eq!(answered(count(&t)).await, 0);
    }
    wait_until("the queued refresh to call Mastodon", || {
        m.context_requests() == 3
    })
    .await;
    m.release_contexts();
    wait_for("the queued refresh", || async { count(&t).await == 1 }).await;
    assert_eq!(
        m.context_requests(),
        3,
        "one inline try and one queued refresh, however many readers came"
    );
}

/// Two instances on one bucket, as two warm function instances are: a
/// reply hidden through one disappears from the thread the other had
/// rendered and cached, though that thread is still fresh.
#[tokio::test]
async fn a_reply_hidden_through_one_instance_disappears_from_another_s_cached_thread() {
    let bucket = crate::support_s3::fresh_bucket().await;
    let token = "admin-token-0123456789";
    let first = {
        let bucket = bucket.clone();
        crate::helpers::spawn_app_with(move |env| {
            env.insert("DATABASE_URL".into(), bucket);
            env.insert("BACKFEED_ADMIN_TOKEN".into(), token.into());
        })
        .await
    };
    let (mastodon, blog) = (first.mastodon.base_url.clone(), first.blog.base_url.clone());
    let second = crate::helpers::spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), bucket);
        env.insert("MASTODON_HOST".into(), mastodon);
        env.insert(
            "BLOG_POST_PATTERN".into(),
            format!("^{}/posts/", regex::escape(&blog)),
        );
        env.insert("BACKFEED_SITES".into(), format!("{blog}/"));
    })
    .await;
    let post = first.publish("shared", "Shared");
    let lookup: serde_json::Value = first.lookup(&post).await.json().await.unwrap();
    let toot = lookup["toot_id"].as_str().unwrap().to_owned();
    let spam = first
        .mastodon
        .add_reply(reply(&toot, "spam@bad.example", "<p>spam</p>"));
    first
        .mastodon
        .add_reply(reply(&toot, "alice@social.example", "<p>kind</p>"));
    assert_eq!(comments(&second, &post).await["comment_count"], 2);

    let hidden = first
        .http
        .post(format!("{}/admin/replies/{spam}/hide", first.address))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status(), 200);
    let body = comments(&second, &post).await;
    assert_eq!(body["comment_count"], 1, "{body}");
    assert!(!body.to_string().contains("spam"), "{body}");
    assert_eq!(
        first.mastodon.context_requests(),
        1,
        "re-rendered from the store, not fetched again"
    );
}
