//! Typed configuration, parsed once at start-up and passed explicitly.
//!
//! Invariant: after [`Config::load`] succeeds, every value is valid and typed;
//! nothing else in the program reads the environment or a config file. An
//! invalid or missing setting stops start-up with a message naming its TOML
//! key and its environment variable. Environment alone is enough (serverless).

mod activitypub;
mod database_url;
mod sources;
mod threads;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::clients::http::FetchPolicy;
use crate::domain::job::RetryPolicy;
use crate::domain::webmention::{DomainList, Sites};
use crate::domain::{TitlePattern, Visibility};

pub use activitypub::{ActivityPubConfig, ObjectType, ProfileLink};
pub use database_url::DatabaseUrl;
pub use sources::{SETTINGS, Setting};
pub use threads::ThreadsConfig;
pub use values::{
    CorsOrigins, LogFormat, MastodonBase, ModerationMode, PostPattern, RateLimit, Secret,
    WebhookFormat,
};

use sources::RawSettings;
use values::Reader;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    ReadFile { path: String, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    ParseFile { path: String, reason: String },
    #[error("config file {path} has an unknown setting `{key}` (see config/example.toml)")]
    UnknownKey { key: String, path: String },
    #[error("invalid setting `{key}` (environment variable {env}) from {origin}: {reason}")]
    Invalid {
        key: &'static str,
        env: &'static str,
        origin: String,
        reason: String,
    },
    #[error("missing setting `{key}` (environment variable {env}): {reason}")]
    Missing {
        key: &'static str,
        env: &'static str,
        reason: String,
    },
}

/// Values given on the command line, which override file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<String>,
    /// What `http.platform_cors` is when nothing sets it (on under
    /// OpenWhisk, whose platform adds CORS headers itself).
    pub platform_cors_default: bool,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: DatabaseUrl,
    /// Reported by `GET /status` as `rev`.
    pub version: String,
    /// Where readers and other sites reach this service (for `backfeed
    /// check`, and the admin cookie's `Secure`); `None` when not said.
    pub public_url: Option<url::Url>,
    /// `None` unless `BACKFEED_ACTIVITYPUB=true`: the blog's own fediverse
    /// account is then off.
    pub activitypub: Option<ActivityPubConfig>,
    /// `None` when Mastodon is not configured: announcing is then off.
    pub announce: Option<AnnounceConfig>,
    pub threads: ThreadsConfig,
    /// Images in comment threads, served through `GET /img` or not.
    pub image_proxy: ImageProxyConfig,
    /// `None` when no sites are configured: receiving webmentions is then off.
    pub webmention: Option<WebmentionConfig>,
    /// Reading the blog's feeds: announcing and sending webmentions.
    pub publish: PublishConfig,
    pub cors_origins: CorsOrigins,
    /// The platform in front adds the CORS headers (OpenWhisk web actions):
    /// backfeed adds none, so no answer carries them twice.
    pub platform_cors: bool,
    /// Take the client address from the last `X-Forwarded-For` entry (only
    /// behind a proxy that sets it; clients can forge the header otherwise).
    pub trust_x_forwarded_for: bool,
    /// Every request is answered within this (the Router's own limit, in
    /// every runtime): a JSON 503 when the handler takes longer.
    pub request_timeout: Duration,
    /// A request body must have arrived within this of the head: 408 if not.
    pub body_timeout: Duration,
    /// The socket server's limits on connections (`backfeed serve` only).
    pub server: ServerConfig,
    /// Bearer token for the admin API; `None` turns the admin API off.
    pub admin_token: Option<Secret>,
    /// Tokens that list mentions through the read API without a `target`
    /// (webmention.io's `token`); the admin token works too.
    pub read_tokens: Vec<Secret>,
    pub fetch: FetchPolicy,
    pub log_level: String,
    pub log_format: LogFormat,
}

