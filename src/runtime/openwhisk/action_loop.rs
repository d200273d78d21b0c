//! `backfeed openwhisk`: the ActionLoop protocol, as spoken by executables
//! that OpenWhisk's Go runtime (and DigitalOcean Functions' `go:*`
//! runtimes) start as `exec` (openwhisk-runtime-go `docs/ACTION.md`):
//!
//! 1. when `__OW_WAIT_FOR_ACK` is set, write `{"ok":true}` on fd 3 first;
//! 2. read one activation per line on standard input;
//! 3. write its result as one line on fd 3, and wait for the next;
//! 4. stop at the end of the input.
//!
//! Logs go to standard error as everywhere; the proxy adds its own
//! end-of-activation markers to both output streams. A line that is not an
//! activation gets an `{"error"}` result, and the loop goes on.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::activation::Activation;
use super::invoke::{Invoker, error_result};
use super::result_pipe::ResultPipe;
use crate::App;

/// Set by the proxy when it waits for an acknowledgement before the first
/// activation (the Go runtime's `OW_WAIT_FOR_ACK`).
const WAIT_FOR_ACK: &str = "__OW_WAIT_FOR_ACK";

pub async fn run_action_loop(app: Arc<App>) -> std::io::Result<()> {
    let mut results = ResultPipe::open()?;
    if std::env::var_os(WAIT_FOR_ACK).is_some_and(|v| !v.is_empty()) {
        results.write_line(r#"{"ok":true}"#).await?;
    }
    tracing::info!("OpenWhisk ActionLoop ready: activations on stdin, results on fd 3");
    let invoker = Invoker::new(app);
    let mut lines = read_lines_of_stdin();
    while let Some(line) = lines.recv().await {
        let result = match Activation::parse(&line?) {
            Ok(activation) => invoker.answer(activation).await,
            Err(error) => {
                tracing::warn!(%error, "not an activation");
                error_result(&error)
            }
        };
        results.write_line(&result.to_string()).await?;
    }
    tracing::info!("end of input; stopping");
    Ok(())
}

/// Standard input, line by line, read on a thread of its own (reading it
/// blocks); the channel closes at the end of the input.
fn read_lines_of_stdin() -> mpsc::Receiver<std::io::Result<Vec<u8>>> {
    let (sender, receiver) = mpsc::channel(1);
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        loop {
            let mut line = Vec::new();
            let read = match input.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => Ok(line),
                Err(error) => Err(error),
            };
            let failed = read.is_err();
            if sender.blocking_send(read).is_err() || failed {
                return;
            }
        }
    });
    receiver
}
