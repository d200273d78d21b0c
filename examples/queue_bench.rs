//! Load for `bench/jobs.sh`: the job queue's throughput on a store, and the
//! requests an idle scheduled run makes.
//!
//! ```text
//! queue_bench enqueue <DATABASE_URL> <JOBS>          enqueue no-op jobs, due now
//! queue_bench run <DATABASE_URL> <WORKERS>           claim and finish until none is due
//! queue_bench both <DATABASE_URL> <JOBS> <WORKERS>   the two, one after the other
//! queue_bench idle                                   an App from the environment: prints
//!     `ready`, waits for a line on stdin, runs one scheduled run (`jobs::run_until`),
//!     prints its report, waits for a line, exits
//! ```
//! Figures go to standard output as one JSON object per phase.

use std::sync::Arc;
use std::time::{Duration, Instant};

use backfeed::clock::Clock;
use backfeed::config::{Config, DatabaseUrl, Overrides};
use backfeed::domain::job::{JobKind, NewJob, Settlement};
use backfeed::storage::{self, Store};

const LEASE: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_else(|| usage());
    let number = |i: usize| arg(i).parse::<usize>().unwrap_or_else(|_| usage());
    match arg(0).as_str() {
        "enqueue" => enqueue(&open(&arg(1)).await, number(2)).await,
        "run" => run(open(&arg(1)).await, number(2)).await,
        "both" => {
            let store = open(&arg(1)).await;
            enqueue(&store, number(2)).await;
            run(store, number(3)).await;
        }
        "idle" => idle().await,
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: queue_bench enqueue|run|both <DATABASE_URL> … | idle");
    std::process::exit(2)
}

async fn open(url: &str) -> Arc<dyn Store> {
    let url = DatabaseUrl::parse(url).unwrap_or_else(|e| panic!("DATABASE_URL: {e}"));
    storage::open(&url, &Clock::system())
        .await
        .unwrap_or_else(|e| panic!("opening the store: {e}"))
}

/// A job no handler runs: the benchmark claims and finishes it itself.
fn no_op(n: usize) -> NewJob {
    NewJob {
        kind: JobKind::RefreshThread,
        payload: format!(r#"{{"url":"https://bench.example/{n}"}}"#),
        dedupe_key: None,
        due_at: time::OffsetDateTime::now_utc(),
    }
}

async fn enqueue(store: &Arc<dyn Store>, jobs: usize) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..4)
        .map(|worker| {
            let store = Arc::clone(store);
            tokio::spawn(async move {
                for n in (worker..jobs).step_by(4) {
                    store
                        .enqueue(&no_op(n), time::OffsetDateTime::now_utc())
                        .await
                        .expect("enqueue");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("enqueuer");
    }
    report("enqueue", jobs, started.elapsed());
}

async fn run(store: Arc<dyn Store>, workers: usize) {
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut done = 0usize;
                loop {
                    let now = time::OffsetDateTime::now_utc();
                    let Some(claimed) = store.claim_job(now, LEASE).await.expect("claim") else {
                        return done;
                    };
                    store
                        .settle_job(&claimed, &Settlement::Done, now)
                        .await
                        .expect("settle");
                    done += 1;
                }
            })
        })
        .collect();
    let mut done = 0;
    for task in tasks {
        done += task.await.expect("worker");
    }
    report("run", done, started.elapsed());
}

fn report(phase: &str, jobs: usize, took: Duration) {
    let per_second = jobs as f64 / took.as_secs_f64().max(1e-9);
    println!(
        "{}",
        serde_json::json!({
            "phase": phase,
            "jobs": jobs,
            "seconds": took.as_secs_f64(),
            "per_second": per_second.round(),
        })
    );
}

async fn idle() {
    let config = Config::from_process_env(None, Overrides::default())
        .unwrap_or_else(|e| panic!("configuration: {e}"));
    let app = backfeed::App::build(config)
        .await
        .unwrap_or_else(|e| panic!("building the app: {e}"));
    let mut line = String::new();
    println!("ready");
    std::io::stdin().read_line(&mut line).expect("stdin");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let report = backfeed::jobs::run_until(&app, deadline).await;
    println!("{}", serde_json::to_string(&report).expect("report"));
    line.clear();
    std::io::stdin().read_line(&mut line).expect("stdin");
}
