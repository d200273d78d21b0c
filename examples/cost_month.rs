//! One simulated month of a typical blog, for `bench/cost.sh`: the real
//! App (one warm function instance) on the store `DATABASE_URL` names, its
//! clock moved by hand through 30 days while the script counts what the
//! store servers saw.
//!
//! ```text
//! cost_month typical|idle <POSTS> <NEW_POSTS> <VIEWS_PER_DAY> <WEBMENTIONS>
//! ```
//! Mastodon and the blog are `bench/fake_upstream.py` (`MASTODON_HOST`,
//! `BLOG_URL`). Setup (announcing the existing posts a week apart, as a
//! weekly blog would have, the newest a week before the month, and caching
//! their threads) runs first and prints `setup-done`; after a line on stdin the
//! month runs: a scheduled run every 5 minutes, widget views spread over
//! each day (half of them on the three newest posts), one webmention a day
//! until there are as many as asked, new posts on days spread over the
//! month. It prints one JSON report (invocations, their summed wall time,
//! DynamoDB units) and waits for a line before exiting. `idle` runs only
//! the scheduled runs.

use std::time::{Duration, Instant};

use axum::body::Body;
use backfeed::clock::ManualClock;
use backfeed::config::{Config, Overrides};
use backfeed::storage::dynamodb::client::process_usage;
use http::Request;
use tower::ServiceExt;

const DAY: u64 = 86_400;
const SLOT: u64 = 300;

#[derive(Default, serde::Serialize)]
struct Kind {
    invocations: u64,
    /// Summed wall time, in milliseconds, each invocation rounded up to a
    /// whole millisecond (as Lambda bills).
    billed_ms: u64,
}

#[derive(Default, serde::Serialize)]
struct Report {
    views: Kind,
    webmentions: Kind,
    scheduled: Kind,
    jobs_run: u64,
    dynamodb_requests: u64,
    dynamodb_read_units: f64,
    dynamodb_write_units: f64,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> u64 {
        args.get(i)
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| usage())
    };
    let idle = match args.first().map(String::as_str) {
        Some("typical") => false,
        Some("idle") => true,
        _ => usage(),
    };
    let (posts, new_posts, views_per_day, webmentions) =
        (number(1), number(2), number(3), number(4));
    let blog = std::env::var("BLOG_URL").unwrap_or_else(|_| usage());
    let config = Config::from_process_env(None, Overrides::default())
        .unwrap_or_else(|e| panic!("configuration: {e}"));
    let clock = ManualClock::starting_now();
    let app = backfeed::App::build_with_clock(config, clock.clock())
        .await
        .unwrap_or_else(|e| panic!("building the app: {e}"));
    let router = backfeed::http::router(app.clone());
    let post = |slug: &str| format!("{blog}/posts/{slug}/");
    let call = |request: Request<Body>| {
        let router = router.clone();
        async move {
            let started = Instant::now();
            let response = router.oneshot(request).await.expect("infallible");
            let status = response.status();
            let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
            assert!(status.as_u16() < 500, "answered {status}");
            ms(started)
        }
    };
    let view = |url: String| {
        Request::get(format!("/api/comments?url={}", encode(&url)))
            .body(Body::empty())
            .unwrap()
    };
    let run = |app: backfeed::http::AppState| async move {
        let started = Instant::now();
        // The SAM template's Timeout (60 s) less `jobs::PLATFORM_MARGIN`.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(58);
        let report = backfeed::jobs::run_until(&app, deadline).await;
        (ms(started), report)
    };

    let mut slugs: Vec<String> = (0..posts).map(|i| format!("old-{i}")).collect();
    for slug in &slugs {
        call(view(post(slug))).await;
        run(app.clone()).await;
        clock.advance(Duration::from_secs(7 * DAY));
    }
    println!("setup-done");
    wait_for_a_line();

    let before = process_usage();
    let mut report = Report::default();
    let mut random = 0x2545_f491_4f6c_dd1d_u64;
    let view_gap = (DAY * 1000).checked_div(views_per_day).unwrap_or(u64::MAX);
    let (mut next_view_ms, mut mentions_sent, mut published) = (0u64, 0u64, 0u64);
    let start = clock.now();
    for slot in 0..(30 * DAY / SLOT) {
        let slot_end_ms = (slot + 1) * SLOT * 1000;
        if !idle {
            let day = slot * SLOT / DAY;
            if published < new_posts && day >= (published + 1) * 30 / (new_posts + 1) {
                published += 1;
                slugs.push(format!("new-{published}"));
            }
            while next_view_ms < slot_end_ms {
                set_clock(&clock, start, next_view_ms);
                random = next(random);
                let newest = slugs.len().saturating_sub(3);
                let index = if random.is_multiple_of(2) {
                    newest + (random / 2) as usize % (slugs.len() - newest)
                } else {
                    (random / 2) as usize % slugs.len()
                };
                report.views.billed_ms += call(view(post(&slugs[index]))).await;
                report.views.invocations += 1;
                next_view_ms += view_gap;
            }
            let noon = day * DAY + DAY / 2;
            if mentions_sent < webmentions && slot * SLOT <= noon && noon < (slot + 1) * SLOT {
                mentions_sent += 1;
                let target = post(&slugs[(mentions_sent as usize * 7) % slugs.len()]);
                let source = format!("{blog}/posts/source-{mentions_sent}/");
                let form = format!("source={}&target={}", encode(&source), encode(&target));
                let request = Request::post("/webmention")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(form))
                    .unwrap();
                report.webmentions.billed_ms += call(request).await;
                report.webmentions.invocations += 1;
            }
        }
        set_clock(&clock, start, slot_end_ms);
        let (spent, jobs) = run(app.clone()).await;
        report.scheduled.billed_ms += spent;
        report.scheduled.invocations += 1;
        report.jobs_run += jobs.jobs as u64;
    }
    let after = process_usage();
    report.dynamodb_requests = after.requests - before.requests;
    report.dynamodb_read_units = after.read_units - before.read_units;
    report.dynamodb_write_units = after.write_units - before.write_units;
    println!("{}", serde_json::to_string(&report).expect("report"));
    wait_for_a_line();
}

fn usage() -> ! {
    eprintln!("usage: cost_month typical|idle <POSTS> <NEW_POSTS> <VIEWS_PER_DAY> <WEBMENTIONS>");
    std::process::exit(2)
}

fn wait_for_a_line() {
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("stdin");
}

/// Moves the hand-held clock to `at_ms` after `start` (never back).
fn set_clock(clock: &ManualClock, start: time::OffsetDateTime, at_ms: u64) {
    let target = start + Duration::from_millis(at_ms);
    let now = clock.now();
    if target > now {
        clock.advance((target - now).unsigned_abs());
    }
}

fn ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros().div_ceil(1000)).unwrap_or(u64::MAX)
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// xorshift64: a fixed sequence, so every run views the same posts.
fn next(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}
