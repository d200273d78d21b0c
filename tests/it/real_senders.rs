//! Real webmention senders that no one here wrote, installed from their
//! registries and run against backfeed on loopback: npm's `@remy/webmention`
//! (its `webmention` CLI) and PyPI's `indieweb-utils` (`send_webmention`).
//!
//! Each test publishes a target post on the app's blog that advertises our
//! endpoint (an HTML `<link rel="webmention">` or an HTTP `Link` header) and
//! an h-entry reply to it on a second site, then runs the sender with the
//! source (and, for indieweb-utils, the target) only: the sender discovers
//! our endpoint itself and posts to it. The test checks what the sender
//! reported (201) and our side: the mention is stored and becomes verified,
//! as a reply by Alice.
//!
//! The senders are installed once into `target/` (node `@remy/webmention`
//! into `target/npm-senders` with `npm ci`, indieweb-utils into the venv
//! `target/py-senders`), from the pinned trees in `tests/senders/`
//! (`package.json` and `package-lock.json`, `requirements.txt`). An install
//! is redone only when those files change; a missing or failing install
//! panics with the tool's output, it never skips. Concurrent tests (threads,
//! or processes under nextest) serialise on a file lock per install, and an
//! install counts only once its stamp is written, last.
//!
//! Two things the senders do that shape these tests:
//! - `@remy/webmention` skips every link whose URL contains the source
//!   page's host name, whatever the port (`ignoreOwn` in its
//!   `shared/lib/webmention.js`), and still exits 0, having sent nothing.
//!   Both fake sites listen on 127.0.0.1, so the source is addressed as
//!   `localhost` (resolved by backfeed too, as loopback is allowed here).
//! - `indieweb-utils` resolves a relative endpoint URL in an HTML `<link>`
//!   against `https://` + the target's host, whatever the target's scheme
//!   (`canonicalize_url`), so the plain-http endpoint is advertised with an
//!   absolute URL, as the README's snippet does anyway.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::sync::Mutex;
use std::time::Duration;

use backfeed::domain::mention::{Relation, Verification};
use backfeed::storage::MentionQuery;
use tokio::process::Command;

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, md5_hex, spawn_app};
use crate::support_install::{PipTool, describe, ensure_installed, ensure_pip_tool, run_install};

/// Pinned in `tests/senders/package.json` (and its lock).
const REMY_VERSION: &str = "1.5.0";
/// Pinned in `tests/senders/requirements.txt`.
const INDIEWEB_UTILS_VERSION: &str = "0.10.0";
/// How long one run of a sender may take.
const SENDER_TIME_LIMIT: Duration = Duration::from_secs(30);

const TARGET_PATH: &str = "/posts/a-post/";
const SOURCE_PATH: &str = "/replies/1/";
const REPLY_TEXT: &str = "What a lovely post, thank you!";

#[tokio::test]
async fn remy_webmention_cli_discovers_a_link_element_and_sends() {
    let remy = ensure_remy_webmention();
    let s = scene(Advertised::LinkElement, "localhost").await;

    let output = run_remy(&remy, &s.source).await;

    assert_remy_sent(&s, &output);
    let status_url = status_url_of_only_mention(&s).await;
    assert_verified_reply(&s, &status_url).await;
}

#[tokio::test]
async fn remy_webmention_cli_discovers_a_link_header_and_sends() {
    let remy = ensure_remy_webmention();
    let s = scene(Advertised::LinkHeader, "localhost").await;

    let output = run_remy(&remy, &s.source).await;

    assert_remy_sent(&s, &output);
    let status_url = status_url_of_only_mention(&s).await;
    assert_verified_reply(&s, &status_url).await;
}

#[tokio::test]
async fn indieweb_utils_discovers_a_link_element_and_sends() {
    let python = ensure_indieweb_utils();
    let s = scene(Advertised::LinkElement, "127.0.0.1").await;

    let report = run_indieweb_utils(&python, &s.source, &s.target).await;

    let status_url = assert_indieweb_utils_sent(&s, &report);
    assert_verified_reply(&s, &status_url).await;
}

