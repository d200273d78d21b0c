//! The socket server (`backfeed serve`): the Router on a TCP listener,
//! hardened against slow and idle clients, with a bounded graceful shutdown.
//!
//! Each connection is served by hyper's HTTP/1.1 connection with a watchdog
//! for its request heads and idle time (`connection.rs`); the Router itself
//! bounds how long a request and its body may take (`http::limits`). At most
//! `server.max_connections` are served at once: the accept loop takes a slot
//! before it accepts, so further clients wait in the operating system's
//! (bounded) listen backlog. On SIGTERM or Ctrl-C it stops accepting, closes
//! connections with nothing in flight, lets in-flight requests finish for up
//! to `server.shutdown_grace`, and then returns whatever is still open.
//!
//! Invariant: every connection is held for a bounded time, and so is the
//! process after a shutdown signal.

mod connection;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::App;
use crate::config::ServerConfig;

/// Binds `addr` and serves until a shutdown signal arrives.
pub async fn serve(app: Arc<App>, addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    serve_on(app, listener).await
}

/// Serves on a listener that is already bound (tests bind port 0).
pub async fn serve_on(app: Arc<App>, listener: TcpListener) -> io::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!("listening on http://{local}");
    crate::jobs::spawn_workers(&app);
    let limits = app.config.server;
    let connections = accept_until(listener, app.router(), limits, shutdown_signal()).await;
    if drain(connections, limits.shutdown_grace).await {
        tracing::info!("shut down cleanly");
    }
    Ok(())
}

/// Accepts and serves connections, at most `max_connections` at once, until
/// `shutdown` resolves; then tells every connection to stop and returns them.
async fn accept_until(
    listener: TcpListener,
    router: Router,
    limits: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> JoinSet<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopped) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut full = false;
    tokio::pin!(shutdown);
    loop {
        let slot = match Arc::clone(&slots).try_acquire_owned() {
            Ok(slot) => {
                full = false;
                slot
            }
            Err(_) => {
                if !full {
                    full = true;
                    tracing::warn!(
                        max = limits.max_connections,
                        "connection limit reached; new connections wait until one closes"
                    );
                }
                tokio::select! {
                    () = &mut shutdown => break,
                    slot = Arc::clone(&slots).acquire_owned() => match slot {
                        Ok(slot) => slot,
                        Err(_closed) => break,
                    },
                }
            }
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
        };
        // Reap finished connections, so the set holds at most the open ones.
        while connections.try_join_next().is_some() {}
        connections.spawn(connection::serve(
            stream,
            peer,
            router.clone(),
            limits,
            stopped.clone(),
            slot,
        ));
    }
    // Dropping the listener refuses new clients at once.
    drop(listener);
    let _ = stop.send(true);
    connections
}

/// As hyper's and axum's servers do: a client that gave up before it was
/// accepted is its own affair; anything else (no file descriptors left) is
/// ours, so wait a moment instead of spinning.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "cannot accept a connection; trying again in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Waits up to `grace` for the connections to finish; then closes the rest.
/// `true` when none had to be closed.
async fn drain(mut connections: JoinSet<()>, grace: Duration) -> bool {
    let finished = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !finished {
        tracing::warn!(
            open = connections.len(),
            grace = ?grace,
            "connections still open after the shutdown grace period; closing them"
        );
        connections.abort_all();
    }
    finished
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
