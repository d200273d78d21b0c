//! The webmention sender: endpoint discovery and notification (W3C
//! Webmention §3.1.2, §3.1.3), over the one hardened client.
//!
//! Discovery is one GET of the target, following redirects; the endpoint is
//! the first `Link` header with `rel=webmention` (`protocol::link_header`),
//! else, for an HTML page only, the first `<link>`/`<a>`
//! (`protocol::webmention_endpoint`), resolved against the URL the
//! redirects ended at. The final page is never requested again
//! (webmention.rocks 23 serves it once), and no HEAD comes first.
//! Notification is a form POST of `source` and `target` to the endpoint
//! exactly as discovered: its query string stays in the URL (§3.1.2,
//! rocks 21), nothing else goes in the body.
//!
//! Politeness: at most [`PER_HOST`] requests in flight per remote host name
//! in this process, whatever the number of workers.
//!
//! Invariant: every request goes through `HttpClient`, so private and
//! loopback targets and endpoints (§4.3) are refused unless the operator
//! allowed them; nothing here decides what an answer means for the job
//! (`domain::sent::classify_answer` does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::StatusCode;
use reqwest::header::{CONTENT_TYPE, LINK, LOCATION, RETRY_AFTER};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use super::http::{FetchError, Fetched, HttpClient};
use crate::protocol::{link_header, webmention_endpoint};

/// Requests in flight at once per remote host.
pub const PER_HOST: usize = 2;
/// What is kept of an endpoint's answer body for the operator.
const ANSWER_EXCERPT: usize = 500;
/// HTML first: only HTML is searched for `<link>` and `<a>` (§3.1.2).
const ACCEPT_TARGET: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

/// Where the endpoint was advertised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Header,
    Html,
}

/// What discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    Endpoint {
        url: Url,
        via: Via,
    },
    /// The target answered `status` and advertises no endpoint.
    NoEndpoint {
        status: u16,
    },
}

/// An answer that was not a page to search (`status` ≥ 400), or an
/// endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answered {
    pub status: u16,
    /// `Location` (for 201), else the start of the body.
    pub answer: Option<String>,
    pub retry_after: Option<Duration>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("fetching the target failed: {0}")]
    Fetch(#[from] FetchError),
    #[error("the target answered HTTP {}", .0.status)]
    Status(Answered),
    #[error("the target advertises `{href}`, which is no URL: {reason}")]
    BadEndpoint { href: String, reason: String },
}

/// Counts requests in flight per host name.
#[derive(Debug, Default)]
struct HostLimits {
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Above this many hosts, idle ones are forgotten.
const HOSTS_KEPT: usize = 1_024;

impl HostLimits {
    async fn enter(&self, url: &Url) -> OwnedSemaphorePermit {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let semaphore = {
            let mut hosts = self
                .hosts
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if hosts.len() >= HOSTS_KEPT {
                hosts.retain(|_, s| s.available_permits() < PER_HOST);
            }
            Arc::clone(
                hosts
                    .entry(host)
                    .or_insert_with(|| Arc::new(Semaphore::new(PER_HOST))),
            )
        };
        semaphore
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
}

/// The sender. Cloning is cheap and shares the limits.
#[derive(Clone, Debug)]
pub struct Sender {
    client: HttpClient,
    hosts: Arc<HostLimits>,
}

impl Sender {
    pub fn new(client: HttpClient) -> Self {
        Self {
            client,
            hosts: Arc::default(),
        }
    }

