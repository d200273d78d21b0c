//! backfeed against a real, independent ActivityPub server: Fedify from
//! npm, on loopback, in two versions: 1.5.9 (the last release for Node 20,
//! draft-cavage signatures only) and 2.3.6 (which signs with RFC 9421
//! first, verified here, and would fall back to draft-cavage after a 401). Fedify looks the blog actor
//! up, follows it, verifies our signed `Accept` and our `Create`, `Update`
//! and `Delete` of a post (its inbox refuses bad signatures with 401, which
//! would leave our delivery jobs retrying instead of done); its reply and
//! like appear in `GET /api/comments`, its `Undo` takes the like back, and
//! a tampered body, a key that is not the actor's and a 13-hour-old `Date`
//! are each refused with 401 and change nothing; then it unfollows. The
//! scenario is
//! `tests/fedify/peer.mjs`; it waits on stdin whenever backfeed has work to
//! deliver, and this side runs the job queue then, so nothing sleeps.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use backfeed::activitypub::publish::{OutgoingPost, PostChange};

use crate::helpers::spawn_app_without_workers;

fn post(url: &str, change: PostChange) -> OutgoingPost {
    let now = time::OffsetDateTime::now_utc();
    OutgoingPost {
        url: url::Url::parse(url).unwrap(),
        title: Some("Hello fediverse".into()),
        summary: Some("The first post, & more.".into()),
        content: Some("<p>Hello <em>fediverse</em>.</p>".into()),
        published: now,
        updated: (change == PostChange::Update).then_some(now),
        tags: vec!["rust".into()],
        image: None,
    }
}

/// Fedify 1.5.9 (the last release for Node 20) signs with draft-cavage
/// only; 2.3.6 (unsupported on Node 20 but it runs) signs with RFC 9421
/// first.
const FEDIFY_1: &[&str] = &["@fedify/fedify@1.5.9"];
const FEDIFY_2: &[&str] = &["@fedify/fedify@2.3.6", "@fedify/vocab@2.3.6"];

/// `target/fedify-peer[-2]/` with Fedify installed and the scenario beside it.
fn install_peer(packages: &[&str]) -> PathBuf {
    let name = if packages == FEDIFY_1 {
        "fedify-peer"
    } else {
        "fedify-peer-2"
    };
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    fs::create_dir_all(&dir).unwrap();
    let lock = File::create(dir.join(".install.lock")).unwrap();
    lock.lock().unwrap();
    let version = packages[0].rsplit('@').next().unwrap();
    let installed = fs::read_to_string(dir.join("node_modules/@fedify/fedify/package.json"))
        .is_ok_and(|manifest| manifest.contains(&format!("\"version\": \"{version}\"")));
    if !installed {
        fs::write(
            dir.join("package.json"),
            r#"{"name":"fedify-peer","private":true,"type":"module"}"#,
        )
        .unwrap();
        let output = std::process::Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .args(packages)
            .current_dir(&dir)
            .output()
            .expect("npm runs");
        assert!(
            output.status.success(),
            "npm install {packages:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fedify/peer.mjs");
    fs::copy(&script, dir.join("peer.mjs")).unwrap();
    dir
}

#[tokio::test]
async fn fedify_1_follows_replies_likes_and_verifies_what_we_send() {
    scenario(FEDIFY_1).await;
}

#[tokio::test]
async fn fedify_2_signs_with_rfc_9421_first_and_we_verify_it() {
    scenario(FEDIFY_2).await;
}

async fn comments(app: &crate::helpers::TestApp, url: &str) -> serde_json::Value {
    app.get_json(&format!(
        "{}/api/comments?url={}",
        app.address,
        url::form_urlencoded::byte_serialize(url.as_bytes()).collect::<String>()
    ))
    .await
}

async fn scenario(packages: &'static [&'static str]) {
    let dir = tokio::task::spawn_blocking(move || install_peer(packages))
        .await
        .unwrap();
    let app = spawn_app_without_workers(|env| {
        env.insert("BACKFEED_ACTIVITYPUB".into(), "true".into());
        env.insert("BACKFEED_PUBLIC_URL".into(), "{address}/".into());
    })
    .await;
    let post_url = app.publish("hello", "Hello fediverse");
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
                let queued = federation
                    .federate(change, &post(&post_url, change))
                    .await
                    .unwrap();
                transcript.push(format!("({step}: {queued} deliveries queued)"));
            }
            let mut ran = Vec::new();
            while let Some(job) = backfeed::jobs::run_one(&app.app).await.unwrap() {
                ran.push(format!("{}:{}", job.kind, job.outcome));
            }
            transcript.push(format!("(ran {ran:?})"));
            // What Fedify's interactions did, read back from the API.
            if matches!(step, "reply-and-like" | "undo-like" | "forged") {
                let body = comments(&app, &post_url).await;
                let reply = &body["comments"][0];
                transcript.push(format!(
                    "({step}: comments {} likes {} first {}:{})",
                    body["comment_count"],
                    body["reactions"]["likes"]["count"],
                    reply["source"],
                    reply["content_text"]
                ));
            }
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
        "reply-and-like-sent",
        "undo-like-sent",
        "tampered-refused",
        "foreign-key-refused",
        "replayed-refused",
        "update-verified",
        "delete-verified",
        "undo-sent",
    ] {
        assert!(
            transcript.contains(&format!("check {check} ok")),
            "{check} missing:\n{transcript}"
        );
    }
    if packages == FEDIFY_2 {
        for check in [
            "rfc9421-signed",
            "rfc9421-verified",
            "rfc9421-tampered-refused",
        ] {
            assert!(
                transcript.contains(&format!("check {check} ok")),
                "{check} missing:\n{transcript}"
            );
        }
    }
    assert!(transcript.contains("deliver-activity:done"), "{transcript}");
    let reply = "comments 1 likes 1 first \"activitypub\":\"Hello from Fedify!\"";
    assert!(
        transcript.contains(&format!("(reply-and-like: {reply})")),
        "{transcript}"
    );
    let undone = "comments 1 likes 0 first \"activitypub\":\"Hello from Fedify!\"";
    assert!(
        transcript.contains(&format!("(undo-like: {undone})")),
        "{transcript}"
    );
    assert!(
        transcript.contains(&format!("(forged: {undone})")),
        "forged requests changed nothing:\n{transcript}"
    );
    // The Undo was queued; once processed, nobody follows.
    while backfeed::jobs::run_one(&app.app).await.unwrap().is_some() {}
    assert!(app.app.store.list_followers().await.unwrap().is_empty());
}
