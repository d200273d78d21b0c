//! Apache OpenWhisk and DigitalOcean Functions: the Router behind either of
//! OpenWhisk's two action protocols.
//!
//! - [`run_action_loop`] (`backfeed openwhisk`): the ActionLoop protocol of
//!   executables started by a runtime's proxy. DigitalOcean Functions has no
//!   Rust runtime, but its Go runtime runs a prebuilt Linux `exec` this way
//!   (`deploy/digitalocean/`, `docs/deploy-digitalocean.md`), with no
//!   arguments: [`is_action_loop_environment`] recognises that start.
//! - [`serve_action_proxy`] (`backfeed openwhisk --http`): the `/init` +
//!   `/run` protocol that self-hosted OpenWhisk speaks to "blackbox" Docker
//!   actions (`docs/deploy-openwhisk.md`).
//!
//! Both turn an activation into a request for the one Router
//! (`web_request`), its response into a web action result (`web_result`),
//! and a non-web activation (a scheduled trigger) into a bounded run of the
//! background work (`invoke`).
//!
//! Invariant: no background workers run here. The platform freezes the
//! process between activations, so work happens only inside one: webmentions
//! are stored before the answer, and verified by the scheduled activation or,
//! with `BACKFEED_VERIFY_INLINE`, within the request.

mod action_loop;
mod activation;
mod invoke;
mod media;
mod proxy;
mod result_pipe;
mod web_request;
mod web_result;

pub use action_loop::run_action_loop;
pub use proxy::{ProxyError, serve_action_proxy};

/// Variables the Go runtime's proxy (openwhisk-runtime-go) exports to the
/// executable it starts: any of them means "speak the ActionLoop protocol".
const PROXY_VARIABLES: [&str; 3] = [
    "__OW_WAIT_FOR_ACK",
    "__OW_EXECUTION_ENV",
    "__OW_PROXY_VERSION",
];

/// Whether this process was started as an ActionLoop executable: the proxy
/// runs `<action>/bin/exec` with no arguments, so a binary started without a
/// command knows its mode from the proxy's variables or its own name.
pub fn is_action_loop_environment() -> bool {
    let started_as_exec = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .is_some_and(|program| program.file_name().is_some_and(|name| name == "exec"));
    started_as_exec
        || PROXY_VARIABLES
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()))
}

/// For the fuzz targets (`crate::fuzzing`): an activation parsed and turned
/// into the Router's request as both protocols do it; `Some(true)` for a
/// web request, `Some(false)` for another activation, `None` when refused.
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_request(input: &[u8]) -> Option<bool> {
    let activation = activation::Activation::parse(input).ok()?;
    let _ = activation.meta.deadline();
    web_request::to_request(&activation.params)
        .ok()
        .map(|request| request.is_some())
}
