//! Runs the real binary as an OpenWhisk action and plays the platform's
//! part: the Go runtime's proxy for the ActionLoop (activations on stdin,
//! results read from a pipe given as fd 3), the invoker for `--http`
//! (`POST /init`, `POST /run`), and the web gateway's activation shape.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader, Lines};
use tokio::net::unix::pipe;
use tokio::process::{Child, ChildStdin, Command};

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process;

/// Generous: a debug binary on a loaded two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// The fake Mastodon and blog, and the environment pointing at them.
pub struct Fakes {
    pub mastodon: FakeMastodon,
    pub blog: FakeBlog,
    pub env: HashMap<String, String>,
    _dir: TempDir,
}

impl Fakes {
    pub async fn start() -> Self {
        let mastodon = FakeMastodon::start().await;
        let blog = FakeBlog::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let env = test_env(&mastodon, &blog, &dir);
        Self {
            mastodon,
            blog,
            env,
            _dir: dir,
        }
    }

    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.env.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Publishes a post page on the fake blog and returns its URL.
    pub fn publish(&self, slug: &str, title: &str) -> String {
        self.blog.publish_post(slug, title)
    }
}

/// Lines of a child's output stream, kept for assertions and diagnostics.
#[derive(Clone, Default)]
pub struct Output(Arc<Mutex<Vec<String>>>);

impl Output {
    fn collect(stream: impl AsyncRead + Unpin + Send + 'static) -> Self {
        let output = Self::default();
        let lines = Arc::clone(&output.0);
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                lines.lock().unwrap().push(line);
            }
        });
        output
    }

    pub fn text(&self) -> String {
        self.0.lock().unwrap().join("\n")
    }
}

/// `backfeed openwhisk` with a pipe on fd 3, as the Go runtime starts `exec`.
pub struct ActionLoop {
    child: Child,
    stdin: Option<ChildStdin>,
    results: Lines<BufReader<pipe::Receiver>>,
    pub stdout: Output,
    pub stderr: Output,
}

impl ActionLoop {
    pub async fn start(env: &HashMap<String, String>) -> Self {
        Self::start_with_args(env, &["openwhisk"]).await
    }

    /// Started as the Go runtime's proxy starts `exec`: with no arguments.
    pub async fn start_as_exec(env: &HashMap<String, String>) -> Self {
        Self::start_with_args(env, &[]).await
    }

    async fn start_with_args(env: &HashMap<String, String>, args: &[&str]) -> Self {
        let (reader, writer) = io::pipe().expect("a pipe for fd 3");
        let mut command = action_command(env, args);
        give_as_fd_3(&mut command, &writer);
        let mut child = command.spawn().expect("spawn backfeed openwhisk");
        // Only the child may hold the writing end, so its exit ends the results.
        drop(writer);
        let receiver = pipe::Receiver::from_owned_fd(OwnedFd::from(reader)).expect("fd 3 reader");
        Self {
            stdin: child.stdin.take(),
            stdout: Output::collect(child.stdout.take().expect("stdout")),
            stderr: Output::collect(child.stderr.take().expect("stderr")),
            results: BufReader::new(receiver).lines(),
            child,
        }
    }

    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write an activation");
        stdin.flush().await.expect("flush stdin");
    }

    /// The next line on fd 3, as JSON.
    pub async fn next_result(&mut self) -> Value {
        let line = tokio::time::timeout(PATIENCE, self.results.next_line())
            .await
            .unwrap_or_else(|_| panic!("no result in time; stderr:\n{}", self.stderr.text()))
            .expect("read fd 3")
            .unwrap_or_else(|| panic!("fd 3 closed; stderr:\n{}", self.stderr.text()));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("result line {line:?}: {e}"))
    }

    pub async fn invoke(&mut self, activation: &Value) -> Value {
        self.send_line(&activation.to_string()).await;
        self.next_result().await
    }

    /// Closes stdin and waits for the exit.
    pub async fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("exits at the end of its input")
            .expect("exit status");
        (status, self.stderr.text())
    }
}

/// `backfeed openwhisk --http`, the action proxy of a blackbox container.
pub struct ActionProxy {
    _child: Child,
    address: String,
    http: reqwest::Client,
    pub stdout: Output,
    pub stderr: Output,
}

