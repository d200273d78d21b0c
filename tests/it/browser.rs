//! The comment widget in real headless Chromium, against this very server:
//! seeds a thread (nested Mastodon replies, a private and a hidden reply, a
//! content warning, media, custom emoji, webmentions, an XSS payload) and
//! runs the browser suite in `tests/browser/` (node's test runner,
//! playwright-core, Debian's chromium) with `BACKFEED_URL` pointing here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::process::Command;

use crate::fake_blog::FakeBlog;
use crate::fake_fediverse::FakeFediverse;
use crate::fake_mastodon::ReplySpec;
use crate::helpers::{TestApp, md5_hex, spawn_app_with};
use crate::support_install::{describe, ensure_installed, run_install};

const BROWSER_SUITE_LIMIT: Duration = Duration::from_secs(240);

fn reply(parent: &str, acct: &str, html: &str) -> ReplySpec {
    ReplySpec {
        in_reply_to_id: parent.to_owned(),
        acct: acct.to_owned(),
        display_name: acct.split('@').next().unwrap_or(acct).to_owned(),
        content_html: html.to_owned(),
        visibility: "public",
        ..ReplySpec::default()
    }
}

async fn announced(app: &TestApp, slug: &str) -> (String, String) {
    let post = app.publish(slug, slug);
    let lookup: serde_json::Value = app.lookup(&post).await.json().await.unwrap();
    (post, lookup["toot_id"].as_str().unwrap().to_owned())
}

/// Seeds everything the browser suite's thread test asks for; returns the
/// comment ids that must not be shown.
async fn seed_thread(app: &TestApp, sources: &FakeBlog, post: &str, toot: &str) -> Vec<String> {
    let m = &app.mastodon;
    let alice = m.add_reply(ReplySpec {
        display_name: "Alice :blobcat:".into(),
        emojis: vec![(
            "blobcat".into(),
            format!("{}/emoji/blobcat.png", m.base_url),
        )],
        media: vec![(
            "image".into(),
            format!("{}/media/original/cat.png", m.base_url),
            Some("A grey cat asleep".into()),
        )],
        ..reply(toot, "alice@social.example", "<p>Lovely post!</p>")
    });
    let bob = m.add_reply(ReplySpec {
        spoiler_text: "spoilers for the ending".into(),
        ..reply(&alice, "bob@other.example", "<p>The butler did it.</p>")
    });
    let carol = m.add_reply(reply(&bob, "carol@social.example", "<p>No way!</p>"));
    m.edit_status(&carol, "<p>No way! (edited)</p>");
    let private = m.add_reply(ReplySpec {
        visibility: "private",
        ..reply(toot, "dave@social.example", "<p>followers only</p>")
    });
    let moderated = m.add_reply(reply(toot, "spammer@spam.example", "<p>buy now</p>"));
    app.app.threads.hide_reply(&moderated).await.unwrap();

    for (path, class) in [
        ("/reply/", "u-in-reply-to"),
        ("/like/", "u-like-of"),
        ("/repost/", "u-repost-of"),
    ] {
        sources.page(
            path,
            &format!(
                r#"<div class="h-entry"><div class="p-author h-card"><a class="p-name u-url" href="https://wendy.example/">Wendy</a>
                <img class="u-photo" src="https://wendy.example/me.png" alt=""></div>
                <p class="e-content">Replying from my own blog.</p><a class="{class}" href="{post}">post</a></div>"#
            ),
        );
        let status = app.accepted_webmention(&sources.url(path), post).await;
        app.wait_for_status(&status, "verified").await;
    }
    seed_fediverse_reply(app, post).await;
    vec![
        format!("mastodon:{private}"),
        format!("mastodon:{moderated}"),
    ]
}

