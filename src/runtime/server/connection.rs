//! One connection of the socket server: hyper's HTTP/1.1 connection with the
//! Router behind it, and a watchdog that closes the connection when its
//! client is too slow to send a request head or stays idle too long.
//!
//! hyper has one timer for both (its `header_read_timeout` starts as soon as
//! a kept-alive connection waits), so the watchdog keeps its own, as Go's
//! `ReadHeaderTimeout` and `IdleTimeout` do: a request head must be complete
//! within `header_read_timeout` of the connection's start, or, on a
//! kept-alive connection, of the next request's first byte; a kept-alive
//! connection may wait `idle_timeout` after an answer for that first byte.
//! While a request is in flight (its head read, its answer not yet produced)
//! the Router's own limits apply instead (`http::limits`).
//!
//! Invariant: no connection outlives its deadline, and on shutdown the
//! watchdog closes only connections that owe their client nothing; hyper's
//! graceful shutdown lets the others finish the request in flight.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, OwnedSemaphorePermit, watch};
use tokio::time::Instant;
use tower::ServiceExt;

use crate::config::ServerConfig;

/// What a connection is doing, as far as its deadline is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head since `since`; `first_byte` once some of
    /// it arrived. `kept_alive` once the connection has answered a request.
    Waiting {
        since: Instant,
        first_byte: Option<Instant>,
        kept_alive: bool,
    },
    /// A request's head was read and its answer is not ready yet.
    Busy,
}

/// When the connection must be closed if nothing changes first; `None`
/// while a request is in flight. `stopping`: the server is shutting down.
fn deadline(phase: Phase, limits: &ServerConfig, stopping: bool) -> Option<Instant> {
    match phase {
        Phase::Busy => None,
        // Nothing asked yet, so nothing owed: at shutdown, close at once.
        Phase::Waiting {
            since,
            kept_alive: false,
            ..
        } => Some(if stopping {
            since
        } else {
            since + limits.header_read_timeout
        }),
        // A kept-alive connection may still be sending its last answer at
        // shutdown; hyper's graceful shutdown closes it once that is done.
        Phase::Waiting {
            first_byte: Some(first),
            ..
        } => Some(first + limits.header_read_timeout),
        Phase::Waiting { since, .. } => Some(since + limits.idle_timeout),
    }
}

/// The phase, shared by the connection's reads, its requests and its watchdog.
struct Watch {
    phase: Mutex<Phase>,
    /// One watchdog waits; `notify_one` keeps the news if it is not waiting yet.
    changed: Notify,
}

impl Watch {
    fn new(accepted: Instant) -> Self {
        Self {
            phase: Mutex::new(Phase::Waiting {
                since: accepted,
                first_byte: None,
                kept_alive: false,
            }),
            changed: Notify::new(),
        }
    }