/// Everything needed to announce posts on Mastodon.
#[derive(Debug, Clone)]
pub struct AnnounceConfig {
    pub mastodon: MastodonConfig,
    pub post_pattern: PostPattern,
    pub postfix: Option<String>,
    pub title_pattern: Option<TitlePattern>,
    /// New toots per process (a bucket of `requests`, refilled over `per`);
    /// `None` is no limit.
    pub announce_rate: Option<RateLimit>,
    /// `GET /?url=` and `/api/comments` announce a post not announced yet
    /// (the seed's behaviour); `false` makes them look up only, for sites
    /// that announce from their feed (`backfeed publish`).
    pub announce_on_view: bool,
}

/// Publishing from the blog's feeds (`backfeed publish`, the poller).
#[derive(Debug, Clone, Default)]
pub struct PublishConfig {
    /// The blog's feeds (RSS, Atom, JSON Feed); `backfeed check` reads them
    /// too.
    pub feeds: Vec<url::Url>,
    /// How often `serve` and scheduled runs read the feeds; `None` is never.
    pub feed_interval: Option<Duration>,
}

/// The image proxy (`images/`): readers' browsers load the images of a
/// comment thread from backfeed, never from servers strangers chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageProxyConfig {
    /// On: every image URL in `GET /api/comments` points at `GET /img`.
    /// Off: images are linked directly, and plain-http ones are dropped.
    pub enabled: bool,
    /// The largest image the proxy fetches and serves.
    pub max_bytes: usize,
}

impl Default for ImageProxyConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            max_bytes: 2 * 1024 * 1024,
        }
    }
}

/// How the socket server treats connections, so that slow or idle clients
/// cannot hold it (or its shutdown) forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerConfig {
    /// A request head must be complete within this: counted from the
    /// connection's start, or on a kept-alive connection from the first byte
    /// of the next request.
    pub header_read_timeout: Duration,
    /// A kept-alive connection may wait this long for its next request.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// After SIGTERM, how long in-flight requests may still take before the
    /// process exits anyway.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Receiving webmentions.
#[derive(Debug, Clone)]
pub struct WebmentionConfig {
    pub sites: Sites,
    pub moderation: ModerationMode,
    pub blocked_domains: DomainList,
    /// Domains whose verified mentions are approved even in manual mode.
    pub allowed_domains: DomainList,
    pub retry: RetryPolicy,
    /// Per client address and per source domain, on `POST /webmention`.
    pub rate_limit: Option<RateLimit>,
    /// Where to announce new, updated and deleted mentions.
    pub webhook: Option<WebhookConfig>,
    /// Verify a new mention within the `POST /webmention` request (for
    /// runtimes that freeze after the response) instead of only in the
    /// background.
    pub verify_inline: bool,
    /// The time limit of a verification's first fetch (at most the fetch
    /// timeout); retries get the whole fetch timeout. A source that hangs
    /// holds a worker this long, an honest slow one is verified on retry.
    pub first_attempt_timeout: Duration,
    /// Verifications of one source host fetching at once, per process;
    /// the others wait their turn without spending an attempt.
    pub per_domain: usize,
}

/// A first attempt gets 5 s, the spec's example limit (Webmention §4.2).
const DEFAULT_FIRST_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Two of the four workers at most for one source host.
const DEFAULT_PER_DOMAIN: usize = 2;

#[derive(Debug, Clone)]
pub struct WebhookConfig {
    pub url: url::Url,
    /// Key of the `X-Backfeed-Signature` HMAC-SHA256 (and, in
    /// webmention.io's format, the body's `secret`).
    pub secret: Secret,
    pub format: WebhookFormat,
}

#[derive(Debug, Clone)]
pub struct MastodonConfig {
    pub base: MastodonBase,
    pub user: String,
    pub token: Secret,
    pub visibility: Visibility,
    pub timeout: Duration,
}

