//! `GET /?url=`: the seed's contract, canonical URLs, composing the toot, CORS.

use crate::fake_blog::post_html;
use crate::helpers::{md5_hex, spawn_app, spawn_app_with};

#[tokio::test]
async fn the_first_request_posts_one_toot_and_answers_in_the_seeds_exact_shape() {
    let app = spawn_app().await;
    let post = app.publish("hello", "Hello world");

    let response = app.lookup(&post).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.text().await.unwrap();

    let status = &app.mastodon.statuses()[0];
    let id = status["id"].as_str().expect("ids are strings");
    let host = app.mastodon.base_url.trim_start_matches("http://");
    assert_eq!(
        body,
        format!(r#"{{"host":"{host}","user":"testuser","toot_id":"{id}"}}"#)
    );

    let again = app.lookup(&post).await.text().await.unwrap();
    assert_eq!(again, body, "the mapping is stable");
    assert_eq!(
        app.mastodon.posts_received(),
        1,
        "the second request posts nothing"
    );
}

#[tokio::test]
async fn the_toot_is_sent_with_the_token_the_seeds_idempotency_key_visibility_and_language() {
    let app = spawn_app().await;
    let post = app.publish("sent", "Sent");
    assert_eq!(app.lookup(&post).await.status(), 200);

    let received = &app.mastodon.received()[0];
    assert_eq!(received.authorization.as_deref(), Some("Bearer test-token"));
    assert_eq!(
        received.idempotency_key.as_deref(),
        Some(md5_hex(&post).as_str())
    );
    assert_eq!(received.visibility(), Some("public"));
    assert_eq!(received.language(), Some("en"));
    assert_eq!(
        received.status(),
        Some(format!("Sent\n\nA description.\n{post}").as_str())
    );
}

#[tokio::test]
async fn spellings_of_one_post_share_one_canonical_url_and_one_toot() {
    let app = spawn_app().await;
    let post = app.publish("canon", "Canonical");
    let port_host = post
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let variants = [
        format!("{post}?utm_source=x#comments"),
        post.replace("http://", "HTTP://"),
        post.replace(&port_host, &format!("user:pw@{port_host}")),
        post.clone(),
    ];
    let mut bodies = Vec::new();
    for variant in &variants {
        let response = app.lookup(variant).await;
        assert_eq!(response.status(), 200, "{variant}");
        bodies.push(response.text().await.unwrap());
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(app.mastodon.statuses_created(), 1);
    assert_eq!(
        app.mastodon.received()[0].idempotency_key.as_deref(),
        Some(md5_hex(&post).as_str()),
        "the key is the MD5 of the canonical URL"
    );
    assert!(
        app.mastodon.received()[0]
            .status()
            .unwrap()
            .ends_with(&post),
        "the toot links the canonical URL"
    );
}

#[tokio::test]
async fn a_missing_url_is_a_400_in_the_seeds_shape_with_cors() {
    let app = spawn_app().await;
    for path in ["/", "/?url=", "/?other=1"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"code":400,"error":"No `url` query argument provided"}"#
        );
    }
}

#[tokio::test]
async fn a_url_outside_the_post_pattern_is_a_400_and_fetches_nothing() {
    let app = spawn_app().await;
    app.blog.page("/about/", "<p>about</p>");
    for url in [
        app.blog.url("/about/"),
        "https://elsewhere.example/posts/x".to_owned(),
    ] {
        let response = app.lookup(&url).await;
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.text().await.unwrap(),
            r#"{"code":400,"error":"Provided `url` is not a handled"}"#
        );
    }
    assert_eq!(app.blog.hits("/about/"), 0);
    assert_eq!(app.mastodon.posts_received(), 0);
}

#[tokio::test]
async fn an_unparseable_url_is_a_400_that_says_why() {
    let app = spawn_app().await;
    let response = app.lookup("not a url").await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not a valid http(s) URL"),
        "{body}"
    );
}

#[tokio::test]
async fn a_post_page_that_is_not_there_yet_is_a_400_and_can_be_announced_later() {
    let app = spawn_app().await;
    let post = app.blog.url("/posts/draft/");
    let response = app.lookup(&post).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"code":400,"error":"Post does not exist yet"}"#
    );
    assert_eq!(app.mastodon.posts_received(), 0);

    app.blog.page(
        "/posts/draft/",
        &post_html(Some("Now published"), None, None, None),
    );
    assert_eq!(app.lookup(&post).await.status(), 200);
    assert_eq!(app.mastodon.statuses_created(), 1);
}

