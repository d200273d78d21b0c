//! The blog as a fediverse account, over real HTTP on loopback: discovery
//! documents, the inbox's signature checks, Follow → Accept and Undo, with
//! `fake_fediverse` as the other server. Jobs are run by the test itself
//! (an app without workers), so nothing waits on time.

use std::collections::HashMap;

use backfeed::activitypub::documents::ACTIVITY_JSON;
use backfeed::protocol::http_signature::{self, Request};
use rsa::pkcs8::DecodePublicKey;
use serde_json::{Value, json};

use crate::fake_fediverse::FakeFediverse;
use crate::helpers::{TestApp, spawn_app_without_workers};

pub(crate) fn ap_env(env: &mut HashMap<String, String>) {
    env.insert("BACKFEED_ACTIVITYPUB".into(), "true".into());
    env.insert("BACKFEED_PUBLIC_URL".into(), "{address}/".into());
    env.insert("BACKFEED_ACTOR_NAME".into(), "Test Blog".into());
}

pub(crate) async fn ap_app() -> TestApp {
    spawn_app_without_workers(ap_env).await
}

pub(crate) fn host_of(address: &str) -> String {
    address.trim_start_matches("http://").to_owned()
}

pub(crate) fn now_date() -> String {
    httpdate::fmt_http_date(std::time::SystemTime::now())
}

/// Runs every due job; returns how many ran.
pub(crate) async fn drain(app: &TestApp) -> usize {
    let mut ran = 0;
    while backfeed::jobs::run_one(&app.app).await.unwrap().is_some() {
        ran += 1;
    }
    ran
}