impl ActionProxy {
    pub async fn start(env: &HashMap<String, String>) -> Self {
        let mut child = action_command(env, &["openwhisk", "--http", "--listen", "127.0.0.1:0"])
            .spawn()
            .expect("spawn backfeed openwhisk --http");
        let stdout = Output::collect(child.stdout.take().expect("stdout"));
        let stderr = Output::collect(child.stderr.take().expect("stderr"));
        let address = tokio::time::timeout(PATIENCE, async {
            loop {
                if let Some(address) = listening_address(&stderr.text()) {
                    return address;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the proxy did not listen; stderr:\n{}", stderr.text()));
        Self {
            _child: child,
            address,
            http: reqwest::Client::new(),
            stdout,
            stderr,
        }
    }

    /// `POST path` with a JSON body: (status, JSON answer).
    pub async fn post(&self, path: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.address))
            .header("content-type", "application/json")
            .body(body)
            .timeout(PATIENCE)
            .send()
            .await
            .expect("the proxy answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("a body");
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("answer {text:?}: {e}"));
        (status, json)
    }

    /// `POST /init` as the invoker sends it for a blackbox action.
    pub async fn init(&self, env: Value) -> (u16, Value) {
        let body = json!({"value": {
            "name": "backfeed", "main": "main", "binary": false, "code": "", "env": env,
        }});
        self.post("/init", body.to_string()).await
    }

    pub async fn invoke(&self, activation: &Value) -> Value {
        let (status, result) = self.post("/run", activation.to_string()).await;
        assert_eq!(status, 200, "{result}");
        result
    }
}

/// Either runtime, for the assertions both must pass.
pub enum Runtime {
    Loop(ActionLoop),
    Proxy(ActionProxy),
}

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    ActionLoop,
    ActionProxy,
}

impl Runtime {
    /// Starts the binary; the proxy is initialised as the invoker would.
    pub async fn start(kind: Kind, env: &HashMap<String, String>) -> Self {
        match kind {
            Kind::ActionLoop => Self::Loop(ActionLoop::start(env).await),
            Kind::ActionProxy => {
                let proxy = ActionProxy::start(env).await;
                let (status, answer) = proxy.init(json!({})).await;
                assert_eq!((status, &answer), (200, &json!({"ok": true})));
                Self::Proxy(proxy)
            }
        }
    }

    pub async fn invoke(&mut self, activation: &Value) -> Value {
        match self {
            Self::Loop(action_loop) => action_loop.invoke(activation).await,
            Self::Proxy(proxy) => proxy.invoke(activation).await,
        }
    }
}

/// An activation as the web gateway makes it for a plain web action
/// (`web: true`): query and form fields become top-level parameters.
pub fn web(method: &str, path: &str, headers: Value, fields: Value) -> Value {
    let mut params = Map::new();
    params.insert("__ow_method".into(), json!(method));
    params.insert("__ow_headers".into(), with_gateway_headers(headers));
    params.insert("__ow_path".into(), json!(path));
    if let Value::Object(fields) = fields {
        params.extend(fields);
    }
    activation(Value::Object(params))
}

/// An activation for a raw web action (`web: raw`).
pub fn web_raw(method: &str, path: &str, query: &str, headers: Value, body: &str) -> Value {
    activation(json!({
        "__ow_method": method,
        "__ow_headers": with_gateway_headers(headers),
        "__ow_path": path,
        "__ow_query": query,
        "__ow_body": body,
    }))
}

/// What a scheduled trigger sends: no HTTP context at all.
pub fn scheduled() -> Value {
    activation(json!({}))
}

/// The platform's envelope around the parameters, deadline one minute ahead.
pub fn activation(params: Value) -> Value {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    json!({
        "value": params,
        "namespace": "fn-test",
        "action_name": "/fn-test/backfeed/backfeed",
        "api_host": "https://functions.invalid",
        "api_key": "not-a-real-key",
        "activation_id": format!("act{}", now.as_nanos()),
        "deadline": (now + PATIENCE).as_millis().to_string(),
    })
}

/// A web result's body parsed as JSON.
pub fn json_body(result: &Value) -> Value {
    let body = result["body"]
        .as_str()
        .unwrap_or_else(|| panic!("a string body: {result}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body {body:?}: {e}"))
}

fn with_gateway_headers(headers: Value) -> Value {
    let mut all = json!({
        "accept": "*/*",
        "host": "faas.invalid",
        "user-agent": "curl/8.0",
        "x-forwarded-for": "203.0.113.7",
    });
    if let (Some(all), Value::Object(extra)) = (all.as_object_mut(), headers) {
        all.extend(extra);
    }
    all
}

fn action_command(env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut command = process::command(env, args);
    command.stdin(Stdio::piped());
    command
}

/// Makes `pipe` the child's fd 3, as the Go proxy's `cmd.ExtraFiles` does.
fn give_as_fd_3(command: &mut Command, pipe: &io::PipeWriter) {
    let fd = pipe.as_raw_fd();
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only dup2 and fcntl, which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            // dup2 onto itself would keep close-on-exec set.
            let done = if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0)
            } else {
                libc::dup2(fd, 3)
            };
            if done == -1 {
                Err(io::Error::last_os_error())
            } else {
                Ok(())
            }
        });
    }
}

fn listening_address(stderr: &str) -> Option<String> {
    let at = stderr.find("listening on http://")?;
    let address: String = stderr[at + "listening on ".len()..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"')
        .collect();
    Some(address)
}
