//! `spawn_app()`: a backfeed on port 0 with a fresh SQLite file, wired to a
//! fake Mastodon and a fake blog.

use std::collections::HashMap;
use std::sync::Arc;

use backfeed::App;
use backfeed::clock::{Clock, ManualClock};
use backfeed::config::{Config, Overrides};
use tempfile::TempDir;

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::{FAKE_TOKEN, FakeMastodon};

pub struct TestApp {
    pub address: String,
    /// The app's clock when the test drives time itself.
    pub clock: Option<ManualClock>,
    pub app: Arc<App>,
    pub mastodon: FakeMastodon,
    pub blog: FakeBlog,
    pub http: reqwest::Client,
    pub _dir: TempDir,
}

/// The environment a test app runs with: the seed's variables pointing at
/// the fakes, plus a private database and loopback fetching allowed.
pub fn test_env(
    mastodon: &FakeMastodon,
    blog: &FakeBlog,
    dir: &TempDir,
) -> HashMap<String, String> {
    let pattern = format!("^{}/posts/", regex::escape(&blog.base_url));
    [
        ("MASTODON_HOST", mastodon.base_url.clone()),
        ("MASTODON_USER", "testuser".to_owned()),
        ("MASTODON_OAUTH_TOKEN", FAKE_TOKEN.to_owned()),
        ("BLOG_POST_PATTERN", pattern),
        (
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("backfeed.db").display()),
        ),
        ("BACKFEED_ALLOW_PRIVATE_ADDRESSES", "true".to_owned()),
        ("BACKFEED_MASTODON_TIMEOUT", "3s".to_owned()),
        ("BACKFEED_FETCH_TIMEOUT", "3s".to_owned()),
        ("VERSION", "test-rev".to_owned()),
        ("BACKFEED_SITES", format!("{}/", blog.base_url)),
        ("BACKFEED_VERIFY_RETRY_DELAYS", "50ms,100ms".to_owned()),
        ("BACKFEED_RATE_LIMIT", "off".to_owned()),
        // Tests announce many posts quickly; the limit has its own tests.
        ("BACKFEED_ANNOUNCE_RATE", "off".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns an app after `adjust` has changed its environment.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut HashMap<String, String>)) -> TestApp {
    spawn(adjust, true, None).await
}

/// Spawns an app whose time moves only when the test calls
/// [`TestApp::advance`]: leases, TTLs, retry delays and rate limits then
/// pass without waiting on the wall clock.
pub async fn spawn_app_with_clock(
    adjust: impl FnOnce(&mut HashMap<String, String>),
    workers: bool,
) -> TestApp {
    spawn(adjust, workers, Some(ManualClock::starting_now())).await
}

/// Spawns an app that, like a serverless function, runs no background
/// workers: only requests and explicit `jobs::run_until` calls do work.
pub async fn spawn_app_without_workers(
    adjust: impl FnOnce(&mut HashMap<String, String>),
) -> TestApp {
    spawn(adjust, false, None).await
}

async fn spawn(
    adjust: impl FnOnce(&mut HashMap<String, String>),
    workers: bool,
    manual: Option<ManualClock>,
) -> TestApp {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut env = test_env(&mastodon, &blog, &dir);
    adjust(&mut env);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    // `{address}` in a value is the app's own address (a public URL).
    for value in env.values_mut() {
        *value = value.replace("{address}", &address);
    }
    let config = Config::load(None, &|var| env.get(var).cloned(), Overrides::default())
        .expect("valid test config");
    let clock = manual
        .as_ref()
        .map_or_else(Clock::system, ManualClock::clock);
    let app = App::build_with_clock(config, clock)
        .await
        .expect("app builds");
    if workers {
        tokio::spawn(backfeed::runtime::server::serve_on(
            Arc::clone(&app),
            listener,
        ));
    } else {
        let router = app
            .router()
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    TestApp {
        address,
        clock: manual,
        app,
        mastodon,
        blog,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    /// Moves the app's manual clock forward (see [`spawn_app_with_clock`])
    /// and wakes its idle workers, which then find what came due.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock
            .as_ref()
            .expect("this app runs on the system clock; spawn it with spawn_app_with_clock")
            .advance(by);
        self.app.queue.wake();
    }

    /// Publishes a post page on the fake blog and returns its URL.
    pub fn publish(&self, slug: &str, title: &str) -> String {
        self.blog.publish_post(slug, title)
    }

    /// `GET /?url=<post_url>`.
    pub async fn lookup(&self, post_url: &str) -> reqwest::Response {
        self.http
            .get(format!("{}/", self.address))
            .query(&[("url", post_url)])
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.address))
            .send()
            .await
            .expect("request")
    }
}

impl TestApp {
    /// `POST /webmention` with a form body.
    pub async fn send_webmention(&self, source: &str, target: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/webmention", self.address))
            .form(&[("source", source), ("target", target)])
            .send()
            .await
            .expect("request")
    }

    /// Sends a webmention that must be accepted; returns its status URL.
    pub async fn accepted_webmention(&self, source: &str, target: &str) -> String {
        let response = self.send_webmention(source, target).await;
        assert_eq!(response.status(), 201, "{:?}", response.text().await);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        format!("{}{location}", self.address)
    }

    /// `GET url` (a full URL) as JSON.
    pub async fn get_json(&self, url: &str) -> serde_json::Value {
        self.http
            .get(url)
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// Polls a status URL until its `status` is `expected` (or panics after 10 s).
    pub async fn wait_for_status(&self, status_url: &str, expected: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let body = self.get_json(status_url).await;
            if body["status"] == expected {
                return body;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never became {expected}: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl TestApp {
    /// The full reason of the mention behind a status URL, as the operator
    /// sees it (the public status resource says less).
    pub async fn stored_reason(&self, status_url: &str) -> String {
        let id = self.get_json(status_url).await["id"]
            .as_i64()
            .expect("a status names its mention");
        let mention = self
            .app
            .store
            .find_mention(backfeed::domain::mention::MentionId(id))
            .await
            .expect("the store answers")
            .expect("the mention is stored");
        mention.verification.reason().unwrap_or_default().to_owned()
    }

    /// The status URL path of mention `id` (`/webmention/status/{token}`).
    pub async fn status_path(&self, id: i64) -> String {
        let receiver = self.app.receiver.as_ref().expect("receiving is on");
        let token = receiver
            .status_token(backfeed::domain::mention::MentionId(id))
            .await
            .expect("the store answers");
        format!("/webmention/status/{token}")
    }
}

pub fn md5_hex(text: &str) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(text.as_bytes()))
}

/// Jobs of `kind` in the queue, queued or running (not dead).
pub async fn jobs_waiting(
    store: &dyn backfeed::storage::Store,
    kind: backfeed::domain::job::JobKind,
) -> u64 {
    store
        .count_jobs()
        .await
        .expect("count jobs")
        .into_iter()
        .find(|(k, _)| *k == kind)
        .map_or(0, |(_, count)| count.queued + count.running)
}

/// Waits for `condition` to hold, polling it, with a deadline generous
/// enough for a loaded 2-core machine (a restarted process takes jobs over
/// only once their lease has run out); panics naming `what` past it.
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    wait_for(what, || std::future::ready(condition())).await;
}

/// [`wait_until`] for a condition that must ask something (the API, the
/// CLI): `check` runs again until it says `true`, with the same deadline.
pub async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    mut check: impl FnMut() -> F,
) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !check().await {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
