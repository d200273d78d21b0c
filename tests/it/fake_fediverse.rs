//! A fake fediverse server on loopback: one actor, `alice`, whose key is the
//! fixed test key (`tests/fixtures/activitypub/test-key.pem`). It serves the
//! actor document (counting fetches), records what reaches its inboxes, and
//! sends signed activities to backfeed's inbox. Its signatures are made with
//! backfeed's own signer, which the openssl vectors pin down; the Fedify
//! scenario (`fedify.rs`) is the independent peer.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use backfeed::activitypub::KeyPair;
use backfeed::protocol::http_signature;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

pub const KEY_PEM: &str = include_str!("../fixtures/activitypub/test-key.pem");
pub const PUBLIC_PEM: &str = include_str!("../fixtures/activitypub/test-key.pub.pem");

/// One request that reached an inbox.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Delivered {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON delivery")
    }
}

#[derive(Default)]
struct Seen {
    delivered: Vec<Delivered>,
    actor_fetches: usize,
    /// Status the inboxes answer (default 202).
    inbox_status: Option<StatusCode>,
}

#[derive(Clone)]
struct Shared {
    base: String,
    seen: Arc<Mutex<Seen>>,
}

pub struct FakeFediverse {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    key: KeyPair,
    seen: Arc<Mutex<Seen>>,
    server: tokio::task::AbortHandle,
}

impl Drop for FakeFediverse {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeFediverse {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = Shared {
            base: base_url.clone(),
            seen: Arc::clone(&seen),
        };
        let app = Router::new()
            .route("/users/alice", get(actor))
            .route("/users/alice/inbox", post(inbox))
            .route("/inbox", post(inbox))
            .with_state(shared);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url,
            key: KeyPair::from_pkcs8_pem(KEY_PEM).unwrap(),
            seen,
            server: server.abort_handle(),
        }
    }

    pub fn actor_id(&self) -> String {
        format!("{}/users/alice", self.base_url)
    }

    pub fn key_id(&self) -> String {
        format!("{}#main-key", self.actor_id())
    }

    pub fn delivered(&self) -> Vec<Delivered> {
        self.seen.lock().unwrap().delivered.clone()
    }

    pub fn actor_fetches(&self) -> usize {
        self.seen.lock().unwrap().actor_fetches
    }

    pub fn answer_inbox_with(&self, status: StatusCode) {
        self.seen.lock().unwrap().inbox_status = Some(status);
    }

    /// A `Follow` of `target` by alice.
    pub fn follow(&self, target: &str) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/1", self.base_url),
            "type": "Follow",
            "actor": self.actor_id(),
            "object": target,
        })
    }

    /// The headers of a POST of `body` to `url`, signed by alice with `date`
    /// and `host` as given (the host backfeed is configured with).
    pub fn sign_post(
        &self,
        url: &str,
        host: &str,
        date: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        self.sign_post_as(&self.key_id(), url, host, date, body)
    }

    pub fn sign_post_as(
        &self,
        key_id: &str,
        url: &str,
        host: &str,
        date: &str,
        body: &[u8],
    ) -> Vec<(String, String)> {
        let url = url::Url::parse(url).unwrap();
        let digest = http_signature::digest_header(body);
        let headers = [
            ("host", host),
            ("date", date),
            ("digest", digest.as_str()),
            ("content-type", "application/activity+json"),
        ];
        let string = http_signature::outgoing_signing_string("POST", url.path(), &headers);
        let signature = http_signature::signature_header(
            key_id,
            &headers,
            &self.key.sign_base64(string.as_bytes()),
        );
        vec![
            ("date".into(), date.into()),
            ("digest".into(), digest.clone()),
            ("content-type".into(), "application/activity+json".into()),
            ("signature".into(), signature),
        ]
    }
}

async fn actor(State(shared): State<Shared>) -> impl IntoResponse {
    shared.seen.lock().unwrap().actor_fetches += 1;
    let id = format!("{}/users/alice", shared.base);
    (
        [("content-type", "application/activity+json")],
        json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": "alice",
            "name": "Alice",
            "inbox": format!("{id}/inbox"),
            "endpoints": {"sharedInbox": format!("{}/inbox", shared.base)},
            "icon": {"type": "Image", "url": format!("{}/alice.png", shared.base)},
            "url": format!("{}/@alice", shared.base),
            "publicKey": {"id": format!("{id}#main-key"), "owner": id, "publicKeyPem": PUBLIC_PEM},
        })
        .to_string(),
    )
}

async fn inbox(
    State(shared): State<Shared>,
    uri: http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let mut seen = shared.seen.lock().unwrap();
    seen.delivered.push(Delivered {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    seen.inbox_status.unwrap_or(StatusCode::ACCEPTED)
}
