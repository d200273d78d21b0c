//! The project's one hardened outbound HTTP client (DESIGN principle 8).
//!
//! Every fetch of a URL someone else gave us (blog pages, webmention sources)
//! and every call to the operator's Mastodon goes through [`HttpClient`].
//! Invariant: each request carries the policy's User-Agent, ends within
//! `total_timeout` (body included), keeps at most `max_body_bytes` of body,
//! follows at most `max_redirects` redirects and only to http(s), goes
//! through no proxy, and, unless `allow_private_addresses`, never connects to
//! an address [`is_forbidden_address`] refuses, whether it came from DNS, an
//! IP literal, or a redirect.

mod address_guard;
mod error;
mod redirect;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use url::Url;

pub use address_guard::is_forbidden_address;
pub use error::FetchError;

use address_guard::{GuardedResolver, check_literal_host};

/// Limits applied to every request of an [`HttpClient`].
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Time allowed to open the TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request, redirects and body included.
    pub total_timeout: Duration,
    /// Largest body kept; a larger one fails with [`FetchError::TooLarge`].
    pub max_body_bytes: usize,
    /// Most redirects followed for one request.
    pub max_redirects: usize,
    /// Allow loopback, private, link-local… addresses (for operator-configured hosts).
    pub allow_private_addresses: bool,
    /// Sent as the User-Agent header of every request.
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            total_timeout: Duration::from_secs(10),
            max_body_bytes: 1_048_576,
            max_redirects: 10,
            allow_private_addresses: false,
            user_agent: format!(
                "backfeed/{} (+https://github.com/backfeed/backfeed)",
                env!("CARGO_PKG_VERSION")
            ),
        }
    }
}

/// A response whose body has been read in full, within the policy's limits.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub status: http::StatusCode,
    /// The URL after following redirects.
    pub final_url: Url,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Fetched {
    /// The body as text, with invalid UTF-8 replaced by U+FFFD.
    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The media type of the body, lower-cased and without parameters
    /// (`text/html; charset=UTF-8` gives `text/html`).
    pub fn content_type(&self) -> Option<String> {
        let value = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        let essence = value.split(';').next().unwrap_or_default().trim();
        (!essence.is_empty()).then(|| essence.to_ascii_lowercase())
    }
}

/// The hardened client. Cloning is cheap and shares the connection pool.
#[derive(Clone, Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: Arc<FetchPolicy>,
}

impl HttpClient {
    /// A client enforcing `policy` on every request. Fails only if reqwest
    /// cannot set up its TLS configuration.
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        Self::with_builder(policy, |builder| builder)
    }

    /// Builds the client, letting tests adjust the reqwest builder (to pin a
    /// host name to a loopback server) without weakening the public API.
    fn with_builder(
        policy: FetchPolicy,
        adjust: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<Self, FetchError> {
        let allow_private = policy.allow_private_addresses;
        super::tls::install_crypto_provider();
        let builder = reqwest::Client::builder()
            .user_agent(policy.user_agent.as_str())
            .connect_timeout(policy.connect_timeout)
            .redirect(redirect::policy(policy.max_redirects, allow_private))
            // Used even when private addresses are allowed, so DNS failures
            // are reported the same way in both modes.
            .dns_resolver(GuardedResolver::new(allow_private))
            // An environment proxy would resolve names for us, past the guard.
            .no_proxy();
        let client = adjust(builder).build().map_err(|error| {
            FetchError::Other(format!(
                "could not build the HTTP client: {}",
                error::describe_chain(&error)
            ))
        })?;
        let policy = Arc::new(policy);
        Ok(Self { client, policy })
    }

    /// The limits this client enforces.
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// GET `url` with the given Accept header value, following redirects.
    pub async fn get(&self, url: &Url, accept: &str) -> Result<Fetched, FetchError> {
        let request = self
            .request(reqwest::Method::GET, url.clone())
            .header(ACCEPT, accept);
        self.execute(request).await
    }

    /// Start a request of any method (for API clients that need headers or
    /// form bodies); send it with [`HttpClient::execute`].
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Send a request with every guard applied: the first URL's scheme and
    /// literal address are checked here, the rest by the resolver and the
    /// redirect policy; the whole exchange is bounded by `total_timeout` and
    /// the body by `max_body_bytes`. The request is always sent by this
    /// client, even if the builder came from another one.
    pub async fn execute(&self, request: reqwest::RequestBuilder) -> Result<Fetched, FetchError> {
        let request = request.build().map_err(|error| self.build_error(&error))?;
        check_first_url(request.url(), self.policy.allow_private_addresses)?;
        let total = self.policy.total_timeout;
        // One deadline over sending, redirects and reading the body, so a
        // server dribbling bytes cannot keep us busy forever.
        match tokio::time::timeout(total, self.send(request)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout { after: total }),
        }
    }

    /// reqwest refuses some schemes (`file:`) while building; report those
    /// like the ones we refuse ourselves.
    fn build_error(&self, error: &reqwest::Error) -> FetchError {
        match error.url().map(|url| check_first_url(url, true)) {
            Some(Err(invalid)) => invalid,
            _ => error::from_reqwest(error, &self.policy),
        }
    }

    async fn send(&self, request: reqwest::Request) -> Result<Fetched, FetchError> {
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|error| error::from_reqwest(&error, &self.policy))?;
        let status = response.status();
        let final_url = response.url().clone();
        let headers = response.headers().clone();
        let body = self.read_capped(response).await?;
        Ok(Fetched {
            status,
            final_url,
            headers,
            body,
        })
    }

    /// Reads the body chunk by chunk, stopping as soon as it passes the cap,
    /// so an endless body costs at most the cap plus one chunk.
    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Bytes, FetchError> {
        let limit = self.policy.max_body_bytes;
        let too_large = || FetchError::TooLarge { limit };
        // `content_length` is the declared length; refuse before reading any of it.
        if response
            .content_length()
            .is_some_and(|declared| declared > u64::try_from(limit).unwrap_or(u64::MAX))
        {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| error::from_reqwest(&error, &self.policy))?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}

fn is_fetchable_scheme(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https")
}

/// The checks reqwest cannot do for us on the first URL: the scheme (reqwest
/// would report it as a generic builder error) and IP literals (which never
/// reach the resolver).
fn check_first_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if !is_fetchable_scheme(url) {
        return Err(FetchError::InvalidUrl(format!(
            "{url} (only http and https URLs are fetched)"
        )));
    }
    if url.host().is_none() {
        return Err(FetchError::InvalidUrl(format!("{url} (it has no host)")));
    }
    if !allow_private {
        check_literal_host(url)?;
    }
    Ok(())
}
