//! One verification attempt: fetch the source and judge it (§3.2.2).
//!
//! Every failure is classified: transient ones (timeout, DNS, connection,
//! 5xx, 429) may pass and are retried; permanent ones (refused address,
//! too large, too many redirects, 4xx, unsupported type) are final.

use http::StatusCode;
use url::Url;

use super::extract::mention_data;
use crate::clients::http::{FetchError, Fetched, HttpClient};
use crate::domain::mention::{Finding, reasons};
use crate::protocol::source_links::{LinkVerdict, check_source};

/// HTML first, as §3.2.2 suggests; JSON and plain text are understood too.
const ACCEPT: &str =
    "text/html, application/xhtml+xml;q=0.9, application/json;q=0.5, text/plain;q=0.3, */*;q=0.1";

/// What one fetch of the source found, and which URL served it (after
/// redirects; `None` when nothing answered).
pub struct Examined {
    pub finding: Finding,
    pub served_by: Option<Url>,
}

pub async fn examine(client: &HttpClient, source: &Url, target: &Url) -> Examined {
    match client.get(source, ACCEPT).await {
        Ok(page) => Examined {
            finding: judge(&page, target),
            served_by: Some(page.final_url),
        },
        Err(error) => Examined {
            finding: fetch_failure(&error),
            served_by: None,
        },
    }
}

fn judge(page: &Fetched, target: &Url) -> Finding {
    match page.status {
        StatusCode::OK => {}
        StatusCode::GONE => return Finding::Gone,
        StatusCode::TOO_MANY_REQUESTS => {
            return Finding::Transient(format!("{} 429", reasons::ERROR_STATUS));
        }
        status if status.is_server_error() => {
            return Finding::Transient(format!("{} {}", reasons::ERROR_STATUS, status.as_u16()));
        }
        status => {
            return Finding::Unusable(format!("{} {}", reasons::ERROR_STATUS, status.as_u16()));
        }
    }
    let content_type = page.content_type();
    let body = page.text_lossy();
    match check_source(content_type.as_deref(), &body, &page.final_url, target) {
        LinkVerdict::Links => Finding::Links(Box::new(mention_data(
            content_type.as_deref(),
            &body,
            &page.final_url,
            target,
        ))),
        LinkVerdict::NoLink => Finding::NoLink,
        LinkVerdict::Gone => Finding::Gone,
        LinkVerdict::Unsupported(media_type) => Finding::Unusable(format!(
            "{} {media_type} cannot be checked for links",
            reasons::UNSUPPORTED_TYPE
        )),
    }
}

fn fetch_failure(error: &FetchError) -> Finding {
    let reason = format!("{}: {error}", reasons::FETCH_FAILED);
    if error.is_transient() {
        Finding::Transient(reason)
    } else {
        Finding::Unusable(reason)
    }
}