#[tokio::test]
async fn a_post_page_reached_through_a_redirect_counts_as_there() {
    let app = spawn_app().await;
    app.blog.page(
        "/posts/new-slug/",
        &post_html(Some("Moved"), None, None, None),
    );
    app.blog.redirect("/posts/old-slug/", "/posts/new-slug/");
    assert_eq!(
        app.lookup(&app.blog.url("/posts/old-slug/")).await.status(),
        200
    );
}

#[tokio::test]
async fn the_title_pattern_postfix_and_tags_shape_the_text() {
    let app = spawn_app_with(|env| {
        env.insert(
            "BLOG_TITLE_PATTERN".into(),
            r"(?P<title>.*) \| My Blog".into(),
        );
        env.insert("BLOG_POST_POSTFIX".into(), "Comments welcome below.".into());
        env.insert("BACKFEED_MASTODON_VISIBILITY".into(), "unlisted".into());
    })
    .await;
    let path = "/posts/shaped/";
    app.blog.page(
        path,
        &post_html(
            Some("Shaped | My Blog"),
            Some("About shapes."),
            Some("#rust #blog"),
            Some("de"),
        ),
    );
    let post = app.blog.url(path);
    assert_eq!(app.lookup(&post).await.status(), 200);
    let received = &app.mastodon.received()[0];
    assert_eq!(
        received.status(),
        Some(
            format!("Shaped\n\nAbout shapes.\nComments welcome below.\n#rust #blog\n{post}")
                .as_str()
        )
    );
    assert_eq!(received.visibility(), Some("unlisted"));
    assert_eq!(received.language(), Some("de"));
}

#[tokio::test]
async fn a_long_description_is_shortened_to_the_instances_limit_and_the_url_kept() {
    let app = spawn_app().await;
    app.mastodon.set_instance_limits(120, 23);
    let path = "/posts/long/";
    let description = "All work and no play makes a dull post. ".repeat(20);
    app.blog.page(
        path,
        &post_html(Some("Long"), Some(&description), None, None),
    );
    let post = app.blog.url(path);

    assert_eq!(
        app.lookup(&post).await.status(),
        200,
        "the fake Mastodon would answer 422 if too long"
    );
    let text = app.mastodon.received()[0].status().unwrap().to_owned();
    assert!(text.ends_with(&format!("…\n{post}")), "{text}");
    assert!(text.starts_with("Long\n\nAll work"), "{text}");
    assert!(app.mastodon.instance_requests() >= 1);
}

#[tokio::test]
async fn instance_limits_are_cached() {
    let app = spawn_app().await;
    for slug in ["a", "b", "c"] {
        let post = app.publish(slug, slug);
        assert_eq!(app.lookup(&post).await.status(), 200);
    }
    assert_eq!(app.mastodon.instance_requests(), 1);
}

#[tokio::test]
async fn preflight_requests_are_answered_with_cors_headers() {
    let app = spawn_app().await;
    let response = app
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/?url=x", app.address))
        .header("Origin", "https://blog.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert!(
        response.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("GET")
    );
}

#[tokio::test]
async fn a_configured_origin_list_is_honoured_on_answers_and_errors() {
    let app = spawn_app_with(|env| {
        env.insert(
            "BACKFEED_CORS_ORIGINS".into(),
            "https://blog.example, https://www.blog.example".into(),
        );
    })
    .await;
    let from = |origin: &'static str| {
        app.http
            .get(format!("{}/", app.address))
            .header("Origin", origin)
            .send()
    };
    let allowed = from("https://www.blog.example").await.unwrap();
    assert_eq!(allowed.status(), 400);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://www.blog.example"
    );
    let other = from("https://evil.example").await.unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn unknown_routes_answer_json_404_with_cors() {
    let app = spawn_app().await;
    let response = app.get("/nope").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], 404);
}

#[tokio::test]
async fn post_pages_on_private_addresses_are_refused_unless_the_operator_opts_in() {
    let app = spawn_app_with(|env| {
        env.remove("BACKFEED_ALLOW_PRIVATE_ADDRESSES");
    })
    .await;
    let post = app.publish("private", "Private");
    let response = app.lookup(&post).await;
    assert_eq!(response.status(), 502);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("BACKFEED_ALLOW_PRIVATE_ADDRESSES"),
        "{body}"
    );
    assert_eq!(
        app.blog.hits("/posts/private/"),
        0,
        "no connection was made"
    );
    assert_eq!(app.mastodon.posts_received(), 0);
}
