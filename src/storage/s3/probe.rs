//! The start-up check: does this S3 provider honour conditional writes?
//!
//! Claims, id counters and job leases rely on `If-None-Match: *` (create
//! only if absent) and `If-Match: <etag>` (replace only if unchanged). AWS S3
//! (since 2024), MinIO, Cloudflare R2 and moto honour both; some providers
//! ignore the headers and overwrite, others refuse them. We write a scratch
//! object and find out, so the operator hears it at start-up rather than
//! from a post tooted twice.
//!
//! Invariant: the probe only touches its own scratch key, and deletes it.

use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{
    Error as OsError, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

use super::objects::unavailable;
use crate::storage::StoreError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    Honoured,
    /// The provider accepted the headers and overwrote anyway.
    Ignored(String),
    /// The provider refused the headers; plain overwrites work.
    Refused(String),
}

pub async fn probe(store: &AmazonS3, key: &Path) -> Result<Conditional, StoreError> {
    let result = check(store, key).await;
    // Best effort: a scratch object left behind harms nothing.
    let _ = store.delete(key).await;
    result
}

async fn check(store: &AmazonS3, key: &Path) -> Result<Conditional, StoreError> {
    let put = |body: &'static [u8], mode: PutMode| async move {
        store
            .put_opts(
                key,
                PutPayload::from_static(body),
                PutOptions {
                    mode,
                    ..PutOptions::default()
                },
            )
            .await
    };
    if let Err(refused) = put(b"probe 1", PutMode::Create).await {
        // Can we write at all? If not, the bucket is the problem.
        put(b"probe 1", PutMode::Overwrite)
            .await
            .map_err(|e| unavailable("write", key, e))?;
        return Ok(Conditional::Refused(format!(
            "a create-only write (If-None-Match: *) failed: {refused}"
        )));
    }
    match put(b"probe 2", PutMode::Create).await {
        Err(OsError::AlreadyExists { .. }) => {}
        Ok(_) => {
            return Ok(Conditional::Ignored(
                "a second create-only write (If-None-Match: *) of one key succeeded".into(),
            ));
        }
        Err(e) => {
            return Ok(Conditional::Refused(format!(
                "a second create-only write (If-None-Match: *) failed oddly: {e}"
            )));
        }
    }
    let stale = UpdateVersion {
        e_tag: Some("\"00000000000000000000000000000000\"".into()),
        version: None,
    };
    match put(b"probe 3", PutMode::Update(stale)).await {
        Err(OsError::Precondition { .. }) => Ok(Conditional::Honoured),
        Ok(_) => Ok(Conditional::Ignored(
            "a write conditional on a stale ETag (If-Match) succeeded".into(),
        )),
        Err(e) => Ok(Conditional::Refused(format!(
            "a write conditional on an ETag (If-Match) failed oddly: {e}"
        ))),
    }
}