#[tokio::test]
async fn indieweb_utils_discovers_a_link_header_and_sends() {
    let python = ensure_indieweb_utils();
    let s = scene(Advertised::LinkHeader, "127.0.0.1").await;

    let report = run_indieweb_utils(&python, &s.source, &s.target).await;

    let status_url = assert_indieweb_utils_sent(&s, &report);
    assert_verified_reply(&s, &status_url).await;
}

// ---------------------------------------------------------------- the scene

/// How the target post advertises our endpoint.
#[derive(Clone, Copy)]
enum Advertised {
    /// `<link rel="webmention" href="…">` in the page's head.
    LinkElement,
    /// `Link: <…>; rel="webmention"`, and nothing in the HTML.
    LinkHeader,
}

struct Scene {
    app: TestApp,
    /// Serves the reply; dropped with the scene.
    source_site: FakeBlog,
    /// Our endpoint, absolute.
    endpoint: String,
    /// The post on the app's blog.
    target: String,
    /// The reply, addressed with the host name the test chose.
    source: String,
}

/// The app, a target post on its blog advertising the endpoint, and a reply
/// to that post on a second site, addressed as `http://{source_host}:port`.
async fn scene(advertised: Advertised, source_host: &str) -> Scene {
    let app = spawn_app().await;
    let endpoint = format!("{}/webmention", app.address);
    let target = app.blog.url(TARGET_PATH);
    match advertised {
        Advertised::LinkElement => {
            let head = format!(r#"<link rel="webmention" href="{endpoint}">"#);
            app.blog.page(TARGET_PATH, &target_html(&head));
        }
        Advertised::LinkHeader => {
            let link = format!(r#"<{endpoint}>; rel="webmention""#);
            app.blog.page_with_headers(
                TARGET_PATH,
                200,
                &[("link", link.as_str())],
                &target_html(""),
            );
        }
    }

    let source_site = FakeBlog::start().await;
    let port = source_site
        .base_url
        .rsplit(':')
        .next()
        .expect("the fake site's URL has a port");
    let source_root = format!("http://{source_host}:{port}/");
    let source = format!("http://{source_host}:{port}{SOURCE_PATH}");
    source_site.page(SOURCE_PATH, &reply_html(&source, &source_root, &target));
    Scene {
        app,
        source_site,
        endpoint,
        target,
        source,
    }
}

fn target_html(head: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>A post</title>\n{head}\n</head>\n<body>\n\
         <article class=\"h-entry\"><h1 class=\"p-name\">A post</h1>\n\
         <div class=\"e-content\"><p>Some words worth replying to.</p></div></article>\n\
         </body>\n</html>\n"
    )
}

/// An h-entry reply by Alice. Every link in it stays on loopback: the remy
/// CLI probes each link it finds for an endpoint, and the author's URL is on
/// the source's own host, which it skips.
fn reply_html(source: &str, source_root: &str, target: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>Re: A post</title>\n</head>\n<body>\n\
         <article class=\"h-entry\">\n\
         <a class=\"u-url\" href=\"{source}\">Permalink</a>\n\
         <a class=\"p-author h-card\" href=\"{source_root}\">Alice</a>\n\
         <p>In reply to <a class=\"u-in-reply-to\" href=\"{target}\">A post</a></p>\n\
         <div class=\"e-content\"><p>{REPLY_TEXT}</p></div>\n\
         </article>\n</body>\n</html>\n"
    )
}

// ------------------------------------------------------------- our side

/// The status resource of the one mention stored for the target.
async fn status_url_of_only_mention(s: &Scene) -> String {
    let mentions = s
        .app
        .app
        .store
        .query_mentions(&everything_for(&s.target))
        .await
        .expect("the store answers");
    assert_eq!(mentions.len(), 1, "one mention is stored: {mentions:#?}");
    let path = s.app.status_path(mentions[0].id.0).await;
    format!("{}{path}", s.app.address)
}

