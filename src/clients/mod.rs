//! Outbound adapters: the one hardened HTTP client and the clients built on
//! it (Mastodon, the webmention sender).

pub mod http;
pub mod mastodon;
pub mod tls;
pub mod webmention;
