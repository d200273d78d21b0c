//! The one TLS crypto provider: *ring*, for every rustls connection (reqwest,
//! object_store's S3 and credential requests, PostgreSQL).
//!
//! reqwest and object_store would otherwise bring aws-lc-rs, whose C library
//! adds about half a megabyte to the binary for nothing we use: backfeed's
//! RSA keys and signatures are the pure-Rust `rsa` crate's. reqwest is built
//! without a provider of its own (`rustls-no-provider`), so it takes the
//! process default, and panics when there is none: every place that builds
//! a reqwest client calls [`install_crypto_provider`] first.
//!
//! Invariant: nothing builds a reqwest client before this has run.

/// Makes *ring* the process's default rustls provider. Idempotent and
/// cheap; a provider installed earlier (a test's) is left in place.
pub fn install_crypto_provider() {
    // `Err` only when a provider is installed already, which is all we need.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client for the store's own endpoints (S3, DynamoDB; ours to
/// name, not strangers': no proxy, 5 s to connect, 30 s a request), on *ring*.
pub fn store_http_client() -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .no_proxy()
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .build()
}

/// The provider for a connection that builds its own TLS configuration
/// (PostgreSQL's).
#[cfg(feature = "postgres")]
pub fn crypto_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
