//! Outbound adapters: the one hardened HTTP client and the clients built on it.

pub mod http;
pub mod mastodon;
