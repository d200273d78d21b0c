//! A small DynamoDB client: JSON over HTTPS, signed with SigV4.
//!
//! DynamoDB's API is one `POST /` per operation, named in `X-Amz-Target`,
//! with a JSON body (protocol `awsJson1_0`). Signing reuses what the S3
//! store already links: object_store's `AwsAuthorizer` and its credential
//! provider chain, so the binary carries no AWS SDK (see `mod.rs`).
//!
//! Invariant: throttling, 5xx answers and failures on the way are retried a
//! few times with a growing pause; every other refusal comes back as
//! [`DynamoError::Refused`] with DynamoDB's own error name, for callers to
//! match (`ConditionalCheckFailedException` is how a lost compare-and-swap
//! looks).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::{HeaderValue, Method};
use object_store::aws::{AwsAuthorizer, AwsCredentialProvider};
use object_store::client::{HttpRequest, HttpRequestBody};
use serde_json::Value;

/// Attempts for a request that failed on the way or was throttled.
const ATTEMPTS: u32 = 5;

/// Error names DynamoDB uses for "slow down, then try again".
const RETRYABLE: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

#[derive(Debug, thiserror::Error)]
pub enum DynamoError {
    /// DynamoDB answered with an error: its name (`__type` after the `#`)
    /// and message.
    #[error("{name}: {message}")]
    Refused { name: String, message: String },
    /// No usable answer: connection, timeout, credentials, an unreadable body.
    #[error("{0}")]
    Transport(String),
}

impl DynamoError {
    /// Whether DynamoDB refused with this error name.
    pub fn is(&self, name: &str) -> bool {
        matches!(self, Self::Refused { name: n, .. } if n == name)
    }
}

/// What this client has spent: requests sent (each one billed, throttled
/// ones aside) and the on-demand units they cost (`billing.rs`), in
/// thousandths. Also counted in `/metrics` as
/// `backfeed_dynamodb_requests_total{operation}` and
/// `backfeed_dynamodb_capacity_milliunits_total{kind="read"|"write"}`.
#[derive(Debug, Default)]
pub struct Usage {
    requests: AtomicU64,
    read_milli_units: AtomicU64,
    write_milli_units: AtomicU64,
}

/// A copy of [`Usage`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageSnapshot {
    pub requests: u64,
    pub read_units: f64,
    pub write_units: f64,
}

/// Every client's usage in this process (for `bench/cost.sh`, which reads
/// it through [`process_usage`]).
static PROCESS: Usage = Usage {
    requests: AtomicU64::new(0),
    read_milli_units: AtomicU64::new(0),
    write_milli_units: AtomicU64::new(0),
};

/// What every DynamoDB client of this process has spent so far.
pub fn process_usage() -> UsageSnapshot {
    PROCESS.snapshot()
}

impl Usage {
    pub fn snapshot(&self) -> UsageSnapshot {
        UsageSnapshot {
            requests: self.requests.load(Ordering::Relaxed),
            read_units: self.read_milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
            write_units: self.write_milli_units.load(Ordering::Relaxed) as f64 / 1000.0,
        }
    }

    /// Counts one answered request's units (see `billing.rs`).
    fn record(&self, operation: &str, request: &Value, answer: &Value) {
        let (read, write) = super::billing::units(operation, request, answer);
        let milli = |units: f64| (units * 1000.0).round() as u64;
        self.read_milli_units
            .fetch_add(milli(read), Ordering::Relaxed);
        self.write_milli_units
            .fetch_add(milli(write), Ordering::Relaxed);
        if std::ptr::eq(self, &PROCESS) {
            for (kind, units) in [("read", read), ("write", write)] {
                if units > 0.0 {
                    metrics::counter!("backfeed_dynamodb_capacity_milliunits_total", "kind" => kind)
                        .increment(milli(units));
                }
            }
        }
    }
}

pub struct Client {
    usage: Usage,
    http: reqwest::Client,
    /// `https://dynamodb.<region>.amazonaws.com/` or the configured endpoint.
    endpoint: String,
    region: String,
    credentials: AwsCredentialProvider,
}

