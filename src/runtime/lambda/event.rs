//! What an invocation is, decided once from the event's shape: an HTTP
//! request (API Gateway REST or HTTP API, or a Function URL) or an
//! EventBridge scheduled event. Anything else is an [`InvocationError`],
//! answered as the invocation's error result; the process keeps serving.

use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use lambda_http::lambda_runtime::Diagnostic;
use serde_json::Value;

/// One invocation's payload, parsed.
#[derive(Debug)]
pub enum Invocation {
    /// API Gateway REST API, or an HTTP API with payload format 1.0.
    RestApi(Box<ApiGatewayProxyRequest>),
    /// API Gateway HTTP API with payload format 2.0, or a Function URL
    /// (which uses that format with the `$default` stage).
    HttpApi(Box<ApiGatewayV2httpRequest>),
    /// An EventBridge rule's `Scheduled Event`: run the background jobs.
    Scheduled,
}

/// Why an invocation got an error result instead of an answer.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(
        "unrecognised event (top-level keys: {0}); this function handles API Gateway REST and \
         HTTP API requests, Function URL requests and EventBridge scheduled events"
    )]
    Unrecognised(String),
    #[error("malformed {kind} event: {source}")]
    Malformed {
        kind: &'static str,
        source: serde_json::Error,
    },
    #[error("cannot turn the {kind} event into an HTTP request: {reason}")]
    BadRequest { kind: &'static str, reason: String },
    #[error("cannot read the Router's answer: {0}")]
    Response(String),
}

impl From<InvocationError> for Diagnostic {
    fn from(error: InvocationError) -> Self {
        let error_type = match error {
            InvocationError::Unrecognised(_) => "Backfeed.UnrecognisedEvent",
            InvocationError::Malformed { .. } => "Backfeed.MalformedEvent",
            InvocationError::BadRequest { .. } => "Backfeed.BadRequest",
            InvocationError::Response(_) => "Backfeed.ResponseError",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: error.to_string(),
        }
    }
}

const REST_API: &str = "API Gateway REST";
const HTTP_API: &str = "API Gateway HTTP API / Function URL";

impl Invocation {
    /// Recognises the event by the fields only its source sends.
    pub fn parse(event: Value) -> Result<Self, InvocationError> {
        if is_scheduled(&event) {
            return Ok(Self::Scheduled);
        }
        if event.get("version").and_then(Value::as_str) == Some("2.0")
            && event.pointer("/requestContext/http").is_some()
        {
            return serde_json::from_value(event)
                .map(|request| Self::HttpApi(Box::new(request)))
                .map_err(|source| InvocationError::Malformed {
                    kind: HTTP_API,
                    source,
                });
        }
        if event.get("httpMethod").is_some() && event.get("requestContext").is_some() {
            return serde_json::from_value(event)
                .map(|request| Self::RestApi(Box::new(request)))
                .map_err(|source| InvocationError::Malformed {
                    kind: REST_API,
                    source,
                });
        }
        Err(InvocationError::Unrecognised(describe(&event)))
    }

    /// For logs and error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::RestApi(_) => REST_API,
            Self::HttpApi(_) => HTTP_API,
            Self::Scheduled => "EventBridge scheduled",
        }
    }
}

/// EventBridge's `Scheduled Event` (what a SAM `Schedule` event sends).
fn is_scheduled(event: &Value) -> bool {
    event.get("source").and_then(Value::as_str) == Some("aws.events")
        && event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event")
}

/// The event's top-level keys (never its values, which may be private).
fn describe(event: &Value) -> String {
    const SHOWN: usize = 12;
    match event {
        Value::Object(fields) if fields.is_empty() => "none".to_owned(),
        Value::Object(fields) => {
            let mut keys: Vec<&str> = fields.keys().map(String::as_str).take(SHOWN).collect();
            if fields.len() > SHOWN {
                keys.push("…");
            }
            keys.join(", ")
        }
        other => format!(
            "none: the event is not a JSON object but {}",
            json_kind(other)
        ),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_eventbridge_scheduled_event_is_recognised_by_source_and_detail_type() {
        let event = json!({
            "version": "0", "id": "x", "detail-type": "Scheduled Event",
            "source": "aws.events", "detail": {}
        });
        assert!(matches!(
            Invocation::parse(event),
            Ok(Invocation::Scheduled)
        ));
    }

    #[test]
    fn other_eventbridge_events_are_not_scheduled_runs() {
        let event = json!({"source": "aws.s3", "detail-type": "Object Created", "detail": {}});
        let error = Invocation::parse(event).unwrap_err();
        assert!(matches!(error, InvocationError::Unrecognised(_)), "{error}");
    }

    #[test]
    fn an_unknown_event_is_described_by_its_keys_only() {
        let event = json!({"Records": [{"secret": "do-not-echo"}]});
        let message = Invocation::parse(event).unwrap_err().to_string();
        assert!(message.contains("Records"), "{message}");
        assert!(!message.contains("do-not-echo"), "{message}");
        let not_object = Invocation::parse(json!("hello")).unwrap_err().to_string();
        assert!(not_object.contains("a string"), "{not_object}");
    }

    #[test]
    fn an_http_shaped_event_with_a_broken_field_is_malformed_not_unrecognised() {
        let event = json!({
            "version": "2.0", "rawPath": "/",
            "requestContext": {"http": {"method": 42}}
        });
        let error = Invocation::parse(event).unwrap_err();
        assert!(
            matches!(error, InvocationError::Malformed { .. }),
            "{error}"
        );
        let diagnostic = Diagnostic::from(error);
        assert_eq!(diagnostic.error_type, "Backfeed.MalformedEvent");
    }
}
