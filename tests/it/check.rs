//! `backfeed check` against the fake Mastodon, a fake blog (feed, post
//! pages advertising the endpoint) and a running backfeed: every line ok
//! and exit 0 when all is in order; a failing line with its fix, and
//! exit 1, for each thing that is not.

use std::collections::HashMap;

use crate::fake_blog::{post_html, with_head};
use crate::helpers::{TestApp, spawn_app, test_env};
use crate::process::run;

struct Setup {
    app: TestApp,
    env: HashMap<String, String>,
    _dir: tempfile::TempDir,
}

/// A blog whose feed lists two posts that advertise this backfeed.
async fn setup() -> Setup {
    let app = spawn_app().await;
    let endpoint = format!("{}/webmention", app.address);
    let mut items = String::new();
    for slug in ["one", "two"] {
        let page = post_html(Some(slug), None, None, Some("en"));
        let path = format!("/posts/{slug}/");
        app.blog.page(
            &path,
            &with_head(
                &page,
                &format!(r#"<link rel="webmention" href="{endpoint}">"#),
            ),
        );
        items.push_str(&format!(
            "<entry><title>{slug}</title><id>urn:{slug}</id><updated>2026-12-01T00:00:00Z</updated><link rel=\"alternate\" href=\"{}\"/></entry>",
            app.blog.url(&path)
        ));
    }
    app.blog.page_with_headers(
        "/feed.xml",
        200,
        &[("content-type", "application/atom+xml")],
        &format!(r#"<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title><id>urn:blog</id><updated>2026-12-01T00:00:00Z</updated>{items}</feed>"#),
    );
    app.blog.page_with_headers(
        "/",
        200,
        &[("link", &format!("<{endpoint}>; rel=\"webmention\""))],
        "<p>home</p>",
    );
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&app.mastodon, &app.blog, &dir);
    env.insert("BACKFEED_FEEDS".into(), app.blog.url("/feed.xml"));
    env.insert("BACKFEED_PUBLIC_URL".into(), format!("{}/", app.address));
    Setup {
        app,
        env,
        _dir: dir,
    }
}

fn line<'a>(stdout: &'a str, starts: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(starts))
        .unwrap_or_else(|| panic!("no line starting {starts:?} in:\n{stdout}"))
}