    /// GET `url` within the per-host limit (the blog's own pages and
    /// feeds, so publishing is as polite to the blog as to others).
    pub async fn get(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<Fetched, FetchError> {
        let _permit = self.hosts.enter(url).await;
        self.client.execute(request).await
    }

    /// A request builder on the hardened client.
    pub fn request(&self, method: reqwest::Method, url: Url) -> reqwest::RequestBuilder {
        self.client.request(method, url)
    }

    /// Finds `target`'s webmention endpoint (§3.1.2).
    pub async fn discover(&self, target: &Url) -> Result<Discovery, DiscoveryError> {
        let request = self
            .client
            .request(reqwest::Method::GET, target.clone())
            .header(reqwest::header::ACCEPT, ACCEPT_TARGET);
        let page = self.get(request, target).await?;
        if !page.status.is_success() {
            let answered = answered(&page);
            return match page.status {
                // Gone or missing pages advertise nothing worth sending to.
                s if s.is_client_error() && s != StatusCode::TOO_MANY_REQUESTS => {
                    Ok(Discovery::NoEndpoint { status: s.as_u16() })
                }
                _ => Err(DiscoveryError::Status(answered)),
            };
        }
        let fields = page
            .headers
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok());
        let (href, via) = match link_header::first_with_rel(fields, "webmention") {
            Some(href) => (href, Via::Header),
            None if is_html(&page) => match webmention_endpoint::find_in_html(&page.text_lossy()) {
                Some(href) => (href, Via::Html),
                None => return Ok(no_endpoint(&page)),
            },
            None => return Ok(no_endpoint(&page)),
        };
        // Relative to where the redirects ended (rocks 23); `""` is the page.
        let url = page
            .final_url
            .join(&href)
            .map_err(|e| DiscoveryError::BadEndpoint {
                href: href.clone(),
                reason: e.to_string(),
            })?;
        Ok(Discovery::Endpoint { url, via })
    }

    /// POSTs `source` and `target` to `endpoint` (§3.1.3) and reports its
    /// answer, whatever its status.
    pub async fn notify(
        &self,
        endpoint: &Url,
        source: &Url,
        target: &Url,
    ) -> Result<Answered, FetchError> {
        let request = self
            .client
            .request(reqwest::Method::POST, endpoint.clone())
            .form(&[("source", source.as_str()), ("target", target.as_str())]);
        let answer = self.get(request, endpoint).await?;
        Ok(answered(&answer))
    }
}

fn no_endpoint(page: &Fetched) -> Discovery {
    Discovery::NoEndpoint {
        status: page.status.as_u16(),
    }
}

/// Only HTML is searched (§3.1.2: "if the content type of the document is
/// HTML"); a `text/plain` page holding markup advertises nothing.
fn is_html(page: &Fetched) -> bool {
    page.headers.get(CONTENT_TYPE).is_some()
        && matches!(
            page.content_type().as_deref(),
            Some("text/html" | "application/xhtml+xml")
        )
}

fn answered(response: &Fetched) -> Answered {
    let location = response
        .headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|l| format!("Location: {l}"));
    let body = response.text_lossy();
    let body = body.trim();
    let excerpt = (!body.is_empty()).then(|| excerpt(body));
    Answered {
        status: response.status.as_u16(),
        answer: location.or(excerpt),
        retry_after: retry_after(response),
    }
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(ANSWER_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// `Retry-After` in seconds (the form endpoints and proxies send; an
/// HTTP-date is read as "later", the retry policy's own delay).
fn retry_after(response: &Fetched) -> Option<Duration> {
    response
        .headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::http::FetchPolicy;

    #[tokio::test]
    async fn loopback_and_private_targets_and_endpoints_are_refused_unless_allowed() {
        let sender = Sender::new(HttpClient::new(FetchPolicy::default()).unwrap());
        let source = Url::parse("https://blog.example/posts/a/").unwrap();
        for url in [
            "http://127.0.0.1:9/page",
            "http://10.0.0.1/page",
            "http://[::1]/page",
        ] {
            let url = Url::parse(url).unwrap();
            assert!(
                matches!(
                    sender.discover(&url).await,
                    Err(DiscoveryError::Fetch(FetchError::ForbiddenAddress { .. }))
                ),
                "{url}"
            );
            assert!(
                matches!(
                    sender.notify(&url, &source, &source).await,
                    Err(FetchError::ForbiddenAddress { .. })
                ),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn at_most_two_requests_per_host_are_in_flight() {
        let limits = Arc::new(HostLimits::default());
        let url = Url::parse("https://a.example/x").unwrap();
        let first = limits.enter(&url).await;
        let _second = limits.enter(&url).await;
        let other = Url::parse("https://b.example/x").unwrap();
        let _elsewhere = limits.enter(&other).await;
        let waiting = tokio::spawn({
            let limits = Arc::clone(&limits);
            async move { limits.enter(&url).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "a third request to one host waits");
        drop(first);
        let _third = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("it goes once one ends")
            .unwrap();
    }
}
