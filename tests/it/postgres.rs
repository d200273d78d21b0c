//! The PostgreSQL backend against a real server: the storage contract, and
//! what only a shared database shows: several instances deciding together
//! (one toot per post, each webmention verified once, a killed instance's
//! claims taken over) and a database restart survived without restarting
//! backfeed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::response::Html;
use backfeed::storage::postgres::PostgresStore;
use backfeed::storage::{StoreError, conformance};

use crate::fake_blog::FakeBlog;
use crate::fake_mastodon::FakeMastodon;
use crate::helpers::{spawn_app_with, test_env};
use crate::process::Backfeed;
use crate::support_postgres::{PgServer, fresh_database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_passes_the_storage_conformance_suite() {
    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.expect("connects");
    conformance::run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrates_once_when_instances_start_together_and_keeps_data() {
    use backfeed::domain::{ClaimOutcome, PostUrl, TootId};
    use backfeed::storage::PostStore;

    let url = fresh_database().await;
    let starts = (0..4).map(|_| {
        let url = url.clone();
        tokio::spawn(async move { PostgresStore::connect(&url).await })
    });
    let starts: Vec<_> = starts.collect();
    let mut stores = Vec::new();
    for start in starts {
        stores.push(start.await.expect("task").expect("connects and migrates"));
    }
    let post = PostUrl::parse("https://blog.example/p").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let lease = Duration::from_secs(60);
    let ClaimOutcome::Claimed(token) = stores[0].claim_post(&post, lease, now).await.unwrap()
    else {
        panic!("claim")
    };
    stores[1]
        .record_toot(&post, &token, &TootId::new("42").unwrap(), now)
        .await
        .unwrap();
    drop(stores);

    let reopened = PostgresStore::connect(&url).await.expect("reconnects");
    assert_eq!(
        reopened.claim_post(&post, lease, now).await.unwrap(),
        ClaimOutcome::Announced(TootId::new("42").unwrap())
    );
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions: Vec<i32> = client
        .query(
            "SELECT version FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let expected: Vec<i32> = (1..=PostgresStore::schema_version() as i32).collect();
    assert_eq!(versions, expected, "each migration applied exactly once");
}

#[tokio::test]
async fn postgres_rows_this_version_cannot_read_are_corrupt_not_panics() {
    use backfeed::domain::PostUrl;
    use backfeed::domain::mention::MentionId;
    use backfeed::storage::{MentionStore, PostStore, ThreadStore};

    let url = fresh_database().await;
    let store = PostgresStore::connect(&url).await.unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(
            "INSERT INTO posts (url, state, created_at, updated_at)
                 VALUES ('https://blog.example/no-token', 'claimed', now(), now());
             INSERT INTO mentions (source, target, verification, moderation, property,
                     received_at, updated_at)
                 VALUES ('https://a.example/', 'not a url', 'verified', 'approved', 'bogus-of',
                     now(), now());
             INSERT INTO thread_cache (url, payload, fetched_at, fresh_until)
                 VALUES ('https://blog.example/t', '{not json', now(), now());",
        )
        .await
        .unwrap();
    let post = PostUrl::parse("https://blog.example/no-token").unwrap();
    assert!(matches!(
        store.find_post(&post).await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(matches!(
        store.list_posts().await,
        Err(StoreError::Corrupt(_))
    ));
    let id: i64 = client
        .query_one("SELECT id FROM mentions", &[])
        .await
        .unwrap()
        .get(0);
    assert!(matches!(
        store.find_mention(MentionId(id)).await,
        Err(StoreError::Corrupt(_))
    ));
    // A cache is never an error: an unreadable cached thread is fetched again.
    let thread = PostUrl::parse("https://blog.example/t").unwrap();
    assert!(matches!(store.load_thread(&thread).await, Ok(None)));
}

/// The conformance suite races claims on a new post (decided by the unique
/// index); this races takeovers of an expired claim (decided by the row lock).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_takeovers_of_an_expired_claim_have_one_winner() {
    use backfeed::domain::{ClaimOutcome, PostUrl};
    use backfeed::storage::PostStore;

    let store = Arc::new(
        PostgresStore::connect(&fresh_database().await)
            .await
            .unwrap(),
    );
    let lease = Duration::from_secs(60);
    for round in 0..5 {
        let post = PostUrl::parse(&format!("https://blog.example/expired/{round}")).unwrap();
        let long_ago = time::OffsetDateTime::now_utc() - Duration::from_secs(3600);
        assert!(matches!(
            store.claim_post(&post, lease, long_ago).await.unwrap(),
            ClaimOutcome::Claimed(_)
        ));
        let attempts: Vec<_> = (0..32)
            .map(|_| {
                let (store, post) = (Arc::clone(&store), post.clone());
                tokio::spawn(async move {
                    store
                        .claim_post(&post, lease, time::OffsetDateTime::now_utc())
                        .await
                })
            })
            .collect();
        let mut winners = 0;
        for attempt in attempts {
            match attempt.await.expect("task").expect("claim") {
                ClaimOutcome::Claimed(_) => winners += 1,
                ClaimOutcome::InProgress => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

/// Re-sent mentions, moderation and removal racing the verification workers
/// (each job claimed, its mention settled, the job finished) never deadlock
/// or fail: every operation either succeeds or finds its row gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_resent_mentions_racing_their_verification_never_deadlock() {
    use backfeed::domain::job::{Settlement, VerifyMention};
    use backfeed::domain::mention::{MentionData, MentionId, Moderation, Relation, Transition};
    use backfeed::storage::Store;

    const SENDS: usize = 150;
    let store: Arc<dyn Store> = Arc::new(
        PostgresStore::connect(&fresh_database().await)
            .await
            .unwrap(),
    );
    let source = |i: usize| url::Url::parse(&format!("https://racer.example/{}", i % 4)).unwrap();
    let target = url::Url::parse("https://blog.example/posts/raced/").unwrap();
    let now = time::OffsetDateTime::now_utc;
    let sending = Arc::new(AtomicUsize::new(2));
    let senders = (0..2).map(|_| {
        let (store, target, sending) = (Arc::clone(&store), target.clone(), Arc::clone(&sending));
        tokio::spawn(async move {
            for i in 0..SENDS {
                let id = store
                    .receive_mention(&source(i), &target, Moderation::Approved, now())
                    .await?;
                if i % 7 == 0 {
                    store.set_moderation(id, Moderation::Hidden, now()).await?;
                }
                if i % 11 == 0 {
                    store.remove_mention(id).await?;
                }
            }
            sending.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, StoreError>(SENDS)
        })
    });
    let workers = (0..4).map(|_| {
        let (store, sending) = (Arc::clone(&store), Arc::clone(&sending));
        tokio::spawn(async move {
            let mut settled = 0;
            loop {
                let senders_done = sending.load(Ordering::SeqCst) == 0;
                let Some(job) = store.claim_job(now(), Duration::from_secs(60)).await? else {
                    if senders_done {
                        return Ok::<_, StoreError>(settled);
                    }
                    tokio::task::yield_now().await;
                    continue;
                };
                let payload: VerifyMention = job.job.payload().expect("a verification");
                let data = MentionData {
                    relation: Relation::Reply,
                    content_text: Some("raced".into()),
                    ..MentionData::default()
                };
                let id = MentionId(payload.mention_id);
                if let Some(mention) = store.find_mention(id).await? {
                    let outcome = store
                        .settle_mention(id, &Transition::Verify(data), mention.updated_at, now())
                        .await?;
                    if outcome == backfeed::storage::Settled::Settled {
                        settled += 1;
                    }
                }
                store.settle_job(&job, &Settlement::Done, now()).await?;
            }
        })
    });
    let (senders, workers): (Vec<_>, Vec<_>) = (senders.collect(), workers.collect());
    let mut received = 0;
    for sender in senders {
        received += sender.await.expect("task").expect("no store error");
    }
    let mut settled = 0;
    for worker in workers {
        settled += worker.await.expect("task").expect("no store error");
    }
    assert_eq!(received, 2 * SENDS);
    assert!(settled > 0, "{settled} settled");
}

#[tokio::test]
async fn postgres_that_cannot_be_reached_fails_cleanly_and_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let refused =
        PostgresStore::connect(&format!("postgres://u:hunter2@127.0.0.1:{port}/db")).await;
    let Err(StoreError::Unavailable(message)) = refused else {
        panic!("expected Unavailable");
    };
    assert!(!message.contains("hunter2"), "no password in {message}");
    assert!(message.contains("connect"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_one_postgres_create_exactly_one_status() {
    crate::concurrency::assert_two_instances_post_once(Some(fresh_database().await), &[]).await;
}

/// A site whose pages reply to `target`: it counts requests per path and
/// how many are in flight at once, answers after `delay`, and holds every
/// request while `hang` is set.
#[derive(Clone)]
struct ReplySite {
    target: String,
    delay: Duration,
    hang: Arc<AtomicBool>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    requests: Arc<AtomicUsize>,
}

impl ReplySite {
    async fn start(target: &str, delay: Duration) -> (Self, String) {
        let site = Self {
            target: target.to_owned(),
            delay,
            hang: Arc::new(AtomicBool::new(false)),
            hits: Arc::default(),
            requests: Arc::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/{*path}", axum::routing::get(reply_page))
            .with_state(site.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (site, base)
    }

    fn hits(&self) -> HashMap<String, usize> {
        self.hits.lock().unwrap().clone()
    }
}

async fn reply_page(State(site): State<ReplySite>, Path(path): Path<String>) -> Html<String> {
    *site.hits.lock().unwrap().entry(path).or_default() += 1;
    site.requests.fetch_add(1, Ordering::SeqCst);
    while site.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(site.delay).await;
    Html(format!(
        r#"<div class="h-entry"><p class="e-content">hi</p><a class="u-in-reply-to" href="{}">re</a></div>"#,
        site.target
    ))
}

/// Polls each status URL on `base` until it is `verified` (30 s in all).
async fn wait_until_verified(http: &reqwest::Client, base: &str, status_urls: &[String]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    for status_url in status_urls {
        loop {
            let body: serde_json::Value = http
                .get(format!("{base}{status_url}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body["status"] == "verified" {
                break;
            }
            assert!(Instant::now() < deadline, "not verified in time: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn send_webmentions(
    http: &reqwest::Client,
    base: &str,
    sources: impl Iterator<Item = String>,
    target: &str,
) -> Vec<String> {
    let mut status_urls = Vec::new();
    for source in sources {
        let response = http
            .post(format!("{base}/webmention"))
            .form(&[("source", source.as_str()), ("target", target)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        status_urls.push(response.headers()["location"].to_str().unwrap().to_owned());
    }
    status_urls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_postgres_verify_every_pending_webmention_exactly_once() {
    const MENTIONS: usize = 50;
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    blog.page("/posts/popular/", "<p>post</p>");
    let target = blog.url("/posts/popular/");
    // Slow enough that one instance's four workers cannot finish before the
    // other instance's idle workers look for due jobs (every second).
    let (site, site_base) = ReplySite::start(&target, Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("DATABASE_URL".into(), fresh_database().await);
    // Every source is on one host: its share is every worker here, so this
    // is about two instances sharing one queue. (With a smaller share, the
    // instance that holds the host's waiting list hands its freed slots on
    // to it and verifies the whole backlog itself, at the pace its share
    // allows, before any booked wait comes due for the other.)
    env.insert("BACKFEED_VERIFY_PER_DOMAIN".into(), "4".into());
    let (a, b) = tokio::join!(Backfeed::serve(&env), Backfeed::serve(&env));

    let http = reqwest::Client::new();
    let sources = (0..MENTIONS).map(|i| format!("{site_base}/reply/{i}"));
    let status_urls = send_webmentions(&http, &a.address, sources, &target).await;
    wait_until_verified(&http, &b.address, &status_urls).await;

    let hits = site.hits();
    assert_eq!(hits.len(), MENTIONS, "every source was fetched: {hits:?}");
    assert!(
        hits.values().all(|&n| n == 1),
        "each source fetched exactly once: {hits:?}"
    );
    let verified = |instance: &Backfeed| {
        instance
            .stderr_text()
            .matches("webmention verified")
            .count()
    };
    let (by_a, by_b) = (verified(&a), verified(&b));
    assert_eq!(by_a + by_b, MENTIONS, "one verification per mention");
    assert!(
        by_a > 0 && by_b > 0,
        "both instances worked: {by_a} + {by_b}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_one_instance_mid_verification_on_postgres_loses_nothing() {
    let mastodon = FakeMastodon::start().await;
    let blog = FakeBlog::start().await;
    blog.page("/posts/durable/", "<p>post</p>");
    let target = blog.url("/posts/durable/");
    let (site, site_base) = ReplySite::start(&target, Duration::ZERO).await;
    site.hang.store(true, Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let mut env = test_env(&mastodon, &blog, &dir);
    env.insert("DATABASE_URL".into(), fresh_database().await);
    // A short fetch timeout makes a short verification lease (2 × 1 s + 2 s).
    env.insert("BACKFEED_FETCH_TIMEOUT".into(), "1s".into());
    env.insert(
        "BACKFEED_VERIFY_RETRY_DELAYS".into(),
        "100ms,100ms,100ms,100ms".into(),
    );
    let (a, b) = tokio::join!(Backfeed::serve(&env), Backfeed::serve(&env));

    let http = reqwest::Client::new();
    let sources = (0..12).map(|i| format!("{site_base}/reply/{i}"));
    let status_urls = send_webmentions(&http, &a.address, sources, &target).await;
    // A's workers, woken by the requests, now hold claims and hang.
    while site.requests.load(Ordering::SeqCst) == 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut a = a;
    a.child.start_kill().unwrap(); // SIGKILL: no chance to release anything
    a.child.wait().await.unwrap();
    site.hang.store(false, Ordering::SeqCst);

    wait_until_verified(&http, &b.address, &status_urls).await;
    assert!(
        site.hits().len() == 12,
        "every source fetched: {:?}",
        site.hits()
    );
}

/// What one request of the background load saw.
struct Seen {
    status: u16,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgres_restart_during_load_is_survived_without_restarting_backfeed() {
    // A server of its own: stopping it must not disturb other tests.
    let server = Arc::new(
        tokio::task::spawn_blocking(PgServer::start)
            .await
            .expect("PostgreSQL starts"),
    );
    let url = server.fresh_database().await;
    let app = spawn_app_with(|env| {
        env.insert("DATABASE_URL".into(), url.clone());
    })
    .await;
    let mapped = app.publish("mapped", "Mapped");
    let first = app.lookup(&mapped).await;
    assert_eq!(first.status(), 200);
    let toot: serde_json::Value = first.json().await.unwrap();

    // Background load: readers asking for the status and the mapped post.
    let stop = Arc::new(AtomicBool::new(false));
    let answered_count = Arc::new(AtomicUsize::new(0));
    let load = {
        let (http, base, mapped, stop, answered) = (
            app.http.clone(),
            app.address.clone(),
            mapped.clone(),
            Arc::clone(&stop),
            Arc::clone(&answered_count),
        );
        let lookup = url::Url::parse_with_params(&format!("{base}/"), [("url", &mapped)]).unwrap();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                for target in [format!("{base}/status"), lookup.to_string()] {
                    let response = http
                        .get(target)
                        .timeout(Duration::from_secs(20))
                        .send()
                        .await
                        .expect("no request hangs or fails at the HTTP level");
                    seen.push(Seen {
                        status: response.status().as_u16(),
                    });
                    answered.fetch_add(1, Ordering::SeqCst);
                }
            }
            seen
        })
    };
    // The load is running before the database goes down.
    let deadline = Instant::now() + Duration::from_secs(30);
    while answered_count.load(Ordering::SeqCst) < 10 {
        assert!(Instant::now() < deadline, "the load never started");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let stopping = Arc::clone(&server);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();

    let status = app.get("/status").await;
    assert_eq!(status.status(), 503, "the health check reports the store");

    let cached = app.lookup(&mapped).await;
    match cached.status().as_u16() {
        200 => assert_eq!(cached.json::<serde_json::Value>().await.unwrap(), toot),
        503 => assert_eq!(
            cached.json::<serde_json::Value>().await.unwrap()["code"],
            503
        ),
        other => panic!("a mapped post answered {other}"),
    }

    let unmapped = app.publish("while-down", "While down");
    let refused = app.lookup(&unmapped).await;
    assert_eq!(refused.status(), 503);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 503, "{body}");
    assert_eq!(
        app.mastodon.statuses_created(),
        1,
        "nothing posted while down"
    );

    let starting = Arc::clone(&server);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get("/status").await.status() != 200 {
        assert!(Instant::now() < deadline, "the store never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let after = app.lookup(&unmapped).await;
    assert_eq!(after.status(), 200, "{:?}", after.text().await);
    assert_eq!(app.mastodon.statuses_created(), 2);

    stop.store(true, Ordering::SeqCst);
    let seen = load.await.expect("load task");
    // Every request was answered (the client's 20 s timeout would have
    // failed it), with the mapping or a clean 503.
    assert!(seen.iter().all(|s| s.status == 200 || s.status == 503));
    assert!(
        seen.iter().any(|s| s.status == 503),
        "the load saw the outage"
    );
    eprintln!(
        "restart under load: {} requests, {} answered 503",
        seen.len(),
        seen.iter().filter(|s| s.status == 503).count()
    );
}