/// The mention became verified, as a reply by Alice from the source, and the
/// sender had fetched the target (it discovered the endpoint there).
async fn assert_verified_reply(s: &Scene, status_url: &str) {
    let status = s.app.wait_for_status(status_url, "verified").await;
    assert_eq!(status["source"], s.source, "{status}");
    assert_eq!(status["target"], s.target, "{status}");
    assert_eq!(status["moderation"], "approved", "{status}");

    let mentions = s
        .app
        .app
        .store
        .query_mentions(&everything_for(&s.target))
        .await
        .expect("the store answers");
    assert_eq!(mentions.len(), 1, "still one mention: {mentions:#?}");
    let mention = &mentions[0];
    assert_eq!(mention.verification, Verification::Verified);
    let data = mention.data.as_ref().expect("a verified mention has data");
    assert_eq!(data.relation, Relation::Reply, "{data:#?}");
    let author = data.author.as_ref().expect("the reply names its author");
    assert_eq!(author.name.as_deref(), Some("Alice"), "{data:#?}");
    assert!(
        data.content_text
            .as_deref()
            .is_some_and(|text| text.contains(REPLY_TEXT)),
        "{data:#?}"
    );
    assert!(
        s.app.blog.hits(TARGET_PATH) >= 1,
        "the sender fetched the target to discover the endpoint"
    );
    assert!(
        s.source_site.hits(SOURCE_PATH) >= 1,
        "backfeed fetched the source to verify it"
    );
}

fn everything_for(target: &str) -> MentionQuery {
    MentionQuery {
        targets: vec![url::Url::parse(target).expect("a valid target URL")],
        visible_only: false,
        ..MentionQuery::default()
    }
}

// ------------------------------------------------------ @remy/webmention

/// Runs `webmention <source> --send` (the package's own bin script, with
/// node). The CLI exits 0 whatever happened, even when it sent nothing or
/// the endpoint refused (it prints errors on stderr), so what it prints on
/// stdout is the report.
async fn run_remy(remy: &Path, source: &str) -> Output {
    let mut command = Command::new("node");
    command.arg(remy).arg(source).arg("--send");
    let output = run_sender(command).await;
    assert!(
        output.status.success(),
        "@remy/webmention failed ({}):\n{}",
        output.status,
        describe(&output)
    );
    output
}

/// The CLI's report for one sent webmention: it found our endpoint, as a
/// webmention endpoint (not pingback), and the endpoint answered 201.
fn assert_remy_sent(s: &Scene, output: &Output) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = describe(output);
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once('=')?;
                (key.trim() == name).then(|| value.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("@remy/webmention printed no `{name}`:\n{printed}"))
    };
    assert_eq!(field("source"), s.source, "{printed}");
    assert_eq!(field("target"), s.target, "{printed}");
    assert_eq!(
        field("endpoint"),
        format!("{} (webmention)", s.endpoint),
        "{printed}"
    );
    assert_eq!(field("status"), "201 ✓", "{printed}");
    let sent = stdout
        .lines()
        .filter(|line| line.starts_with("status "))
        .count();
    assert_eq!(sent, 1, "exactly one webmention was sent:\n{printed}");
}

