//! Tiny raw-HTTP servers on loopback for the client's tests.
//!
//! Writing responses by hand lets the tests misbehave the way hostile servers
//! do (dribbled bodies, endless chunked bodies, lying lengths, silence).
//! Invariant: every connection gets `Connection: close` semantics, so each
//! request the client makes is one accepted connection, counted and recorded.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// How the server answers one request.
pub(super) enum Reply {
    /// Write these bytes, then close the connection.
    Raw(Vec<u8>),
    /// Write these bytes, then keep the connection open and silent.
    ThenHang(Vec<u8>),
    /// Write the head, then one body byte every `every`, forever.
    Dribble { head: Vec<u8>, every: Duration },
    /// A chunked body that never ends.
    EndlessChunks,
}

/// A 200 response with the given content type and body.
pub(super) fn ok(content_type: &str, body: &[u8]) -> Reply {
    let mut bytes = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

/// A 302 response to `location`.
pub(super) fn redirect(location: &str) -> Reply {
    Reply::Raw(
        format!("HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            .into_bytes(),
    )
}

/// The path of a recorded request ("GET /a HTTP/1.1" gives "/a").
pub(super) fn path_of(request: &str) -> &str {
    request.split_whitespace().nth(1).unwrap_or("")
}

type Handler = Arc<dyn Fn(&str) -> Reply + Send + Sync>;

pub(super) struct TestServer {
    pub(super) addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    accepted: Arc<AtomicUsize>,
}

impl TestServer {
    /// Serves `handler` on 127.0.0.1 at a free port.
    pub(super) async fn start(handler: impl Fn(&str) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1:0", handler)
            .await
            .expect("a loopback port is free")
    }

    pub(super) async fn start_on(
        bind: &str,
        handler: impl Fn(&str) -> Reply + Send + Sync + 'static,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(bind).await?;
        let server = Self {
            addr: listener.local_addr()?,
            requests: Arc::default(),
            accepted: Arc::default(),
        };
        let handler: Handler = Arc::new(handler);
        let (requests, accepted) = (server.requests.clone(), server.accepted.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(answer(stream, handler.clone(), requests.clone()));
            }
        });
        Ok(server)
    }

    pub(super) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://{}{path}", self.addr)).expect("test URLs parse")
    }

    /// Every request received so far, head and body, as text.
    pub(super) fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// How many connections were accepted.
    pub(super) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

async fn answer(mut stream: TcpStream, handler: Handler, requests: Arc<Mutex<Vec<String>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let reply = handler(&request);
    requests
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(request);
    // Write errors mean the client hung up, which several tests provoke.
    let _ = write_reply(&mut stream, reply).await;
}

async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).to_ascii_lowercase();
    let body_length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + body_length {
        let read = stream.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buffer.extend_from_slice(&chunk[..read]);
    }
    Some(String::from_utf8_lossy(&buffer).into_owned())
}

async fn write_reply(stream: &mut TcpStream, reply: Reply) -> std::io::Result<()> {
    match reply {
        Reply::Raw(bytes) => stream.write_all(&bytes).await,
        Reply::ThenHang(bytes) => {
            stream.write_all(&bytes).await?;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(())
        }
        Reply::Dribble { head, every } => {
            stream.write_all(&head).await?;
            loop {
                stream.write_all(b"x").await?;
                tokio::time::sleep(every).await;
            }
        }
        Reply::EndlessChunks => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
                )
                .await?;
            let chunk = [b"400\r\n".as_slice(), &[b'x'; 0x400], b"\r\n"].concat();
            loop {
                stream.write_all(&chunk).await?;
            }
        }
    }
}
