//! The blog as its own fediverse account (issue 12): one ActivityPub actor.
//!
//! `keys.rs` holds the actor's key pair (in the store).
pub mod keys;
