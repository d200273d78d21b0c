//! File descriptor 3: where an ActionLoop executable writes its results, one
//! JSON object per line (openwhisk-runtime-go `docs/ACTION.md`).
//!
//! The proxy passes a pipe there. We reach it through `/proc/self/fd/3`
//! rather than adopting the raw descriptor, which would need `unsafe`; the
//! open gives a new handle on the same pipe. Only a pipe is accepted: when
//! the proxy gave us nothing, descriptor 3 may by now belong to something
//! this process opened itself (the async runtime's poller, the database
//! file, a socket), and results must never be written into that.

use std::io;
use std::os::unix::fs::FileTypeExt;

use tokio::io::AsyncWriteExt;
use tokio::net::unix::pipe;

const RESULTS_FD: &str = "/proc/self/fd/3";

pub struct ResultPipe {
    sender: pipe::Sender,
}

impl ResultPipe {
    pub fn open() -> io::Result<Self> {
        let not_a_pipe = |detail: String| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "file descriptor 3 is not an open pipe ({detail}): `backfeed openwhisk` speaks \
                     the OpenWhisk ActionLoop protocol and writes its results there, as the Go \
                     runtime's proxy expects (by hand: `backfeed openwhisk 3>&1 | cat`); \
                     `backfeed openwhisk --http` serves the /init and /run protocol instead"
                ),
            )
        };
        match std::fs::metadata(RESULTS_FD) {
            Ok(metadata) if metadata.file_type().is_fifo() => {}
            Ok(_) => return Err(not_a_pipe("it is something else".into())),
            Err(error) => return Err(not_a_pipe(error.to_string())),
        }
        let sender = pipe::OpenOptions::new()
            .open_sender(RESULTS_FD)
            .map_err(|error| not_a_pipe(error.to_string()))?;
        Ok(Self { sender })
    }

    /// Writes one line: `line` must hold no newline (serialized JSON never does).
    pub async fn write_line(&mut self, line: &str) -> io::Result<()> {
        let mut framed = Vec::with_capacity(line.len() + 1);
        framed.extend_from_slice(line.as_bytes());
        framed.push(b'\n');
        self.sender.write_all(&framed).await?;
        self.sender.flush().await
    }
}
