//! Readers' browsers never fetch an image from a server a webmention
//! sender (or a reply's author) chose: with the image proxy on (the
//! default), `GET /api/comments` points every avatar, custom emoji, media
//! preview and image in content at `GET /img`, which fetches it through the
//! hardened client, signed so that it is no open proxy, only images, only
//! so large. With the proxy off, plain-http images are dropped.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::fake_mastodon::ReplySpec;
use crate::helpers::{TestApp, spawn_app_with};

/// A 1×1 transparent PNG.
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

/// An image host on loopback: `/me.png` and `/pic.png` (PNG), `/big.png`
/// (a PNG of 64 KiB), `/page` (HTML), `/logo.svg` (SVG), `/lying.png`
/// (HTML sent as `image/png`). Plain http, like a tracker would use.
pub async fn image_host() -> String {
    let png = || ([(header::CONTENT_TYPE, "image/png")], PNG).into_response();
    let big = || {
        let mut body = PNG.to_vec();
        body.resize(64 * 1024, 0);
        ([(header::CONTENT_TYPE, "image/png")], body).into_response()
    };
    let app = Router::new()
        .route("/me.png", get(move || async move { png() }))
        .route("/pic.png", get(move || async move { png() }))
        .route("/big.png", get(move || async move { big() }))
        .route(
            "/page",
            get(|| async { ([(header::CONTENT_TYPE, "text/html")], "<p>hello</p>") }),
        )
        .route(
            "/logo.svg",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/svg+xml")],
                    r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
                )
            }),
        )
        .route(
            "/lying.png",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "image/png")],
                    "<html>not a png</html>",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// A post whose thread holds a Mastodon reply (avatar, custom emoji, an
/// image attachment: all on the fake instance, plain http) and a
/// webmention reply whose author photo and content image are on
/// `images`; returns the post URL.
async fn post_with_images(app: &TestApp, images: &str) -> String {
    let post = app.publish("pictures", "Pictures");
    let lookup: serde_json::Value = app.lookup(&post).await.json().await.unwrap();
    let toot = lookup["toot_id"].as_str().unwrap().to_owned();
    let m = &app.mastodon;
    m.add_reply(ReplySpec {
        in_reply_to_id: toot,
        acct: "alice@social.example".into(),
        display_name: "Alice :blobcat:".into(),
        content_html: "<p>Nice!</p>".into(),
        visibility: "public",
        emojis: vec![(
            "blobcat".into(),
            format!("{}/emoji/blobcat.png", m.base_url),
        )],
        media: vec![(
            "image".into(),
            format!("{}/media/original/cat.png", m.base_url),
            Some("a cat".into()),
        )],
        ..ReplySpec::default()
    });
    let sources = crate::fake_blog::FakeBlog::start().await;
    sources.page(
        "/reply/",
        &format!(
            r#"<div class="h-entry"><div class="p-author h-card"><span class="p-name">Wendy</span>
            <img class="u-photo" src="{images}/me.png" alt=""></div>
            <div class="e-content"><p>Look <img src="{images}/pic.png" alt="a picture"></p></div>
            <a class="u-in-reply-to" href="{post}">re</a></div>"#
        ),
    );
    let status = app
        .accepted_webmention(&sources.url("/reply/"), &post)
        .await;
    app.wait_for_status(&status, "verified").await;
    post
}

async fn comments(app: &TestApp, post: &str) -> serde_json::Value {
    let response = app
        .http
        .get(format!("{}/api/comments", app.address))
        .query(&[("url", post)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every URL a browser loads as an image, from a comments answer.
fn image_urls(body: &serde_json::Value) -> Vec<String> {
    let mut urls = Vec::new();
    for comment in body["comments"].as_array().unwrap() {
        let author = &comment["author"];
        urls.extend(author["avatar"].as_str().map(str::to_owned));
        for emoji in author["emojis"].as_array().unwrap() {
            urls.push(emoji["url"].as_str().unwrap().to_owned());
        }
        // A media's `url` is the link to the original, followed only when
        // the reader clicks; its preview is what the page loads.
        for media in comment["media"].as_array().unwrap() {
            urls.extend(media["preview_url"].as_str().map(str::to_owned));
        }
        let html = comment["content_html"].as_str().unwrap();
        for piece in html.split("src=\"").skip(1) {
            urls.push(piece.split('"').next().unwrap().replace("&amp;", "&"));
        }
    }
    urls
}

#[tokio::test]
async fn with_the_proxy_off_no_plain_http_image_reaches_a_reader() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_IMAGE_PROXY".into(), "false".into());
    })
    .await;
    let images = image_host().await;
    let post = post_with_images(&app, &images).await;
    let body = comments(&app, &post).await;
    let urls = image_urls(&body);
    assert!(
        urls.iter().all(|u| !u.starts_with("http://")),
        "plain-http images: {urls:#?}\n{body}"
    );
    let wendy = body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "webmention")
        .unwrap();
    assert!(wendy["author"]["avatar"].is_null(), "{wendy}");
    assert!(
        wendy["content_html"].as_str().unwrap().contains("Look"),
        "the text stays: {wendy}"
    );
}

