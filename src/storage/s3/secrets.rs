//! Secrets (see `storage::secrets`): one object per name,
//! `.backfeed/secrets/<name>.json`, created with `If-None-Match`, so the
//! first value written wins and every instance reads that one. On a
//! provider without conditional writes (start-up warns), two instances
//! starting at the same moment could each keep their own for a while; the
//! last write then wins for everyone from the next read on.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::objects::{Record, write_id};
use super::{S3Store, millis};
use crate::storage::{CreateSecret, SecretBytes, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SecretObject {
    /// Base64 of the bytes.
    value: String,
    created_at: i64,
    write_id: String,
}

impl Record for SecretObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn secret(
    store: &S3Store,
    name: &str,
    now: OffsetDateTime,
    create: CreateSecret<'_>,
) -> Result<SecretBytes, StoreError> {
    let key = store.layout.secret(name);
    if let Some(found) = store.objects.read::<SecretObject>(&key).await? {
        return decode(&found.value, name);
    }
    let mut fresh = SecretObject {
        value: STANDARD.encode(create()),
        created_at: millis(now),
        write_id: String::new(),
    };
    // Created, or someone else's came first: either way, read what is there.
    store.objects.create(&key, &mut fresh).await?;
    match store.objects.read::<SecretObject>(&key).await? {
        Some(stored) => decode(&stored.value, name),
        None => Err(StoreError::Unavailable(format!(
            "the secret `{name}` was written but cannot be read back"
        ))),
    }
}

fn decode(object: &SecretObject, name: &str) -> Result<SecretBytes, StoreError> {
    STANDARD
        .decode(&object.value)
        .map(SecretBytes::new)
        .map_err(|_| StoreError::Corrupt(format!("the secret `{name}` is not base64")))
}
