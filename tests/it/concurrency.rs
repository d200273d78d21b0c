//! Exactly one toot per post, whatever the concurrency.

use std::collections::HashSet;
use std::time::Duration;

use crate::fake_blog::{FakeBlog, post_html};
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::{spawn_app, test_env};
use crate::process::Backfeed;

async fn toot_id(http: &reqwest::Client, base: &str, post: &str) -> String {
    let response = http
        .get(format!("{base}/"))
        .query(&[("url", post)])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    body["toot_id"].as_str().expect("string id").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_first_requests_create_exactly_one_status() {
    let app = spawn_app().await;
    app.mastodon.set_honour_idempotency(false);
    app.mastodon.set_post_delay(Duration::from_millis(300));
    let post = app.publish("popular", "Popular");

    let requests = (0..100)
        .map(|_| {
            let (http, base, post) = (app.http.clone(), app.address.clone(), post.clone());
            tokio::spawn(async move { toot_id(&http, &base, &post).await })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any
    let mut ids = HashSet::new();
    for request in requests {
        ids.insert(request.await.expect("task"));
    }
    assert_eq!(ids.len(), 1, "every reader got the same toot");
    assert_eq!(
        app.mastodon.posts_received(),
        1,
        "exactly one POST reached Mastodon"
    );
    assert_eq!(
        app.blog.hits("/posts/popular/"),
        1,
        "only the claim holder fetched the page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sharing_one_sqlite_file_create_exactly_one_status() {
    assert_two_instances_post_once(None, &[]).await;
}

/// 100 concurrent first requests for one new post, split across two
/// `backfeed serve` processes sharing one store (SQLite in a temporary
/// directory, or `database_url`), against a Mastodon that ignores
/// `Idempotency-Key`: every reader gets the same toot and one status exists.
/// `extra_env` goes to both instances (credentials for a cloud store).
pub async fn assert_two_instances_post_once(
    database_url: Option<String>,
    extra_env: &[(&str, &str)],
) {
    let mastodon = FakeMastodon::start().await;
    mastodon.set_honour_idempotency(false);
    mastodon.set_post_delay(Duration::from_millis(300));
    let blog = FakeBlog::start().await;
    blog.page(
        "/posts/shared/",
        &post_html(Some("Shared"), None, None, None),
    );
    let post = blog.url("/posts/shared/");
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    if let Some(url) = database_url {
        env.insert("DATABASE_URL".into(), url);
    }
    for (name, value) in extra_env {
        env.insert((*name).into(), (*value).into());
    }
    let (one, two) = tokio::join!(Backfeed::serve(&env), Backfeed::serve(&env));

    let http = reqwest::Client::new();
    let requests = (0..100)
        .map(|i| {
            let base = if i % 2 == 0 {
                one.address.clone()
            } else {
                two.address.clone()
            };
            let (http, post) = (http.clone(), post.clone());
            tokio::spawn(async move { toot_id(&http, &base, &post).await })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any
    let mut ids = HashSet::new();
    for request in requests {
        ids.insert(request.await.expect("task"));
    }
    assert_eq!(ids.len(), 1, "every reader got the same toot");
    assert_eq!(
        mastodon.statuses_created(),
        1,
        "one status across both instances"
    );
    assert_eq!(
        blog.hits("/posts/shared/"),
        1,
        "only the claim holder fetched the page"
    );
}