#[tokio::test]
async fn with_the_proxy_on_every_image_is_loaded_through_backfeed() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_IMAGE_PROXY".into(), "true".into());
    })
    .await;
    let images = image_host().await;
    let post = post_with_images(&app, &images).await;
    let body = comments(&app, &post).await;
    let urls = image_urls(&body);
    assert!(urls.len() >= 5, "avatars, emoji, media, content: {urls:#?}");
    // Relative to the answer's own URL, `<base>/api/comments`.
    let api = url::Url::parse(&format!("{}/api/comments", app.address)).unwrap();
    for url in &urls {
        assert!(url.starts_with("../img?url="), "not proxied: {url}\n{body}");
        let proxied = api.join(url).unwrap();
        assert_eq!(proxied.path(), "/img");
        assert!(proxied.query_pairs().any(|(k, _)| k == "sig"), "{proxied}");
    }
    // The webmention's images, on the image host, come through intact.
    let ours: Vec<_> = urls
        .iter()
        .filter(|u| u.contains("me.png") || u.contains("pic.png"))
        .collect();
    assert_eq!(ours.len(), 2, "{urls:#?}");
    for url in ours {
        let proxied = api.join(url).unwrap();
        let response = app.http.get(proxied.clone()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{proxied}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "image/png", "{proxied}");
        assert!(
            headers["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age"),
            "{headers:?}"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(&response.bytes().await.unwrap()[..], PNG);
    }
    let wendy = body["comments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["source"] == "webmention")
        .unwrap();
    assert!(
        wendy["content_html"]
            .as_str()
            .unwrap()
            .contains(r#"alt="a picture""#),
        "{wendy}"
    );
}

/// `/img` for `url`, signed by the app itself (as `/api/comments` does).
async fn signed(app: &TestApp, url: &str) -> String {
    let urls = app.app.images.urls().await.expect("the store answers");
    let reference = urls.image(url).expect("an http(s) URL");
    let api = url::Url::parse(&format!("{}/api/comments", app.address)).unwrap();
    api.join(&reference).unwrap().to_string()
}

#[tokio::test]
async fn the_proxy_serves_only_signed_urls_of_small_raster_images_on_public_addresses() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_IMAGE_PROXY_MAX_BYTES".into(), "16384".into());
    })
    .await;
    let images = image_host().await;
    let ok = signed(&app, &format!("{images}/me.png")).await;
    assert_eq!(app.http.get(&ok).send().await.unwrap().status(), 200);

    let status = |url: String| {
        let http = app.http.clone();
        async move { http.get(url).send().await.unwrap().status().as_u16() }
    };
    let encoded: String =
        url::form_urlencoded::byte_serialize(format!("{images}/me.png").as_bytes()).collect();
    // Not signed by us: no open proxy.
    assert_eq!(
        status(format!("{}/img?url={encoded}", app.address)).await,
        400
    );
    assert_eq!(
        status(format!(
            "{}/img?url={encoded}&sig=AAAAAAAAAAAAAAAAAAAAAA",
            app.address
        ))
        .await,
        403
    );
    let other: String =
        url::form_urlencoded::byte_serialize(format!("{images}/pic.png").as_bytes()).collect();
    let moved = ok.replace(&encoded, &other);
    assert_ne!(moved, ok);
    assert_eq!(
        status(moved).await,
        403,
        "a signature covers its own URL only"
    );
    // A status token's signature is no image signature.
    let id_sig = app.status_path(1).await;
    let token_sig = id_sig.rsplit('-').next().unwrap().to_owned();
    assert_eq!(
        status(format!("{}/img?url=1&sig={token_sig}", app.address)).await,
        403
    );

    // Signed, but not something the proxy serves.
    for (path, why) in [
        ("/page", "HTML"),
        ("/logo.svg", "SVG"),
        ("/lying.png", "HTML sent as image/png"),
        ("/big.png", "larger than the limit"),
        ("/missing.png", "a 404"),
    ] {
        let url = signed(&app, &format!("{images}{path}")).await;
        let response = app.http.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 502, "{why}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            !body["error"].as_str().unwrap().contains("127.0.0.1"),
            "{body}"
        );
    }

    // Private addresses, unless the operator allows them.
    let guarded = spawn_app_with(|env| {
        env.remove("BACKFEED_ALLOW_PRIVATE_ADDRESSES");
    })
    .await;
    for url in [
        format!("{images}/me.png"),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        format!("{}/me.png", images.replace("127.0.0.1", "localhost")),
    ] {
        let proxied = signed(&guarded, &url).await;
        let response = guarded.http.get(&proxied).send().await.unwrap();
        assert_eq!(response.status(), 502, "{url}");
        let body = response.text().await.unwrap();
        for leak in ["127.0.0.1", "loopback", "169.254", "link-local"] {
            assert!(!body.contains(leak), "{url}: {body}");
        }
    }
}

#[tokio::test]
async fn with_the_proxy_off_img_answers_404() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_IMAGE_PROXY".into(), "false".into());
    })
    .await;
    let images = image_host().await;
    let on = spawn_app_with(|_| {}).await;
    // Signed by another instance's key, or by none: nothing is served.
    let url = signed(&on, &format!("{images}/me.png")).await;
    let path = url.strip_prefix(&on.address).unwrap();
    assert_eq!(app.get(path).await.status(), 404);
}
