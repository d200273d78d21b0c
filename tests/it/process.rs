//! Runs the real `backfeed` binary as a child process, for what only a
//! process shows: start-up messages, exit codes, signals, several processes
//! sharing one database.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_backfeed");

pub struct Backfeed {
    pub child: Child,
    pub address: String,
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// Collects stderr until the process closes it.
    reader: Option<tokio::task::JoinHandle<()>>,
}

/// A command for the binary with exactly `env` (plus PATH) as environment.
pub fn command(env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_clear()
        .envs(env)
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

impl Backfeed {
    /// Starts `backfeed serve --listen 127.0.0.1:0` and waits until it listens.
    pub async fn serve(env: &HashMap<String, String>) -> Self {
        let mut child = command(env, &["serve", "--listen", "127.0.0.1:0"])
            .spawn()
            .expect("spawn backfeed");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let collected = Arc::clone(&stderr);
        let reader = tokio::spawn(async move {
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(at) = line.find("listening on http://") {
                    // Text and JSON logs alike: the address ends at a space or a quote.
                    let address: String = line[at + "listening on ".len()..]
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(address);
                    }
                }
                collected.lock().unwrap().push(line);
            }
        });
        let address = tokio::time::timeout(Duration::from_secs(20), rx)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "backfeed did not start; stderr: {:?}",
                    stderr.lock().unwrap()
                )
            })
            .unwrap_or_else(|_| {
                panic!(
                    "backfeed exited before listening; stderr: {:?}",
                    stderr.lock().unwrap()
                )
            });
        Self {
            child,
            address,
            stderr,
            reader: Some(reader),
        }
    }

    pub fn stderr_text(&self) -> String {
        self.stderr.lock().unwrap().join("\n")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub async fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().expect("running").to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("exits after SIGTERM")
            .expect("exit status");
        // The process has exited, so its stderr is closed: the reader ends
        // once it has collected the last line.
        if let Some(reader) = self.reader.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), reader).await;
        }
        (status, self.stderr_text())
    }
}

/// Runs a one-shot command and returns (exit code, stdout, stderr).
pub async fn run(env: &HashMap<String, String>, args: &[&str]) -> (i32, String, String) {
    let output = command(env, args).output().await.expect("run backfeed");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
