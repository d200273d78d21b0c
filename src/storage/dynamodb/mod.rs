//! The DynamoDB store: one table, on-demand billing, no server to run.
//!
//! `DATABASE_URL=dynamodb://<table>?endpoint=…&region=…`. The record logic
//! is the S3 store's (`storage::s3`): every record it keeps as an object is
//! here one item, and every object listing is a query of one partition
//! (`items.rs` says how a key becomes `pk` and `sk`). DynamoDB gives that
//! logic what it needs natively: conditional writes for every claim and
//! lease (`attribute_not_exists`, a version compare), strongly consistent
//! reads, and listings in key order, so the job queue's due index is one
//! query that reads only what is due (a scheduled run with nothing due
//! costs one request). Cached threads carry a time to live.
//!
//! No AWS SDK: DynamoDB's API is JSON over HTTPS, so `client.rs` signs its
//! requests with the SigV4 signer and credential chain object_store already
//! brings for S3 (environment variables, web identity, container and
//! instance credentials, refreshed by object_store), and sends them with
//! reqwest. `aws-sdk-dynamodb` would have pushed the stripped binary past
//! 15 MB.
//!
//! Invariant: nothing here decides anything about records; it stores,
//! reads, lists and compares versions, exactly as S3 does for the record
//! logic, so the two backends keep one set of rules.

pub mod billing;
pub mod client;
pub mod items;
pub mod table;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use time::OffsetDateTime;
use url::Url;

use super::StoreError;
use super::s3::S3Store;
use client::Client;
use items::Items;

/// How long a cached thread may stay unread before DynamoDB deletes it
/// (losing a cached thread costs one fetch from Mastodon).
pub const THREAD_TTL_SECS: i64 = 30 * 24 * 3600;

/// Opens (creating it when absent) the table and the store on it.
pub async fn open(
    table: &str,
    endpoint: Option<&Url>,
    region: Option<&str>,
    now: OffsetDateTime,
) -> Result<S3Store, StoreError> {
    let items = connect(table, endpoint, region)?;
    table::ensure(&items).await?;
    tracing::info!(table, "DynamoDB store ready");
    S3Store::open_on_dynamodb(items, now).await
}

/// A client for `table`, credentials read as the S3 store reads them:
/// object_store's `AmazonS3Builder::from_env()` provider chain (the same
/// documented exception to "configuration is read in `config`": Lambda
/// sets and rotates these variables). The region comes from the URL, else
/// `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
pub fn connect(
    table: &str,
    endpoint: Option<&Url>,
    region: Option<&str>,
) -> Result<Items, StoreError> {
    crate::clients::tls::install_crypto_provider();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name("backfeed-credentials-only");
    if let Some(region) = region {
        builder = builder.with_region(region);
    }
    let region = builder
        .get_config_value(&AmazonS3ConfigKey::Region)
        .unwrap_or_else(|| "us-east-1".to_owned());
    let credentials = builder
        .build()
        .map_err(|e| StoreError::Unavailable(format!("AWS credentials: {e}")))?
        .credentials()
        .clone();
    let endpoint = match endpoint {
        Some(endpoint) => endpoint.to_string(),
        None => format!("https://dynamodb.{region}.amazonaws.com/"),
    };
    let client = Client::new(endpoint, region, credentials)
        .map_err(|e| StoreError::Unavailable(format!("DynamoDB table `{table}`: {e}")))?;
    Ok(Items::new(client, table))
}
