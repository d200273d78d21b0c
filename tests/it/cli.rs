//! The command line: help, dry runs, listing and retrying posts, bad settings.

use crate::fake_blog::{FakeBlog, post_html};
use crate::fake_mastodon::{Failure, FakeMastodon};
use crate::helpers::test_env;
use crate::process::run;

struct Setup {
    mastodon: FakeMastodon,
    blog: FakeBlog,
    env: std::collections::HashMap<String, String>,
    _dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = test_env(&mastodon, &blog, &dir);
    Setup {
        mastodon,
        blog,
        env,
        _dir: dir,
    }
}

#[tokio::test]
async fn every_command_has_helpful_help() {
    let env = Default::default();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["toot", "--help"],
        vec!["posts", "--help"],
        vec!["posts", "list", "--help"],
        vec!["posts", "retry", "--help"],
    ] {
        let (code, stdout, stderr) = run(&env, &args).await;
        assert_eq!(code, 0, "{args:?}: {stderr}");
        assert!(stdout.contains("Usage:"), "{args:?}: {stdout}");
    }
    let (_, top, _) = run(&env, &["--help"]).await;
    for command in ["serve", "toot", "posts"] {
        assert!(top.contains(command), "{top}");
    }
}

#[tokio::test]
async fn toot_dry_run_prints_the_exact_status_and_posts_nothing() {
    let s = setup().await;
    s.blog.page(
        "/posts/dry/",
        &post_html(Some("Dry"), Some("Run it."), Some("#test"), None),
    );
    let url = s.blog.url("/posts/dry/");
    let (code, stdout, stderr) = run(&s.env, &["toot", "--dry-run", &url]).await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, format!("Dry\n\nRun it.\n#test\n{url}\n"));
    assert_eq!(s.mastodon.posts_received(), 0);
    let (_, listed, _) = run(&s.env, &["posts", "list"]).await;
    assert!(
        !listed.contains(&url),
        "a dry run records nothing: {listed}"
    );
}

#[tokio::test]
async fn the_seeds_dryrun_spelling_still_works() {
    let s = setup().await;
    s.blog
        .page("/posts/seed/", &post_html(Some("Seed"), None, None, None));
    let (code, stdout, _) = run(&s.env, &["toot", "--dryrun", &s.blog.url("/posts/seed/")]).await;
    assert_eq!(code, 0);
    assert!(stdout.starts_with("Seed\n\n"));
}

#[tokio::test]
async fn posts_list_shows_states_and_retry_posts_a_failed_post_again() {
    let s = setup().await;
    s.blog
        .page("/posts/a/", &post_html(Some("A"), None, None, None));
    s.blog
        .page("/posts/b/", &post_html(Some("B"), None, None, None));
    let (a, b) = (s.blog.url("/posts/a/"), s.blog.url("/posts/b/"));

    let (code, stdout, stderr) = run(&s.env, &["toot", &a]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("announced "), "{stdout}");
    s.mastodon
        .fail_next(Failure::Unprocessable("Validation failed: nope".into()));
    let (code, _, stderr) = run(&s.env, &["toot", &b]).await;
    assert_ne!(code, 0);
    assert!(stderr.contains("nope"), "{stderr}");

    let (_, table, _) = run(&s.env, &["posts", "list"]).await;
    let id = s.mastodon.statuses()[0]["id"].as_str().unwrap().to_owned();
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("announced") && l.contains(&id) && l.contains(&a)),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("failed") && l.contains(&b) && l.contains("nope")),
        "{table}"
    );

    let (_, json, _) = run(&s.env, &["posts", "list", "--json"]).await;
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["toot_id"], id.as_str());

    let (code, stdout, stderr) = run(&s.env, &["posts", "retry", &b]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("announced "), "{stdout}");
    assert_eq!(s.mastodon.statuses_created(), 2);
}

#[tokio::test]
async fn an_invalid_setting_stops_start_up_naming_the_key_and_the_variable() {
    let s = setup().await;
    let mut env = s.env.clone();
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "forever".into());
    let (code, _, stderr) = run(&env, &["serve", "--listen", "127.0.0.1:0"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("fetch.timeout") && stderr.contains("BACKFEED_FETCH_TIMEOUT"),
        "{stderr}"
    );

    let (code, _, stderr) = run(&s.env, &["serve", "--listen", "nonsense"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("listen") && stderr.contains("command line"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_config_file_is_read_and_the_environment_overrides_it() {
    let s = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backfeed.toml");
    std::fs::write(&file, "[blog]\npostfix = \"from the file\"\n").unwrap();
    s.blog
        .page("/posts/f/", &post_html(Some("F"), None, None, None));
    let url = s.blog.url("/posts/f/");
    let (code, stdout, stderr) = run(
        &s.env,
        &[
            "--config",
            file.to_str().unwrap(),
            "toot",
            "--dry-run",
            &url,
        ],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("from the file"), "{stdout}");

    let mut env = s.env.clone();
    env.insert("BLOG_POST_POSTFIX".into(), "from the environment".into());
    let (_, stdout, _) = run(
        &env,
        &[
            "--config",
            file.to_str().unwrap(),
            "toot",
            "--dry-run",
            &url,
        ],
    )
    .await;
    assert!(stdout.contains("from the environment"), "{stdout}");
}
