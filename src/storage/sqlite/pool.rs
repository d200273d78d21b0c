//! A few SQLite connections, used from async code through `spawn_blocking`.
//!
//! SQLite calls block, so they never run on the async worker threads. Each
//! connection is opened in WAL mode with a busy timeout, so readers do not
//! wait for the writer and writers from other processes queue briefly
//! instead of failing.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use crate::storage::StoreError;

const CONNECTIONS: usize = 4;
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pool {
    connections: Arc<[Mutex<Connection>]>,
    next: AtomicUsize,
}

impl Pool {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connections = (0..CONNECTIONS)
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                StoreError::Unavailable(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
        Ok(Self {
            connections: connections.into(),
            next: AtomicUsize::new(0),
        })
    }

    /// Runs `work` on a free connection (or waits for one) off the async threads.
    pub async fn run<R, F>(&self, work: F) -> Result<R, StoreError>
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

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
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
