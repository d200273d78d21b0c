//! The blog actor's RSA-2048 key pair: made on first use, kept in the store
//! as the `activitypub-key` secret (PKCS#8 DER), so every instance, restart
//! and serverless invocation signs with the same key, and Mastodon's cached
//! copy of our `publicKey` stays valid.
//!
//! Invariant: the private key never leaves this module except as a
//! signature; it has no `Debug` and is never logged. Signatures are
//! RSASSA-PKCS1-v1_5 with SHA-256, the only algorithm Mastodon verifies.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::sha2::Sha256;
use rsa::{PrivateKey, PublicKey};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::storage::{SecretStore, StoreError};

/// The secret's name in the store.
pub const SECRET_NAME: &str = "activitypub-key";
/// Mastodon generates 2048-bit keys; larger ones cost CPU on every delivery.
pub const KEY_BITS: usize = 2048;

/// The actor's key pair, ready to sign.
pub struct KeyPair {
    private: PrivateKey,
    public_pem: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair(private key hidden)")
    }
}

impl KeyPair {
    /// The stored key pair, made and stored first when there is none.
    pub async fn load_or_create(
        store: &dyn SecretStore,
        now: OffsetDateTime,
    ) -> Result<Self, StoreError> {
        let secret = store.secret(SECRET_NAME, now, &generate_der).await?;
        Self::from_pkcs8_der(secret.expose())
    }

    /// Reads a PKCS#8 DER private key (what the store holds).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, StoreError> {
        let private = PrivateKey::from_pkcs8_der(der).map_err(|_| {
            StoreError::Corrupt(format!(
                "the `{SECRET_NAME}` secret is not a PKCS#8 RSA key"
            ))
        })?;
        Self::from_private(private)
    }

    /// Reads a PKCS#8 PEM private key (test vectors).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, StoreError> {
        let private = PrivateKey::from_pkcs8_pem(pem)
            .map_err(|_| StoreError::Corrupt("not a PKCS#8 PEM RSA key".into()))?;
        Self::from_private(private)
    }

    fn from_private(private: PrivateKey) -> Result<Self, StoreError> {
        let public_pem = private
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode the public key: {e}")))?;
        Ok(Self {
            private,
            public_pem,
        })
    }

    /// The public key as SPKI PEM (`-----BEGIN PUBLIC KEY-----`), for the
    /// actor's `publicKey.publicKeyPem`.
    pub fn public_pem(&self) -> &str {
        &self.public_pem
    }

    pub fn public_key(&self) -> PublicKey {
        self.private.to_public_key()
    }

    /// RSASSA-PKCS1-v1_5 SHA-256 signature of `message`, base64.
    pub fn sign_base64(&self, message: &[u8]) -> String {
        // Signing with a valid 2048-bit key cannot fail; a failure would be
        // a bug in the key, reported as an empty signature the peer refuses.
        let signature = self
            .private
            .pkcs1v15_sign::<Sha256>(message)
            .unwrap_or_default();
        STANDARD.encode(signature)
    }

    /// [`KeyPair::sign_base64`] on a blocking thread: an RSA-2048 signature
    /// costs milliseconds of CPU (2.4 ms measured), which must not hold up
    /// the async workers answering requests.
    pub async fn sign_off_thread(self: Arc<Self>, message: String) -> String {
        tokio::task::spawn_blocking(move || self.sign_base64(message.as_bytes()))
            .await
            // A panicked signer: an empty signature, which the peer refuses.
            .unwrap_or_default()
    }
}

/// A new RSA-2048 key as PKCS#8 DER (called only when the store has none).
fn generate_der() -> Vec<u8> {
    let mut rng = getrandom::SysRng;
    let private = PrivateKey::new(&mut rng, KEY_BITS).expect("RSA key generation");
    private
        .to_pkcs8_der()
        .expect("PKCS#8 encoding of a fresh key")
        .as_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_2048_bits_and_signs_what_its_public_half_verifies() {
        let pair = KeyPair::from_pkcs8_der(&generate_der()).unwrap();
        assert!(pair.public_pem().starts_with("-----BEGIN PUBLIC KEY-----"));
        let signature = STANDARD.decode(pair.sign_base64(b"hello")).unwrap();
        assert_eq!(signature.len(), KEY_BITS / 8);
        pair.public_key()
            .pkcs1v15_verify::<Sha256>(b"hello", &signature)
            .unwrap();
        assert!(
            pair.public_key()
                .pkcs1v15_verify::<Sha256>(b"hellO", &signature)
                .is_err()
        );
    }

    #[test]
    fn the_private_key_never_shows_in_debug_output() {
        let pair = KeyPair::from_pkcs8_der(&generate_der()).unwrap();
        assert_eq!(format!("{pair:?}"), "KeyPair(private key hidden)");
    }
}
