//! The connection pool and the one mapping from driver errors to `StoreError`.
//!
//! A down or unreachable database must fail requests quickly, never hang
//! them: every wait is bounded (connecting, waiting for a free connection,
//! checking a pooled one, and each whole operation). Pooled connections are
//! verified with a round trip before reuse, so after a database restart the
//! dead ones are dropped and fresh ones made without restarting backfeed.
//! Invariant: every driver or pool error becomes `StoreError::Unavailable`;
//! only rows that cannot be read become `StoreError::Corrupt` (see `rows`).

use std::future::Future;
use std::time::Duration;

use super::tls::Tls;
use super::tls_verify::refusal_in;
use crate::storage::StoreError;
use deadpool_postgres::{
    Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod, Runtime,
};

const MAX_CONNECTIONS: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
const RECYCLE_TIMEOUT: Duration = Duration::from_secs(3);
/// Longer than any honest operation (row locks are held for milliseconds).
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

pub struct Db {
    pool: Pool,
    /// The TLS settings in words (`sslmode=verify-full, trusting …`).
    tls: String,
}

impl Db {
    /// Builds the pool; no connection is made until the first `client`.
    /// TLS follows the URL's `sslmode` and `sslrootcert` (see `tls.rs`); a
    /// CA file that cannot be read fails here, at start-up.
    pub fn new(url: &str) -> Result<Self, StoreError> {
        let (url, tls) = Tls::from_url(url)?;
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            // The driver's message never repeats the URL, so no password leaks.
            StoreError::Unavailable(format!("invalid PostgreSQL URL: {}", describe(&e)))
        })?;
        config.ssl_mode(tls.driver_mode());
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("backfeed");
        }
        let manager = Manager::from_config(
            config,
            tls.connector()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Verified,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(RECYCLE_TIMEOUT))
            .build()
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot build the PostgreSQL pool: {e}"))
            })?;
        Ok(Self {
            pool,
            tls: tls.describe(),
        })
    }

    /// A verified connection, or `Unavailable` within the pool's timeouts.
    pub async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| self.pool_error(e))
    }

    /// A pool error as `Unavailable`; a failed TLS handshake also names the
    /// TLS settings, so the operator sees what was asked for.
    fn pool_error(&self, error: PoolError) -> StoreError {
        match error {
            PoolError::Backend(e) if e.to_string().contains("TLS") => {
                let why = refusal_in(&e).map_or_else(
                    || describe(&e),
                    |refusal| format!("PostgreSQL: TLS handshake refused: {refusal}"),
                );
                StoreError::Unavailable(format!("{why} ({})", self.tls))
            }
            other => pool_error(other),
        }
    }
}

/// Runs one store operation, failing it cleanly if the database stops
/// answering half-way. A transaction dropped here is rolled back by the
/// driver, and the connection is verified again before its next use.
pub async fn bounded<T>(
    work: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(OPERATION_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Unavailable(format!(
                "PostgreSQL did not answer within {}s",
                OPERATION_TIMEOUT.as_secs()
            )))
        })
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Unavailable(describe(&error))
    }
}

fn pool_error(error: PoolError) -> StoreError {
    match error {
        PoolError::Backend(e) => StoreError::Unavailable(describe(&e)),
        other => StoreError::Unavailable(format!("PostgreSQL pool: {other}")),
    }
}

/// The driver's message with its causes (its `Display` alone says only
/// "db error" or "error connecting to server").
pub fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(db) = error.as_db_error() {
        return format!("PostgreSQL: {} ({})", db.message(), db.code().code());
    }
    let mut text = format!("PostgreSQL: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