#[tokio::test]
async fn a_working_setup_passes_every_check() {
    let s = setup().await;
    let (code, stdout, stderr) = run(&s.env, &["check"]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(!stdout.contains("[FAIL]"), "{stdout}");
    line(&stdout, "[ ok ] store: sqlite://");
    let host = s
        .app
        .mastodon
        .base_url
        .trim_start_matches("http://")
        .to_owned();
    assert_eq!(
        line(&stdout, "[ ok ] mastodon token"),
        format!("[ ok ] mastodon token: valid, for @testuser@{host}")
    );
    assert_eq!(
        line(&stdout, "[ ok ] mastodon scopes"),
        "[ ok ] mastodon scopes: read:statuses write:statuses profile"
    );
    assert!(line(&stdout, "[ ok ] feed ").ends_with("BLOG_POST_PATTERN matches all 2 posts"));
    assert_eq!(
        stdout
            .lines()
            .filter(|l| l.starts_with("[ ok ] page ")
                && l.ends_with(&format!("advertises {}/webmention", s.app.address)))
            .count(),
        3,
        "the home page (Link header) and both posts: {stdout}"
    );
    line(
        &stdout,
        &format!("[ ok ] widget {}/widget.js", s.app.address),
    );
    assert!(stdout.contains("Everything needed for the enabled features is in order"));

    // Without BACKFEED_PUBLIC_URL, the advertised endpoint is recognised
    // as a backfeed of this version, and the widget is looked for there.
    let mut env = s.env.clone();
    env.remove("BACKFEED_PUBLIC_URL");
    let (code, stdout, _) = run(&env, &["check"]).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(line(&stdout, "[ ok ] page ").ends_with("a backfeed of this version"));
    line(
        &stdout,
        &format!("[ ok ] widget {}/widget.js", s.app.address),
    );
}

#[tokio::test]
async fn each_problem_is_a_failing_line_with_its_fix() {
    let s = setup().await;
    let fails = |env: HashMap<String, String>| async move {
        let (code, stdout, stderr) = run(&env, &["check"]).await;
        assert_eq!(code, 1, "{stdout}\n{stderr}");
        stdout
    };

    let mut env = s.env.clone();
    env.insert("MASTODON_OAUTH_TOKEN".into(), "revoked".into());
    let out = fails(env).await;
    assert!(
        line(&out, "[FAIL] mastodon token").contains("refused the token (HTTP 401)"),
        "{out}"
    );
    assert!(out.contains("fix: run `backfeed mastodon login"), "{out}");

    let mut env = s.env.clone();
    env.insert("MASTODON_USER".into(), "someoneelse".into());
    let out = fails(env).await;
    assert!(
        line(&out, "[FAIL] mastodon token").contains("belongs to @testuser"),
        "{out}"
    );

    let mut env = s.env.clone();
    let read_only = s.app.mastodon.issue_token("read:statuses profile");
    env.insert("MASTODON_OAUTH_TOKEN".into(), read_only);
    let out = fails(env).await;
    assert!(
        line(&out, "[FAIL] mastodon scopes").ends_with("lacks write:statuses"),
        "{out}"
    );

    let mut env = s.env.clone();
    env.insert(
        "BLOG_POST_PATTERN".into(),
        format!("^{}/posts/one/", regex::escape(&s.app.blog.base_url)),
    );
    let out = fails(env).await;
    assert!(
        line(&out, "[FAIL] feed").contains("matches 1 of 2 posts; not "),
        "{out}"
    );

    let mut env = s.env.clone();
    env.insert("BACKFEED_PUBLIC_URL".into(), "http://127.0.0.1:9/".into());
    let out = fails(env).await;
    assert!(
        line(&out, "[FAIL] page").contains("not this service (http://127.0.0.1:9/webmention)"),
        "{out}"
    );
    assert!(
        line(&out, "[FAIL] widget").contains("http://127.0.0.1:9/widget.js"),
        "{out}"
    );

    s.app
        .blog
        .page("/posts/two/", &post_html(Some("two"), None, None, None));
    let out = fails(s.env.clone()).await;
    assert!(
        line(&out, "[FAIL] page").ends_with("advertises no webmention endpoint"),
        "{out}"
    );
    assert!(
        out.contains(r#"fix: add <link rel="webmention" href=""#),
        "{out}"
    );

    let mut env = s.env.clone();
    env.insert(
        "DATABASE_URL".into(),
        "postgres://backfeed@127.0.0.1:9/backfeed".into(),
    );
    let out = fails(env).await;
    let store = line(
        &out,
        "[FAIL] store: postgres://backfeed@127.0.0.1:9/backfeed",
    );
    // A build without PostgreSQL says which feature it lacks.
    assert!(
        cfg!(feature = "postgres") || store.contains("the `postgres` cargo feature"),
        "{out}"
    );
}

#[tokio::test]
async fn features_that_are_off_are_skipped_and_missing_settings_warned() {
    let s = setup().await;
    let env: HashMap<String, String> = s
        .env
        .iter()
        .filter(|(k, _)| k.starts_with("DATABASE") || k.starts_with("VERSION"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let (code, stdout, stderr) = run(&env, &["check"]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    line(&stdout, "[skip] mastodon: announcing is off");
    line(&stdout, "[warn] feed: BACKFEED_FEEDS is not set");
    line(
        &stdout,
        "[skip] webmention endpoint: receiving webmentions is off",
    );
    line(
        &stdout,
        "[warn] widget: where readers load it from is unknown",
    );
    assert!(stdout.contains("in order (see the warnings)"));
}
