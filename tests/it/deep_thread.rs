//! A reply chain as deep as Mastodon returns (4,096 descendants, each
//! answering the one before; anyone on the fediverse can make one) neither
//! kills the server nor poisons its cache: `GET /api/comments` answers with
//! the nesting capped, again from the cache, and from a restarted process on
//! the same store. The real binary runs, so a crash shows as a dead process.

use std::time::Duration;

use serde_json::Value;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{FakeMastodon, ReplySpec};
use crate::helpers::test_env;
use crate::process::Backfeed;

/// Mastodon's `CONTEXT_LIMIT` for the owner's token.
const CHAIN: usize = 4_096;
/// docs/comments-api.md: `replies` nest at most this many levels.
const MAX_DEPTH: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4096_deep_reply_chain_is_served_capped_from_the_cache_and_after_a_restart() {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    // Megabytes of context; the time limit is not what is under test.
    env.insert("BACKFEED_MASTODON_TIMEOUT".into(), "60s".into());
    let post = blog.publish_post("deep", "Deep");
    let http = reqwest::Client::new();

    let first = Backfeed::serve(&env).await;
    let lookup: Value = http
        .get(format!("{}/", first.address))
        .query(&[("url", &post)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut parent = lookup["toot_id"].as_str().unwrap().to_owned();
    let mut chain = Vec::with_capacity(CHAIN);
    for level in 0..CHAIN {
        // Two authors taking turns: no self-replies for Mastodon to reorder.
        parent = mastodon.add_reply(ReplySpec {
            in_reply_to_id: parent,
            acct: format!("u{}@chain.example", level % 2),
            content_html: format!("<p>{level}</p>"),
            visibility: "public",
            ..ReplySpec::default()
        });
        chain.push(format!("mastodon:{parent}"));
    }

    let fetched = comments(&http, &first, &post).await;
    assert_capped_chain(&fetched, &chain);
    let cached = comments(&http, &first, &post).await;
    assert_eq!(cached, fetched, "the second answer comes from the cache");
    let (exit, stderr) = first.terminate().await;
    assert!(exit.success(), "{stderr}");

    let restarted = Backfeed::serve(&env).await;
    let after_restart = comments(&http, &restarted, &post).await;
    assert_capped_chain(&after_restart, &chain);
    assert_eq!(
        mastodon.context_requests(),
        1,
        "the restarted process serves the thread it cached"
    );
    let (exit, stderr) = restarted.terminate().await;
    assert!(exit.success(), "{stderr}");
}

/// `GET /api/comments`, which must answer 200 with a JSON body.
async fn comments(http: &reqwest::Client, server: &Backfeed, post: &str) -> Value {
    let response = http
        .get(format!("{}/api/comments", server.address))
        .query(&[("url", post)])
        .timeout(Duration::from_secs(120))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}; stderr: {}", server.stderr_text()));
    assert_eq!(response.status(), 200, "{}", server.stderr_text());
    let body = response.bytes().await.unwrap();
    serde_json::from_slice(&body).expect("JSON within serde_json's nesting limit")
}

/// Every reply in chain order, the first 16 nested, the rest listed at level 16.
fn assert_capped_chain(body: &Value, chain: &[String]) {
    assert_eq!(body["comment_count"], chain.len());
    let mut order = Vec::new();
    let mut deepest = 0;
    let mut stack: Vec<(usize, &Value)> = list(&body["comments"])
        .iter()
        .rev()
        .map(|c| (1, c))
        .collect();
    while let Some((level, comment)) = stack.pop() {
        order.push(comment["id"].as_str().unwrap().to_owned());
        deepest = deepest.max(level);
        stack.extend(
            list(&comment["replies"])
                .iter()
                .rev()
                .map(|c| (level + 1, c)),
        );
    }
    assert_eq!(order, chain, "reading order is the chain's order");
    assert_eq!(deepest, MAX_DEPTH);
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}
