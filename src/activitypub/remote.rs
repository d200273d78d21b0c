//! Other servers' actors and their keys, fetched with signed GETs (servers
//! in authorized-fetch mode refuse unsigned ones, research §2.3) through the
//! one hardened client, and cached on the app's clock.
//!
//! Invariant: a key is only ever used for the actor that owns it: the key's
//! id is listed in the actor document, which was served from the actor
//! id's own origin.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{ACCEPT, DATE, HeaderValue};
use rsa::PublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use serde_json::Value;
use time::OffsetDateTime;
use url::Url;

use super::Federation;
use crate::clients::http::FetchError;
use crate::clock::Clock;
use crate::protocol::http_signature;

/// How long a fetched actor is trusted before it is fetched again.
const TTL: Duration = Duration::from_secs(24 * 3600);
/// Actors kept; past this the cache starts afresh (bounded memory).
const CAPACITY: usize = 10_000;
const ACCEPT_AS: &str = "application/activity+json, application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";

/// What we keep of another actor.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: String,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    /// `publicKey.id`, the key a signature names.
    pub key_id: String,
    pub key: PublicKey,
    pub name: Option<String>,
    pub username: Option<String>,
    pub icon: Option<String>,
    pub url: Option<String>,
}

impl RemoteActor {
    /// `user@host` (`host:port` when the id has a port), for moderation
    /// and display.
    pub fn handle(&self) -> String {
        let host = Url::parse(&self.id)
            .map(|u| host_of(&u).to_ascii_lowercase())
            .unwrap_or_default();
        format!("{}@{host}", self.username.as_deref().unwrap_or("?"))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("fetching {url}: {source}")]
    Fetch { url: String, source: FetchError },
    #[error("{url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not an actor with a usable public key: {why}")]
    NotAnActor { url: String, why: &'static str },
    #[error("the store is unavailable: {0}")]
    Store(#[from] crate::storage::StoreError),
}

impl RemoteError {
    /// A 404 or 410: the actor is gone (a deleted account).
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 404 | 410,
                ..
            }
        )
    }
}

/// Actors by id and by key id.
pub struct ActorCache {
    clock: Clock,
    entries: Mutex<HashMap<String, (Arc<RemoteActor>, OffsetDateTime)>>,
    /// One fetch at a time per key or actor id: activities arriving
    /// together from an actor we do not know wait for the first fetch and
    /// use what it found, instead of each fetching the same document.
    turns: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ActorCache {
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            entries: Mutex::new(HashMap::new()),
            turns: Mutex::new(HashMap::new()),
        }
    }

    /// The lock that orders fetches of `id`.
    fn turn(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut turns = self.turns.lock().unwrap_or_else(|e| e.into_inner());
        if turns.len() >= CAPACITY {
            // Keep only turns someone holds or waits for (bounded memory).
            turns.retain(|_, turn| Arc::strong_count(turn) > 1);
        }
        Arc::clone(turns.entry(id.to_owned()).or_default())
    }

    pub fn get(&self, id: &str) -> Option<Arc<RemoteActor>> {
        let now = self.clock.now();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (actor, at) = entries.get(id)?;
        (now - *at < TTL).then(|| Arc::clone(actor))
    }

    fn put(&self, actor: Arc<RemoteActor>) {
        let now = self.clock.now();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.clear();
        }
        entries.insert(actor.key_id.clone(), (Arc::clone(&actor), now));
        entries.insert(actor.id.clone(), (actor, now));
    }
}

impl Federation {
    /// The actor owning `key_id` (from the cache unless `refresh`).
    pub async fn actor_for_key(
        &self,
        key_id: &str,
        refresh: bool,
    ) -> Result<(Arc<RemoteActor>, bool), RemoteError> {
        if !refresh && let Some(actor) = self.actors.get(key_id) {
            return Ok((actor, true));
        }
        let turn = self.actors.turn(key_id);
        let _held = turn.lock().await;
        if !refresh && let Some(actor) = self.actors.get(key_id) {
            return Ok((actor, true));
        }
        let mut url = Url::parse(key_id).map_err(|_| RemoteError::NotAnActor {
            url: key_id.to_owned(),
            why: "the key id is not a URL",
        })?;
        url.set_fragment(None);
        let doc = self.fetch_json(&url).await?;
        // A key document names its owner; the owner must list the key.
        let actor_doc = if doc.get("inbox").is_none() {
            let owner = text(&doc, "owner").ok_or(RemoteError::NotAnActor {
                url: url.to_string(),
                why: "a key without an owner",
            })?;
            let owner = Url::parse(&owner).map_err(|_| RemoteError::NotAnActor {
                url: url.to_string(),
                why: "the owner is not a URL",
            })?;
            self.fetch_json(&owner).await?
        } else {
            doc
        };
        let actor = Arc::new(parse_actor(&actor_doc, Some(key_id))?);
        self.actors.put(Arc::clone(&actor));
        Ok((actor, false))
    }

