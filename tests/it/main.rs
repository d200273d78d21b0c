//! The one integration-test binary: the service driven over real HTTP on
//! loopback, with a fake Mastodon and fake blog pages, never the network.

mod fake_blog;
mod fake_fediverse;
mod fake_mastodon;
mod helpers;
mod process;

mod activitypub;
mod activitypub_conversations;
mod admin_browser;
mod admin_pages;
mod aliases;
mod announce_rate;
mod browser;
mod check;
mod cli;
mod comments;
mod concurrency;
mod deep_thread;
mod disk_full;
mod durability;
mod dynamodb;
mod fedify;
mod hostile_sources;
mod image_privacy;
mod jobs;
mod lambda;
mod lookup;
mod mastodon_failures;
mod mastodon_login;
mod mentions_api;
mod mf2_suite;
mod migrate;
mod moderation;
mod moderation_bypasses;
mod openapi;
mod openwhisk;
mod operations;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_tls;
mod publish;
mod read_api_compat;
mod read_api_limits;
mod real_readers;
mod real_senders;
mod s3;
mod scheduled;
mod schemathesis;
mod server_limits;
mod status_privacy;
mod storage;
mod support_cargo_lambda;
mod support_install;
mod support_npm;
#[cfg(feature = "postgres")]
mod support_postgres;
mod support_s3;
mod support_s3s_fs;
mod thread_freshness;
mod verification_fairness;
mod webhooks;
mod webmention;
