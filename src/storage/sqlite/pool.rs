//! SQLite connections, used from async code through `spawn_blocking`: one
//! writer and a few readers.
//!
//! SQLite calls block, so they never run on the async worker threads. SQLite
//! allows one writer at a time; giving this process exactly one writer
//! connection, queued behind an async mutex, means our own writes wait in
//! line instead of sleeping in SQLite's busy handler and retrying. Readers
//! never wait for the writer (WAL mode). Writers in *other* processes still
//! meet the busy timeout and queue briefly instead of failing.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::storage::StoreError;

const READERS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pool {
    writer: Arc<tokio::sync::Mutex<Connection>>,
    connections: Arc<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl Pool {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let cannot_open = |e: rusqlite::Error| {
            StoreError::Unavailable(format!(
                "cannot open SQLite database {}: {e}",
                path.display()
            ))
        };
        let writer = open_connection(path).map_err(cannot_open)?;
        let connections = (0..READERS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(cannot_open)?;
        Ok(Self {
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            connections: connections.into(),
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `work`, which writes, on the one writer connection.
    pub async fn write<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let mut writer = Arc::clone(&self.writer).lock_owned().await;
        tokio::task::spawn_blocking(move || work(&mut writer).map_err(sqlite_error))
            .await
            .map_err(|e| StoreError::Unavailable(format!("SQLite task failed: {e}")))?
    }

    /// Runs `work`, which only reads, on a free reader connection (or waits
    /// for one) off the async threads.
    pub async fn read<R, F>(&self, work: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<R> + Send + 'static,
    {
        let connections = Arc::clone(&self.connections);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let count = connections.len();
            let free = (0..count).find_map(|i| connections[(start + i) % count].try_lock().ok());
            let mut connection = match free {
                Some(guard) => guard,
                // A poisoned lock only means another task panicked while
                // holding it; the connection itself is still usable.
                None => connections[start % count]
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()),
            };
            work(&mut connection).map_err(sqlite_error)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("SQLite task failed: {e}")))?
    }
}

/// Opens a connection; while another process holds the file's lock (it is
/// creating the database, or switching it to WAL), tries again for up to
/// [`BUSY_TIMEOUT`]: setting `journal_mode` does not wait in SQLite's busy
/// handler, so two processes starting on one new file could fail here.
fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match try_open_connection(path) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn try_open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(64);
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    match error {
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt(error.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}
