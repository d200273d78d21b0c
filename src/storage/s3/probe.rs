//! The start-up check: does this S3 provider honour conditional writes?
//!
//! Claims and job leases rely on `If-None-Match: *` (create only if absent)
//! and `If-Match: <etag>` (replace only if unchanged). AWS S3 (since 2024),
//! MinIO, Cloudflare R2 and moto honour both; some providers ignore the
//! headers and overwrite, others refuse them, and some (s3s-fs) check them
//! but let racing writers all pass. We write a scratch object, then race a
//! few compare-and-swaps of it, and find out, so the operator hears it at
//! start-up rather than from a post tooted twice. What these providers
//! cost (duplicate attempts, and one narrow residual risk to mention ids)
//! is listed in `docs/s3-layout.md`.
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
    /// Each header is checked, but racing writers can all pass the check
    /// (the provider checks, then writes, without a lock in between).
    NotAtomic(String),
    /// The provider accepted the headers and overwrote anyway.
    Ignored(String),
    /// The provider refused the headers; plain overwrites work.
    Refused(String),
}

/// How many conditional writes of one key race in the atomicity check.
const RACERS: usize = 16;

pub async fn probe(store: &AmazonS3, key: &Path) -> Result<Conditional, StoreError> {
    let mut result = check(store, key).await;
    // Best effort: a scratch object left behind harms nothing.
    let _ = store.delete(key).await;
    if matches!(result, Ok(Conditional::Honoured)) {
        result = race(store, key).await;
        let _ = store.delete(key).await;
    }
    result
}

/// Several writes conditional on one ETag at once (what racing
/// compare-and-swaps do): more than one succeeding shows the provider does
/// not decide them atomically. One succeeding shows nothing for certain: a
/// race is a matter of timing, which is why no record the store keeps
/// depends on it.
async fn race(store: &AmazonS3, key: &Path) -> Result<Conditional, StoreError> {
    let created = store
        .put_opts(key, PutPayload::from_static(b"race"), PutOptions::default())
        .await
        .map_err(|e| unavailable("write", key, e))?;
    let version = UpdateVersion {
        e_tag: created.e_tag,
        version: created.version,
    };
    let writes = (0..RACERS).map(|i| {
        let version = version.clone();
        async move {
            let options = PutOptions {
                mode: PutMode::Update(version),
                ..PutOptions::default()
            };
            let body = PutPayload::from(format!("race {i}").into_bytes());
            store.put_opts(key, body, options).await
        }
    });
    let results = futures_util::future::join_all(writes).await;
    let won = results.iter().filter(|r| r.is_ok()).count();
    if let Some(Err(e)) = results
        .iter()
        .find(|r| !matches!(r, Ok(_) | Err(OsError::Precondition { .. })))
    {
        return Err(unavailable("write", key, clone_error(e)));
    }
    Ok(if won > 1 {
        Conditional::NotAtomic(format!(
            "{won} of {RACERS} simultaneous writes conditional on one ETag (If-Match) succeeded"
        ))
    } else {
        Conditional::Honoured
    })
}

/// object_store's errors are not `Clone`; keep the message.
fn clone_error(error: &OsError) -> OsError {
    OsError::Generic {
        store: "S3",
        source: error.to_string().into(),
    }
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
