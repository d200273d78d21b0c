//! Where settings come from: defaults, then an optional TOML file, then the
//! environment, then command-line overrides (later wins).
//!
//! Every setting has one dotted key (its TOML path) and the environment
//! variables that set it, listed once in [`SETTINGS`]. Raw values stay strings
//! here, tagged with their source so that an invalid one can be reported as
//! "`fetch.timeout` from BACKFEED_FETCH_TIMEOUT". Typing happens in `mod.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use super::ConfigError;

/// One setting: its TOML key and the environment variables that set it
/// (the first one present wins).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    pub key: &'static str,
    pub env: &'static [&'static str],
}

macro_rules! settings {
    ($($key:literal => [$($env:literal),*]),* $(,)?) => {
        &[$(Setting { key: $key, env: &[$($env),*] }),*]
    };
}

/// Every setting backfeed understands. `config/example.toml` documents each.
pub const SETTINGS: &[Setting] = settings![
    "listen" => ["BACKFEED_LISTEN"],
    "port" => ["PORT"],
    "database_url" => ["DATABASE_URL"],
    "database.name" => ["DATABASE_NAME"],
    "database.host" => ["DATABASE_HOST"],
    "database.user" => ["DATABASE_USER"],
    "database.password" => ["DATABASE_PASSWORD"],
    "database.port" => ["DATABASE_PORT"],
    "database.sslmode" => ["DATABASE_SSLMODE", "PGSSLMODE"],
    "database.sslrootcert" => ["DATABASE_SSLROOTCERT", "PGSSLROOTCERT"],
    "version" => ["VERSION"],
    "public_url" => ["BACKFEED_PUBLIC_URL"],
    "activitypub.enabled" => ["BACKFEED_ACTIVITYPUB"],
    "activitypub.actor" => ["BACKFEED_ACTOR"],
    "activitypub.name" => ["BACKFEED_ACTOR_NAME"],
    "activitypub.summary" => ["BACKFEED_ACTOR_SUMMARY"],
    "activitypub.icon" => ["BACKFEED_ACTOR_ICON"],
    "activitypub.header" => ["BACKFEED_ACTOR_HEADER"],
    "activitypub.blog_url" => ["BACKFEED_ACTOR_URL"],
    "activitypub.handle_domain" => ["BACKFEED_ACTOR_DOMAIN"],
    "activitypub.links" => ["BACKFEED_ACTOR_LINKS"],
    "activitypub.discoverable" => ["BACKFEED_ACTOR_DISCOVERABLE"],
    "activitypub.indexable" => ["BACKFEED_ACTOR_INDEXABLE"],
    "activitypub.object" => ["BACKFEED_ACTIVITYPUB_OBJECT"],
    "activitypub.show_followers" => ["BACKFEED_ACTIVITYPUB_SHOW_FOLLOWERS"],
    "mastodon.host" => ["MASTODON_HOST"],
    "mastodon.user" => ["MASTODON_USER"],
    "mastodon.token" => ["MASTODON_OAUTH_TOKEN"],
    "mastodon.visibility" => ["BACKFEED_MASTODON_VISIBILITY"],
    "mastodon.timeout" => ["BACKFEED_MASTODON_TIMEOUT"],
    "mastodon.announce_rate" => ["BACKFEED_ANNOUNCE_RATE"],
    "blog.post_pattern" => ["BLOG_POST_PATTERN"],
    "blog.postfix" => ["BLOG_POST_POSTFIX"],
    "blog.title_pattern" => ["BLOG_TITLE_PATTERN"],
    "http.cors_origins" => ["BACKFEED_CORS_ORIGINS"],
    "http.platform_cors" => ["BACKFEED_PLATFORM_CORS"],
    "fetch.allow_private_addresses" => ["BACKFEED_ALLOW_PRIVATE_ADDRESSES"],
    "fetch.connect_timeout" => ["BACKFEED_FETCH_CONNECT_TIMEOUT"],
    "fetch.timeout" => ["BACKFEED_FETCH_TIMEOUT"],
    "fetch.max_body_bytes" => ["BACKFEED_FETCH_MAX_BODY_BYTES"],
    "fetch.max_redirects" => ["BACKFEED_FETCH_MAX_REDIRECTS"],
    "log.level" => ["BACKFEED_LOG", "RUST_LOG"],
    "log.format" => ["BACKFEED_LOG_FORMAT"],
    "admin.token" => ["BACKFEED_ADMIN_TOKEN"],
    "read.tokens" => ["BACKFEED_READ_TOKENS"],
    "threads.ttl" => ["BACKFEED_THREAD_TTL"],
    "threads.max_ttl" => ["BACKFEED_THREAD_MAX_TTL"],
    "threads.refresh_inline" => ["BACKFEED_THREAD_REFRESH_INLINE"],
    "threads.include_unlisted" => ["BACKFEED_THREAD_INCLUDE_UNLISTED"],
    "image_proxy.enabled" => ["BACKFEED_IMAGE_PROXY"],
    "image_proxy.max_bytes" => ["BACKFEED_IMAGE_PROXY_MAX_BYTES"],
    "webhook.url" => ["BACKFEED_WEBHOOK_URL"],
    "webhook.secret" => ["BACKFEED_WEBHOOK_SECRET"],
    "webhook.format" => ["BACKFEED_WEBHOOK_FORMAT"],
    "webmention.sites" => ["BACKFEED_SITES"],
    "webmention.moderation" => ["BACKFEED_MODERATION"],
    "webmention.blocked_domains" => ["BACKFEED_BLOCKED_DOMAINS"],
    "webmention.allowed_domains" => ["BACKFEED_ALLOWED_DOMAINS"],
    "webmention.retry_delays" => ["BACKFEED_VERIFY_RETRY_DELAYS"],
    "webmention.verify_inline" => ["BACKFEED_VERIFY_INLINE"],
    "webmention.verify_first_timeout" => ["BACKFEED_VERIFY_FIRST_TIMEOUT"],
    "webmention.verify_per_domain" => ["BACKFEED_VERIFY_PER_DOMAIN"],
    "webmention.rate_limit" => ["BACKFEED_RATE_LIMIT"],
    "http.trust_x_forwarded_for" => ["BACKFEED_TRUST_X_FORWARDED_FOR"],
    "http.request_timeout" => ["BACKFEED_REQUEST_TIMEOUT"],
    "http.body_timeout" => ["BACKFEED_BODY_TIMEOUT"],
    "server.header_read_timeout" => ["BACKFEED_HEADER_READ_TIMEOUT"],
    "server.idle_timeout" => ["BACKFEED_IDLE_TIMEOUT"],
    "server.max_connections" => ["BACKFEED_MAX_CONNECTIONS"],
    "server.shutdown_grace" => ["BACKFEED_SHUTDOWN_GRACE"],
    "publish.feeds" => ["BACKFEED_FEEDS"],
    "publish.feed_interval" => ["BACKFEED_FEED_INTERVAL"],
    "publish.announce_on_view" => ["BACKFEED_ANNOUNCE_ON_VIEW"],
];