/// Installs `@remy/webmention` (with its dependencies, from the committed
/// lock) into `target/npm-senders` unless that install is current; returns
/// its CLI script.
fn ensure_remy_webmention() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let senders = senders_dir();
    let manifest = read(&senders.join("package.json"));
    let lock = read(&senders.join("package-lock.json"));
    let declared: serde_json::Value =
        serde_json::from_str(&manifest).expect("tests/senders/package.json is JSON");
    assert_eq!(
        declared["dependencies"]["@remy/webmention"], REMY_VERSION,
        "tests/senders/package.json must pin @remy/webmention to REMY_VERSION"
    );
    let dir = target_dir().join("npm-senders");
    let package = dir.join("node_modules").join("@remy").join("webmention");
    let script = package.join("bin").join("wm.js");
    let stamp = md5_hex(&format!("{manifest}\n{lock}"));
    ensure_installed(&IN_PROCESS, &dir, &stamp, &script, |dir| {
        fs::write(dir.join("package.json"), &manifest).expect("writing package.json");
        fs::write(dir.join("package-lock.json"), &lock).expect("writing package-lock.json");
        // Exactly the locked tree; no install scripts (none is needed: the
        // one dependency that has one, es5-ext, only prints a message).
        run_install(
            StdCommand::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(dir),
        );
        let installed = read(&package.join("package.json"));
        let installed: serde_json::Value =
            serde_json::from_str(&installed).expect("an installed package.json is JSON");
        assert_eq!(
            installed["version"], REMY_VERSION,
            "npm ci installed another @remy/webmention"
        );
    });
    assert!(script.is_file(), "{} is missing", script.display());
    script
}

// ------------------------------------------------------- indieweb-utils

/// Runs `tests/senders/indieweb_utils_send.py <source> <target>` in the
/// venv and returns its JSON report; panics if it failed.
async fn run_indieweb_utils(python: &Path, source: &str, target: &str) -> serde_json::Value {
    let mut command = Command::new(python);
    command
        .arg(senders_dir().join("indieweb_utils_send.py"))
        .arg(source)
        .arg(target)
        // Leave no __pycache__ in tests/senders.
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_sender(command).await;
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("the driver printed no JSON ({e}):\n{}", describe(&output)));
    assert!(
        output.status.success(),
        "indieweb-utils failed ({}):\n{}",
        output.status,
        describe(&output)
    );
    report
}

/// indieweb-utils discovered our endpoint and our 201 came back to it;
/// returns the status resource from the `Location` it got.
fn assert_indieweb_utils_sent(s: &Scene, report: &serde_json::Value) -> String {
    assert_eq!(report["version"], INDIEWEB_UTILS_VERSION, "{report}");
    assert_eq!(report["discovered"], s.endpoint, "{report}");
    assert_eq!(report["status_code"], 201, "{report}");
    assert_eq!(report["url"], s.target, "{report}");
    let location = report["headers"]["location"]
        .as_str()
        .unwrap_or_else(|| panic!("our answer had no Location: {report}"));
    assert!(location.starts_with("/webmention/status/"), "{report}");
    format!("{}{location}", s.app.address)
}

/// Creates the venv `target/py-senders` and installs the pinned
/// `tests/senders/requirements.txt` there unless that install is current;
/// returns the venv's python.
fn ensure_indieweb_utils() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let venv = target_dir().join("py-senders");
    let python = venv.join("bin").join("python");
    ensure_pip_tool(
        &IN_PROCESS,
        &PipTool {
            requirements: &senders_dir().join("requirements.txt"),
            pin: &format!("indieweb-utils=={INDIEWEB_UTILS_VERSION}"),
            venv: &venv,
            ready: &python,
            module: "indieweb_utils",
            version: INDIEWEB_UTILS_VERSION,
        },
    );
    python
}

// ------------------------------------------------------------- plumbing

/// Runs a sender to completion (killed after `SENDER_TIME_LIMIT`) without
/// blocking the runtime the app serves on. Loopback never goes through a
/// proxy, whatever the environment says.
async fn run_sender(mut command: Command) -> Output {
    command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .kill_on_drop(true);
    let description = format!("{command:?}");
    tokio::time::timeout(SENDER_TIME_LIMIT, command.output())
        .await
        .unwrap_or_else(|_| panic!("{description} took over {SENDER_TIME_LIMIT:?}"))
        .unwrap_or_else(|e| panic!("could not start {description}: {e} (is it installed?)"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn senders_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("senders")
}

fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}