    fn phase(&self) -> Phase {
        *self.phase.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn set(&self, update: impl FnOnce(&mut Phase) -> bool) {
        let changed = update(&mut self.phase.lock().unwrap_or_else(PoisonError::into_inner));
        if changed {
            self.changed.notify_one();
        }
    }

    fn bytes_arrived(&self) {
        self.set(|phase| match phase {
            Phase::Waiting {
                first_byte: first @ None,
                ..
            } => {
                *first = Some(Instant::now());
                true
            }
            _ => false,
        });
    }

    fn request_started(&self) {
        self.set(|phase| {
            *phase = Phase::Busy;
            true
        });
    }

    fn answered(&self) {
        self.set(|phase| {
            *phase = Phase::Waiting {
                since: Instant::now(),
                first_byte: None,
                kept_alive: true,
            };
            true
        });
    }
}

/// Returns once the connection's deadline has passed.
async fn watchdog(watch: &Watch, limits: &ServerConfig, stopping: bool) {
    loop {
        let Some(due) = deadline(watch.phase(), limits, stopping) else {
            watch.changed.notified().await;
            continue;
        };
        tokio::select! {
            () = tokio::time::sleep_until(due) => {
                // The phase may have moved just as the timer fired.
                if deadline(watch.phase(), limits, stopping).is_some_and(|d| d <= Instant::now()) {
                    return;
                }
            }
            () = watch.changed.notified() => {}
        }
    }
}

/// Serves one accepted connection until it closes, times out, or the server
/// stops; `_slot` is its place under the connection cap, freed on return.
pub(super) async fn serve<T>(
    stream: T,
    peer: SocketAddr,
    router: Router,
    limits: ServerConfig,
    mut stop: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let watch = Arc::new(Watch::new(Instant::now()));
    let service = {
        let watch = Arc::clone(&watch);
        service_fn(move |mut request: hyper::Request<Incoming>| {
            // Handlers read the peer for rate limits, as with axum::serve.
            request.extensions_mut().insert(ConnectInfo(peer));
            watch.request_started();
            let (router, watch) = (router.clone(), Arc::clone(&watch));
            async move {
                let response = router.oneshot(request).await;
                watch.answered();
                response
            }
        })
    };
    let io = TokioIo::new(Observed {
        inner: stream,
        watch: Arc::clone(&watch),
    });
    let connection = http1::Builder::new()
        // The watchdog enforces it, telling an idle client from a slow one.
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            () = watchdog(&watch, &limits, stopping) => {
                tracing::debug!(%peer, "connection closed: too slow or idle too long");
                return;
            }
            _ = stop.wait_for(|stop| *stop), if !stopping => {
                stopping = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// The connection's stream, telling the watchdog when bytes arrive.
struct Observed<T> {
    inner: T,
    watch: Arc<Watch>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Observed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            this.watch.bytes_arrived();
        }
        poll
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Observed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    //! On an in-memory stream with tokio's clock paused: time moves only when
    //! every task waits, straight to the next timer, so the deadlines are
    //! checked exactly and nothing waits on the wall clock.

    use std::time::Duration;

    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
    use tokio::sync::Semaphore;
    use tokio::task::JoinHandle;

    use super::*;

    const HEADER: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn limits() -> ServerConfig {
        ServerConfig {
            header_read_timeout: HEADER,
            idle_timeout: IDLE,
            ..ServerConfig::default()
        }
    }

    #[test]
    fn the_deadline_follows_what_the_connection_is_doing() {
        let t = Instant::now();
        let s = Duration::from_secs(1);
        let waiting = |first_byte, kept_alive| Phase::Waiting {
            since: t,
            first_byte,
            kept_alive,
        };
        let cases = [
            (waiting(None, false), false, Some(t + HEADER)),
            (waiting(Some(t + s), false), false, Some(t + HEADER)),
            (waiting(None, true), false, Some(t + IDLE)),
            (waiting(Some(t + s), true), false, Some(t + s + HEADER)),
            (Phase::Busy, false, None),
            (waiting(None, false), true, Some(t)),
            (waiting(Some(t + s), false), true, Some(t)),
            (waiting(None, true), true, Some(t + IDLE)),
            (Phase::Busy, true, None),
        ];
        for (phase, stopping, expected) in cases {
            assert_eq!(
                deadline(phase, &limits(), stopping),
                expected,
                "{phase:?} stopping={stopping}"
            );
        }
    }

    struct Connection {
        client: DuplexStream,
        served: JoinHandle<()>,
        stop: watch::Sender<bool>,
        started: Instant,
    }

    fn connect() -> Connection {
        let router = Router::new().route("/", get(|| async { "ok" })).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(300)).await;
                "ok"
            }),
        );
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (stop, stopped) = watch::channel(false);
        let slot = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let peer = SocketAddr::from(([127, 0, 0, 1], 9));
        let served = tokio::spawn(serve(server, peer, router, limits(), stopped, slot));
        Connection {
            client,
            served,
            stop,
            started: Instant::now(),
        }
    }

    impl Connection {
        async fn request(&mut self, path: &str) {
            let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
            self.client.write_all(head.as_bytes()).await.unwrap();
        }

        async fn answer(&mut self) -> String {
            let mut answer = Vec::new();
            let mut buffer = [0u8; 1024];
            while !answer.ends_with(b"\r\n\r\nok") {
                let n = self.client.read(&mut buffer).await.unwrap();
                assert!(n > 0, "closed: {}", String::from_utf8_lossy(&answer));
                answer.extend_from_slice(&buffer[..n]);
            }
            String::from_utf8_lossy(&answer).into_owned()
        }

        /// Waits until the server side is done; how long it took.
        async fn closed(self) -> Duration {
            self.served.await.unwrap();
            self.started.elapsed()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn half_a_head_is_cut_off_at_the_header_timeout() {
        let mut connection = connect();
        connection
            .client
            .write_all(b"GET / HTTP/1.1\r\nHo")
            .await
            .unwrap();
        assert_eq!(connection.closed().await, HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_idles_until_the_idle_timeout() {
        let mut connection = connect();
        tokio::time::advance(Duration::from_secs(3)).await;
        connection.request("/").await;
        assert!(connection.answer().await.starts_with("HTTP/1.1 200"));
        let answered = connection.started.elapsed();
        assert_eq!(connection.closed().await, answered + IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_head_has_the_header_timeout_from_its_first_byte() {
        let mut connection = connect();
        connection.request("/").await;
        connection.answer().await;
        tokio::time::advance(Duration::from_secs(50)).await;
        let first_byte = connection.started.elapsed();
        connection.client.write_all(b"GET / HT").await.unwrap();
        assert_eq!(connection.closed().await, first_byte + HEADER);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_cut_by_the_watchdog() {
        let mut connection = connect();
        connection.request("/slow").await;
        assert!(connection.answer().await.starts_with("HTTP/1.1 200"));
        assert_eq!(connection.started.elapsed(), Duration::from_secs(300));
    }

    #[tokio::test(start_paused = true)]
    async fn on_shutdown_a_connection_that_owes_nothing_closes_at_once() {
        let mut connection = connect();
        connection
            .client
            .write_all(b"GET / HTTP/1.1\r\nHo")
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        connection.stop.send(true).unwrap();
        assert_eq!(connection.closed().await, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn on_shutdown_a_request_in_flight_is_answered_then_the_connection_closes() {
        let mut connection = connect();
        connection.request("/slow").await;
        tokio::time::advance(Duration::from_secs(1)).await;
        connection.stop.send(true).unwrap();
        let answer = connection.answer().await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        let answered = connection.started.elapsed();
        assert!(answered >= Duration::from_secs(300), "{answered:?}");
        assert_eq!(connection.closed().await, answered);
    }
}
