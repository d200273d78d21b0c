//! The read API through activations of the real binary: a site-wide
//! listing (token, `domain`, pages) as a static-site plugin fetches it, on
//! mentions another process put in the shared SQLite file.

use serde_json::json;

use super::harness::{ActionLoop, Fakes, json_body, web};
use crate::read_api_limits::seed_mentions;

const TOKEN: &str = "openwhisk-read-token-0123456789";

#[tokio::test]
async fn a_site_wide_listing_is_served_in_pages_with_a_token() {
    let fakes = Fakes::start().await.with("BACKFEED_READ_TOKENS", TOKEN);
    let database = backfeed::config::DatabaseUrl::parse(&fakes.env["DATABASE_URL"]).unwrap();
    let store = backfeed::storage::open(&database, &backfeed::clock::Clock::system())
        .await
        .unwrap();
    let target = fakes.blog.url("/posts/listed/");
    let now = time::OffsetDateTime::now_utc();
    let ids = seed_mentions(&*store, now, &target, 3, 10).await;
    let mut action = ActionLoop::start(&fakes.env).await;

    let page = |page: &str, token: &str| {
        web(
            "get",
            "/api/mentions.jf2",
            json!({}),
            json!({"domain": "127.0.0.1", "token": token, "per-page": "2", "page": page}),
        )
    };
    let first = action.invoke(&page("0", TOKEN)).await;
    assert_eq!(first["statusCode"], 200, "{first}");
    let second = action.invoke(&page("1", TOKEN)).await;
    let listed: Vec<i64> = [first, second]
        .iter()
        .flat_map(|result| {
            json_body(result)["children"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["wm-id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(listed, [ids[2].0, ids[1].0, ids[0].0]);
    let refused = action.invoke(&page("0", "not-the-token-0123456789")).await;
    assert_eq!(refused["statusCode"], 401, "{refused}");
}