pub(crate) async fn post_signed(
    app: &TestApp,
    path: &str,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> reqwest::Response {
    let mut request = app
        .http
        .post(format!("{}{path}", app.address))
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

pub(crate) async fn send(
    app: &TestApp,
    peer: &FakeFediverse,
    activity: &Value,
) -> reqwest::Response {
    let body = activity.to_string().into_bytes();
    let url = format!("{}/ap/inbox", app.address);
    let headers = peer.sign_post(&url, &host_of(&app.address), &now_date(), &body);
    post_signed(app, "/ap/inbox", headers, &body).await
}

#[tokio::test]
async fn webfinger_finds_the_actor_by_handle_and_url_with_cors() {
    let app = ap_app().await;
    let handle = format!("acct:blog@{}", host_of(&app.address));
    let encoded: String = url::form_urlencoded::byte_serialize(handle.as_bytes()).collect();
    let response = app
        .http
        .get(format!(
            "{}/.well-known/webfinger?resource={encoded}",
            app.address
        ))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/jrd+json");
    let jrd: Value = response.json().await.unwrap();
    assert_eq!(jrd["subject"], handle);
    let actor = format!("{}/ap/actor", app.address);
    assert_eq!(jrd["links"][0]["href"], actor);

    let unknown = app
        .http
        .get(format!(
            "{}/.well-known/webfinger?resource=acct:nobody@x.example",
            app.address
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["access-control-allow-origin"], "*");
    let missing = app
        .http
        .get(format!("{}/.well-known/webfinger", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
}

#[tokio::test]
async fn the_actor_nodeinfo_and_collections_are_served_as_activitystreams() {
    let app = ap_app().await;
    let actor: Value = get_as(&app, "/ap/actor").await;
    assert_eq!(actor["type"], "Person");
    assert_eq!(actor["name"], "Test Blog");
    assert_eq!(actor["inbox"], format!("{}/ap/inbox", app.address));
    let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
    rsa::PublicKey::from_public_key_pem(pem).expect("an SPKI RSA key");
    // The same key on every request (it is in the store).
    let again: Value = get_as(&app, "/ap/actor").await;
    assert_eq!(again["publicKey"], actor["publicKey"]);

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/ap/actor", app.address))
        .header("accept", "text/html,application/xhtml+xml")
        .send()
        .await
        .unwrap();
    assert!(browser.status().is_redirection());
    assert_eq!(browser.headers()["vary"], "Accept");

    let links: Value = get_as(&app, "/.well-known/nodeinfo").await;
    let href = links["links"][0]["href"].as_str().unwrap().to_owned();
    let nodeinfo: Value = app
        .http
        .get(href)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(nodeinfo["version"], "2.1");
    assert_eq!(nodeinfo["protocols"][0], "activitypub");
    assert_eq!(nodeinfo["usage"]["users"]["total"], 1);

    let followers: Value = get_as(&app, "/ap/followers").await;
    assert_eq!(followers["totalItems"], 0);
    assert!(followers.get("first").is_none(), "ids hidden by default");
    let outbox: Value = get_as(&app, "/ap/outbox?page=1").await;
    assert_eq!(outbox["type"], "OrderedCollectionPage");
}

pub(crate) async fn get_as(app: &TestApp, path: &str) -> Value {
    let response = app
        .http
        .get(format!("{}{path}", app.address))
        .header("accept", ACTIVITY_JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_follow_is_stored_and_answered_with_a_signed_accept() {
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let actor_id = format!("{}/ap/actor", app.address);
    let follow = peer.follow(&actor_id);
    let response = send(&app, &peer, &follow).await;
    assert_eq!(response.status(), 202);
    drain(&app).await;

    let follower = app
        .app
        .store
        .find_follower(&peer.actor_id())
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(
        follower.delivery_inbox(),
        format!("{}/inbox", peer.base_url)
    );

    let delivered = peer.delivered();
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    let accept = &delivered[0];
    assert_eq!(accept.path, "/users/alice/inbox", "the personal inbox");
    let body = accept.json();
    assert_eq!(body["type"], "Accept");
    assert_eq!(body["actor"], actor_id);
    assert_eq!(body["object"], follow, "the Follow as received");

    // The Accept verifies with the key our actor publishes.
    let actor: Value = get_as(&app, "/ap/actor").await;
    let key =
        rsa::PublicKey::from_public_key_pem(actor["publicKey"]["publicKeyPem"].as_str().unwrap())
            .unwrap();
    let header = accept.headers["signature"].to_str().unwrap();
    let params = http_signature::parse(header).unwrap();
    assert_eq!(params.key_id, format!("{actor_id}#main-key"));
    http_signature::check_coverage(&params, "post").unwrap();
    http_signature::check_digest(accept.headers["digest"].to_str().unwrap(), &accept.body).unwrap();
    let host = host_of(&peer.base_url);
    let lookup = |name: &str| match name {
        "host" => Some(host.clone()),
        other => accept
            .headers
            .get(other)
            .map(|v| v.to_str().unwrap().to_owned()),
    };
    let string = http_signature::signing_string(
        &params,
        &Request {
            method: "post",
            target: "/users/alice/inbox",
            header: &lookup,
        },
    )
    .unwrap();
    http_signature::verify_rsa(&key, &string, &params.signature).unwrap();

    let followers: Value = get_as(&app, "/ap/followers").await;
    assert_eq!(followers["totalItems"], 1);

    // Undo(Follow) removes the follower.
    let undo = json!({
        "id": format!("{}/undo/1", peer.base_url), "type": "Undo",
        "actor": peer.actor_id(), "object": follow,
    });
    assert_eq!(send(&app, &peer, &undo).await.status(), 202);
    drain(&app).await;
    assert!(
        app.app
            .store
            .find_follower(&peer.actor_id())
            .await
            .unwrap()
            .is_none()
    );
}

/// Each refusal answers 401 and leaves no job and no follower behind.
async fn assert_refused(app: &TestApp, peer: &FakeFediverse, response: reqwest::Response) {
    assert_eq!(response.status(), 401);
    assert_eq!(drain(app).await, 0, "nothing was queued");
    assert!(app.app.store.list_followers().await.unwrap().is_empty());
    assert!(peer.delivered().is_empty());
}

#[tokio::test]
async fn tampered_foreign_replayed_and_unverifiable_rfc9421_requests_are_refused() {
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let follow = peer.follow(&format!("{}/ap/actor", app.address));
    let body = follow.to_string().into_bytes();
    let url = format!("{}/ap/inbox", app.address);
    let host = host_of(&app.address);

    // Tampered: the body changed after signing (and the digest with it).
    let mut tampered_body = body.clone();
    tampered_body.extend_from_slice(b" ");
    let mut headers = peer.sign_post(&url, &host, &now_date(), &body);
    for (name, value) in &mut headers {
        if name == "digest" {
            *value = http_signature::digest_header(&tampered_body);
        }
    }
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/ap/inbox", headers, &tampered_body).await,
    )
    .await;

    // Tampered: one signature byte flipped.
    let mut headers = peer.sign_post(&url, &host, &now_date(), &body);
    for (name, value) in &mut headers {
        if name == "signature" {
            let start = value.find("signature=\"").unwrap() + 11;
            let flipped = if &value[start..=start] == "A" {
                "B"
            } else {
                "A"
            };
            value.replace_range(start..=start, flipped);
        }
    }
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/ap/inbox", headers, &body).await,
    )
    .await;

    // Wrong key owner: signed by alice, claiming to be bob.
    let mut as_bob = follow.clone();
    as_bob["actor"] = json!(format!("{}/users/bob", peer.base_url));
    let bob_body = as_bob.to_string().into_bytes();
    let headers = peer.sign_post(&url, &host, &now_date(), &bob_body);
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/ap/inbox", headers, &bob_body).await,
    )
    .await;

    // Replayed: a correct signature from 13 hours ago.
    let old = httpdate::fmt_http_date(
        std::time::SystemTime::now() - std::time::Duration::from_secs(13 * 3600),
    );
    let headers = peer.sign_post(&url, &host, &old, &body);
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/ap/inbox", headers, &body).await,
    )
    .await;

    // Signed for another host (what a proxy's rewritten Host would give).
    let headers = peer.sign_post(&url, "127.0.0.1:1", &now_date(), &body);
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/ap/inbox", headers, &body).await,
    )
    .await;

    // An RFC 9421 signature we cannot verify: 401, so such senders fall
    // back to draft-cavage (a valid one is verified: `fedify.rs`, and the
    // fixed vector in `activitypub::verify`).
    let headers = vec![
        (
            "signature-input".to_owned(),
            "sig1=(\"@method\" \"@target-uri\");created=1;keyid=\"k\"".to_owned(),
        ),
        ("signature".to_owned(), "sig1=:AAAA:".to_owned()),
        (
            "content-type".to_owned(),
            "application/activity+json".to_owned(),
        ),
    ];
    let response = post_signed(&app, "/ap/inbox", headers, &body).await;
    assert_eq!(response.status(), 401);
    let text = response.text().await.unwrap();
    assert!(text.contains("content-digest"), "{text}");

    // Unsigned.
    assert_refused(
        &app,
        &peer,
        post_signed(&app, "/inbox", vec![], &body).await,
    )
    .await;

    // And the genuine request still works afterwards.
    let headers = peer.sign_post(&url, &host, &now_date(), &body);
    assert_eq!(
        post_signed(&app, "/ap/inbox", headers, &body)
            .await
            .status(),
        202
    );
}

#[tokio::test]
async fn signatures_are_checked_against_the_configured_host_not_the_incoming_one() {
    // Behind a proxy: the public URL names another host than the one the
    // request reaches.
    let app = spawn_app_without_workers(|env| {
        ap_env(env);
        env.insert(
            "BACKFEED_PUBLIC_URL".into(),
            "https://comments.example/".into(),
        );
    })
    .await;
    let peer = FakeFediverse::start().await;
    let follow = peer.follow("https://comments.example/ap/actor");
    let body = follow.to_string().into_bytes();
    let headers = peer.sign_post(
        "https://comments.example/inbox",
        "comments.example",
        &now_date(),
        &body,
    );
    assert_eq!(
        post_signed(&app, "/inbox", headers, &body).await.status(),
        202
    );
}

#[tokio::test]
async fn a_deleted_stranger_is_accepted_without_fetching_anything() {
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let delete = json!({
        "id": format!("{}/users/alice#delete", peer.base_url), "type": "Delete",
        "actor": peer.actor_id(), "object": peer.actor_id(),
    });
    // Not even signed: there is nothing to do, so nothing is checked.
    let body = delete.to_string();
    let response = app
        .http
        .post(format!("{}/ap/inbox", app.address))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(peer.actor_fetches(), 0);
    assert_eq!(drain(&app).await, 0);
}

#[tokio::test]
async fn activitypub_routes_are_absent_when_off() {
    let app = spawn_app_without_workers(|_| {}).await;
    for path in ["/.well-known/webfinger?resource=acct:blog@x", "/ap/actor"] {
        let response = app
            .http
            .get(format!("{}{path}", app.address))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn posts_reach_each_follower_server_once_and_a_gone_server_is_dropped() {
    use backfeed::activitypub::publish::{OutgoingPost, PostChange};
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let follow = peer.follow(&format!("{}/ap/actor", app.address));
    assert_eq!(send(&app, &peer, &follow).await.status(), 202);
    drain(&app).await;
    let federation = app.app.federation.as_ref().unwrap();
    let post = OutgoingPost {
        url: url::Url::parse("https://blog.example/posts/a/").unwrap(),
        title: Some("A".into()),
        summary: Some("About A".into()),
        content: None,
        published: time::OffsetDateTime::now_utc(),
        updated: None,
        tags: Vec::new(),
        image: None,
    };
    assert_eq!(
        federation
            .federate(PostChange::Create, &post)
            .await
            .unwrap(),
        1
    );
    drain(&app).await;
    let create = peer.delivered().pop().unwrap();
    assert_eq!(create.path, "/inbox", "the shared inbox");
    assert_eq!(create.json()["type"], "Create");
    assert_eq!(create.json()["object"]["type"], "Article");

    peer.answer_inbox_with(http::StatusCode::GONE);
    assert_eq!(
        federation
            .federate(PostChange::Delete, &post)
            .await
            .unwrap(),
        1
    );
    drain(&app).await;
    assert!(
        app.app.store.list_followers().await.unwrap().is_empty(),
        "410: dropped"
    );
    assert_eq!(
        federation
            .federate(PostChange::Update, &post)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn forged_requests_naming_a_server_do_not_use_up_its_rate() {
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let follow = peer.follow(&format!("{}/ap/actor", app.address));
    let body = follow.to_string().into_bytes();
    let url = format!("{}/ap/inbox", app.address);
    let mut headers = peer.sign_post(&url, &host_of(&app.address), &now_date(), &body);
    for (name, value) in &mut headers {
        if name == "signature" {
            *value = value.replace("signature=\"", "signature=\"AAAA");
        }
    }
    for _ in 0..400 {
        let forged = post_signed(&app, "/ap/inbox", headers.clone(), &body).await;
        assert_eq!(forged.status(), 401);
    }
    assert_eq!(
        send(&app, &peer, &follow).await.status(),
        202,
        "the real actor is heard"
    );
}

#[tokio::test]
async fn activities_arriving_together_from_a_new_actor_fetch_it_once() {
    let app = ap_app().await;
    let peer = FakeFediverse::start().await;
    let sends = (0..12).map(|n| {
        let like = json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/likes/{n}", peer.base_url),
            "type": "Like",
            "actor": peer.actor_id(),
            "object": format!("{}/ap/posts/none", app.address),
        });
        let (app, peer) = (&app, &peer);
        async move { send(app, peer, &like).await.status() }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    assert_eq!(peer.actor_fetches(), 1, "one fetch, shared");
}

#[tokio::test]
async fn the_admin_api_lists_and_removes_followers_and_says_404_when_off() {
    let app = spawn_app_without_workers(|env| {
        ap_env(env);
        env.insert("BACKFEED_ADMIN_TOKEN".into(), "a-test-admin-token".into());
    })
    .await;
    let peer = FakeFediverse::start().await;
    let follow = peer.follow(&format!("{}/ap/actor", app.address));
    assert_eq!(send(&app, &peer, &follow).await.status(), 202);
    drain(&app).await;
    let admin = |method: reqwest::Method, path: &str| {
        app.http
            .request(method, format!("{}{path}", app.address))
            .bearer_auth("a-test-admin-token")
    };
    let listed: Value = admin(reqwest::Method::GET, "/admin/followers")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["followers"][0]["actor"], peer.actor_id());
    let removed = admin(reqwest::Method::DELETE, "/admin/followers")
        .query(&[("actor", peer.actor_id())])
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 200);
    assert!(app.app.store.list_followers().await.unwrap().is_empty());
    let again = admin(reqwest::Method::DELETE, "/admin/followers")
        .query(&[("actor", peer.actor_id())])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 404, "not a follower");

    let off = crate::helpers::spawn_app_with(|env| {
        env.insert("BACKFEED_ADMIN_TOKEN".into(), "a-test-admin-token".into());
    })
    .await;
    let response = off
        .http
        .get(format!("{}/admin/followers", off.address))
        .bearer_auth("a-test-admin-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("ActivityPub is off"),
        "{body}"
    );
}
