//! Moderation holds wherever the content comes from and whenever it
//! changes: the allow and block lists judge the host that served the
//! content (after redirects), an approval covers the content that was
//! approved, and only what Webmention §3.2.4 names (410 Gone, or a 200
//! page without the link) deletes a verified mention.

use backfeed::domain::job::JobKind;
use backfeed::domain::mention::{MentionId, Moderation, Verification};

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, jobs_waiting, spawn_app_with, wait_for};

const TOKEN: &str = "admin-token-0123456789";

fn reply_html(target: &str, text: &str) -> String {
    format!(
        r#"<div class="h-entry"><p class="e-content">{text}</p><a class="u-in-reply-to" href="{target}">re</a></div>"#
    )
}

async fn target(app: &TestApp) -> String {
    app.blog.page("/posts/mb/", "<p>post</p>");
    app.blog.url("/posts/mb/")
}

/// The same fake site under the host name `localhost`.
fn on_localhost(site: &FakeBlog, path: &str) -> String {
    site.url(path).replace("127.0.0.1", "localhost")
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

/// Sends a webmention and waits until its verification job has run to
/// its end (the queue holds no verification any more); returns the id.
async fn sent_and_settled(app: &TestApp, source: &str, target: &str) -> i64 {
    let response = app.send_webmention(source, target).await;
    assert_eq!(response.status(), 201);
    let id = response.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    wait_for("the verification", || async {
        jobs_waiting(&*app.app.store, JobKind::VerifyMention).await == 0
    })
    .await;
    id
}

async fn stored(app: &TestApp, id: i64) -> backfeed::domain::mention::Mention {
    app.app
        .store
        .find_mention(MentionId(id))
        .await
        .unwrap()
        .expect("the mention is stored")
}

#[tokio::test]
async fn an_open_redirect_on_an_allowed_domain_does_not_approve_what_it_leads_to() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MODERATION".into(), "manual".into());
        env.insert("BACKFEED_ALLOWED_DOMAINS".into(), "localhost".into());
    })
    .await;
    let target = target(&app).await;
    let trusted = FakeBlog::start().await;
    let elsewhere = FakeBlog::start().await;
    elsewhere.page("/spam/", &reply_html(&target, "buy now"));
    trusted.redirect("/go", &elsewhere.url("/spam/"));
    trusted.page("/own/", &reply_html(&target, "a trusted reply"));

    let redirected = sent_and_settled(&app, &on_localhost(&trusted, "/go"), &target).await;
    let own = sent_and_settled(&app, &on_localhost(&trusted, "/own/"), &target).await;

    let redirected = stored(&app, redirected).await;
    assert_eq!(redirected.verification, Verification::Verified);
    assert_eq!(
        redirected.moderation,
        Moderation::Pending,
        "content from 127.0.0.1 waits for approval though the source URL was on localhost"
    );
    assert_eq!(visible_ids(&app, &target).await, vec![own]);
}

#[tokio::test]
async fn a_source_that_redirects_to_a_blocked_domain_is_rejected() {
    let configured = spawn_app_with(|env| {
        env.insert("BACKFEED_BLOCKED_DOMAINS".into(), "localhost".into());
    })
    .await;
    let by_admin = spawn_app_with(|env| {
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
    })
    .await;
    let blocked = by_admin
        .http
        .post(format!("{}/admin/blocks", by_admin.address))
        .bearer_auth(TOKEN)
        .form(&[("domain", "localhost")])
        .send()
        .await
        .unwrap();
    assert_eq!(blocked.status(), 200);

    for app in [&configured, &by_admin] {
        let target = target(app).await;
        let spammer = FakeBlog::start().await;
        let hop = FakeBlog::start().await;
        spammer.page("/spam/", &reply_html(&target, "buy now"));
        hop.redirect("/go", &on_localhost(&spammer, "/spam/"));
        let id = sent_and_settled(app, &hop.url("/go"), &target).await;
        let mention = stored(app, id).await;
        assert!(
            matches!(mention.verification, Verification::Rejected { .. }),
            "{mention:?}"
        );
        assert!(visible_ids(app, &target).await.is_empty());
    }
}

#[tokio::test]
async fn changed_content_of_an_approved_mention_waits_for_approval_again() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_MODERATION".into(), "manual".into());
        env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
    })
    .await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    let source = sources.url("/r/");
    sources.page("/r/", &reply_html(&target, "a kind reply"));
    let id = sent_and_settled(&app, &source, &target).await;
    let approved = app
        .http
        .post(format!("{}/admin/mentions/{id}/approve", app.address))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), 200);
    assert_eq!(visible_ids(&app, &target).await, vec![id]);

    // The same content again: the approval stands.
    sent_and_settled(&app, &source, &target).await;
    assert_eq!(visible_ids(&app, &target).await, vec![id]);

    sources.page("/r/", &reply_html(&target, "now with spam links"));
    sent_and_settled(&app, &source, &target).await;
    let mention = stored(&app, id).await;
    let text = mention.data.as_ref().and_then(|d| d.content_text.clone());
    assert_eq!(text.as_deref(), Some("now with spam links"));
    assert_eq!(mention.moderation, Moderation::Pending, "{mention:?}");
    assert!(visible_ids(&app, &target).await.is_empty());
}

#[tokio::test]
async fn only_a_410_or_a_page_without_the_link_deletes_a_verified_mention() {
    let app = spawn_app_with(|_| {}).await;
    let target = target(&app).await;
    let sources = FakeBlog::start().await;
    let source = sources.url("/r/");
    sources.page("/r/", &reply_html(&target, "hello"));
    let id = sent_and_settled(&app, &source, &target).await;
    assert_eq!(visible_ids(&app, &target).await, vec![id]);

    for status in [404, 403, 401] {
        sources.page_with_status("/r/", status, "not now");
        sent_and_settled(&app, &source, &target).await;
        let mention = stored(&app, id).await;
        assert_eq!(
            mention.verification,
            Verification::Verified,
            "after {status}"
        );
        assert_eq!(visible_ids(&app, &target).await, vec![id], "after {status}");
    }

    sources.page_with_status("/r/", 410, "gone");
    sent_and_settled(&app, &source, &target).await;
    assert!(matches!(
        stored(&app, id).await.verification,
        Verification::Deleted { .. }
    ));
}
