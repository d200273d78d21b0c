//! Named secrets the service makes for itself and keeps in its store: the
//! key that signs status and image URLs (`signing.rs`), later ActivityPub's
//! key pair. Kept in the store, not on disk or in the configuration, so that
//! every instance sharing the store, every restart and every serverless
//! invocation (which has no disk) uses the same one, with nothing for the
//! operator to set up.
//!
//! Invariant: once a name has a value, it never changes, and every caller
//! reads that value: the first one stored wins, by one atomic
//! create-if-absent (a primary key on SQLite and PostgreSQL, `If-None-Match`
//! on S3), so instances racing on first use agree. Values never reach a log
//! or a `Debug` output ([`SecretBytes`]).

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use super::StoreError;

/// A secret's bytes. `Debug` shows their length only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes themselves, for the one place that uses them (a key).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes({} bytes, hidden)", self.0.len())
    }
}

/// Makes a new secret's value; called only when the name has none yet.
pub type CreateSecret<'a> = &'a (dyn Fn() -> Vec<u8> + Send + Sync);

#[async_trait]
pub trait SecretStore: Send + Sync {
    /// The secret stored under `name` (a [valid name](is_valid_name)). When
    /// there is none, `create` makes one and it is stored at `now`, unless
    /// another caller stored one meanwhile: then that one is returned, and
    /// the one just made is forgotten. `create` is not called when the
    /// secret exists.
    async fn secret(
        &self,
        name: &str,
        now: OffsetDateTime,
        create: CreateSecret<'_>,
    ) -> Result<SecretBytes, StoreError>;
}

/// Secret names are short lower-case words with digits and `-` (they become
/// object keys on S3): `url-signing`, `activitypub-key`.
pub fn is_valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Refuses a name backends could not store safely (a programming error,
/// reported like a corrupt record rather than a panic).
pub fn check_name(name: &str) -> Result<(), StoreError> {
    if is_valid_name(name) {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "`{name}` is not a secret name (a-z, 0-9 and -, at most 64)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_short_key_safe_words() {
        for good in ["url-signing", "activitypub-key", "a", "k2"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "URL", "a/b", "a.b", "../x", "a b", &"x".repeat(65)] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = SecretBytes::new(b"hunter2-hunter2".to_vec());
        let shown = format!("{secret:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("15 bytes"), "{shown}");
    }
}
