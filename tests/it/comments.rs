//! `GET /api/comments`: one moderated thread per post, Mastodon replies
//! fetched server-side and merged with webmentions, cached and fresh.

use std::time::Duration;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{FAKE_TOKEN, Failure, ReplySpec};
use crate::helpers::{TestApp, spawn_app_with, spawn_app_with_clock, wait_for, wait_until};

pub(crate) struct Thread {
    pub(crate) app: TestApp,
    pub(crate) post: String,
    pub(crate) toot: String,
    _sources: FakeBlog,
}

pub(crate) fn reply(parent: &str, acct: &str, html: &str) -> ReplySpec {
    ReplySpec {
        in_reply_to_id: parent.to_owned(),
        acct: acct.to_owned(),
        display_name: acct.split('@').next().unwrap().to_owned(),
        content_html: html.to_owned(),
        visibility: "public",
        ..ReplySpec::default()
    }
}

/// A post with its toot and an empty thread, on an app whose time moves
/// only when the test advances it.
async fn thread_with(ttl: &str) -> Thread {
    thread_with_settings(&[("BACKFEED_THREAD_TTL", ttl)]).await
}

/// [`thread_with`], with these environment variables set.
pub(crate) async fn thread_with_settings(settings: &[(&str, &str)]) -> Thread {
    let app = spawn_app_with_clock(
        |env| {
            for (name, value) in settings {
                env.insert((*name).into(), (*value).into());
            }
            env.insert(
                "BACKFEED_ADMIN_TOKEN".into(),
                "admin-token-0123456789".into(),
            );
        },
        true,
    )
    .await;
    let post = app.publish("thread", "Thread");
    let lookup: serde_json::Value = app.lookup(&post).await.json().await.unwrap();
    let toot = lookup["toot_id"].as_str().unwrap().to_owned();
    let sources = FakeBlog::start().await;
    Thread {
        app,
        post,
        toot,
        _sources: sources,
    }
}

pub(crate) async fn comments(app: &TestApp, post: &str) -> serde_json::Value {
    let response = app
        .http
        .get(format!("{}/api/comments", app.address))
        .query(&[("url", post)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    response.json().await.unwrap()
}

fn authors(comments: &serde_json::Value) -> Vec<String> {
    comments
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["author"]["name"].as_str().unwrap().to_owned();
            let kids = authors(&c["replies"]);
            if kids.is_empty() {
                name
            } else {
                format!("{name}[{}]", kids.join(","))
            }
        })
        .collect()
}

