//! URLs only backfeed can make: a webmention's status URL (whose id alone
//! must not let anyone read it) and an image-proxy URL (so the proxy fetches
//! only what the comments API pointed readers at, and is no open proxy).
//!
//! Each carries an HMAC-SHA256, cut to 128 bits, of what it names, under
//! one key: the store's `url-signing` secret, made on first use (32 bytes
//! from the operating system's random generator), so every restart and every
//! instance sharing the store signs alike, with nothing to configure. Each
//! use signs under its own [`Purpose`], so a signature made for one never
//! passes for another.
//!
//! Invariant: the key never leaves this module except as signatures, and
//! signatures are compared in constant time.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio::sync::OnceCell;

use crate::clock::Clock;
use crate::storage::{SecretBytes, Store, StoreError};

/// The store's name for the key.
const SECRET_NAME: &str = "url-signing";
/// Signatures keep this much of the HMAC: 128 bits, 22 base64url characters.
const SIGNATURE_BYTES: usize = 16;

/// What a signature vouches for; part of what is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A webmention's status resource, by mention id.
    MentionStatus,
    /// An image the proxy may fetch, by URL.
    Image,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::MentionStatus => b"mention-status",
            Self::Image => b"image-proxy",
        }
    }
}

/// Loads the key from the store once, then signs and checks.
pub struct UrlSigner {
    store: Arc<dyn Store>,
    clock: Clock,
    key: OnceCell<SigningKey>,
}

impl UrlSigner {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            store,
            clock,
            key: OnceCell::new(),
        }
    }

    /// The key, read (or made) on first use. A store error is returned, not
    /// kept: the next call tries again.
    pub async fn key(&self) -> Result<SigningKey, StoreError> {
        self.key
            .get_or_try_init(|| async {
                let secret = self
                    .store
                    .secret(SECRET_NAME, self.clock.now(), &fresh_key)
                    .await?;
                Ok(SigningKey(Arc::new(secret)))
            })
            .await
            .cloned()
    }
}

/// 32 random bytes: two version-4 UUIDs, which come from the operating
/// system's generator (244 random bits).
fn fresh_key() -> Vec<u8> {
    let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
    key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    key
}

/// The loaded key. Cloning is cheap.
#[derive(Clone)]
pub struct SigningKey(Arc<SecretBytes>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(hidden)")
    }
}

impl SigningKey {
    /// A key with these bytes (tests).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(Arc::new(SecretBytes::new(bytes.to_vec())))
    }

    /// The signature of `message` for `purpose`, in base64url.
    pub fn sign(&self, purpose: Purpose, message: &[u8]) -> String {
        let tag = self.mac(purpose, message).finalize().into_bytes();
        URL_SAFE_NO_PAD.encode(&tag[..SIGNATURE_BYTES])
    }

    /// Whether `signature` is [`SigningKey::sign`]'s for this message and
    /// purpose (in constant time).
    pub fn verify(&self, purpose: Purpose, message: &[u8], signature: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        given.len() == SIGNATURE_BYTES
            && self
                .mac(purpose, message)
                .verify_truncated_left(&given)
                .is_ok()
    }

    fn mac(&self, purpose: Purpose, message: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.expose())
            .expect("HMAC takes keys of any length");
        mac.update(purpose.label());
        mac.update(&[0]);
        mac.update(message);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SigningKey {
        SigningKey::from_bytes(&[byte; 32])
    }

    #[test]
    fn a_signature_checks_for_its_message_purpose_and_key_only() {
        let signature = key(1).sign(Purpose::MentionStatus, b"42");
        assert_eq!(signature.len(), 22);
        assert!(key(1).verify(Purpose::MentionStatus, b"42", &signature));
        assert!(!key(1).verify(Purpose::MentionStatus, b"43", &signature));
        assert!(!key(1).verify(Purpose::Image, b"42", &signature));
        assert!(!key(2).verify(Purpose::MentionStatus, b"42", &signature));
    }

    #[test]
    fn malformed_or_shortened_signatures_never_check() {
        let signature = key(1).sign(Purpose::Image, b"https://a.example/x.png");
        for bad in [
            "",
            "!!!!",
            &signature[..21],
            &signature[..8],
            &format!("{signature}AA"),
        ] {
            assert!(
                !key(1).verify(Purpose::Image, b"https://a.example/x.png", bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_key_does_not_show_in_debug_output() {
        assert_eq!(format!("{:?}", key(7)), "SigningKey(hidden)");
    }
}
