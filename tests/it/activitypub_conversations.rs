//! Fediverse replies, likes and boosts as comments, over real HTTP on
//! loopback: signed activities from `fake_fediverse` to the inbox, jobs run
//! by the test, the result read from `GET /api/comments`. Also the posts
//! served at their object ids (and 410 once deleted), and the outbox.

use backfeed::activitypub::publish::{OutgoingPost, PostChange};
use serde_json::{Value, json};

use crate::activitypub::{ap_env, drain, get_as, send};
use crate::fake_fediverse::FakeFediverse;
use crate::helpers::{TestApp, spawn_app_without_workers};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spawn_app_without_workers(move |env| {
        ap_env(env);
        env.extend(extra);
    })
    .await
}

/// Publishes `{blog}/posts/a/` to the fediverse (no followers needed);
/// returns its page URL and object id.
async fn publish(app: &TestApp) -> (String, String) {
    let url = app.publish("a", "Post A");
    let post = OutgoingPost {
        url: url::Url::parse(&url).unwrap(),
        title: Some("Post A".into()),
        summary: Some("About A".into()),
        content: Some("<p>All about A.</p>".into()),
        published: time::OffsetDateTime::now_utc(),
        updated: None,
        tags: Vec::new(),
        image: None,
    };
    let federation = app.app.federation.as_ref().unwrap();
    federation
        .federate(PostChange::Create, &post)
        .await
        .unwrap();
    let id = backfeed::activitypub::publish::object_id(&federation.urls, &post.url);
    (url, id)
}

fn note(peer: &FakeFediverse, n: u32, in_reply_to: &str, text: &str) -> Value {
    json!({
        "id": format!("{}/users/alice/statuses/{n}", peer.base_url),
        "type": "Note",
        "attributedTo": peer.actor_id(),
        "inReplyTo": in_reply_to,
        "content": format!("<p>{text}</p><script>alert(1)</script>"),
        "published": format!("2026-12-01T10:{n:02}:00Z"),
        "url": format!("{}/@alice/{n}", peer.base_url),
        "to": [PUBLIC],
        "cc": [format!("{}/users/alice/followers", peer.base_url)],
    })
}

fn activity(peer: &FakeFediverse, kind: &str, n: u32, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/{kind}/{n}", peer.base_url),
        "type": kind,
        "actor": peer.actor_id(),
        "object": object,
    })
}

/// Sends `activity` signed by `peer`, expects 202, runs the jobs.
async fn deliver(app: &TestApp, peer: &FakeFediverse, activity: &Value) {
    assert_eq!(send(app, peer, activity).await.status(), 202);
    drain(app).await;
}

