//! Importing the seed's own stores: its PostgreSQL `posts(id, url,
//! toot_id)` table and its S3 layout (`.mastodon-meta/<path>` objects with
//! `toot-id` metadata, written here with boto3, as the seed writes them).

use backfeed::config::DatabaseUrl;
use backfeed::domain::{PostState, PostUrl};
use backfeed::storage::{self, Store};

use super::{counts, migrate, migrated, sqlite_url};
#[cfg(feature = "postgres")]
use crate::support_postgres::fresh_database;
use crate::support_s3::{fresh_bucket, python};

async fn toot_of(store: &dyn Store, url: &str) -> Option<String> {
    let url = PostUrl::parse(url).unwrap();
    match store.find_post(&url).await.unwrap().map(|p| p.state) {
        Some(PostState::Announced { toot_id }) => Some(toot_id.to_string()),
        other => panic!("{url}: {other:?}"),
    }
}

async fn open_sqlite(url: &str) -> std::sync::Arc<dyn Store> {
    storage::open(
        &DatabaseUrl::parse(url).unwrap(),
        &backfeed::clock::Clock::system(),
    )
    .await
    .unwrap()
}

#[cfg(feature = "postgres")]
async fn sql(database: &str, statements: &str) {
    let (client, connection) = tokio_postgres::connect(database, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    client.batch_execute(statements).await.unwrap();
    drop(client);
    let _ = connection.await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_postgres_table_is_recognised_and_imported() {
    let seed = fresh_database().await;
    sql(
        &seed,
        "CREATE TABLE posts (id SERIAL PRIMARY KEY, url TEXT NOT NULL UNIQUE, toot_id BIGINT);
         INSERT INTO posts (url, toot_id) VALUES
             ('https://claassen.net/geek/blog/2024/02/mastodon-integration.html', 111950384712345678),
             ('https://claassen.net/geek/blog/2024/03/next.html?utm=x', 112000000000000001),
             ('https://claassen.net/geek/blog/in-progress.html', NULL),
             ('not a url', 5);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let to = sqlite_url(&dir.path().join("from-seed.db"));

    let summary = migrated(&seed, &to, &[]).await;
    assert_eq!(counts(&summary, "posts"), [4, 2, 0, 0, 2], "{summary}");
    assert!(summary.contains("has no toot id"), "{summary}");
    assert!(!summary.contains("mentions"), "the seed has only posts");
    let store = open_sqlite(&to).await;
    assert_eq!(
        toot_of(
            &*store,
            "https://claassen.net/geek/blog/2024/02/mastodon-integration.html"
        )
        .await
        .as_deref(),
        Some("111950384712345678")
    );
    assert_eq!(
        toot_of(&*store, "https://claassen.net/geek/blog/2024/03/next.html")
            .await
            .as_deref(),
        Some("112000000000000001"),
        "stored under its canonical URL"
    );

    let again = migrated(&seed, &to, &[]).await;
    assert_eq!(counts(&again, "posts"), [4, 0, 2, 0, 2], "{again}");

    // The seed's database is read, never changed.
    let (client, connection) = tokio_postgres::connect(&seed, tokio_postgres::NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let row = client
        .query_one("SELECT to_regclass('schema_migrations') IS NULL", &[])
        .await
        .unwrap();
    assert!(
        row.get::<_, bool>(0),
        "no backfeed schema in the seed's database"
    );
    drop(client);
    let _ = connection.await;

    // Nor is it ever a destination: backfeed's schema needs the name `posts`.
    let (code, _, stderr) = migrate(&["--from", &to, "--to", &seed]).await;
    assert_eq!(code, 1);
    assert!(
        stderr.contains("holds mastodon_post_blog's `posts` table"),
        "{stderr}"
    );
}

/// Writes the seed's object for `path` with boto3, exactly as the seed does.
fn seed_object(bucket: &str, path: &str, toot: Option<&str>) {
    let metadata = toot.map_or("{}".to_owned(), |t| format!("{{'toot-id': '{t}'}}"));
    python(
        bucket,
        &format!(
            r#"
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
s3.put_object(Bucket=os.environ["BUCKET"], Key=".mastodon-meta/{path}", Body=b"", Metadata={metadata})
"#
        ),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_bucket_is_imported_once_its_site_is_known() {
    let bucket = fresh_bucket().await;
    seed_object(
        &bucket,
        "geek/blog/2024/02/mastodon-integration.html",
        Some("12345"),
    );
    seed_object(&bucket, "posts/a post/", Some("777"));
    seed_object(&bucket, "broken.html", None);
    let dir = tempfile::tempdir().unwrap();
    let to = sqlite_url(&dir.path().join("from-bucket.db"));

    let (code, stdout, stderr) = migrate(&["--from", &bucket, "--to", &to]).await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stderr.contains("--site https://blog.example") && stderr.contains("3 announced post(s)"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("from-bucket.db").exists(),
        "nothing is created before the source is understood"
    );

    let summary = migrated(&bucket, &to, &["--site", "https://claassen.net"]).await;
    assert_eq!(counts(&summary, "posts"), [3, 2, 0, 0, 1], "{summary}");
    assert!(summary.contains(".mastodon-meta/broken.html"), "{summary}");
    let store = open_sqlite(&to).await;
    assert_eq!(
        toot_of(
            &*store,
            "https://claassen.net/geek/blog/2024/02/mastodon-integration.html"
        )
        .await
        .as_deref(),
        Some("12345")
    );
    assert_eq!(
        toot_of(&*store, "https://claassen.net/posts/a%20post/")
            .await
            .as_deref(),
        Some("777"),
        "the trailing slash (and the space) of the seed's key are kept"
    );

    let again = migrated(&bucket, &to, &["--site", "https://claassen.net"]).await;
    assert_eq!(counts(&again, "posts"), [3, 0, 2, 0, 1], "{again}");

    // Back into a bucket: the seed's layout again, readable by the seed.
    let copy = fresh_bucket().await;
    let summary = migrated(&to, &copy, &[]).await;
    assert_eq!(counts(&summary, "posts"), [2, 2, 0, 0, 0], "{summary}");
    let metadata = python(
        &copy,
        r#"
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"])
head = s3.head_object(Bucket=os.environ["BUCKET"], Key=".mastodon-meta/posts/a%20post/")
print(head["ContentLength"], head["Metadata"]["toot-id"])
"#,
    );
    assert_eq!(metadata.trim(), "0 777");
}
