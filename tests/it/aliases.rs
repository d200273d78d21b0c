//! One post, one toot, however its URL is spelled: RFC 3986 spellings,
//! `index.html` and slash-less aliases, the page's canonical link and
//! `og:url`, redirects; and what is refused (a page or a redirect that says
//! the post is somewhere off the blog).

use backfeed::domain::{PostState, PostUrl};

use crate::fake_blog::{FakeBlog, post_html, with_head};
use crate::helpers::{TestApp, md5_hex, spawn_app, spawn_app_with};

/// An app whose blog is `http://localhost:PORT` (a host name, so that its
/// trailing-dot spelling `localhost.` can be tried), with one post served
/// the way static hosts serve it: at its directory URL, at `index.html`, at
/// the spellings a server folds together, and `/posts/hello` redirecting
/// to `/posts/hello/`. Every copy names `/posts/hello/` as canonical.
struct AliasedPost {
    app: TestApp,
    canonical: String,
    aliases: Vec<String>,
}

async fn aliased_post() -> AliasedPost {
    let app = spawn_app_with(|env| {
        let pattern = env["BLOG_POST_PATTERN"].replace(r"127\.0\.0\.1", "localhost");
        env.insert("BLOG_POST_PATTERN".into(), pattern);
    })
    .await;
    let base = app.blog.base_url.replace("127.0.0.1", "localhost");
    let port = base.rsplit(':').next().unwrap().to_owned();
    let canonical = format!("{base}/posts/hello/");
    let html = with_head(
        &post_html(Some("Hello"), Some("A description."), None, Some("en")),
        &format!(r#"<link rel="canonical" href="{canonical}">"#),
    );
    for path in [
        "/posts/hello/",
        "/posts/hello/index.html",
        "/posts/%68ello/",
        "/posts/hell%6f/",
        "//posts/hello/",
        "/posts//hello/",
    ] {
        app.blog.page(path, &html);
    }
    app.blog.redirect("/posts/hello", "/posts/hello/");
    let aliases = vec![
        canonical.clone(),
        format!("{base}/posts/%68ello/"),
        format!("{base}/posts/hell%6f/"),
        format!("{base}/posts/hello"),
        format!("{base}/posts/hello/index.html"),
        format!("{base}//posts/hello/"),
        format!("{base}/posts//hello/"),
        format!("http://localhost.:{port}/posts/hello/"),
        format!("http://LOCALHOST:{port}/posts/./hello/"),
        format!("{base}/posts/x/../hello/?utm_source=feed#comments"),
    ];
    AliasedPost {
        app,
        canonical,
        aliases,
    }
}

/// `GET /?url=` for each URL: (url, status, body).
async fn look_up_all(app: &TestApp, urls: &[String]) -> Vec<(String, u16, String)> {
    let mut answers = Vec::new();
    for url in urls {
        let response = app.lookup(url).await;
        let status = response.status().as_u16();
        answers.push((url.clone(), status, response.text().await.unwrap()));
    }
    answers
}

/// Exactly one status, announced under the canonical URL, and every
/// answer the same 200.
fn assert_one_toot_for_all(post: &AliasedPost, answers: &[(String, u16, String)]) {
    let mastodon = &post.app.mastodon;
    assert_eq!(
        mastodon.posts_received(),
        1,
        "exactly one status for every spelling of one post; answers: {answers:#?}"
    );
    let received = &mastodon.received()[0];
    assert_eq!(
        received.idempotency_key.as_deref(),
        Some(md5_hex(&post.canonical).as_str()),
        "announced under the canonical URL's key"
    );
    assert!(received.status().unwrap().ends_with(&post.canonical));
    let id = mastodon.statuses()[0]["id"].as_str().unwrap().to_owned();
    for (url, status, body) in answers {
        assert_eq!(*status, 200, "{url}: {body}");
        assert!(
            body.contains(&format!(r#""toot_id":"{id}""#)),
            "{url}: {body}"
        );
    }
}

#[tokio::test]
async fn every_spelling_of_one_post_requested_in_turn_gets_the_one_toot() {
    let post = aliased_post().await;
    let answers = look_up_all(&post.app, &post.aliases).await;
    assert_one_toot_for_all(&post, &answers);

    // Aliases are remembered, durably: asking again fetches nothing, and
    // the store answers each alias with the canonical post's toot.
    let hits = |blog: &FakeBlog| {
        ["/posts/hello/", "/posts/hello/index.html", "/posts/hello"]
            .iter()
            .map(|path| blog.hits(path))
            .sum::<usize>()
    };
    let before = hits(&post.app.blog);
    let again = look_up_all(&post.app, &post.aliases).await;
    assert_one_toot_for_all(&post, &again);
    assert_eq!(hits(&post.app.blog), before, "known aliases fetch nothing");
    let toot = post.app.mastodon.statuses()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for alias in ["/posts/hello", "/posts/hello/index.html"] {
        let url = PostUrl::parse(&format!(
            "{}{alias}",
            post.canonical.trim_end_matches("/posts/hello/")
        ))
        .unwrap();
        let state = post.app.app.store.find_post(&url).await.unwrap();
        assert!(
            matches!(state.map(|p| p.state), Some(PostState::Announced { toot_id }) if toot_id.as_str() == toot),
            "{url} is stored with the canonical post's toot"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_spelling_of_one_post_requested_at_once_gets_the_one_toot() {
    let post = aliased_post().await;
    post.app.mastodon.set_honour_idempotency(false);
    let requests = post
        .aliases
        .iter()
        .cycle()
        .take(post.aliases.len() * 3)
        .map(|url| {
            let (http, base, url) = (post.app.http.clone(), post.app.address.clone(), url.clone());
            tokio::spawn(async move {
                let response = http
                    .get(format!("{base}/"))
                    .query(&[("url", &url)])
                    .send()
                    .await
                    .expect("request");
                let status = response.status().as_u16();
                (url, status, response.text().await.unwrap())
            })
        })
        .collect::<Vec<_>>(); // spawn all before awaiting any
    let mut answers = Vec::new();
    for request in requests {
        answers.push(request.await.expect("task"));
    }
    assert_one_toot_for_all(&post, &answers);
}

#[tokio::test]
async fn a_page_naming_another_blog_url_as_canonical_is_announced_under_that_url() {
    let app = spawn_app().await;
    let canonical = app.publish("hello", "Hello");
    // A relative canonical link, resolved against the page's URL.
    app.blog.page(
        "/posts/2024/hello.html",
        &with_head(
            &post_html(Some("Hello"), None, None, None),
            r#"<link rel="canonical" href="../hello/">"#,
        ),
    );
    // `og:url` counts when there is no canonical link.
    app.blog.page(
        "/posts/hello/amp/",
        &with_head(
            &post_html(Some("Hello"), None, None, None),
            &format!(r#"<meta property="og:url" content="{canonical}">"#),
        ),
    );

    let first = app.lookup(&app.blog.url("/posts/2024/hello.html")).await;
    assert_eq!(first.status(), 200);
    let first = first.text().await.unwrap();
    assert_eq!(app.mastodon.posts_received(), 1);
    let received = &app.mastodon.received()[0];
    assert_eq!(
        received.idempotency_key.as_deref(),
        Some(md5_hex(&canonical).as_str()),
        "the key is the canonical URL's"
    );
    assert!(received.status().unwrap().ends_with(&canonical));

    for url in [canonical.clone(), app.blog.url("/posts/hello/amp/")] {
        let response = app.lookup(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.text().await.unwrap(), first, "{url}");
    }
    assert_eq!(app.mastodon.posts_received(), 1, "one toot for all three");
}

#[tokio::test]
async fn a_redirect_to_another_post_url_announces_that_url() {
    let app = spawn_app().await;
    let new = app.publish("new-slug", "Moved");
    app.blog.redirect("/posts/old-slug/", "/posts/new-slug/");

    let old = app.lookup(&app.blog.url("/posts/old-slug/")).await;
    assert_eq!(old.status(), 200);
    let old = old.text().await.unwrap();
    assert_eq!(
        app.mastodon.received()[0].idempotency_key.as_deref(),
        Some(md5_hex(&new).as_str())
    );
    assert_eq!(app.lookup(&new).await.text().await.unwrap(), old);
    assert_eq!(app.mastodon.posts_received(), 1);
}

#[tokio::test]
async fn a_page_whose_canonical_url_is_off_the_blog_is_refused_and_nothing_is_posted() {
    let app = spawn_app().await;
    let copy = with_head(
        &post_html(Some("Syndicated copy"), None, None, None),
        r#"<link rel="canonical" href="https://elsewhere.example/original/">"#,
    );
    app.blog.page("/posts/copy/", &copy);
    // A canonical URL on the blog's host but outside the post pattern is
    // not a post either (a theme that points every page at the home page).
    let home = with_head(
        &post_html(Some("Home-canonical"), None, None, None),
        &format!(r#"<link rel="canonical" href="{}/">"#, app.blog.base_url),
    );
    app.blog.page("/posts/home/", &home);

    for (path, names) in [
        (
            "/posts/copy/",
            "https://elsewhere.example/original/".to_owned(),
        ),
        ("/posts/home/", format!("{}/", app.blog.base_url)),
    ] {
        let response = app.lookup(&app.blog.url(path)).await;
        assert_eq!(response.status(), 400, "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 400);
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("canonical") && error.contains(&names),
            "{path}: {error}"
        );
    }
    assert_eq!(app.mastodon.posts_received(), 0);
}

#[tokio::test]
async fn a_post_url_that_redirects_off_the_blog_is_refused_and_nothing_is_posted() {
    let app = spawn_app().await;
    let elsewhere = FakeBlog::start().await;
    elsewhere.page("/posts/x/", &post_html(Some("Elsewhere"), None, None, None));
    app.blog
        .redirect("/posts/gone/", &elsewhere.url("/posts/x/"));
    app.blog
        .page("/about/", &post_html(Some("About"), None, None, None));
    app.blog.redirect("/posts/about/", "/about/");

    for (path, to) in [
        ("/posts/gone/", elsewhere.url("/posts/x/")),
        ("/posts/about/", app.blog.url("/about/")),
    ] {
        let response = app.lookup(&app.blog.url(path)).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains("redirects") && error.contains(&to),
            "{path}: {error}"
        );
    }
    assert_eq!(app.mastodon.posts_received(), 0);
}

#[tokio::test]
async fn a_post_stored_with_lower_case_escapes_by_an_earlier_version_is_not_posted_again() {
    let app = spawn_app().await;
    // WordPress writes escapes in lower case; earlier versions stored them so.
    let stored = app.blog.url("/posts/caf%c3%a9/");
    app.blog.page(
        "/posts/caf%C3%A9/",
        &post_html(Some("Café"), None, None, None),
    );
    let store = &app.app.store;
    let key = PostUrl::from_stored(&stored).unwrap();
    let now = time::OffsetDateTime::now_utc();
    let backfeed::domain::ClaimOutcome::Claimed(claim) = store
        .claim_post(&key, std::time::Duration::from_secs(60), now)
        .await
        .unwrap()
    else {
        panic!("a fresh store lets the post be claimed");
    };
    let toot = backfeed::domain::TootId::new("109999".to_owned()).unwrap();
    store.record_toot(&key, &claim, &toot, now).await.unwrap();

    for url in [stored.clone(), app.blog.url("/posts/caf%C3%A9/")] {
        let response = app.lookup(&url).await;
        assert_eq!(response.status(), 200, "{url}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["toot_id"], "109999", "{url}");
    }
    assert_eq!(app.mastodon.posts_received(), 0);
    assert_eq!(app.blog.hits("/posts/caf%C3%A9/"), 0, "nothing fetched");
}

#[tokio::test]
async fn pages_that_name_each_other_or_a_missing_page_are_refused_and_nothing_is_posted() {
    let app = spawn_app().await;
    let page = |names: &str| {
        with_head(
            &post_html(Some("Confused"), None, None, None),
            &format!(r#"<link rel="canonical" href="{names}">"#),
        )
    };
    app.blog.page("/posts/a/", &page("/posts/b/"));
    app.blog.page("/posts/b/", &page("/posts/a/"));
    app.blog.page("/posts/c/", &page("/posts/not-there/"));

    for (path, says) in [
        ("/posts/a/", "but that page names"),
        ("/posts/b/", "but that page names"),
        ("/posts/c/", "which answers 404"),
    ] {
        let response = app.lookup(&app.blog.url(path)).await;
        assert_eq!(response.status(), 400, "{path}");
        let body: serde_json::Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(says), "{path}: {error}");
    }
    assert_eq!(app.mastodon.posts_received(), 0);
}

#[tokio::test]
async fn the_comment_thread_of_an_alias_is_the_thread_of_its_post() {
    let app = spawn_app().await;
    let canonical = app.publish("hello", "Hello");
    app.blog.page(
        "/posts/hello/index.html",
        &with_head(
            &post_html(Some("Hello"), None, None, None),
            r#"<link rel="canonical" href="/posts/hello/">"#,
        ),
    );
    let comments = |url: String| {
        let app = &app;
        async move {
            let response = app
                .http
                .get(format!("{}/api/comments", app.address))
                .query(&[("url", url)])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let body: serde_json::Value = response.json().await.unwrap();
            body["toot"]["id"].clone()
        }
    };
    let via_alias = comments(app.blog.url("/posts/hello/index.html")).await;
    assert!(via_alias.is_string(), "{via_alias}");
    assert_eq!(comments(canonical).await, via_alias);
    assert_eq!(app.mastodon.posts_received(), 1);
}
