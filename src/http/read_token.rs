//! Who may list mentions without naming a `target`: the holder of a read
//! token (`BACKFEED_READ_TOKENS`) or of the admin token, given as
//! webmention.io takes it, `token=` (or `access_token=`).
//!
//! Invariant: the comparison takes the same time whatever the token given:
//! both sides are hashed to 32 bytes, compared in constant time, and every
//! configured token is compared.

use sha2::{Digest, Sha256};
use subtle::{Choice, ConstantTimeEq};

use super::error::ReadApiError;
use super::extract::Params;
use crate::config::Config;

pub fn authorize(config: &Config, params: &Params) -> Result<(), ReadApiError> {
    let given = params
        .get("token")
        .or_else(|| params.get("access_token"))
        .filter(|token| !token.is_empty())
        .ok_or(ReadApiError::TokenMissing)?;
    let given = Sha256::digest(given.as_bytes());
    let mut valid = Choice::from(0);
    for token in config.read_tokens.iter().chain(&config.admin_token) {
        valid |= Sha256::digest(token.expose().as_bytes()).ct_eq(&given);
    }
    if bool::from(valid) {
        Ok(())
    } else {
        Err(ReadApiError::TokenInvalid)
    }
}