    /// The actor `id` (cached).
    pub async fn actor(&self, id: &str) -> Result<Arc<RemoteActor>, RemoteError> {
        if let Some(actor) = self.actors.get(id) {
            return Ok(actor);
        }
        let turn = self.actors.turn(id);
        let _held = turn.lock().await;
        if let Some(actor) = self.actors.get(id) {
            return Ok(actor);
        }
        let url = Url::parse(id).map_err(|_| RemoteError::NotAnActor {
            url: id.to_owned(),
            why: "the id is not a URL",
        })?;
        let doc = self.fetch_json(&url).await?;
        let actor = Arc::new(parse_actor(&doc, None)?);
        self.actors.put(Arc::clone(&actor));
        Ok(actor)
    }

    /// The cached actor `id`, without fetching (actor deletes).
    pub fn cached_actor(&self, id: &str) -> Option<Arc<RemoteActor>> {
        self.actors.get(id)
    }

    /// A signed GET of an ActivityStreams document, whose `id` must be on
    /// the origin it was fetched from.
    async fn fetch_json(&self, url: &Url) -> Result<Value, RemoteError> {
        let key = self.key().await?;
        let date = httpdate::fmt_http_date(self.clock.now().into());
        let host = host_of(url);
        let target = target_of(url);
        let signed = [
            ("host", host.as_str()),
            ("date", date.as_str()),
            ("accept", ACCEPT_AS),
        ];
        let string = http_signature::outgoing_signing_string("GET", &target, &signed);
        let signature = http_signature::signature_header(
            &self.urls.key_id(),
            &signed,
            &key.sign_off_thread(string).await,
        );
        let request = self
            .client
            .request(reqwest::Method::GET, url.clone())
            .header(ACCEPT, ACCEPT_AS)
            .header(DATE, date)
            .header(
                "signature",
                HeaderValue::from_str(&signature).map_err(|_| RemoteError::NotAnActor {
                    url: url.to_string(),
                    why: "unsignable URL",
                })?,
            );
        let fetched = self
            .client
            .execute(request)
            .await
            .map_err(|source| RemoteError::Fetch {
                url: url.to_string(),
                source,
            })?;
        if !fetched.status.is_success() {
            return Err(RemoteError::Status {
                url: url.to_string(),
                status: fetched.status.as_u16(),
            });
        }
        let doc: Value =
            serde_json::from_slice(&fetched.body).map_err(|_| RemoteError::NotAnActor {
                url: url.to_string(),
                why: "not JSON",
            })?;
        let id = text(&doc, "id").unwrap_or_default();
        let same_origin = Url::parse(&id).is_ok_and(|id| {
            id.origin() == fetched.final_url.origin() && id.origin() == url.origin()
        });
        if !same_origin {
            return Err(RemoteError::NotAnActor {
                url: url.to_string(),
                why: "its id is on another origin",
            });
        }
        Ok(doc)
    }
}

/// `host[:port]`, as reqwest sends it in `Host`.
pub fn host_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Path and query, as signed in `(request-target)`.
pub fn target_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

/// A string member, or the `id` of an object member.
pub fn text(doc: &Value, name: &str) -> Option<String> {
    match doc.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Reads an actor document; with `key_id`, that key must be among its keys.
pub fn parse_actor(doc: &Value, key_id: Option<&str>) -> Result<RemoteActor, RemoteError> {
    let id = text(doc, "id").unwrap_or_default();
    let not = |why| RemoteError::NotAnActor {
        url: id.clone(),
        why,
    };
    let inbox = text(doc, "inbox").ok_or_else(|| not("no inbox"))?;
    let keys: Vec<&Value> = match doc.get("publicKey") {
        Some(Value::Array(keys)) => keys.iter().collect(),
        Some(key @ Value::Object(_)) => vec![key],
        _ => Vec::new(),
    };
    let key = keys
        .into_iter()
        .find(|k| key_id.is_none_or(|wanted| k.get("id").and_then(Value::as_str) == Some(wanted)))
        .ok_or_else(|| not("the key is not among the actor's keys"))?;
    if let Some(owner) = text(key, "owner")
        && owner != id
    {
        return Err(not("the key belongs to another actor"));
    }
    let pem = key
        .get("publicKeyPem")
        .and_then(Value::as_str)
        .ok_or_else(|| not("no publicKeyPem"))?;
    let public = PublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| PublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|_| not("the public key is not an RSA key"))?;
    Ok(RemoteActor {
        key_id: text(key, "id").unwrap_or_else(|| format!("{id}#main-key")),
        shared_inbox: doc.get("endpoints").and_then(|e| text(e, "sharedInbox")),
        name: doc.get("name").and_then(Value::as_str).map(str::to_owned),
        username: doc
            .get("preferredUsername")
            .and_then(Value::as_str)
            .map(str::to_owned),
        icon: match doc.get("icon") {
            Some(Value::Object(icon)) => icon.get("url").and_then(Value::as_str).map(str::to_owned),
            Some(Value::String(url)) => Some(url.clone()),
            _ => None,
        },
        url: text(doc, "url"),
        key: public,
        inbox,
        id,
    })
}