impl Config {
    /// Loads defaults, then `file` when given, then `env`, then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: Overrides,
    ) -> Result<Self, ConfigError> {
        let mut raw = RawSettings::default();
        if let Some(path) = file {
            raw.overlay_file(path)?;
        }
        raw.overlay_env(env);
        raw.overlay_command_line("listen", overrides.listen);
        let mut config = Self::from_raw(&Reader::new(&raw))?;
        if raw.get("http.platform_cors").is_none() {
            config.platform_cors = overrides.platform_cors_default;
        }
        Ok(config)
    }

    /// Loads from the process environment.
    pub fn from_process_env(
        file: Option<&Path>,
        overrides: Overrides,
    ) -> Result<Self, ConfigError> {
        Self::load(file, &|var| std::env::var(var).ok(), overrides)
    }

    fn from_raw(r: &Reader<'_>) -> Result<Self, ConfigError> {
        let defaults = FetchPolicy::default();
        let public_url = r.parsed("public_url", values::parse_http_url)?;
        let webmention = webmention_config(r)?;
        let first_site = webmention
            .as_ref()
            .and_then(|w| w.sites.bases().first().cloned());
        Ok(Self {
            listen: listen_address(r)?,
            database: database_url(r)?,
            version: r
                .text("version")
                .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            activitypub: activitypub::activitypub_config(
                r,
                public_url.as_ref(),
                first_site.as_ref(),
            )?,
            public_url,
            announce: announce_config(r)?,
            webmention,
            image_proxy: image_proxy_config(r)?,
            publish: PublishConfig {
                feeds: r
                    .parsed("publish.feeds", values::parse_http_urls)?
                    .unwrap_or_default(),
                feed_interval: r
                    .parsed("publish.feed_interval", values::parse_interval)?
                    .unwrap_or(Some(DEFAULT_FEED_INTERVAL)),
            },
            threads: threads::threads_config(r)?,
            request_timeout: r
                .parsed("http.request_timeout", values::parse_duration)?
                .unwrap_or(Duration::from_secs(60)),
            body_timeout: r
                .parsed("http.body_timeout", values::parse_duration)?
                .unwrap_or(Duration::from_secs(30)),
            server: server_config(r)?,
            admin_token: r.parsed("admin.token", values::parse_admin_token)?,
            read_tokens: r
                .parsed("read.tokens", values::parse_read_tokens)?
                .unwrap_or_default(),
            trust_x_forwarded_for: r
                .parsed("http.trust_x_forwarded_for", values::parse_bool)?
                .unwrap_or(false),
            cors_origins: r
                .parsed("http.cors_origins", CorsOrigins::parse)?
                .unwrap_or_default(),
            platform_cors: r
                .parsed("http.platform_cors", values::parse_bool)?
                .unwrap_or(false),
            fetch: FetchPolicy {
                allow_private_addresses: r
                    .parsed("fetch.allow_private_addresses", values::parse_bool)?
                    .unwrap_or(defaults.allow_private_addresses),
                connect_timeout: r
                    .parsed("fetch.connect_timeout", values::parse_duration)?
                    .unwrap_or(defaults.connect_timeout),
                total_timeout: r
                    .parsed("fetch.timeout", values::parse_duration)?
                    .unwrap_or(defaults.total_timeout),
                max_body_bytes: r
                    .parsed("fetch.max_body_bytes", values::parse_positive)?
                    .unwrap_or(defaults.max_body_bytes),
                max_redirects: r
                    .parsed("fetch.max_redirects", values::parse_count)?
                    .unwrap_or(defaults.max_redirects),
                ..defaults
            },
            log_level: r.text("log.level").unwrap_or_else(|| "info".to_owned()),
            log_format: r
                .parsed("log.format", LogFormat::parse)?
                .unwrap_or_default(),
        })
    }

    /// Plain sentences naming the features that are off and why; logged once
    /// at start-up.
    pub fn disabled_features(&self) -> Vec<String> {
        let mut off = Vec::new();
        if self.webmention.is_none() {
            off.push(
                "receiving webmentions is off: set BACKFEED_SITES to your site's base URL(s) to turn it on"
                    .to_owned(),
            );
        }
        if self.admin_token.is_none() {
            off.push("the admin API is off: set BACKFEED_ADMIN_TOKEN to turn it on".to_owned());
        }
        if self.announce.is_none() {
            off.push(
                "announcing posts on Mastodon is off: set MASTODON_HOST, MASTODON_USER, \
                 MASTODON_OAUTH_TOKEN and BLOG_POST_PATTERN to turn it on"
                    .to_owned(),
            );
        }
        off
    }
}

