//! Apache OpenWhisk and DigitalOcean Functions: the Router behind either of
//! OpenWhisk's two action protocols.
//!
//! - [`run_action_loop`] (`backfeed openwhisk`): the ActionLoop protocol of
//!   executables started by a runtime's proxy. DigitalOcean Functions has no
//!   Rust runtime, but its Go runtime runs a prebuilt Linux `exec` this way
//!   (`deploy/digitalocean/`, `docs/deploy-digitalocean.md`).
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
pub use proxy::serve_action_proxy;
