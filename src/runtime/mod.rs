//! How requests reach the Router. Only this layer knows which runtime runs.

pub mod server;
