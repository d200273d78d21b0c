//! The seed's `GET /?url=` contract (as `tests/it/lookup.rs` states it for
//! the socket server), through activations of the real binary in both
//! OpenWhisk protocols: one toot, `{"host","user","toot_id"}` with the id as
//! a string, and the three 400s in the seed's shape. The platform adds the
//! CORS headers here, so backfeed adds none.

use serde_json::{Value, json};

use super::harness::{Fakes, Kind, Runtime, json_body, web, web_raw};

async fn lookup(runtime: &mut Runtime, fields: Value) -> Value {
    runtime.invoke(&web("get", "", json!({}), fields)).await
}

fn assert_seed_error(result: &Value, message: &str) {
    assert_eq!(result["statusCode"], 400, "{result}");
    assert_eq!(
        result["body"],
        format!(r#"{{"code":400,"error":"{message}"}}"#),
        "{result}"
    );
    assert_eq!(result["headers"]["content-type"], "application/json");
}

async fn the_seed_contract_holds(kind: Kind) {
    let fakes = Fakes::start().await;
    let mut runtime = Runtime::start(kind, &fakes.env).await;
    let post = fakes.publish("hello", "Hello world");

    let first = lookup(&mut runtime, json!({"url": post})).await;
    assert_eq!(first["statusCode"], 200, "{first}");
    assert_eq!(first["headers"]["content-type"], "application/json");
    assert!(
        first["headers"]
            .get("access-control-allow-origin")
            .is_none(),
        "the platform adds CORS headers, backfeed must not: {first}"
    );
    let statuses = fakes.mastodon.statuses();
    let id = statuses[0]["id"]
        .as_str()
        .expect("Mastodon ids are strings");
    let host = fakes.mastodon.base_url.trim_start_matches("http://");
    assert_eq!(
        first["body"],
        format!(r#"{{"host":"{host}","user":"testuser","toot_id":"{id}"}}"#)
    );
    assert!(json_body(&first)["toot_id"].is_string());

    let again = lookup(&mut runtime, json!({"url": post})).await;
    assert_eq!(again["body"], first["body"], "the mapping is stable");
    let raw_query = format!("url={}", urlencode(&post));
    let raw = runtime
        .invoke(&web_raw("get", "", &raw_query, json!({}), ""))
        .await;
    assert_eq!(raw["body"], first["body"], "a raw web action too: {raw}");
    assert_eq!(
        fakes.mastodon.posts_received(),
        1,
        "one toot, whatever asks"
    );

    for fields in [json!({}), json!({"url": ""}), json!({"other": "1"})] {
        let result = lookup(&mut runtime, fields).await;
        assert_seed_error(&result, "No `url` query argument provided");
    }

    fakes.blog.page("/about/", "<p>about</p>");
    for url in [
        fakes.blog.url("/about/"),
        "https://elsewhere.example/posts/x".to_owned(),
    ] {
        let result = lookup(&mut runtime, json!({"url": url})).await;
        assert_seed_error(&result, "Provided `url` is not a handled");
    }
    assert_eq!(fakes.blog.hits("/about/"), 0);

    let draft = fakes.blog.url("/posts/draft/");
    let result = lookup(&mut runtime, json!({"url": draft})).await;
    assert_seed_error(&result, "Post does not exist yet");
    assert_eq!(
        fakes.mastodon.posts_received(),
        1,
        "nothing more was posted"
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[tokio::test]
async fn the_seed_contract_holds_in_the_action_loop() {
    the_seed_contract_holds(Kind::ActionLoop).await;
}

#[tokio::test]
async fn the_seed_contract_holds_behind_the_action_proxy() {
    the_seed_contract_holds(Kind::ActionProxy).await;
}
