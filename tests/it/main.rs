//! The one integration-test binary: the service driven over real HTTP on
//! loopback, with a fake Mastodon and fake blog pages, never the network.

mod fake_blog;
mod fake_mastodon;
mod helpers;
mod process;

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
mod durability;
mod dynamodb;
mod hostile_sources;
mod jobs;
mod lambda;
mod lookup;
mod mastodon_failures;
mod mastodon_login;
mod mentions_api;
mod mf2_suite;
mod migrate;
mod moderation;
mod openwhisk;
mod operations;
mod postgres;
mod read_api_compat;
mod read_api_limits;
mod real_readers;
mod real_senders;
mod s3;
mod scheduled;
mod server_limits;
mod storage;
mod support_cargo_lambda;
mod support_install;
mod support_npm;
mod support_postgres;
mod support_s3;
mod webhooks;
mod webmention;
