//! backfeed against a real, independent ActivityPub server: Fedify 1.5.9
//! (the last release for Node 20) from npm, on loopback. Fedify looks the
//! blog actor up, follows it, verifies our signed `Accept` and our
//! `Create`, `Update` and `Delete` of a post (its inbox refuses bad
//! signatures with 401, which would leave our delivery jobs retrying
//! instead of done), and unfollows. The scenario is
//! `tests/fedify/peer.mjs`; it waits on stdin whenever backfeed has work to
//! deliver, and this side runs the job queue then, so nothing sleeps.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use backfeed::activitypub::publish::{OutgoingPost, PostChange};

use crate::helpers::spawn_app_without_workers;

fn post(change: PostChange) -> OutgoingPost {
    let now = time::OffsetDateTime::now_utc();
    OutgoingPost {
        url: url::Url::parse("https://blog.example/posts/hello/").unwrap(),
        title: Some("Hello fediverse".into()),
        summary: Some("The first post, & more.".into()),
        content: Some("<p>Hello <em>fediverse</em>.</p>".into()),
        published: now,
        updated: (change == PostChange::Update).then_some(now),
        tags: vec!["rust".into()],
        image: None,
    }
}

const FEDIFY: &str = "@fedify/fedify@1.5.9";

/// `target/fedify-peer/` with Fedify installed and the scenario beside it.
fn install_peer() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fedify-peer");
    fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join(".install.lock")).unwrap();
    lock.lock().unwrap();
    let installed = fs::read_to_string(dir.join("node_modules/@fedify/fedify/package.json"))
        .is_ok_and(|manifest| manifest.contains("\"version\": \"1.5.9\""));
    if !installed {
        fs::write(
            dir.join("package.json"),
            r#"{"name":"fedify-peer","private":true,"type":"module"}"#,
        )
        .unwrap();
        let output = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", FEDIFY])
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            output.status.success(),
            "npm install {FEDIFY}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fedify/peer.mjs");
    fs::copy(&script, dir.join("peer.mjs")).unwrap();
    dir
}

#[tokio::test]
async fn fedify_follows_the_blog_verifies_our_accept_and_unfollows() {
    let dir = tokio::task::spawn_blocking(install_peer).await.unwrap();
    let app = spawn_app_without_workers(|env| {
        env.insert("BACKFEED_ACTIVITYPUB".into(), "true".into());
        env.insert("BACKFEED_PUBLIC_URL".into(), "{address}/".into());
    })
    .await;
    let actor = format!("{}/ap/actor", app.address);
    let mut node = tokio::process::Command::new("node")
        .arg("peer.mjs")
        .arg(&actor)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().unwrap();
    let mut lines = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut transcript = Vec::new();
    let mut summary = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        transcript.push(line.clone());
        if let Some(step) = line.strip_prefix("await ") {
            let federation = app.app.federation.as_ref().unwrap();
            let change = match step {
                "publish-create" => Some(PostChange::Create),
                "publish-update" => Some(PostChange::Update),
                "publish-delete" => Some(PostChange::Delete),
                _ => None,
            };
            if let Some(change) = change {
                let queued = federation.federate(change, &post(change)).await.unwrap();
                transcript.push(format!("({step}: {queued} deliveries queued)"));
            }
            let mut ran = Vec::new();
            while let Some(job) = backfeed::jobs::run_one(&app.app).await.unwrap() {
                ran.push(format!("{}:{}", job.kind, job.outcome));
            }
            transcript.push(format!("(ran {ran:?})"));
            stdin.write_all(b"go\n").await.unwrap();
        } else if line.ends_with(" failed") && line.contains(" passed, ") {
            summary = Some(line);
        }
    }
    let transcript = transcript.join("\n");
    let summary = summary.unwrap_or_else(|| panic!("no summary:\n{transcript}"));
    assert!(summary.ends_with(" 0 failed"), "{transcript}");
    for check in [
        "lookup-actor",
        "follow-sent",
        "accept-verified",
        "accept-names-follow",
        "create-verified",
        "create-article",
        "same-origin-object",
        "update-verified",
        "delete-verified",
        "undo-sent",
    ] {
        assert!(
            transcript.contains(&format!("check {check} ok")),
            "{check} missing:\n{transcript}"
        );
    }
    assert!(transcript.contains("deliver-activity:done"), "{transcript}");
    // The Undo was queued; once processed, nobody follows.
    while backfeed::jobs::run_one(&app.app).await.unwrap().is_some() {}
    assert!(app.app.store.list_followers().await.unwrap().is_empty());
}
