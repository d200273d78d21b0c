//! Operators see the job queue and act on it: a webhook that keeps failing
//! ends as a dead job with its last error, listed and retried through the
//! admin API and the CLI (`backfeed jobs`), and a retried job runs again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use backfeed::clock::Clock;
use backfeed::config::DatabaseUrl;
use backfeed::domain::job::{JobKind, NewJob, Settlement};
use backfeed::storage;

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app_with_clock, wait_for, wait_until};
use crate::process::run;

const ADMIN: &str = "admin-token-0123456789";

/// A webhook that answers 500 until told to accept.
#[derive(Clone, Default)]
struct Hook {
    accept: Arc<AtomicBool>,
    calls: Arc<AtomicUsize>,
    accepted: Arc<AtomicUsize>,
}

async fn hook(State(hook): State<Hook>) -> StatusCode {
    hook.calls.fetch_add(1, Ordering::SeqCst);
    if hook.accept.load(Ordering::SeqCst) {
        hook.accepted.fetch_add(1, Ordering::SeqCst);
        StatusCode::NO_CONTENT
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn start_hook() -> (Hook, String) {
    let hook_state = Hook::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(hook_state.clone());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (hook_state, url)
}

async fn admin_jobs(app: &TestApp, query: &str) -> serde_json::Value {
    let response = app
        .http
        .get(format!("{}/admin/jobs{query}", app.address))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_failing_webhook_ends_dead_and_the_admin_api_lists_and_retries_it() {
    let (hook, hook_url) = start_hook().await;
    let app = spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_ADMIN_TOKEN".into(), ADMIN.into());
            env.insert("BACKFEED_WEBHOOK_URL".into(), hook_url.clone());
            env.insert(
                "BACKFEED_WEBHOOK_SECRET".into(),
                "webhook-secret-0123456789".into(),
            );
            env.insert("BACKFEED_VERIFY_RETRY_DELAYS".into(), "1m".into());
        },
        true,
    )
    .await;
    let sources = FakeBlog::start().await;
    app.blog.page("/posts/a/", "<p>post</p>");
    let target = app.blog.url("/posts/a/");
    sources.page(
        "/reply/",
        &format!(r#"<div class="h-entry"><a class="u-in-reply-to" href="{target}">re</a></div>"#),
    );
    let status = app
        .accepted_webmention(&sources.url("/reply/"), &target)
        .await;
    app.wait_for_status(&status, "verified").await;

    wait_until("the first delivery", || {
        hook.calls.load(Ordering::SeqCst) == 1
    })
    .await;
    app.advance(Duration::from_secs(61));
    wait_until("the retry", || hook.calls.load(Ordering::SeqCst) == 2).await;

    let dead = loop {
        let listed = admin_jobs(&app, "?state=dead&kind=deliver-webhook").await;
        if let Some(job) = listed["jobs"].as_array().and_then(|j| j.first()) {
            break job.clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(dead["kind"], "deliver-webhook");
    assert_eq!(dead["attempts"], 2);
    assert!(
        dead["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{dead}"
    );
    assert_eq!(dead["payload"]["event"], "new");
    let listed = admin_jobs(&app, "?state=dead").await;
    assert_eq!(listed["counts"]["deliver-webhook"]["dead"], 1, "{listed}");

    let id = dead["id"].as_str().unwrap().to_owned();
    hook.accept.store(true, Ordering::SeqCst);
    let retried = app
        .http
        .post(format!("{}/admin/jobs/{id}/retry", app.address))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(retried.status(), 200);
    wait_until("the retried delivery", || {
        hook.accepted.load(Ordering::SeqCst) == 1
    })
    .await;
    wait_for("the webhook jobs to finish", || async {
        admin_jobs(&app, "?kind=deliver-webhook").await["jobs"]
            .as_array()
            .unwrap()
            .is_empty()
    })
    .await;

    for (method, path, status, wanted) in [
        (
            "GET",
            "/admin/jobs?state=done".to_owned(),
            400,
            "is not a job state",
        ),
        (
            "GET",
            "/admin/jobs?kind=verify".to_owned(),
            400,
            "is not a job kind",
        ),
        (
            "GET",
            "/admin/jobs?limit=0".to_owned(),
            400,
            "from 1 to 1000",
        ),
        (
            "POST",
            "/admin/jobs/17/retry".to_owned(),
            400,
            "is not a job id",
        ),
        (
            "POST",
            format!("/admin/jobs/{id}/retry"),
            404,
            "there is no job",
        ),
        (
            "DELETE",
            format!("/admin/jobs/{id}"),
            404,
            "there is no job",
        ),
    ] {
        let request = match method {
            "GET" => app.http.get(format!("{}{path}", app.address)),
            "POST" => app.http.post(format!("{}{path}", app.address)),
            _ => app.http.delete(format!("{}{path}", app.address)),
        };
        let response = request.bearer_auth(ADMIN).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(wanted),
            "{method} {path}: {body}"
        );
    }
    let unauthorised = app
        .http
        .get(format!("{}/admin/jobs", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthorised.status(), 401);
}

#[tokio::test]
async fn the_cli_lists_retries_and_drops_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
    let store = storage::open(&DatabaseUrl::parse(&url).unwrap(), &Clock::system())
        .await
        .unwrap();
    let now = time::OffsetDateTime::now_utc();
    let job = NewJob {
        kind: JobKind::RefreshThread,
        payload: r#"{"url":"https://blog.example/posts/a/"}"#.into(),
        dedupe_key: None,
        due_at: now,
    };
    store.enqueue(&job, now).await.unwrap();
    let held = store
        .claim_job(now, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let error = Settlement::Dead {
        error: "gave up after 4 attempts: Mastodon answered 502".into(),
    };
    store.settle_job(&held, &error, now).await.unwrap();
    let id = held.job.id.to_string();
    drop(store);

    let env = HashMap::from([("DATABASE_URL".to_owned(), url)]);
    let (code, out, err) = run(&env, &["jobs", "list", "--state", "dead", "--json"]).await;
    assert_eq!(code, 0, "{err}");
    let line: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(line["id"], id);
    assert_eq!(line["state"], "dead");
    assert!(line["last_error"].as_str().unwrap().contains("502"));

    let (code, table, _) = run(&env, &["jobs", "list"]).await;
    assert_eq!(code, 0);
    assert!(
        table.contains(&id) && table.contains("Mastodon answered 502"),
        "{table}"
    );

    let (code, out, err) = run(&env, &["jobs", "retry", &id]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("queued again"), "{out}");
    let (_, out, _) = run(&env, &["jobs", "list", "--state", "queued", "--json"]).await;
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (line["id"].as_str(), &line["attempts"]),
        (Some(id.as_str()), &0.into())
    );

    let (code, out, _) = run(&env, &["jobs", "drop", &id]).await;
    assert_eq!(code, 0);
    assert!(out.contains("dropped"));
    let (_, out, _) = run(&env, &["jobs", "list", "--json"]).await;
    assert!(out.trim().is_empty(), "{out}");

    for (args, wanted) in [
        (vec!["jobs", "retry", &id], "there is no job"),
        (vec!["jobs", "retry", "nope"], "is not a job id"),
        (
            vec!["jobs", "list", "--kind", "verify"],
            "is not a job kind",
        ),
        (vec!["jobs", "list", "--limit", "0"], "from 1 to 1000"),
    ] {
        let (code, _, err) = run(&env, &args).await;
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
}
