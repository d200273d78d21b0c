//! Real readers of webmention.io's API that no one here wrote, installed
//! from their registries and pointed at backfeed on loopback by changing
//! the host name only:
//!
//! - npm's `@chrisburnell/eleventy-cache-webmentions`, configured as its
//!   README says for a self-hosted webmention.io (`feed` with `domain`,
//!   `token` and `per-page`; `paginate: true`), run as Eleventy runs it
//!   (`tests/readers/eleventy.mjs`): it fetches the whole site page by page,
//!   then, on the next build, only what came `since` the newest it has.
//! - PyPI's `mkdocs-webmention`: `mkdocs build` of a small site, then the
//!   built page, with `https://webmention.io` changed to our address, in
//!   jsdom running the plugin's own `webmention.js`
//!   (`tests/readers/mkdocs.mjs`), which asks for each page's mentions by
//!   `target` (`per-page`, `sort-by=published`, `sort-dir=down`).
//!
//! Installed once into `target/` from the pinned trees in `tests/readers/`
//! (`package.json` + lock with `npm ci`; `requirements.txt` into a venv);
//! a missing or failing install panics with the tool's output.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::sync::Mutex;
use std::time::Duration;

use backfeed::domain::mention::{Author, MentionData, MentionId, Moderation, Relation, Transition};
use backfeed::storage::Store;
use time::OffsetDateTime;
use tokio::process::Command;
use url::Url;

use crate::helpers::{md5_hex, spawn_app_with_clock};
use crate::support_install::{PipTool, describe, ensure_installed, ensure_pip_tool, run_install};

const ELEVENTY_PLUGIN_VERSION: &str = "2.3.5";
const MKDOCS_WEBMENTION_VERSION: &str = "1.0.0";
const READ_TOKEN: &str = "read-token-0123456789abcdef";
const READER_TIME_LIMIT: Duration = Duration::from_secs(120);

/// One stored mention and what a reader must show of it.
struct Seeded {
    id: MentionId,
    source: String,
    target: String,
    property: &'static str,
    author: String,
    content: Option<String>,
}

/// Stores a verified, approved mention received at `at` (straight into
/// the store: the readers are under test here, not verification).
async fn seed(
    store: &dyn Store,
    n: usize,
    target: &str,
    relation: Relation,
    at: OffsetDateTime,
) -> Seeded {
    let property = relation.property();
    let source = format!("https://site{n}.example/notes/{n}");
    let author = format!("Author Number {n}");
    let content = matches!(relation, Relation::Reply | Relation::Mention)
        .then(|| format!("Words from mention {n}"));
    let id = store
        .receive_mention(
            &Url::parse(&source).unwrap(),
            &Url::parse(target).unwrap(),
            Moderation::Approved,
            at,
        )
        .await
        .unwrap();
    let seen = store.find_mention(id).await.unwrap().unwrap().updated_at;
    let data = MentionData {
        relation,
        author: Some(Author {
            name: Some(author.clone()),
            photo: Some(format!("https://site{n}.example/me.png")),
            url: Some(format!("https://site{n}.example/")),
        }),
        content_html: content.as_ref().map(|c| format!("<p>{c}</p>")),
        content_text: content.clone(),
        published: Some(format!("2026-10-{:02}T10:00:00Z", 1 + n % 28)),
        ..MentionData::default()
    };
    store
        .settle_mention(id, &Transition::Verify(data), seen, at)
        .await
        .unwrap();
    Seeded {
        id,
        source,
        target: target.to_owned(),
        property,
        author,
        content,
    }
}

