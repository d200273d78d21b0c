//! The real binary under `cargo lambda watch`, the local Lambda emulator
//! most Rust users develop with, reached through its Function URL
//! emulation (`http://127.0.0.1:<port>/lambda-url/<function>/<path>`).
//! Unlike our fake Runtime API, the emulator reads every answer into
//! `aws_lambda_events`' response types and turns one that does not fit
//! into a 500: this is the test of our answers' shape by someone else's
//! reader.
//!
//! The emulator normally builds and starts the crate itself (`cargo run`),
//! which in the middle of `cargo test` would rebuild the binary without the
//! dev-dependencies' features. `--only-lambda-apis` starts the emulator
//! alone and prints the variables the function must be given; the test
//! starts the binary `cargo test` built with them, as an IDE user would.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

use super::function::collect_lines;
use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process;
use crate::support_cargo_lambda::ensure_cargo_lambda;

/// Generous, for a loaded machine: the emulator only has to start a server.
const EMULATOR_START: Duration = Duration::from_secs(60);
const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn the_binary_answers_cargo_lambda_watch_function_url_requests() {
    let emulator = Emulator::start().await;
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = test_env(&mastodon, &blog, &dir);
    env.extend(emulator.variables.clone());
    let mut function = process::command(&env, &[])
        .spawn()
        .expect("spawn backfeed under the emulator");
    let output = Arc::new(Mutex::new(Vec::new()));
    collect_lines(function.stdout.take(), &output);
    collect_lines(function.stderr.take(), &output);
    let logs = || {
        format!(
            "--- backfeed\n{}\n--- cargo lambda watch\n{}",
            output.lock().unwrap().join("\n"),
            emulator.output.lock().unwrap().join("\n")
        )
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(REQUEST_TIME_LIMIT)
        .build()
        .expect("client");
    let get = |path: String| {
        let request = http.get(format!("{}{path}", emulator.function_url()));
        async move {
            let response = request.send().await.expect("the emulator answers");
            let status = response.status().as_u16();
            (status, response.text().await.expect("a body"))
        }
    };

    let (status, body) = get("/status".to_owned()).await;
    assert_eq!(status, 200, "GET /status: {body}\n{}", logs());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON")["code"],
        200
    );

    let post = blog.publish_post("hello", "Hello world");
    let lookup = format!("/?url={}", urlencode(&post));
    let (status, body) = get(lookup.clone()).await;
    assert_eq!(status, 200, "GET {lookup}: {body}\n{}", logs());
    let statuses = mastodon.statuses();
    let toot_id = statuses[0]["id"].as_str().expect("ids are strings");
    assert!(
        body.contains(&format!(r#""toot_id":"{toot_id}""#)),
        "{body}"
    );
    let (status, again) = get(lookup).await;
    assert_eq!((status, &again), (200, &body), "the mapping is stable");
    assert_eq!(mastodon.posts_received(), 1);

    // Answers other than 200 keep their status too.
    let (status, body) = get("/".to_owned()).await;
    assert_eq!(status, 400, "{body}\n{}", logs());
    assert_eq!(
        body,
        r#"{"code":400,"error":"No `url` query argument provided"}"#
    );
    let (status, _) = get("/nope".to_owned()).await;
    assert_eq!(status, 404, "{}", logs());

    assert!(
        matches!(function.try_wait(), Ok(None)),
        "the function is still waiting for invocations\n{}",
        logs()
    );
}

/// `cargo lambda watch --only-lambda-apis` on a free loopback port.
struct Emulator {
    address: SocketAddr,
    /// The variables it says the function must be started with.
    variables: HashMap<String, String>,
    output: Arc<Mutex<Vec<String>>>,
    _child: Child,
}

impl Emulator {
    async fn start() -> Self {
        let binary = tokio::task::spawn_blocking(ensure_cargo_lambda)
            .await
            .expect("installing cargo-lambda");
        let address = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port");
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut child = Command::new(binary)
            .args(["lambda", "watch", "--only-lambda-apis"])
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(address.port().to_string())
            .arg("--manifest-path")
            .arg(manifest)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("starting cargo lambda watch");
        let output = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take(), &output);
        collect_lines(child.stderr.take(), &output);
        let deadline = Instant::now() + EMULATOR_START;
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            let log = || output.lock().unwrap().join("\n");
            if let Ok(Some(status)) = child.try_wait() {
                panic!("cargo lambda watch stopped ({status}):\n{}", log());
            }
            assert!(
                Instant::now() < deadline,
                "cargo lambda watch did not listen on {address}:\n{}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // It prints the variables before it listens (` INFO NAME=value`),
        // but our readers of its pipes may not have them yet: wait for them.
        let names = ["AWS_LAMBDA_RUNTIME_API", "AWS_LAMBDA_FUNCTION_NAME"];
        let variables = || -> HashMap<String, String> {
            output
                .lock()
                .unwrap()
                .iter()
                .filter_map(|line| {
                    let assignment = &line[line.find("AWS_LAMBDA_")?..];
                    let (name, value) = assignment.split_once('=')?;
                    Some((name.to_owned(), value.trim().to_owned()))
                })
                .collect()
        };
        crate::helpers::wait_until("cargo lambda watch to name its variables", || {
            let found = variables();
            names.iter().all(|name| found.contains_key(*name))
        })
        .await;
        let variables = variables();
        Self {
            address,
            variables,
            output,
            _child: child,
        }
    }

    /// Where its Function URL emulation serves the function.
    fn function_url(&self) -> String {
        format!(
            "http://{}/lambda-url/{}",
            self.address, self.variables["AWS_LAMBDA_FUNCTION_NAME"]
        )
    }
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