#[tokio::test]
async fn the_thread_nests_public_replies_drops_private_ones_and_merges_webmentions() {
    let t = thread_with("5m").await;
    let m = &t.app.mastodon;
    let alice = m.add_reply(ReplySpec {
        display_name: "Alice :blobcat:".into(),
        emojis: vec![(
            "blobcat".into(),
            "https://social.example/emoji/blobcat.png".into(),
        )],
        media: vec![(
            "image".into(),
            "https://social.example/media/original/cat.png".into(),
            Some("a cat".into()),
        )],
        spoiler_text: "cats".into(),
        ..reply(&t.toot, "alice@social.example", "<p>First!</p>")
    });
    m.add_reply(reply(
        &alice,
        "bob@other.example",
        "<p>Second, under Alice</p>",
    ));
    let private = m.add_reply(ReplySpec {
        visibility: "private",
        ..reply(&t.toot, "carol@social.example", "<p>only followers</p>")
    });
    m.add_reply(reply(
        &private,
        "dave@social.example",
        "<p>public answer to a private reply</p>",
    ));
    m.add_reply(ReplySpec {
        visibility: "direct",
        ..reply(&t.toot, "erin@social.example", "<p>a DM to the owner</p>")
    });
    m.add_reply(reply(
        &t.toot,
        "mallory@evil.example",
        r#"<p>hi<script>alert(1)</script><img src=x onerror="alert(2)"></p>"#,
    ));

    t._sources.page("/reply/", &format!(r#"<div class="h-entry"><div class="p-author h-card"><span class="p-name">Wendy</span></div><p class="e-content">From my blog</p><a class="u-in-reply-to" href="{}">r</a></div>"#, t.post));
    t._sources.page(
        "/like/",
        &format!(
            r#"<div class="h-entry"><a class="u-like-of" href="{}">like</a></div>"#,
            t.post
        ),
    );
    // The webmentions arrive after the replies (whose times the fake takes
    // from the wall clock).
    t.app.advance(Duration::from_secs(5));
    for path in ["/reply/", "/like/"] {
        let status = t
            .app
            .accepted_webmention(&t._sources.url(path), &t.post)
            .await;
        t.app.wait_for_status(&status, "verified").await;
    }

    let body = comments(&t.app, &t.post).await;
    assert_eq!(body["url"], t.post);
    assert_eq!(body["toot"]["id"], t.toot);
    assert!(body["toot"]["url"].as_str().unwrap().ends_with(&t.toot));
    assert_eq!(
        authors(&body["comments"]),
        vec!["Alice :blobcat:[bob]", "mallory", "Wendy"],
        "nesting, order, private and direct replies and their subtrees dropped"
    );
    assert_eq!(body["comment_count"], 4);
    let first = &body["comments"][0];
    assert_eq!(first["source"], "mastodon");
    assert_eq!(first["author"]["handle"], "@alice@social.example");
    assert_eq!(first["author"]["emojis"][0]["shortcode"], "blobcat");
    assert_eq!(first["content_warning"], "cats");
    assert_eq!(first["media"][0]["description"], "a cat");
    assert_eq!(first["content_text"], "First!");
    let mallory = &body["comments"][1]["content_html"].as_str().unwrap();
    assert!(
        !mallory.contains("script") && !mallory.contains("onerror"),
        "{mallory}"
    );
    assert_eq!(body["comments"][2]["source"], "webmention");
    assert_eq!(body["reactions"]["likes"]["count"], 1);
    let text = body.to_string();
    assert!(
        !text.contains("only followers") && !text.contains("a DM") && !text.contains(FAKE_TOKEN)
    );
}

#[tokio::test]
async fn a_cached_thread_is_served_without_waiting_and_refreshed_once_in_the_background() {
    let t = thread_with("5m").await;
    let m = &t.app.mastodon;
    let first = m.add_reply(reply(&t.toot, "alice@social.example", "<p>v1</p>"));
    let second = m.add_reply(reply(&t.toot, "bob@social.example", "<p>bye</p>"));
    assert_eq!(comments(&t.app, &t.post).await["comment_count"], 2);
    comments(&t.app, &t.post).await;
    assert_eq!(
        m.context_requests(),
        1,
        "the second request was served from the cache"
    );

    m.edit_status(&first, "<p>v2</p>");
    m.delete_status(&second);
    // Mastodon now answers nothing until released: a reader who waited on
    // it would never get an answer.
    m.hold_contexts();
    t.app.advance(Duration::from_secs(5 * 60 + 1));
    let stale = answered(comments(&t.app, &t.post)).await;
    assert_eq!(
        stale["comments"][0]["content_text"], "v1",
        "stale copy served"
    );
    for _ in 0..5 {
        answered(comments(&t.app, &t.post)).await;
    }
    wait_until("the condition", || m.context_requests() == 2).await;
    m.release_contexts();
    wait_for("the refreshed thread", || async {
        comments(&t.app, &t.post).await["comments"][0]["content_text"] == "v2"
    })
    .await;
    let fresh = comments(&t.app, &t.post).await;
    assert_eq!(fresh["comment_count"], 1, "the deleted reply is gone");
    assert!(fresh["comments"][0]["edited_at"].is_string());
    assert_eq!(
        m.context_requests(),
        2,
        "one refresh, however many requests came meanwhile"
    );
}

#[tokio::test]
async fn etags_answer_if_none_match_with_304() {
    let t = thread_with("5m").await;
    let url = format!("{}/api/comments", t.app.address);
    let first = t
        .app
        .http
        .get(&url)
        .query(&[("url", &t.post)])
        .send()
        .await
        .unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    let again = t
        .app
        .http
        .get(&url)
        .query(&[("url", &t.post)])
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag.as_str());
    let other = t
        .app
        .http
        .get(&url)
        .query(&[("url", &t.post)])
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn hidden_replies_and_accounts_never_appear() {
    let t = thread_with("5m").await;
    let m = &t.app.mastodon;
    let spam = m.add_reply(reply(&t.toot, "alice@social.example", "<p>buy now</p>"));
    m.add_reply(reply(&spam, "bob@social.example", "<p>answer to spam</p>"));
    m.add_reply(reply(&t.toot, "troll@bad.example", "<p>troll 1</p>"));
    m.add_reply(reply(&t.toot, "carol@social.example", "<p>kind words</p>"));
    assert_eq!(comments(&t.app, &t.post).await["comment_count"], 4);

    let admin = |path: String| {
        t.app
            .http
            .post(format!("{}/admin{path}", t.app.address))
            .bearer_auth("admin-token-0123456789")
            .send()
    };
    assert_eq!(
        admin(format!("/replies/{spam}/hide"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        admin("/accounts/troll@bad.example/hide".into())
            .await
            .unwrap()
            .status(),
        200
    );
    let body = comments(&t.app, &t.post).await;
    assert_eq!(authors(&body["comments"]), vec!["carol"]);
}

#[tokio::test]
async fn a_rate_limited_refresh_keeps_the_stale_copy_and_backs_off() {
    // The fake states its rate-limit reset in real time, so the app's clock
    // is kept close to it: a short TTL, a short advance.
    let t = thread_with("1s").await;
    let m = &t.app.mastodon;
    m.add_reply(reply(&t.toot, "alice@social.example", "<p>hi</p>"));
    assert_eq!(comments(&t.app, &t.post).await["comment_count"], 1);
    m.fail_context_next(Failure::RateLimited { reset_in_secs: 120 });
    t.app.advance(Duration::from_secs(2));
    comments(&t.app, &t.post).await;
    wait_until("the condition", || m.context_requests() == 2).await;
    wait_for_job_to_wait(&t.app).await;
    for _ in 0..5 {
        t.app.advance(Duration::from_secs(20));
        assert_eq!(
            comments(&t.app, &t.post).await["comment_count"],
            1,
            "stale copy still served"
        );
    }
    assert_eq!(m.context_requests(), 2, "no calls while Retry-After runs");
    m.add_reply(reply(&t.toot, "bob@social.example", "<p>later</p>"));
    t.app.advance(Duration::from_secs(30));
    wait_until("the condition", || m.context_requests() == 3).await;
    wait_for("the refreshed thread", || async {
        comments(&t.app, &t.post).await["comment_count"] == 2
    })
    .await;
}

/// Waits until the refresh that hit the rate limit is queued again.
async fn wait_for_job_to_wait(app: &TestApp) {
    wait_for("the refresh to be queued again", || async {
        let counts = app.app.store.count_jobs().await.unwrap();
        counts
            .iter()
            .find(|(kind, _)| *kind == backfeed::domain::job::JobKind::RefreshThread)
            .is_some_and(|(_, c)| c.queued == 1 && c.running == 0)
    })
    .await;
}

/// The answer to `request`, which must come without waiting on anything
/// the test holds (a generous bound, never a timing assertion).
pub(crate) async fn answered<T>(request: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), request)
        .await
        .expect("answered without waiting for Mastodon")
}

#[tokio::test]
async fn the_async_refresh_hint_brings_the_next_refresh_forward() {
    let t = thread_with("10m").await;
    let m = &t.app.mastodon;
    m.set_async_refresh(Some(("abc".into(), 1, 0)));
    assert_eq!(comments(&t.app, &t.post).await["comment_count"], 0);
    m.set_async_refresh(None);
    m.add_reply(reply(&t.toot, "remote@far.example", "<p>arrived late</p>"));
    t.app.advance(Duration::from_millis(1_100));
    comments(&t.app, &t.post).await;
    wait_for("the hinted refresh", || async {
        comments(&t.app, &t.post).await["comment_count"] == 1
    })
    .await;
}

#[tokio::test]
async fn a_cold_thread_with_mastodon_down_still_shows_the_toot_link_and_webmentions() {
    let t = thread_with("5m").await;
    t.app.mastodon.fail_context_next(Failure::Unavailable);
    let body = comments(&t.app, &t.post).await;
    assert_eq!(body["toot"]["id"], t.toot);
    assert!(body["toot"]["url"].as_str().unwrap().contains(&t.toot));
    assert_eq!(body["comment_count"], 0);
}

#[tokio::test]
async fn a_missing_or_unhandled_url_is_a_400() {
    let t = thread_with("5m").await;
    let missing = t.app.get("/api/comments").await;
    assert_eq!(missing.status(), 400);
    let unhandled = t
        .app
        .get("/api/comments?url=https://elsewhere.example/x")
        .await;
    assert_eq!(unhandled.status(), 400);
}

#[tokio::test]
async fn the_widget_is_served_as_javascript() {
    let t = thread_with("5m").await;
    let response = t.app.get("/widget.js").await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("customElements.define")
    );
}

#[tokio::test]
async fn a_thread_larger_than_the_page_fetch_cap_is_read_whole() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_FETCH_MAX_BODY_BYTES".into(), "65536".into());
    })
    .await;
    let post = app.publish("big", "Big");
    let lookup: serde_json::Value = app.lookup(&post).await.json().await.unwrap();
    let toot = lookup["toot_id"].as_str().unwrap().to_owned();
    let text = "a reasonably long reply that goes on for a while ".repeat(8);
    for i in 0..120 {
        app.mastodon.add_reply(reply(
            &toot,
            &format!("user{i}@social.example"),
            &format!("<p>{text}</p>"),
        ));
    }
    let body = comments(&app, &post).await;
    assert_eq!(
        body["comment_count"], 120,
        "the instance's answer is not held to the cap for strangers' pages"
    );
}

#[tokio::test]
async fn a_verified_mention_shows_in_its_thread_at_once_without_calling_mastodon() {
    let t = thread_with("5m").await;
    let other = t.app.publish("other", "Other");
    t.app.lookup(&other).await;
    let first = comments(&t.app, &t.post).await;
    comments(&t.app, &other).await;
    let requests = t.app.mastodon.context_requests();

    t._sources.page("/r/", &format!(r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{other}">r</a></div>"#));
    let status = t
        .app
        .accepted_webmention(&t._sources.url("/r/"), &other)
        .await;
    t.app.wait_for_status(&status, "verified").await;

    assert_eq!(
        comments(&t.app, &other).await["comment_count"],
        1,
        "the changed post is rendered again"
    );
    assert_eq!(comments(&t.app, &t.post).await, first);
    assert_eq!(
        t.app.mastodon.context_requests(),
        requests,
        "re-rendering never calls Mastodon"
    );
}
