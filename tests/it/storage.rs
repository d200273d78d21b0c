//! The storage contract, run against every backend.

use std::sync::Arc;

use backfeed::storage::conformance;
use backfeed::storage::sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_storage_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("conformance.db"))
        .await
        .unwrap();
    conformance::run(Arc::new(store)).await;
}

#[tokio::test]
async fn sqlite_keeps_its_data_and_schema_version_across_reopening() {
    use backfeed::domain::{ClaimOutcome, PostUrl, TootId};
    use backfeed::storage::PostStore;
    use std::time::Duration;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/reopen.db");
    let url = PostUrl::parse("https://blog.example/p").unwrap();
    {
        let store = SqliteStore::open(&path).await.unwrap();
        let now = time::OffsetDateTime::now_utc();
        let ClaimOutcome::Claimed(token) = store
            .claim_post(&url, Duration::from_secs(60), now)
            .await
            .unwrap()
        else {
            panic!("claim")
        };
        store
            .record_toot(&url, &token, &TootId::new("42").unwrap(), now)
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let outcome = store
        .claim_post(
            &url,
            Duration::from_secs(60),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert_eq!(outcome, ClaimOutcome::Announced(TootId::new("42").unwrap()));
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, SqliteStore::schema_version());
}
