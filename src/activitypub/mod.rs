//! The blog as its own fediverse account (issue 12): one ActivityPub actor
//! served by backfeed itself, with no Mastodon server and no token.
//!
//! `keys.rs` holds the actor's key pair (in the store); `urls.rs` mints
//! every id from the configured public URL; `documents.rs` renders
//! WebFinger, NodeInfo, the actor and its collections; `verify.rs` checks
//! an inbox request's HTTP Signature; `remote.rs` fetches other actors
//! (signed GETs through the hardened client, cached); `inbox.rs` accepts
//! activities onto the job queue and `process.rs` handles them there;
//! `deliver.rs` signs and POSTs our activities (Accept, Create…) as jobs.
//!
//! Invariant: ids, the `host` and the request target an inbox signature is
//! checked against all come from the configuration, never from the
//! request; nothing from a remote server is acted on before its signature
//! verified with a key its actor owns.

pub mod conversation;
pub mod deliver;
pub mod documents;
pub mod inbox;
pub mod keys;
pub mod operator;
pub mod process;
pub mod publish;
pub mod remote;
pub mod urls;
pub mod verify;

use std::sync::Arc;

use tokio::sync::OnceCell;

use crate::changes::Changes;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::clock::Clock;
use crate::config::ActivityPubConfig;
use crate::jobs::Queue;
use crate::storage::{Store, StoreError};

pub use inbox::InboxError;
pub use keys::KeyPair;
pub use urls::Urls;

/// The actor's use cases, built once when ActivityPub is on.
pub struct Federation {
    pub config: ActivityPubConfig,
    pub urls: Urls,
    store: Arc<dyn Store>,
    queue: Queue,
    clock: Clock,
    client: HttpClient,
    key: OnceCell<Arc<KeyPair>>,
    actors: remote::ActorCache,
    limits: inbox::ServerLimits,
    rules: conversation::ConversationRules,
    changes: Changes,
    deliveries: deliver::DeliverySlots,
}

impl Federation {
    pub fn new(
        config: ActivityPubConfig,
        fetch: &FetchPolicy,
        store: Arc<dyn Store>,
        queue: Queue,
        rules: conversation::ConversationRules,
        changes: Changes,
        clock: Clock,
    ) -> Result<Self, FetchError> {
        Ok(Self {
            urls: Urls::new(&config),
            client: HttpClient::new(fetch.clone())?,
            actors: remote::ActorCache::new(clock.clone()),
            limits: inbox::ServerLimits::new(&clock),
            config,
            rules,
            changes,
            deliveries: deliver::DeliverySlots::default(),
            store,
            queue,
            clock,
            key: OnceCell::new(),
        })
    }

    /// The actor's key pair: read from the store (made and stored on the
    /// very first use), then kept for the process's life.
    pub async fn key(&self) -> Result<Arc<KeyPair>, StoreError> {
        self.key
            .get_or_try_init(|| async {
                KeyPair::load_or_create(&*self.store, self.clock.now())
                    .await
                    .map(Arc::new)
            })
            .await
            .cloned()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}
