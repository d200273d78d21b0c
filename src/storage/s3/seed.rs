//! The seed's post objects: a zero-byte object at `.mastodon-meta/<path>`
//! whose user metadata `toot-id` holds the toot's id.
//!
//! These go through our own SigV4-signed requests (object_store's
//! `AwsAuthorizer` and credentials, sent with a plain reqwest client), not
//! through object_store's `Path`: a `Path` cannot name a key that ends with
//! `/` or holds an empty segment, and blog URLs like `/posts/a-post/` give
//! exactly such keys (`.mastodon-meta/posts/a-post/`).
//!
//! Invariant: an object here means "announced"; it is only ever created
//! (`If-None-Match: *`), never changed, so the first recorded toot wins, and
//! it looks exactly like the seed's: empty body, one metadata entry.

use std::time::Duration;

use http::{HeaderValue, Method, StatusCode};
use object_store::aws::{AmazonS3, AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpRequest, HttpRequestBody};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use time::OffsetDateTime;

use super::dynamo_seed::DynamoSeed;
use crate::domain::TootId;
use crate::storage::StoreError;

/// The metadata key the seed reads and writes (`x-amz-meta-toot-id`).
pub const TOOT_ID_METADATA: &str = "toot-id";
const TOOT_ID_HEADER: &str = "x-amz-meta-toot-id";

/// How AWS wants a key in a path: everything but unreserved characters and
/// `/` percent-encoded (object_store's own set for S3 paths).
const KEY_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// Attempts for a request that failed on the way (connection, 5xx, 409).
const ATTEMPTS: u32 = 4;

/// What the seed's object for a post says.
#[derive(Debug, Clone)]
pub struct SeedPost {
    pub toot: TootId,
    pub last_modified: Option<OffsetDateTime>,
}

pub enum Created {
    Written,
    /// Someone recorded a toot first.
    Exists,
}

/// The seed's objects in an S3 bucket.
pub struct S3Seed {
    http: reqwest::Client,
    /// `https://s3.<region>.amazonaws.com/<bucket>` or `<endpoint>/<bucket>`
    /// (path-style, as object_store addresses the bucket).
    bucket_url: String,
    region: String,
    credentials: AwsCredentialProvider,
    /// `false` when the provider refuses `If-None-Match` outright: creates
    /// are then plain writes (and start-up said so).
    conditional: bool,
}

impl S3Seed {
    pub fn new(
        store: &AmazonS3,
        bucket_url: String,
        region: String,
        conditional: bool,
    ) -> Result<Self, StoreError> {
        let http = crate::clients::tls::store_http_client()
            .map_err(|e| StoreError::Unavailable(format!("cannot build the S3 client: {e}")))?;
        Ok(Self {
            http,
            bucket_url: bucket_url.trim_end_matches('/').to_owned(),
            region,
            credentials: store.credentials().clone(),
            conditional,
        })
    }

    /// `HEAD`s the post's object; `None` when there is none.
    pub async fn find(&self, key: &str) -> Result<Option<SeedPost>, StoreError> {
        let response = self.send(Method::HEAD, key, None).await?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            status if status.is_success() => {
                let headers = response.headers();
                let toot = headers
                    .get(TOOT_ID_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| TootId::new(v.trim()))
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "S3 object {key} has no `{TOOT_ID_METADATA}` metadata"
                        ))
                    })?;
                let last_modified = headers
                    .get(http::header::LAST_MODIFIED)
                    .and_then(|v| v.to_str().ok())
                    .and_then(httpdate);
                Ok(Some(SeedPost {
                    toot,
                    last_modified,
                }))
            }
            status => Err(refused("look up", key, status)),
        }
    }

    /// Creates the post's object unless one exists.
    pub async fn create(&self, key: &str, toot: &TootId) -> Result<Created, StoreError> {
        let response = self.send(Method::PUT, key, Some(toot)).await?;
        match response.status() {
            status if status.is_success() => Ok(Created::Written),
            StatusCode::PRECONDITION_FAILED | StatusCode::NOT_MODIFIED => Ok(Created::Exists),
            status => Err(refused("write", key, status)),
        }
    }

    /// Every key under `prefix`, as stored (a trailing `/` included), in
    /// key order: `ListObjectsV2` pages with URL-encoded keys, read here
    /// because object_store's listing turns keys into `Path`s, which drop a
    /// trailing slash and refuse empty segments.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            query
                .append_pair("list-type", "2")
                .append_pair("prefix", prefix)
                .append_pair("encoding-type", "url");
            if let Some(token) = &token {
                query.append_pair("continuation-token", token);
            }
            let url = format!("{}?{}", self.bucket_url, query.finish());
            let response = self.send_url(Method::GET, &url, prefix, None).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(refused("list", prefix, status));
            }
            let body = response
                .text()
                .await
                .map_err(|e| StoreError::Unavailable(format!("S3: cannot list {prefix}: {e}")))?;
            keys.extend(tag_values(&body, "Key").iter().map(|key| url_decoded(key)));
            token = tag_values(&body, "NextContinuationToken").pop();
            let truncated =
                tag_values(&body, "IsTruncated").first().map(String::as_str) == Some("true");
            if !truncated || token.is_none() {
                return Ok(keys);
            }
        }
    }

    /// Sends one signed request for `key`, again after failures on the way.
    async fn send(
        &self,
        method: Method,
        key: &str,
        toot: Option<&TootId>,
    ) -> Result<reqwest::Response, StoreError> {
        let url = format!(
            "{}/{}",
            self.bucket_url,
            utf8_percent_encode(key, KEY_ENCODE_SET)
        );
        self.send_url(method, &url, key, toot).await
    }

    /// Sends one signed request to `url` (about `key`), again after
    /// failures on the way.
    async fn send_url(
        &self,
        method: Method,
        url: &str,
        key: &str,
        toot: Option<&TootId>,
    ) -> Result<reqwest::Response, StoreError> {
        let mut last_error = String::new();
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let request = self.signed(&method, url, toot).await?;
            match self.http.execute(request).await {
                Ok(response)
                    if response.status().is_server_error()
                        || response.status() == StatusCode::CONFLICT =>
                {
                    last_error = format!("the provider answered {}", response.status());
                }
                Ok(response) => return Ok(response),
                Err(e) => last_error = e.to_string(),
            }
        }
        Err(StoreError::Unavailable(format!(
            "S3: {method} {key} failed {ATTEMPTS} times: {last_error}"
        )))
    }

    async fn signed(
        &self,
        method: &Method,
        url: &str,
        toot: Option<&TootId>,
    ) -> Result<reqwest::Request, StoreError> {
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| StoreError::Unavailable(format!("S3 credentials: {e}")))?;
        let mut builder = http::Request::builder().method(method.clone()).uri(url);
        if let Some(toot) = toot {
            if self.conditional {
                builder = builder.header(http::header::IF_NONE_MATCH, "*");
            }
            builder = builder.header(
                TOOT_ID_HEADER,
                HeaderValue::from_str(toot.as_str()).map_err(|_| {
                    StoreError::Corrupt(format!("toot id `{toot}` cannot travel in an HTTP header"))
                })?,
            );
        }
        let mut request: HttpRequest = builder
            .body(HttpRequestBody::empty())
            .map_err(|e| StoreError::Unavailable(format!("S3 request for {url}: {e}")))?;
        AwsAuthorizer::new(&credential, "s3", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| StoreError::Unavailable(format!("cannot sign the S3 request: {e}")))?;
        let (parts, _) = request.into_parts();
        let mut outgoing = self.http.request(parts.method, url);
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name, value);
        }
        if toot.is_some() {
            outgoing = outgoing.body(Vec::<u8>::new());
        }
        outgoing
            .build()
            .map_err(|e| StoreError::Unavailable(format!("S3 request for {url}: {e}")))
    }
}

