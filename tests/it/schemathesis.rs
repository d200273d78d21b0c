//! schemathesis (PyPI) against the real binary: every operation of
//! `/openapi.json`, with generated valid and invalid requests, a bounded
//! number per operation. It fails on any 5xx and on any answer the document
//! does not allow (status code, content type, headers, body schema, an
//! undocumented method answered other than 405 with the right `Allow`).
//!
//! The binary runs on SQLite with the fake Mastodon and a fake blog, the
//! admin token set (schemathesis sends it as a bearer header on every
//! request). Before the run the test makes some live data (an announced
//! post, a received webmention) and adds it to a copy of the document as
//! `examples`, so the examples and coverage phases reach the handlers' real
//! work too, not only their 400s and 404s. The seed is fixed: a run is
//! repeatable, and a new finding comes from a change, not from chance.
//!
//! schemathesis is installed once into the venv `target/py-schemathesis`
//! from the pinned `tests/schemathesis/requirements.txt` (redone only when
//! that file changes; a failing install panics with pip's output).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::Command;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::test_env;
use crate::process::Backfeed;
use crate::support_install::{PipTool, describe, ensure_pip_tool};

/// Pinned in `tests/schemathesis/requirements.txt`.
const SCHEMATHESIS_VERSION: &str = "4.32.5";
const ADMIN_TOKEN: &str = "schemathesis-admin-token";
/// Generated requests per operation and phase.
const MAX_EXAMPLES: &str = "25";
const TIME_LIMIT: Duration = Duration::from_secs(300);
/// The operation that fetches URLs from the request.
const PUBLISH: &str = "adminPublish";
/// What counts as a failure: a 5xx, or an answer outside the document
/// (an undocumented method must be a 405 whose `Allow` lists the
/// documented ones).
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      unsupported_method,allow_header_conformance,missing_required_header";

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let schemathesis = tokio::task::spawn_blocking(ensure_schemathesis)
        .await
        .expect("installing schemathesis");
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("BACKFEED_ADMIN_TOKEN".into(), ADMIN_TOKEN.into());
    let server = Backfeed::serve(&env).await;
    let http = reqwest::Client::new();

    let live = live_data(&http, &server.address, &blog).await;
    let mut document: Value = http
        .get(format!("{}/openapi.json", server.address))
        .send()
        .await
        .expect("GET /openapi.json")
        .json()
        .await
        .expect("the document is JSON");
    add_examples(&mut document, &live);
    let schema = dir.path().join("openapi.json");
    std::fs::write(&schema, document.to_string()).expect("writing the document");

    // `POST /admin/publish` fetches whatever `url` names: generated URLs
    // would go to the network, so it runs on its documented example only.
    let runs: [&[&str]; 2] = [
        &["--exclude-operation-id", PUBLISH],
        &["--include-operation-id", PUBLISH, "--phases", "examples"],
    ];
    for only in runs {
        let output = run(&schemathesis, &schema, &server.address, dir.path(), only).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "schemathesis ({only:?}) found failures:\n{}\n--- server log (tail)\n{}",
            tail(&shortened(&stdout), 20_000),
            tail(&server.stderr_text(), 4_000)
        );
        assert!(
            stdout.contains("Tested: ") && !stdout.contains("Tested: 0"),
            "schemathesis ({only:?}) tested nothing:\n{stdout}"
        );
    }
    assert!(
        !server.stderr_text().contains("panicked"),
        "a handler panicked:\n{}",
        server.stderr_text()
    );
    let (status, _) = server.terminate().await;
    assert!(
        status.success(),
        "the server did not exit cleanly: {status}"
    );
}

/// Identifiers and URLs of things that exist in the running service.
struct Live {
    post: String,
    mention_id: String,
    target: String,
}

/// An announced post and a webmention to it, made through the API.
async fn live_data(http: &reqwest::Client, address: &str, blog: &FakeBlog) -> Live {
    let post = blog.publish_post("schemathesis", "Schemathesis");
    let response = http
        .get(format!("{address}/"))
        .query(&[("url", &post)])
        .send()
        .await
        .expect("lookup");
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    let reply = format!(
        r#"<!doctype html><html lang="en"><body><article class="h-entry">
        <p class="p-author h-card">Alice</p>
        <p class="e-content">Nice. <a class="u-in-reply-to" href="{post}">in reply</a></p>
        </article></body></html>"#
    );
    blog.page("/replies/schemathesis/", &reply);
    let response = http
        .post(format!("{address}/webmention"))
        .form(&[
            ("source", blog.url("/replies/schemathesis/")),
            ("target", post.clone()),
        ])
        .send()
        .await
        .expect("webmention");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let mention_id = location.rsplit('/').next().unwrap().to_owned();
    Live {
        target: post.clone(),
        post,
        mention_id,
    }
}