async fn comments(app: &TestApp, url: &str) -> Value {
    let response = app
        .http
        .get(format!("{}/api/comments", app.address))
        .query(&[("url", url)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn replies_likes_and_boosts_become_comments_and_are_withdrawn_by_their_author() {
    let app = app_with(&[]).await;
    let peer = FakeFediverse::start().await;
    let (url, id) = publish(&app).await;

    // A reply to the post's object id, and one to its page URL.
    deliver(
        &app,
        &peer,
        &activity(&peer, "Create", 1, note(&peer, 1, &id, "First!")),
    )
    .await;
    deliver(
        &app,
        &peer,
        &activity(&peer, "Create", 2, note(&peer, 2, &url, "Second")),
    )
    .await;
    // A reply to the first reply is threaded under it.
    let first = note(&peer, 1, &id, "")["id"].as_str().unwrap().to_owned();
    deliver(
        &app,
        &peer,
        &activity(&peer, "Create", 3, note(&peer, 3, &first, "Nested")),
    )
    .await;
    deliver(&app, &peer, &activity(&peer, "Like", 1, json!(id))).await;
    deliver(&app, &peer, &activity(&peer, "Announce", 1, json!(id))).await;

    let body = comments(&app, &url).await;
    let list = body["comments"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{body:#}");
    assert_eq!(body["comment_count"], 3);
    let top = &list[0];
    assert_eq!(top["source"], "activitypub");
    assert_eq!(top["author"]["name"], "Alice");
    assert!(
        top["author"]["handle"]
            .as_str()
            .unwrap()
            .starts_with("@alice@"),
        "{top:#}"
    );
    let html = top["content_html"].as_str().unwrap();
    assert!(
        html.contains("First!") && !html.contains("script"),
        "{html}"
    );
    assert_eq!(top["url"], format!("{}/@alice/1", peer.base_url));
    assert_eq!(top["replies"][0]["content_text"], "Nested");
    assert_eq!(list[1]["content_text"], "Second");
    assert_eq!(body["reactions"]["likes"]["count"], 1);
    assert_eq!(body["reactions"]["reposts"]["count"], 1);
    assert_eq!(body["reactions"]["likes"]["authors"][0]["name"], "Alice");

    // Edited, then the like and boost undone, then the reply deleted.
    let mut edited = note(&peer, 2, &url, "Second, edited");
    edited["updated"] = json!("2026-12-01T11:00:00Z");
    deliver(&app, &peer, &activity(&peer, "Update", 2, edited)).await;
    let like = activity(&peer, "Like", 1, json!(id));
    deliver(&app, &peer, &activity(&peer, "Undo", 1, like)).await;
    let boost_id = activity(&peer, "Announce", 1, json!(id))["id"].clone();
    deliver(&app, &peer, &activity(&peer, "Undo", 2, boost_id)).await;
    let body = comments(&app, &url).await;
    assert_eq!(body["comments"][1]["content_text"], "Second, edited");
    assert_eq!(body["reactions"]["likes"]["count"], 0);
    assert_eq!(body["reactions"]["reposts"]["count"], 0);

    let tombstone = json!({"id": first, "type": "Tombstone"});
    deliver(&app, &peer, &activity(&peer, "Delete", 1, tombstone)).await;
    let body = comments(&app, &url).await;
    let texts: Vec<&str> = body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content_text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["Second, edited", "Nested"],
        "the orphan stays, at the top"
    );
}

#[tokio::test]
async fn only_the_author_changes_a_reply_and_private_or_foreign_notes_are_ignored() {
    let app = app_with(&[]).await;
    let alice = FakeFediverse::start().await;
    let mallory = FakeFediverse::start().await;
    let (url, id) = publish(&app).await;
    deliver(
        &app,
        &alice,
        &activity(&alice, "Create", 1, note(&alice, 1, &id, "Hi")),
    )
    .await;
    let first = note(&alice, 1, &id, "")["id"].clone();

    // Another server's actor edits or deletes alice's note: nothing changes.
    let mut forged = note(&alice, 1, &id, "Forged");
    forged["attributedTo"] = json!(mallory.actor_id());
    deliver(&app, &mallory, &activity(&mallory, "Update", 1, forged)).await;
    deliver(
        &app,
        &mallory,
        &activity(&mallory, "Delete", 1, first.clone()),
    )
    .await;
    // A note on another host than its actor's, a followers-only note, a
    // reply to someone else's post: none becomes a comment.
    deliver(
        &app,
        &mallory,
        &activity(&mallory, "Create", 2, note(&alice, 9, &id, "Spoof")),
    )
    .await;
    let mut private = note(&alice, 2, &id, "Private");
    private["to"] = json!([format!("{}/users/alice/followers", alice.base_url)]);
    private["cc"] = json!([]);
    deliver(&app, &alice, &activity(&alice, "Create", 2, private)).await;
    let elsewhere = note(&alice, 3, "https://other.example/notes/1", "Elsewhere");
    deliver(&app, &alice, &activity(&alice, "Create", 3, elsewhere)).await;
    // Unlisted notes are left out unless threads include them.
    let mut unlisted = note(&alice, 4, &id, "Unlisted");
    unlisted["to"] = json!([format!("{}/users/alice/followers", alice.base_url)]);
    unlisted["cc"] = json!([PUBLIC]);
    deliver(&app, &alice, &activity(&alice, "Create", 4, unlisted)).await;

    let body = comments(&app, &url).await;
    let texts: Vec<&str> = body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["content_text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["Hi"], "{body:#}");

    // A webmention naming the note as its source does not re-judge it.
    app.send_webmention(first.as_str().unwrap(), &url).await;
    drain(&app).await;
    assert_eq!(comments(&app, &url).await["comment_count"], 1);
}

#[tokio::test]
async fn manual_moderation_holds_fediverse_replies_and_hidden_accounts_are_hidden() {
    let app = app_with(&[("BACKFEED_MODERATION", "manual")]).await;
    let peer = FakeFediverse::start().await;
    let (url, id) = publish(&app).await;
    deliver(
        &app,
        &peer,
        &activity(&peer, "Create", 1, note(&peer, 1, &id, "Hold me")),
    )
    .await;
    assert_eq!(comments(&app, &url).await["comment_count"], 0, "pending");

    let mentions = app
        .app
        .store
        .query_mentions(&backfeed::storage::MentionQuery {
            visible_only: false,
            ..Default::default()
        })
        .await
        .unwrap();
    let id = mentions[0].id;
    app.app
        .store
        .set_moderation(
            id,
            backfeed::domain::mention::Moderation::Approved,
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    app.app.changes.bump();
    assert_eq!(comments(&app, &url).await["comment_count"], 1, "approved");

    let handle = comments(&app, &url).await["comments"][0]["author"]["handle"]
        .as_str()
        .unwrap()
        .to_owned();
    app.app.threads.hide_account(&handle).await.unwrap();
    assert_eq!(
        comments(&app, &url).await["comment_count"],
        0,
        "hidden account"
    );
}

#[tokio::test]
async fn posts_are_served_at_their_ids_and_in_the_outbox_and_410_once_deleted() {
    let app = app_with(&[]).await;
    let (url, id) = publish(&app).await;
    let path = id.strip_prefix(&app.address).unwrap().to_owned();

    let object = get_as(&app, &path).await;
    assert_eq!(object["id"], id);
    assert_eq!(object["type"], "Article");
    assert_eq!(object["url"], url);
    let response = app
        .http
        .get(&id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/activity+json"
    );
    assert_eq!(response.headers()["vary"], "Accept");

    // A browser is sent to the post's page.
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = browser
        .get(&id)
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection());
    assert_eq!(response.headers()["location"], url.as_str());

    let outbox = get_as(&app, "/ap/outbox").await;
    assert_eq!(outbox["totalItems"], 1);
    let page = get_as(&app, "/ap/outbox?page=1").await;
    assert_eq!(page["orderedItems"][0]["type"], "Create");
    assert_eq!(page["orderedItems"][0]["object"]["id"], id);

    let federation = app.app.federation.as_ref().unwrap();
    let gone = OutgoingPost {
        url: url::Url::parse(&url).unwrap(),
        title: None,
        summary: None,
        content: None,
        published: time::OffsetDateTime::now_utc(),
        updated: None,
        tags: Vec::new(),
        image: None,
    };
    federation
        .federate(PostChange::Delete, &gone)
        .await
        .unwrap();
    let response = app
        .http
        .get(&id)
        .header("accept", "application/activity+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 410);
    let tombstone: Value = response.json().await.unwrap();
    assert_eq!(tombstone["type"], "Tombstone");
    assert_eq!(get_as(&app, "/ap/outbox").await["totalItems"], 0);
    let unknown = app.get("/ap/posts/aHR0cHM6Ly9ub3BlLmV4YW1wbGUv").await;
    assert_eq!(unknown.status(), 404);
}