/// Where the seed's post objects live: the bucket, or (on DynamoDB) items
/// of the one table (`dynamo_seed.rs`).
pub enum SeedObjects {
    S3(S3Seed),
    Dynamo(DynamoSeed),
}

impl SeedObjects {
    /// The post's object; `None` when there is none.
    pub async fn find(&self, key: &str) -> Result<Option<SeedPost>, StoreError> {
        match self {
            Self::S3(seed) => seed.find(key).await,
            Self::Dynamo(seed) => seed.find(key).await,
        }
    }

    /// Creates the post's object unless one exists.
    pub async fn create(&self, key: &str, toot: &TootId) -> Result<Created, StoreError> {
        match self {
            Self::S3(seed) => seed.create(key, toot).await,
            Self::Dynamo(seed) => seed.create(key, toot).await,
        }
    }

    /// Every key under `prefix`, in key order.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        match self {
            Self::S3(seed) => seed.list_keys(prefix).await,
            Self::Dynamo(seed) => seed.list_keys(prefix).await,
        }
    }

    /// Creates the post's object unless one exists; `None` when this call
    /// wrote it, else the toot someone recorded first.
    pub async fn create_or_find(
        &self,
        key: &str,
        toot: &TootId,
    ) -> Result<Option<TootId>, StoreError> {
        match self.create(key, toot).await? {
            Created::Written => Ok(None),
            Created::Exists => self
                .find(key)
                .await?
                .map(|seed| Some(seed.toot))
                .ok_or_else(|| {
                    StoreError::Unavailable(format!(
                        "S3: {key} exists and then does not; try again"
                    ))
                }),
        }
    }
}

fn refused(what: &str, key: &str, status: StatusCode) -> StoreError {
    StoreError::Unavailable(format!(
        "S3: cannot {what} {key}: the provider answered {status}"
    ))
}

/// The text of every `<tag>…</tag>` element, XML entities decoded. Enough
/// for S3's flat listing answers, whose values hold no markup.
fn tag_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut values = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        rest = &rest[start + open.len()..];
        let Some(end) = rest.find(&close) else {
            break;
        };
        values.push(
            rest[..end]
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[end + close.len()..];
    }
    values
}

/// A key as `encoding-type=url` sends it: percent-encoded, and AWS writes
/// a space as `+` (a real `+` comes as `%2B`).
fn url_decoded(key: &str) -> String {
    percent_encoding::percent_decode_str(&key.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value.trim(), format)
        .ok()
        .map(time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_answers_give_their_keys_decoded_and_the_next_token() {
        let xml = "<ListBucketResult><IsTruncated>true</IsTruncated>\
            <Contents><Key>.mastodon-meta/posts/a%20b/</Key></Contents>\
            <Contents><Key>.mastodon-meta/c+d%2Be%26f</Key></Contents>\
            <NextContinuationToken>1/2+3=&amp;</NextContinuationToken></ListBucketResult>";
        let keys: Vec<String> = tag_values(xml, "Key")
            .iter()
            .map(|k| url_decoded(k))
            .collect();
        assert_eq!(
            keys,
            [".mastodon-meta/posts/a b/", ".mastodon-meta/c d+e&f"]
        );
        assert_eq!(tag_values(xml, "NextContinuationToken"), ["1/2+3=&"]);
        assert_eq!(tag_values(xml, "IsTruncated"), ["true"]);
    }
}
