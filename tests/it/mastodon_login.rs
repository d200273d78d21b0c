//! `backfeed mastodon login` against the fake Mastodon: registering the
//! application, the owner's approval, the code pasted or given, the token's
//! scopes and account, and where the settings are written.

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::fake_mastodon::FakeMastodon;
use crate::process::{command, run};

const FULL: &str = "read:statuses write:statuses profile";

fn env() -> HashMap<String, String> {
    HashMap::new()
}

/// Runs `login` interactively: waits for the authorisation URL, has the
/// fake's owner approve `scopes`, pastes the code. Returns (exit code,
/// stdout, stderr).
async fn interactive(
    mastodon: &FakeMastodon,
    args: &[&str],
    scopes: &str,
) -> (i32, String, String) {
    let mut child = command(&env(), args)
        .stdin(Stdio::piped())
        .spawn()
        .expect("spawn backfeed");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), stderr.next_line())
            .await
            .expect("the URL comes")
            .unwrap()
            .unwrap_or_else(|| panic!("stderr ended before the URL: {seen:?}"));
        seen.push(line.clone());
        if let Some(at) = line.find("/oauth/authorize?") {
            let start = line[..at].rfind("http").unwrap();
            break url::Url::parse(line[start..].trim()).unwrap();
        }
    };
    let query: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["redirect_uri"], "urn:ietf:wg:oauth:2.0:oob");
    assert_eq!(query["scope"], FULL);
    let code = mastodon.authorize(&query["client_id"], scopes);
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{code}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let mut stdout = String::new();
    tokio::io::AsyncReadExt::read_to_string(child.stdout.as_mut().unwrap(), &mut stdout)
        .await
        .unwrap();
    while let Some(line) = stderr.next_line().await.unwrap() {
        seen.push(line);
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("login ends")
        .unwrap();
    (status.code().unwrap_or(-1), stdout, seen.join("\n"))
}

#[tokio::test]
async fn login_writes_the_settings_into_an_env_file_readable_only_by_its_owner() {
    let mastodon = FakeMastodon::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("env");
    std::fs::write(
        &file,
        "DATABASE_URL=sqlite:///var/lib/backfeed/backfeed.db\nMASTODON_HOST=old.example\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, stdout, stderr) = interactive(
        &mastodon,
        &[
            "mastodon",
            "login",
            &mastodon.base_url,
            "--env-file",
            file.to_str().unwrap(),
        ],
        FULL,
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "", "settings go to the file");
    assert!(
        stderr.contains("Signed in as @testuser@127.0.0.1"),
        "{stderr}"
    );
    assert_eq!(mastodon.registered_apps(), 1);
    let written = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(
        lines[0],
        "DATABASE_URL=sqlite:///var/lib/backfeed/backfeed.db"
    );
    assert_eq!(lines[1], format!("MASTODON_HOST={}", mastodon.base_url));
    assert_eq!(lines[2], "MASTODON_USER=testuser");
    let token = lines[3].strip_prefix("MASTODON_OAUTH_TOKEN=").unwrap();
    assert_eq!(
        mastodon.token_scopes(token).unwrap(),
        ["read:statuses", "write:statuses", "profile"]
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[tokio::test]
async fn a_code_from_an_earlier_run_finishes_without_a_prompt_into_the_toml_file() {
    let mastodon = FakeMastodon::start().await;
    // The first run registered the application and printed its id and secret.
    let app: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", mastodon.base_url))
        .form(&[
            ("client_name", "backfeed"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", FULL),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (id, secret) = (
        app["client_id"].as_str().unwrap(),
        app["client_secret"].as_str().unwrap(),
    );
    let code = mastodon.authorize(id, FULL);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backfeed.toml");
    let (status, stdout, stderr) = run(
        &env(),
        &[
            "--config",
            file.to_str().unwrap(),
            "mastodon",
            "login",
            &mastodon.base_url,
            "--client-id",
            id,
            "--client-secret",
            secret,
            "--code",
            &code,
        ],
    )
    .await;
    assert_eq!(status, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(mastodon.registered_apps(), 1, "nothing registered again");
    let config: toml::Table = std::fs::read_to_string(&file).unwrap().parse().unwrap();
    assert_eq!(
        config["mastodon"]["host"].as_str(),
        Some(mastodon.base_url.as_str())
    );
    assert_eq!(config["mastodon"]["user"].as_str(), Some("testuser"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "created readable only by its owner");

    // Without a file, the settings are printed as `export` lines.
    let code = mastodon.authorize(id, FULL);
    let (status, stdout, stderr) = run(
        &env(),
        &[
            "mastodon",
            "login",
            &mastodon.base_url,
            "--client-id",
            id,
            "--client-secret",
            secret,
            "--code",
            &code,
        ],
    )
    .await;
    assert_eq!(status, 0, "{stderr}");
    let exports: Vec<&str> = stdout.lines().collect();
    assert_eq!(exports.len(), 3, "{stdout}");
    assert_eq!(
        exports[0],
        format!("export MASTODON_HOST='{}'", mastodon.base_url)
    );
    assert_eq!(exports[1], "export MASTODON_USER='testuser'");
    assert!(exports[2].starts_with("export MASTODON_OAUTH_TOKEN='token-"));
}

#[tokio::test]
async fn login_says_clearly_what_went_wrong() {
    let mastodon = FakeMastodon::start().await;
    // An instance nobody answers at.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let (status, _, stderr) = run(
        &env(),
        &[
            "mastodon",
            "login",
            &nowhere,
            "--client-id",
            "x",
            "--client-secret",
            "y",
            "--code",
            "z",
        ],
    )
    .await;
    assert_eq!(status, 1);
    assert!(stderr.contains("could not be reached"), "{stderr}");

    // A code the instance refuses.
    let (status, _, stderr) = run(
        &env(),
        &[
            "mastodon",
            "login",
            &mastodon.base_url,
            "--client-id",
            "client-x",
            "--client-secret",
            "nope",
            "--code",
            "stale",
        ],
    )
    .await;
    assert_eq!(status, 1);
    assert!(
        stderr.contains("refused the authorisation code"),
        "{stderr}"
    );

    // The owner unticked write:statuses.
    let (status, _, stderr) = interactive(
        &mastodon,
        &["mastodon", "login", &mastodon.base_url],
        "read:statuses profile",
    )
    .await;
    assert_eq!(status, 1);
    assert!(
        stderr.contains("lacks the scope write:statuses"),
        "{stderr}"
    );

    // --code alone cannot work: the code belongs to an application.
    let (status, _, stderr) = run(
        &env(),
        &["mastodon", "login", &mastodon.base_url, "--code", "c"],
    )
    .await;
    assert_eq!(status, 2);
    assert!(stderr.contains("--client-id"), "{stderr}");
}

#[tokio::test]
async fn before_mastodon_4_3_the_account_is_read_with_read_accounts() {
    let mastodon = FakeMastodon::start().await;
    mastodon.set_oauth_legacy(true);
    let mut child = command(&env(), &["mastodon", "login", &mastodon.base_url])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = stderr.next_line().await.unwrap().expect("the URL comes");
        if line.contains("/oauth/authorize?") {
            break line;
        }
    };
    assert!(
        url.contains("scope=read%3Astatuses+write%3Astatuses+read%3Aaccounts"),
        "{url}"
    );
    drop(child.stdin.take());
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(1), "no code pasted");
}
