//! backfeed: announces blog posts on Mastodon and brings the conversation home.
//!
//! The library holds everything; `main.rs` is a thin CLI over it.
//! [`App::build`] is the one place where concrete backends are chosen from the
//! configuration; everything below it receives what it needs explicitly.

pub mod activitypub;
pub mod announce;
pub mod changes;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod domain;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod images;
pub mod jobs;
pub mod migrate;
pub mod protocol;
pub mod publish;
pub mod runtime;
pub mod signing;
pub mod storage;
pub mod telemetry;
pub mod threads;
pub mod webmention;

use std::sync::Arc;

use announce::Announcer;
use changes::Changes;
use clients::http::{FetchError, HttpClient};
use clients::mastodon::MastodonClient;
use clock::Clock;
use config::Config;
use storage::{Store, StoreError};
use threads::Threads;
use webmention::Receiver;

/// Everything a request or a command needs, built once from the config.
pub struct App {
    pub config: Config,
    /// The one source of "now" (see [`clock`]).
    pub clock: Clock,
    pub store: Arc<dyn Store>,
    /// `None` when Mastodon is not configured.
    pub announcer: Option<Arc<Announcer>>,
    /// `None` when no sites are configured.
    pub receiver: Option<Arc<Receiver>>,
    pub threads: Arc<Threads>,
    /// The one durable job queue, and the wake-up of this process's workers.
    pub queue: jobs::Queue,
    /// Bumped by anything that changes what a comment thread shows.
    pub changes: Changes,
    pub metrics: http::Metrics,
    pub rate_limits: http::RateLimits,
    /// Rendered read-API answers.
    pub responses: http::ResponseCache,
    /// `None` unless ActivityPub is on: the blog's own fediverse account.
    pub federation: Option<Arc<activitypub::Federation>>,
    /// Signs status and image-proxy URLs with the store's key.
    pub signer: Arc<signing::UrlSigner>,
    /// The image proxy, and how thread answers write image URLs.
    pub images: Arc<images::Images>,
    /// Sending webmentions and what this process sent (`publish`).
    pub publisher: publish::Publisher,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] FetchError),
}

impl App {
    /// Opens the store (running migrations) and builds the clients.
    pub async fn build(config: Config) -> Result<Arc<Self>, BuildError> {
        Self::build_with_clock(config, Clock::system()).await
    }

    /// [`App::build`] with a given clock (tests pass a manual one).
    pub async fn build_with_clock(config: Config, clock: Clock) -> Result<Arc<Self>, BuildError> {
        let store = storage::open(&config.database, &clock).await?;
        Self::with_store(config, store, clock)
    }

    /// Builds the app around a store that is already open.
    pub fn with_store(
        config: Config,
        store: Arc<dyn Store>,
        clock: Clock,
    ) -> Result<Arc<Self>, BuildError> {
        let changes = Changes::default();
        let queue = jobs::Queue::new(Arc::clone(&store), clock.clone());
        let signer = Arc::new(signing::UrlSigner::new(Arc::clone(&store), clock.clone()));
        let mastodon = match &config.announce {
            Some(announce) => Some(Arc::new(MastodonClient::new(
                &announce.mastodon,
                &config.fetch,
                clock.clone(),
            )?)),
            None => None,
        };
        let announcer = match (&config.announce, &mastodon) {
            (Some(announce), Some(mastodon)) => Some(Arc::new(Announcer::new(
                announce.clone(),
                Arc::clone(mastodon),
                HttpClient::new(config.fetch.clone())?,
                Arc::clone(&store),
                clock.clone(),
            ))),
            _ => None,
        };
        let receiver = match &config.webmention {
            Some(webmention) => Some(Arc::new(Receiver::new(
                webmention.clone(),
                Arc::clone(&store),
                queue.clone(),
                &config.fetch,
                changes.clone(),
                Arc::clone(&signer),
                clock.clone(),
            )?)),
            None => None,
        };
        let images = Arc::new(images::Images::new(
            config.image_proxy,
            &config.fetch,
            Arc::clone(&signer),
        )?);
        let mut threads = Threads::new(
            Arc::clone(&store),
            queue.clone(),
            mastodon,
            announcer.clone(),
            config.threads,
            changes.clone(),
            clock.clone(),
        );
        if let Some(ap) = &config.activitypub {
            threads = threads.with_fediverse(ap.handle(), activitypub::Urls::new(ap));
        }
        let threads = Arc::new(threads);
        let publisher = publish::Publisher::new(HttpClient::new(config.fetch.clone())?);
        let rate_limits = http::RateLimits::new(
            config.webmention.as_ref().and_then(|w| w.rate_limit),
            &clock,
        );
        let responses = http::ResponseCache::new(changes.clone(), clock.clone());
        let federation = match &config.activitypub {
            Some(ap) => Some(Arc::new(activitypub::Federation::new(
                ap.clone(),
                &config.fetch,
                Arc::clone(&store),
                queue.clone(),
                activitypub::conversation::ConversationRules {
                    manual: config
                        .webmention
                        .as_ref()
                        .is_some_and(|w| w.moderation == config::ModerationMode::Manual),
                    allowed: config
                        .webmention
                        .as_ref()
                        .map(|w| w.allowed_domains.clone())
                        .unwrap_or_default(),
                    blocked: config
                        .webmention
                        .as_ref()
                        .map(|w| w.blocked_domains.clone())
                        .unwrap_or_default(),
                    include_unlisted: config.threads.include_unlisted,
                },
                changes.clone(),
                clock.clone(),
            )?)),
            None => None,
        };
        Ok(Arc::new(Self {
            config,
            clock,
            store,
            announcer,
            receiver,
            threads,
            queue,
            changes: changes.clone(),
            metrics: http::Metrics::install(),
            rate_limits,
            responses,
            federation,
            signer,
            images,
            publisher,
        }))
    }

    pub fn router(self: &Arc<Self>) -> axum::Router {
        http::router(Arc::clone(self))
    }
}