fn image_proxy_config(r: &Reader<'_>) -> Result<ImageProxyConfig, ConfigError> {
    let defaults = ImageProxyConfig::default();
    Ok(ImageProxyConfig {
        enabled: r
            .parsed("image_proxy.enabled", values::parse_bool)?
            .unwrap_or(defaults.enabled),
        max_bytes: r
            .parsed("image_proxy.max_bytes", values::parse_positive)?
            .unwrap_or(defaults.max_bytes),
    })
}

fn server_config(r: &Reader<'_>) -> Result<ServerConfig, ConfigError> {
    let defaults = ServerConfig::default();
    Ok(ServerConfig {
        header_read_timeout: r
            .parsed("server.header_read_timeout", values::parse_duration)?
            .unwrap_or(defaults.header_read_timeout),
        idle_timeout: r
            .parsed("server.idle_timeout", values::parse_duration)?
            .unwrap_or(defaults.idle_timeout),
        max_connections: r
            .parsed("server.max_connections", values::parse_positive)?
            .unwrap_or(defaults.max_connections),
        shutdown_grace: r
            .parsed("server.shutdown_grace", values::parse_duration)?
            .unwrap_or(defaults.shutdown_grace),
    })
}

/// `DATABASE_URL`; else the seed's `DATABASE_NAME`/`HOST`/`USER`/`PASSWORD`/
/// `PORT` select PostgreSQL; else a SQLite file in the working directory.
fn database_url(r: &Reader<'_>) -> Result<DatabaseUrl, ConfigError> {
    let url = postgres_or_other_url(r)?;
    // libpq's rule: a parameter in the URL wins over its variable.
    let url = match r.parsed("database.sslmode", database_url::parse_sslmode)? {
        Some(mode) => url.with_default_parameter("sslmode", &mode),
        None => url,
    };
    Ok(match r.text("database.sslrootcert") {
        Some(root) => url.with_default_parameter("sslrootcert", &root),
        None => url,
    })
}

fn postgres_or_other_url(r: &Reader<'_>) -> Result<DatabaseUrl, ConfigError> {
    if let Some(url) = r.parsed("database_url", DatabaseUrl::parse)? {
        return Ok(url);
    }
    if r.text("database.host").is_none() && r.text("database.name").is_none() {
        return Ok(DatabaseUrl::Sqlite(PathBuf::from("backfeed.db")));
    }
    let why = "needed for PostgreSQL, because other DATABASE_* settings are set";
    let name = r.required("database.name", why, |v| Ok(v.trim().to_owned()))?;
    let (user, password, port) = (
        r.text("database.user"),
        r.text("database.password"),
        r.text("database.port"),
    );
    r.required("database.host", why, |host| {
        database_url::postgres_url_from_parts(
            &name,
            host,
            user.as_deref(),
            password.as_deref(),
            port.as_deref(),
        )
    })
}