/// The post published to the fediverse, and a reply to it from another
/// server: a signed `Create(Note)` to the blog actor's inbox.
async fn seed_fediverse_reply(app: &TestApp, post: &str) {
    use backfeed::activitypub::publish::{OutgoingPost, PostChange, object_id};
    let federation = app.app.federation.as_ref().unwrap();
    let outgoing = OutgoingPost {
        url: url::Url::parse(post).unwrap(),
        title: Some("thread".into()),
        summary: None,
        content: None,
        published: time::OffsetDateTime::now_utc(),
        updated: None,
        tags: Vec::new(),
        image: None,
    };
    federation
        .federate(PostChange::Create, &outgoing)
        .await
        .unwrap();
    let peer = FakeFediverse::start().await;
    let note = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activities/1", peer.base_url),
        "type": "Create",
        "actor": peer.actor_id(),
        "object": {
            "id": format!("{}/users/alice/statuses/1", peer.base_url),
            "type": "Note",
            "attributedTo": peer.actor_id(),
            "inReplyTo": object_id(&federation.urls, &outgoing.url),
            "content": "<p>Replying from the fediverse.</p>",
            "published": "2026-11-22T13:00:00Z",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
        },
    });
    assert_eq!(
        crate::activitypub::send(app, &peer, &note).await.status(),
        202
    );
    let comments = format!(
        "{}/api/comments?url={}",
        app.address,
        url::form_urlencoded::byte_serialize(post.as_bytes()).collect::<String>()
    );
    crate::helpers::wait_for("the fediverse reply in the thread", || async {
        let body = app.get_json(&comments).await;
        body["comments"].to_string().contains("\"activitypub\"")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_widget_renders_a_real_thread_safely_in_headless_chromium() {
    let chromium =
        std::env::var("CHROMIUM_PATH").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: the browser tests need Debian's chromium (apt-get install chromium; ./test.sh installs it)"
    );
    let suite = ensure_browser_suite();
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_ACTIVITYPUB".into(), "true".into());
        env.insert("BACKFEED_PUBLIC_URL".into(), "{address}/".into());
    })
    .await;
    let sources = FakeBlog::start().await;

    let (thread, toot) = announced(&app, "thread").await;
    let hidden = seed_thread(&app, &sources, &thread, &toot).await;
    let (xss, xss_toot) = announced(&app, "xss").await;
    app.mastodon.add_reply(ReplySpec {
        display_name: "<script>window.__xss=1</script>".into(),
        ..reply(
            &xss_toot,
            "mallory@evil.example",
            r#"<p>hi<img src=x onerror="window.__xss=1"><a href="javascript:window.__xss=1">click</a><script>window.__xss=1</script></p>"#,
        )
    });
    let (empty, _) = announced(&app, "quiet").await;

    let mut command = Command::new("node");
    command
        .args(["--test", "--test-concurrency=1"])
        .current_dir(&suite)
        .env("BACKFEED_URL", &app.address)
        .env("BACKFEED_THREAD_URL", &thread)
        .env("BACKFEED_HIDDEN_IDS", hidden.join(","))
        .env("BACKFEED_EMPTY_URL", &empty)
        .env("BACKFEED_XSS_URL", &xss)
        .env("CHROMIUM_PATH", &chromium)
        .kill_on_drop(true);
    let output = tokio::time::timeout(BROWSER_SUITE_LIMIT, command.output())
        .await
        .expect("the browser suite finished in time")
        .expect("node runs");
    let report = describe(&output);
    println!("{report}");
    assert!(
        output.status.success(),
        "the browser suite failed:\n{report}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("# fail 0"), "{report}");
    assert!(
        !stdout.contains("# pass 0"),
        "no browser test ran:\n{report}"
    );
}

/// `npm ci` in `tests/browser` from its committed lock, once per lock.
pub fn ensure_browser_suite() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let suite = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("browser");
    let lock = std::fs::read_to_string(suite.join("package-lock.json"))
        .expect("tests/browser/package-lock.json");
    let modules = suite.join("node_modules");
    let ready = modules.join("playwright-core").join("package.json");
    ensure_installed(&IN_PROCESS, &modules, &md5_hex(&lock), &ready, |_| {
        run_install(
            std::process::Command::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(&suite),
        );
    });
    suite
}
