//! The pure domain: types and rules with no I/O.
//!
//! Invariant: nothing in here imports axum, reqwest, rusqlite, tokio or any
//! other adapter; every function is deterministic given its arguments (the
//! current time is always passed in). Input from the outside world becomes a
//! domain type once, at the edge, and functions here take those types.

pub mod approval;
pub mod job;
pub mod mention;
pub mod post;
pub mod post_identity;
pub mod post_url;
pub mod sent;
pub mod thread;
pub mod thread_ttl;
pub mod toot;
pub mod via;
pub mod webmention;

pub use post::{ClaimOutcome, ClaimToken, PostRecord, PostState, TootId};
pub use post_url::{PostUrl, PostUrlError};
pub use toot::{InstanceLimits, PageMeta, StatusText, TitlePattern, Visibility};
