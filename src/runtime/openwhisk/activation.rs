//! One activation as both OpenWhisk action protocols deliver it: a JSON
//! object with the action's parameters under `value` and the activation's
//! metadata beside it (`activation_id`, `action_name`, `namespace`,
//! `deadline`, `api_host`, `api_key`, …). An ActionLoop executable reads it
//! as one line on standard input; an action proxy receives it as the body
//! of `POST /run`.
//!
//! The platform's own runtimes export the metadata as `__OW_*` environment
//! variables. We keep it in [`ActivationMeta`] instead: changing the
//! environment of a running multi-threaded process is unsound, and nothing
//! below the runtime layer reads the environment anyway. The API key is
//! never kept.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("the activation is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the activation is not a JSON object")]
    NotAnObject,
    #[error("the activation's `value` (its parameters) is missing or not a JSON object")]
    NoParameters,
}

/// What the platform says about an activation besides its parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActivationMeta {
    pub activation_id: Option<String>,
    pub action_name: Option<String>,
    pub namespace: Option<String>,
    /// When the platform stops the activation, in milliseconds since the
    /// Unix epoch (OpenWhisk sends a number or a string of digits).
    pub deadline_ms: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Activation {
    /// The action's parameters; for a web action, the HTTP request
    /// (`__ow_method`, `__ow_headers`, …) and the query or form fields.
    pub params: Map<String, Value>,
    pub meta: ActivationMeta,
}

impl Activation {
    pub fn parse(input: &[u8]) -> Result<Self, ActivationError> {
        let value: Value = serde_json::from_slice(input).map_err(ActivationError::NotJson)?;
        let Value::Object(mut fields) = value else {
            return Err(ActivationError::NotAnObject);
        };
        let Some(Value::Object(params)) = fields.remove("value") else {
            return Err(ActivationError::NoParameters);
        };
        let text = |fields: &Map<String, Value>, key: &str| {
            fields.get(key).and_then(Value::as_str).map(str::to_owned)
        };
        let meta = ActivationMeta {
            activation_id: text(&fields, "activation_id"),
            action_name: text(&fields, "action_name"),
            namespace: text(&fields, "namespace"),
            deadline_ms: fields.get("deadline").and_then(deadline_millis),
        };
        Ok(Self { params, meta })
    }
}

impl ActivationMeta {
    /// The time left before the deadline, less `margin`; `None` without a
    /// deadline.
    pub fn time_left(&self, now: SystemTime, margin: Duration) -> Option<Duration> {
        Some(
            self.deadline()?
                .duration_since(now)
                .unwrap_or_default()
                .saturating_sub(margin),
        )
    }

    /// When the platform stops the activation, if it says.
    pub fn deadline(&self) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_millis(self.deadline_ms?))
    }
}

fn deadline_millis(value: &Value) -> Option<u64> {
    match value {
        Value::Number(number) => number
            .as_u64()
            .or_else(|| number.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_action_loop_line_gives_its_parameters_and_metadata() {
        let line = br#"{"value":{"url":"https://blog.example/posts/a/"},"namespace":"fn-1",
            "action_name":"/fn-1/backfeed/backfeed","api_host":"https://api.example",
            "api_key":"secret","activation_id":"abc123","deadline":"1700000060000"}"#;
        let activation = Activation::parse(line).unwrap();
        assert_eq!(activation.params["url"], "https://blog.example/posts/a/");
        assert_eq!(
            activation.meta,
            ActivationMeta {
                activation_id: Some("abc123".into()),
                action_name: Some("/fn-1/backfeed/backfeed".into()),
                namespace: Some("fn-1".into()),
                deadline_ms: Some(1_700_000_060_000),
            }
        );
    }

    #[test]
    fn a_numeric_deadline_is_read_and_a_missing_one_is_none() {
        let numeric = Activation::parse(br#"{"value":{},"deadline":1700000060000}"#).unwrap();
        assert_eq!(numeric.meta.deadline_ms, Some(1_700_000_060_000));
        let none = Activation::parse(br#"{"value":{}}"#).unwrap();
        assert_eq!(none.meta.deadline_ms, None);
        assert_eq!(none.meta.time_left(SystemTime::now(), Duration::ZERO), None);
    }

    #[test]
    fn time_left_subtracts_the_margin_and_never_goes_below_zero() {
        let meta = ActivationMeta {
            deadline_ms: Some(10_000),
            ..ActivationMeta::default()
        };
        let now = UNIX_EPOCH + Duration::from_secs(4);
        assert_eq!(
            meta.time_left(now, Duration::from_secs(1)),
            Some(Duration::from_secs(5))
        );
        let late = UNIX_EPOCH + Duration::from_secs(20);
        assert_eq!(
            meta.time_left(late, Duration::from_secs(1)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn malformed_activations_say_what_is_wrong() {
        assert!(matches!(
            Activation::parse(b"not json"),
            Err(ActivationError::NotJson(_))
        ));
        assert!(matches!(
            Activation::parse(b"[1,2]"),
            Err(ActivationError::NotAnObject)
        ));
        assert!(matches!(
            Activation::parse(br#"{"value":"text"}"#),
            Err(ActivationError::NoParameters)
        ));
        assert!(matches!(
            Activation::parse(br#"{"deadline":1}"#),
            Err(ActivationError::NoParameters)
        ));
    }
}
