//! What an operator meets when something does not fit: a conflicting toot
//! (reported, not overwritten), and sources that are missing, unreachable
//! or misnamed (exit status 1, a message that says what to do).

use std::time::Duration;

use backfeed::config::DatabaseUrl;
use backfeed::domain::{ClaimOutcome, PostState, PostUrl, TootId};
use backfeed::storage::{self, Store};

use super::{counts, migrate, migrated, now_ms, sqlite_url};

async fn announce(store: &dyn Store, url: &PostUrl, toot: &str) {
    let ClaimOutcome::Claimed(token) = store
        .claim_post(url, Duration::from_secs(60), now_ms())
        .await
        .unwrap()
    else {
        panic!("a new post is claimed");
    };
    store
        .record_toot(url, &token, &TootId::new(toot).unwrap(), now_ms())
        .await
        .unwrap();
}

async fn open(url: &str) -> std::sync::Arc<dyn Store> {
    storage::open(
        &DatabaseUrl::parse(url).unwrap(),
        &backfeed::clock::Clock::system(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_post_tooted_twice_is_a_conflict_that_keeps_the_destinations_toot() {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (
        sqlite_url(&dir.path().join("old.db")),
        sqlite_url(&dir.path().join("new.db")),
    );
    let post = PostUrl::parse("https://blog.example/posts/twice/").unwrap();
    let other = PostUrl::parse("https://blog.example/posts/once/").unwrap();
    {
        let old = open(&from).await;
        announce(&*old, &post, "111").await;
        announce(&*old, &other, "222").await;
        announce(&*open(&to).await, &post, "999").await;
    }

    let summary = migrated(&from, &to, &[]).await;
    assert_eq!(counts(&summary, "posts"), [2, 1, 0, 1, 0], "{summary}");
    assert!(
        summary.contains(
            "post https://blog.example/posts/twice/ (toot 111 in the source): the destination keeps toot 999"
        ),
        "{summary}"
    );
    let kept = open(&to).await.find_post(&post).await.unwrap().unwrap();
    assert_eq!(
        kept.state,
        PostState::Announced {
            toot_id: TootId::new("999").unwrap()
        }
    );
    let again = migrated(&from, &to, &[]).await;
    assert_eq!(counts(&again, "posts"), [2, 0, 1, 1, 0], "{again}");
}

#[tokio::test]
async fn missing_unreachable_and_misnamed_sources_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let to = sqlite_url(&dir.path().join("never.db"));
    let missing_db = sqlite_url(&dir.path().join("missing.db"));
    let missing_file = format!("jf2:{}", dir.path().join("missing.json").display());
    let cases: [(&[&str], &str); 6] = [
        (&["--from", &missing_file, "--to", &to], "cannot read"),
        (&["--from", &missing_db, "--to", &to], "does not exist"),
        (
            &[
                "--from",
                "postgres://backfeed:hunter2@127.0.0.1:1/backfeed",
                "--to",
                &to,
            ],
            "cannot open the source postgres://backfeed@127.0.0.1:1/backfeed",
        ),
        (&["--from", "mysql://db/x", "--to", &to], "jf2:<file>"),
        (&["--from", &to, "--to", "ftp://x"], "--to:"),
        (
            &["--from", &to, "--to", &to],
            "--from and --to name the same store",
        ),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = migrate(args).await;
        assert_eq!(code, 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("hunter2"), "no password: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    assert!(
        !dir.path().join("never.db").exists(),
        "a failed source creates no destination"
    );
    let (code, _, stderr) = migrate(&["--from", &to]).await;
    assert_eq!(code, 2, "a missing flag is a usage error: {stderr}");
}