/// Puts the live values in as `examples` of the parameters and bodies that
/// name them.
fn add_examples(document: &mut Value, live: &Live) {
    let value_for = |name: &str| -> Option<Value> {
        Some(match name {
            "url" => json!(live.post),
            "target" | "target[]" => json!(live.target),
            "id" => json!(live.mention_id),
            "token" => json!(ADMIN_TOKEN),
            _ => return None,
        })
    };
    let put = |parameter: &mut Value| {
        let name = parameter["name"].as_str().unwrap_or_default().to_owned();
        if let Some(value) = value_for(&name) {
            let is_array = parameter["schema"]["type"] == "array";
            parameter["example"] = if is_array { json!([value]) } else { value };
        }
    };
    if let Some(parameters) = document["components"]["parameters"].as_object_mut() {
        parameters.values_mut().for_each(put);
    }
    for item in document["paths"]
        .as_object_mut()
        .expect("paths")
        .values_mut()
    {
        for operation in item.as_object_mut().expect("a path item").values_mut() {
            // `get_mut`, not indexing: indexing would add the missing keys.
            if let Some(parameters) = operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
            {
                parameters.iter_mut().for_each(put);
            }
            if let Some(content) = operation
                .get_mut("requestBody")
                .and_then(|body| body.get_mut("content"))
                .and_then(Value::as_object_mut)
            {
                for media in content.values_mut() {
                    let properties = media["schema"]["properties"].clone();
                    let Some(properties) = properties.as_object() else {
                        continue;
                    };
                    let example: serde_json::Map<String, Value> = properties
                        .keys()
                        .filter_map(|name| {
                            let value = match name.as_str() {
                                "source" => json!(format!("{}#reply", live.post)),
                                "target" => json!(live.target),
                                "domain" => json!("spam.example"),
                                _ => return None,
                            };
                            Some((name.clone(), value))
                        })
                        .collect();
                    if !example.is_empty() {
                        media["example"] = Value::Object(example);
                    }
                }
            }
        }
    }
}

async fn run(
    schemathesis: &Path,
    schema: &Path,
    address: &str,
    dir: &Path,
    only: &[&str],
) -> std::process::Output {
    let mut command = Command::new(schemathesis);
    command
        .arg("run")
        .arg(schema)
        .args(["--url", address])
        .args(["--checks", CHECKS])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", "1"])
        // One worker: with two threads, CPython's `ast` module now and then
        // fails inside schemathesis with "AST constructor recursion depth
        // mismatch" (python/cpython#106905), a Runtime Error not about us.
        .args(["--workers", "1"])
        .args(["--header", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        .args(["--output-truncate", "false"])
        .args(only)
        .current_dir(dir)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .kill_on_drop(true);
    let description = format!("{command:?}");
    tokio::time::timeout(TIME_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{description} took over {TIME_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("could not start {description}: {e}"))
}

/// Creates the venv `target/py-schemathesis` and installs the pinned
/// requirements there unless that install is current; returns its
/// `schemathesis` command.
fn ensure_schemathesis() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = root.join("target").join("py-schemathesis");
    let command = venv.join("bin").join("schemathesis");
    ensure_pip_tool(
        &IN_PROCESS,
        &PipTool {
            requirements: &root.join("tests/schemathesis/requirements.txt"),
            pin: &format!("schemathesis=={SCHEMATHESIS_VERSION}"),
            venv: &venv,
            ready: &command,
            module: "schemathesis",
            version: SCHEMATHESIS_VERSION,
        },
    );
    let version = std::process::Command::new(&command)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", command.display()));
    assert!(version.status.success(), "{}", describe(&version));
    command
}

/// `text` with each very long line cut (schemathesis can print a whole
/// source file on one line when it fails inside itself), so that the tail
/// still shows its summary.
fn shortened(text: &str) -> String {
    text.lines()
        .map(|line| match line.char_indices().nth(300) {
            Some((cut, _)) if line.len() > 2_000 => {
                format!("{}… ({} bytes)", &line[..cut], line.len())
            }
            _ => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn tail(text: &str, max: usize) -> &str {
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    &text[start..]
}
