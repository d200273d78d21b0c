//! A scene for publishing tests: the app (manual clock, no workers: only
//! `publish::run_now` sends), its fake blog with posts and a feed, and the
//! local webmention.rocks.

use std::collections::HashMap;

use backfeed::domain::sent::SentSource;
use backfeed::publish::{self, PublishRequest, RunReport, Silent};
use url::Url;

use super::rocks::Rocks;
use crate::helpers::{TestApp, md5_hex, spawn_app_with_clock};

pub const FEED_PATH: &str = "/feed.xml";

pub struct Scene {
    pub app: TestApp,
    pub rocks: Rocks,
}

pub async fn scene(adjust: impl FnOnce(&mut HashMap<String, String>)) -> Scene {
    scene_with(adjust, false).await
}

/// A scene whose app runs its background workers, as `serve` does.
pub async fn scene_with(adjust: impl FnOnce(&mut HashMap<String, String>), workers: bool) -> Scene {
    let app = spawn_app_with_clock(adjust, workers).await;
    let rocks = Rocks::start().await;
    Scene { app, rocks }
}

/// Sets `BACKFEED_FEEDS` to the fake blog's feed (the blog's base URL is
/// the test environment's `BACKFEED_SITES`).
pub fn with_feed(env: &mut HashMap<String, String>) {
    let site = env["BACKFEED_SITES"].clone();
    env.insert(
        "BACKFEED_FEEDS".into(),
        format!("{}{}", site.trim_end_matches('/'), FEED_PATH),
    );
}

/// A post page: an h-entry whose content links to each of `links`.
pub fn post_html(title: &str, links: &[String]) -> String {
    let anchors: String = links
        .iter()
        .enumerate()
        .map(|(i, link)| format!("<li><a href=\"{link}\">link {i}</a></li>\n"))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n\
         <meta property=\"og:title\" content=\"{title}\"></head>\n<body>\n\
         <nav><a href=\"/\">Home</a> <a href=\"https://elsewhere.example/nav\">Elsewhere</a></nav>\n\
         <article class=\"h-entry\"><h1 class=\"p-name\">{title}</h1>\n\
         <div class=\"e-content\"><p>Links:</p><ul>\n{anchors}</ul></div></article>\n</body></html>\n"
    )
}

/// RSS 2.0 listing `(url, title, description)`, newest first.
pub fn rss(items: &[(String, String, String)]) -> String {
    let items: String = items
        .iter()
        .map(|(url, title, description)| {
            format!(
                "<item><title>{title}</title><link>{url}</link><guid>{url}</guid>\
                 <description>{description}</description></item>\n"
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Blog</title><link>http://blog.example/</link><description>d</description>\n\
         {items}</channel></rss>\n"
    )
}

impl Scene {
    /// Publishes (or edits) a post at `/posts/<slug>/` linking to `links`.
    pub fn post(&self, slug: &str, links: &[String]) -> String {
        let path = format!("/posts/{slug}/");
        self.app.blog.page(&path, &post_html(slug, links));
        self.app.blog.url(&path)
    }

    /// Serves the feed listing `items` with an `ETag` of its bytes.
    pub fn feed(&self, items: &[(String, String, String)]) {
        let body = rss(items);
        let etag = format!("\"{}\"", md5_hex(&body));
        self.app.blog.page_with_headers(
            FEED_PATH,
            200,
            &[("content-type", "application/rss+xml"), ("etag", &etag)],
            &body,
        );
    }

    pub fn feed_url(&self) -> Url {
        Url::parse(&self.app.blog.url(FEED_PATH)).unwrap()
    }

    /// `backfeed publish` for the scene's feed, in-process.
    pub async fn publish(&self) -> RunReport {
        self.run(PublishRequest {
            feeds: vec![self.feed_url()],
            ..PublishRequest::default()
        })
        .await
    }

    pub async fn run(&self, request: PublishRequest) -> RunReport {
        publish::run_now(&self.app.app, &request, &Silent)
            .await
            .expect("the run proceeds")
    }

    pub async fn sent(&self, source: &str) -> SentSource {
        self.app
            .app
            .store
            .find_sent(&Url::parse(source).unwrap())
            .await
            .expect("the store answers")
            .expect("the source has a record")
    }
}

/// A feed item for a post.
pub fn item(url: &str, title: &str, description: &str) -> (String, String, String) {
    (url.to_owned(), title.to_owned(), description.to_owned())
}
