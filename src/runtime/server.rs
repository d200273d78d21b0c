//! The socket server (`backfeed serve`): the Router on a TCP listener, with
//! graceful shutdown on SIGTERM or Ctrl-C (in-flight requests finish).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::App;

/// Binds `addr` and serves until a shutdown signal arrives.
pub async fn serve(app: Arc<App>, addr: SocketAddr) -> std::io::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    serve_on(app, listener).await
}

/// Serves on a listener that is already bound (tests bind port 0).
pub async fn serve_on(app: Arc<App>, listener: TcpListener) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    tracing::info!("listening on http://{local}");
    crate::jobs::spawn_workers(&app);
    let service = app
        .router()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shut down cleanly");
    Ok(())
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
