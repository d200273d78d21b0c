//! Entry points for the `cargo fuzz` targets in `fuzz/` (`bench/fuzz.sh`).
//! Compiled only with the `fuzzing` feature, never in a service build.
//!
//! Each function runs one parser of outside input the way the service runs
//! it, end to end, on arbitrary bytes; the targets add the properties they
//! check. Parsers that are already public (`domain::PostUrl`,
//! `protocol::mf2`, `protocol::source_links`) are used directly by the
//! targets; this module only reaches the private ones.
//!
//! Invariant: nothing here changes behaviour; it only calls.

use serde_json::Value;

pub use crate::http::extract::Params;

use crate::http::read_request::{CountRequest, Format, ReadRequest};
use crate::runtime::lambda;
use crate::runtime::openwhisk;

/// What became of a Lambda event.
#[derive(Debug, PartialEq, Eq)]
pub enum EventOutcome {
    /// Not JSON at all (Lambda hands us JSON, so this ends before us).
    NotJson,
    /// Refused with an invocation error.
    Refused,
    /// A scheduled run (no request to build).
    Scheduled,
    /// An HTTP request for the Router.
    Request,
}

/// A Lambda invocation's payload, recognised and turned into the Router's
/// request exactly as `runtime::lambda` does it.
pub fn lambda_event(data: &[u8]) -> EventOutcome {
    let Ok(event) = serde_json::from_slice::<Value>(data) else {
        return EventOutcome::NotJson;
    };
    match lambda::fuzz_request(event) {
        Some(true) => EventOutcome::Request,
        Some(false) => EventOutcome::Scheduled,
        None => EventOutcome::Refused,
    }
}

/// An OpenWhisk activation (an ActionLoop line, a proxy's `POST /run` body)
/// turned into the Router's request: `Some(true)` for a web request,
/// `Some(false)` for another activation, `None` when refused.
pub fn openwhisk_activation(data: &[u8]) -> Option<bool> {
    openwhisk::fuzz_request(data)
}

/// A query string or form body, read as every handler reads it, then as
/// the read API's listing and count requests. Returns the parameters for
/// the target's checks.
pub fn form_and_query(data: &[u8]) -> Params {
    let params = Params::parse(data);
    for format in [Format::Jf2, Format::Json, Format::Atom, Format::Html] {
        if let Ok(request) = ReadRequest::parse(&params, format) {
            let _ = request.needs_token();
            let _ = request.query();
            let _ = request.cache_key();
        }
    }
    if let Ok(count) = CountRequest::parse(&params) {
        let _ = count.cache_key();
    }
    let _ = params.number::<u32>("page", 0);
    params
}