/// `--listen` / `BACKFEED_LISTEN`, else `PORT` (all interfaces, as container
/// platforms that set `PORT` expect), else 127.0.0.1:8080.
fn listen_address(r: &Reader<'_>) -> Result<SocketAddr, ConfigError> {
    if let Some(addr) = r.parsed("listen", values::parse_socket_addr)? {
        return Ok(addr);
    }
    if let Some(port) = r.parsed("port", |v| {
        v.trim().parse::<u16>().map_err(|e| e.to_string())
    })? {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    Ok(SocketAddr::from(([127, 0, 0, 1], 8080)))
}

/// Ten new toots at once, then one every six minutes: more than a blog
/// publishes, few enough that abuse stays small and visible.
const DEFAULT_ANNOUNCE_RATE: RateLimit = RateLimit {
    requests: 10,
    per: Duration::from_secs(3600),
};

/// Feeds are read every quarter of an hour: a new post is announced and
/// its webmentions sent soon after a deploy, at one request per feed (a
/// 304) when nothing changed.
const DEFAULT_FEED_INTERVAL: Duration = Duration::from_secs(900);

/// Announcing needs the Mastodon host, user and token and the post pattern.
/// None of them set: off. Some set: a configuration mistake, named.
fn announce_config(r: &Reader<'_>) -> Result<Option<AnnounceConfig>, ConfigError> {
    const REQUIRED: [&str; 4] = [
        "mastodon.host",
        "mastodon.user",
        "mastodon.token",
        "blog.post_pattern",
    ];
    if REQUIRED.iter().all(|key| r.text(key).is_none()) {
        return Ok(None);
    }
    let why = "needed to announce posts, because other Mastodon settings are set";
    let mastodon = MastodonConfig {
        base: r.required("mastodon.host", why, MastodonBase::parse)?,
        user: r.required("mastodon.user", why, |v| {
            Ok(v.trim().trim_start_matches('@').to_owned())
        })?,
        token: r.required("mastodon.token", why, |v| Ok(Secret::new(v.trim())))?,
        visibility: r
            .parsed("mastodon.visibility", |v| v.parse())?
            .unwrap_or_default(),
        timeout: r
            .parsed("mastodon.timeout", values::parse_duration)?
            .unwrap_or(Duration::from_secs(20)),
    };
    Ok(Some(AnnounceConfig {
        mastodon,
        post_pattern: r.required("blog.post_pattern", why, PostPattern::parse)?,
        postfix: r.text("blog.postfix"),
        title_pattern: r.parsed("blog.title_pattern", |v| {
            TitlePattern::new(v).map_err(|e| e.to_string())
        })?,
        announce_rate: r
            .parsed("mastodon.announce_rate", values::parse_rate_limit)?
            .unwrap_or(Some(DEFAULT_ANNOUNCE_RATE)),
        announce_on_view: r
            .parsed("publish.announce_on_view", values::parse_bool)?
            .unwrap_or(true),
    }))
}

fn webmention_config(r: &Reader<'_>) -> Result<Option<WebmentionConfig>, ConfigError> {
    let Some(sites) = r.parsed("webmention.sites", values::parse_sites)? else {
        return Ok(None);
    };
    Ok(Some(WebmentionConfig {
        sites,
        moderation: r
            .parsed("webmention.moderation", ModerationMode::parse)?
            .unwrap_or_default(),
        blocked_domains: r
            .parsed("webmention.blocked_domains", values::parse_domains)?
            .unwrap_or_default(),
        allowed_domains: r
            .parsed("webmention.allowed_domains", values::parse_domains)?
            .unwrap_or_default(),
        retry: r
            .parsed("webmention.retry_delays", values::parse_retry_delays)?
            .unwrap_or_else(RetryPolicy::patient),
        rate_limit: r
            .parsed("webmention.rate_limit", values::parse_rate_limit)?
            .unwrap_or(Some(RateLimit::default())),
        webhook: webhook_config(r)?,
        verify_inline: r
            .parsed("webmention.verify_inline", values::parse_bool)?
            .unwrap_or(false),
        first_attempt_timeout: r
            .parsed("webmention.verify_first_timeout", values::parse_duration)?
            .unwrap_or(DEFAULT_FIRST_ATTEMPT_TIMEOUT),
        per_domain: r
            .parsed("webmention.verify_per_domain", values::parse_positive)?
            .unwrap_or(DEFAULT_PER_DOMAIN),
    }))
}

fn webhook_config(r: &Reader<'_>) -> Result<Option<WebhookConfig>, ConfigError> {
    let Some(url) = r.parsed("webhook.url", values::parse_http_url)? else {
        return Ok(None);
    };
    let secret = r.required(
        "webhook.secret",
        "needed to sign webhook deliveries, because a webhook URL is set",
        values::parse_admin_token,
    )?;
    let format = r
        .parsed("webhook.format", WebhookFormat::parse)?
        .unwrap_or_default();
    Ok(Some(WebhookConfig {
        url,
        secret,
        format,
    }))
}

#[cfg(test)]
mod tests;