fn relation(n: usize) -> Relation {
    match n % 4 {
        0 => Relation::Reply,
        1 => Relation::Like,
        2 => Relation::Mention,
        _ => Relation::Repost,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eleventy_cache_webmentions_fetches_a_whole_site_in_pages_then_only_what_is_new() {
    let dir = ensure_readers();
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_READ_TOKENS".into(), READ_TOKEN.into());
        },
        false,
    )
    .await;
    let store = &*app.app.store;
    let start = app.app.clock.now();
    let mut seeded = Vec::new();
    for n in 0..25 {
        let target = app.blog.url(&format!("/posts/p{}/", n % 5));
        let at = start + Duration::from_secs(n as u64);
        seeded.push(seed(store, n, &target, relation(n), at).await);
    }
    // Another site's mention: not part of this domain's listing.
    seed(
        store,
        99,
        "https://elsewhere.example/p/",
        Relation::Reply,
        start,
    )
    .await;

    let cache = tempfile::tempdir().unwrap();
    let address = app.address.clone();
    let options = |duration: &str| {
        serde_json::json!({
            "domain": app.blog.base_url,
            "feed": format!("{address}/api/mentions.jf2?domain=127.0.0.1&token={READ_TOKEN}&per-page=10"),
            "key": "children",
            "paginate": true,
            "cacheDirectory": cache.path().join(".cache"),
            "duration": duration,
        })
    };
    let first = run_eleventy(&dir, &options("1d")).await;
    let pages: Vec<&str> = first["fetched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(pages.len(), 3, "25 mentions in pages of 10: {pages:?}");
    for (page, url) in pages.iter().enumerate() {
        assert!(url.contains(&format!("page={page}")), "{url}");
        assert!(url.contains("per-page=10") && url.contains("domain=127.0.0.1"));
    }
    assert_every_mention_once(&first, &seeded);

    // New mentions arrive; the next build asks only for what came since.
    for n in 25..28 {
        let target = app.blog.url("/posts/p0/");
        let at = start + Duration::from_secs(100 + n as u64);
        seeded.push(seed(store, n, &target, relation(n), at).await);
    }
    let second = run_eleventy(&dir, &options("0s")).await;
    let fetched = second["fetched"].as_array().unwrap();
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    let newest_received = backfeed::protocol::jf2::received(start + Duration::from_secs(24));
    let url = fetched[0].as_str().unwrap();
    assert!(
        url.contains(&format!("since={}", newest_received.replace(':', "%3A"))),
        "{url} asks since {newest_received}"
    );
    assert_every_mention_once(&second, &seeded);
}

/// Every seeded mention is in the plugin's data once, filed under its
/// target, with the author, content and type the plugin reads.
fn assert_every_mention_once(output: &serde_json::Value, seeded: &[Seeded]) {
    let all = output["all"].as_array().unwrap();
    assert_eq!(
        all.len(),
        seeded.len(),
        "each mention once, no other site's"
    );
    for mention in seeded {
        let found: Vec<_> = all
            .iter()
            .filter(|m| m["wm-source"] == mention.source.as_str())
            .collect();
        assert_eq!(found.len(), 1, "{}", mention.source);
        let m = found[0];
        assert_eq!(m["wm-id"], mention.id.0);
        assert_eq!(m["wm-target"], mention.target.as_str());
        assert_eq!(m["wm-property"], mention.property);
        assert_eq!(m["author"]["name"], mention.author.as_str());
        match &mention.content {
            Some(text) => assert_eq!(m["content"]["html"], format!("<p>{text}</p>")),
            None => assert!(m.get("content").is_none()),
        }
        let filed = &output["byUrl"][&mention.target];
        assert!(
            filed
                .as_array()
                .is_some_and(|list| list.iter().any(|m| m["wm-id"] == mention.id.0)),
            "filed under {}",
            mention.target
        );
    }
}

async fn run_eleventy(dir: &Path, options: &serde_json::Value) -> serde_json::Value {
    let mut command = Command::new("node");
    command
        .arg(dir.join("eleventy.mjs"))
        .current_dir(dir)
        .env("PLUGIN_OPTIONS", options.to_string());
    parse_output(run_reader(command).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mkdocs_webmention_shows_a_page_s_mentions_by_changing_one_host_name() {
    let dir = ensure_readers();
    let mkdocs = ensure_mkdocs_webmention();
    let app = spawn_app_with_clock(|_| {}, false).await;
    let store = &*app.app.store;
    let start = app.app.clock.now();
    let page = app.blog.url("/posts/hello/");
    let mut seeded = Vec::new();
    for n in 0..6 {
        let at = start + Duration::from_secs(n as u64);
        seeded.push(seed(store, n, &page, relation(n), at).await);
    }
    let other_page = seed(
        store,
        7,
        &app.blog.url("/posts/other/"),
        Relation::Reply,
        start,
    )
    .await;

    let site = tempfile::tempdir().unwrap();
    let built = build_site(&mkdocs, site.path(), &app.blog.base_url);
    let mut command = Command::new("node");
    command
        .arg(dir.join("mkdocs.mjs"))
        .current_dir(&dir)
        .env("PAGE", built.join("posts/hello/index.html"))
        .env("PAGE_URL", &page)
        .env("SCRIPT", built.join("assets/webmention/webmention.js"))
        .env("API", &app.address);
    let output = parse_output(run_reader(command).await);

    let fetched = output["fetched"].as_array().unwrap();
    assert!(!fetched.is_empty());
    for url in fetched {
        let url = url.as_str().unwrap();
        assert!(
            url.starts_with(&format!("{}/api/mentions.jf2?target=", app.address)),
            "{url}"
        );
    }
    let html = output["html"].as_str().unwrap();
    assert!(!html.contains("wm__status--error"), "{html}");
    for mention in &seeded {
        assert!(
            html.contains(&mention.author),
            "{} missing: {html}",
            mention.author
        );
        if let (Some(text), "in-reply-to" | "mention-of") = (&mention.content, mention.property) {
            assert!(html.contains(text.as_str()), "{text} missing: {html}");
        }
    }
    assert!(
        !html.contains(&other_page.author),
        "another page's mention: {html}"
    );
}

/// `mkdocs build` of a one-post site whose `site_url` is the fake blog's.
fn build_site(mkdocs: &Path, dir: &Path, site_url: &str) -> PathBuf {
    let docs = dir.join("docs").join("posts").join("hello");
    fs::create_dir_all(&docs).unwrap();
    fs::write(docs.join("index.md"), "# Hello\n\nA post.\n").unwrap();
    fs::write(
        dir.join("mkdocs.yml"),
        format!(
            "site_name: Test\nsite_url: {site_url}/\nplugins:\n  - webmention:\n      lazy: false\n      content: html\n"
        ),
    )
    .unwrap();
    run_install(
        StdCommand::new(mkdocs)
            .args(["build", "--quiet"])
            .current_dir(dir),
    );
    dir.join("site")
}

// ------------------------------------------------------------- plumbing

/// Runs a reader to completion (killed after `READER_TIME_LIMIT`) without
/// blocking the runtime the app serves on; loopback never goes through a
/// proxy.
async fn run_reader(mut command: Command) -> Output {
    command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .kill_on_drop(true);
    let output = tokio::time::timeout(READER_TIME_LIMIT, command.output())
        .await
        .expect("the reader finished in time")
        .expect("node runs");
    assert!(
        output.status.success(),
        "the reader failed:\n{}",
        describe(&output)
    );
    output
}

/// The JSON the driver prints last (the plugins log lines of their own
/// before it).
fn parse_output(output: Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("the reader printed no JSON ({e}):\n{}", describe(&output)))
}

fn readers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("readers")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// `npm ci` of `tests/readers` into `target/npm-readers`, with the driver
/// scripts beside it, once per version of those files.
fn ensure_readers() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let source = readers_dir();
    let files = [
        "package.json",
        "package-lock.json",
        "eleventy.mjs",
        "mkdocs.mjs",
    ];
    let contents: Vec<String> = files.iter().map(|f| read(&source.join(f))).collect();
    let declared: serde_json::Value = serde_json::from_str(&contents[0]).unwrap();
    assert_eq!(
        declared["dependencies"]["@chrisburnell/eleventy-cache-webmentions"],
        ELEVENTY_PLUGIN_VERSION
    );
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("npm-readers");
    let plugin = dir
        .join("node_modules")
        .join("@chrisburnell")
        .join("eleventy-cache-webmentions")
        .join("package.json");
    let stamp = md5_hex(&contents.join("\n"));
    ensure_installed(&IN_PROCESS, &dir, &stamp, &plugin, |dir| {
        for (file, content) in files.iter().zip(&contents) {
            fs::write(dir.join(file), content).expect("writing a reader file");
        }
        run_install(
            StdCommand::new("npm")
                .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
                .current_dir(dir),
        );
        let installed: serde_json::Value = serde_json::from_str(&read(&plugin)).unwrap();
        assert_eq!(installed["version"], ELEVENTY_PLUGIN_VERSION);
    });
    dir
}

/// mkdocs and mkdocs-webmention, pinned in `tests/readers/requirements.txt`,
/// in the venv `target/py-readers`; returns its `mkdocs`.
fn ensure_mkdocs_webmention() -> PathBuf {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("py-readers");
    let mkdocs = venv.join("bin").join("mkdocs");
    ensure_pip_tool(
        &IN_PROCESS,
        &PipTool {
            requirements: &readers_dir().join("requirements.txt"),
            pin: &format!("mkdocs-webmention=={MKDOCS_WEBMENTION_VERSION}"),
            venv: &venv,
            ready: &mkdocs,
            module: "mkdocs_webmention",
            version: MKDOCS_WEBMENTION_VERSION,
        },
    );
    mkdocs
}