impl Client {
    pub fn new(
        endpoint: String,
        region: String,
        credentials: AwsCredentialProvider,
    ) -> Result<Self, DynamoError> {
        let http = crate::clients::tls::store_http_client()
            .map_err(|e| DynamoError::Transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            usage: Usage::default(),
            http,
            endpoint,
            region,
            credentials,
        })
    }

    pub fn usage(&self) -> UsageSnapshot {
        self.usage.snapshot()
    }

    /// Calls one operation (`GetItem`, `PutItem`, …) and returns its answer.
    pub async fn call(&self, operation: &str, request: &Value) -> Result<Value, DynamoError> {
        let body = serde_json::to_vec(request)
            .map_err(|e| DynamoError::Transport(format!("cannot encode {operation}: {e}")))?;
        let mut last = DynamoError::Transport(String::new());
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(25 << attempt)).await;
            }
            self.usage.requests.fetch_add(1, Ordering::Relaxed);
            PROCESS.requests.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("backfeed_dynamodb_requests_total", "operation" => operation.to_owned())
                .increment(1);
            match self.send(operation, &body).await {
                Ok(answer) => {
                    self.usage.record(operation, request, &answer);
                    PROCESS.record(operation, request, &answer);
                    return Ok(answer);
                }
                Err(error) if retryable(&error) => last = error,
                Err(error) => {
                    // A refused condition is billed like the write it was.
                    if error.is("ConditionalCheckFailedException") {
                        self.usage.record(operation, request, &Value::Null);
                        PROCESS.record(operation, request, &Value::Null);
                    }
                    return Err(error);
                }
            }
        }
        Err(last)
    }

    async fn send(&self, operation: &str, body: &[u8]) -> Result<Value, DynamoError> {
        let request = self.signed(operation, body).await?;
        let response = self
            .http
            .execute(request)
            .await
            .map_err(|e| DynamoError::Transport(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| DynamoError::Transport(format!("reading the answer: {e}")))?;
        if status.is_success() {
            return serde_json::from_str(&text)
                .map_err(|e| DynamoError::Transport(format!("unreadable answer: {e}")));
        }
        Err(refusal(status, &text))
    }

    async fn signed(&self, operation: &str, body: &[u8]) -> Result<reqwest::Request, DynamoError> {
        let credential = self
            .credentials
            .get_credential()
            .await
            .map_err(|e| DynamoError::Transport(format!("AWS credentials: {e}")))?;
        let target = HeaderValue::from_str(&format!("DynamoDB_20120810.{operation}"))
            .map_err(|e| DynamoError::Transport(e.to_string()))?;
        let mut request: HttpRequest = http::Request::builder()
            .method(Method::POST)
            .uri(&self.endpoint)
            .header(http::header::CONTENT_TYPE, "application/x-amz-json-1.0")
            .header("x-amz-target", target)
            .body(HttpRequestBody::from(body.to_vec()))
            .map_err(|e| DynamoError::Transport(e.to_string()))?;
        AwsAuthorizer::new(&credential, "dynamodb", &self.region)
            .try_authorize(&mut request, None)
            .map_err(|e| DynamoError::Transport(format!("cannot sign the request: {e}")))?;
        let (parts, _) = request.into_parts();
        let mut outgoing = self.http.request(parts.method, &self.endpoint);
        for (name, value) in &parts.headers {
            outgoing = outgoing.header(name, value);
        }
        outgoing
            .body(body.to_vec())
            .build()
            .map_err(|e| DynamoError::Transport(e.to_string()))
    }
}

fn retryable(error: &DynamoError) -> bool {
    match error {
        DynamoError::Transport(_) => true,
        DynamoError::Refused { name, .. } => {
            RETRYABLE.contains(&name.as_str()) || name.starts_with("HTTP 5")
        }
    }
}

/// DynamoDB's error answer: `{"__type": "com.amazonaws…#Name", "message": …}`
/// (some services spell it `Message`).
fn refusal(status: reqwest::StatusCode, text: &str) -> DynamoError {
    let json: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let name = json["__type"]
        .as_str()
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| format!("HTTP {}", status.as_u16()));
    let name = if status.is_server_error() && !RETRYABLE.contains(&name.as_str()) {
        format!("HTTP {} {name}", status.as_u16())
    } else {
        name
    };
    let message = json["message"]
        .as_str()
        .or_else(|| json["Message"].as_str())
        .unwrap_or(text)
        .chars()
        .take(300)
        .collect();
    DynamoError::Refused { name, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_answer_gives_its_short_name_and_message() {
        let error = refusal(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#,
        );
        assert!(error.is("ConditionalCheckFailedException"));
        assert!(!retryable(&error));
        let throttled = refusal(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException"}"#,
        );
        assert!(retryable(&throttled));
        let denied = refusal(
            reqwest::StatusCode::BAD_REQUEST,
            r#"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"no"}"#,
        );
        assert!(denied.is("AccessDeniedException"));
        assert_eq!(denied.to_string(), "AccessDeniedException: no");
    }

    #[test]
    fn a_server_error_without_a_body_is_retried() {
        assert!(retryable(&refusal(
            reqwest::StatusCode::BAD_GATEWAY,
            "bad gateway"
        )));
    }
}