/// Where a raw value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(String),
    Env(&'static str),
    CommandLine,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "config file {path}"),
            Self::Env(var) => write!(f, "environment variable {var}"),
            Self::CommandLine => f.write_str("the command line"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RawValue {
    pub value: String,
    pub source: Source,
}

/// The merged raw settings, keyed by dotted key.
#[derive(Debug, Default)]
pub struct RawSettings(BTreeMap<&'static str, RawValue>);

impl RawSettings {
    pub fn get(&self, key: &str) -> Option<&RawValue> {
        self.0.get(key)
    }

    /// Reads a TOML file; unknown keys are an error (they are typos).
    pub fn overlay_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::ReadFile {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::ParseFile {
                    path: shown.clone(),
                    reason: e.message().to_owned(),
                })?;
        let mut flat = Vec::new();
        flatten("", &table, &mut flat);
        for (key, value) in flat {
            let setting = setting(&key).ok_or_else(|| ConfigError::UnknownKey {
                key: key.clone(),
                path: shown.clone(),
            })?;
            self.0.insert(
                setting.key,
                RawValue {
                    value,
                    source: Source::File(shown.clone()),
                },
            );
        }
        Ok(())
    }

    /// Overlays environment variables; empty values count as unset, as a
    /// blank `FOO=` line in an env file usually means "not set".
    pub fn overlay_env(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        for setting in SETTINGS {
            let found = setting
                .env
                .iter()
                .find_map(|var| env(var).filter(|v| !v.trim().is_empty()).map(|v| (*var, v)));
            if let Some((var, value)) = found {
                self.0.insert(
                    setting.key,
                    RawValue {
                        value,
                        source: Source::Env(var),
                    },
                );
            }
        }
    }

    /// Command-line flags override everything else.
    pub fn overlay_command_line(&mut self, key: &'static str, value: Option<String>) {
        if let Some(value) = value {
            self.0.insert(
                key,
                RawValue {
                    value,
                    source: Source::CommandLine,
                },
            );
        }
    }
}

pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

/// Flattens nested tables into dotted keys; arrays become comma-separated
/// strings so that they parse like their environment-variable form.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, String)>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => flatten(&key, inner, out),
            other => out.push((key, scalar_text(other))),
        }
    }
}

fn scalar_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
