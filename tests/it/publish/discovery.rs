//! Discovery (W3C Webmention §3.1.2): one post linking to every
//! webmention.rocks discovery test (1–23) and to every case the site lacks;
//! each webmention must reach its one right endpoint, no decoy ever, with
//! only `source` and `target` in the body and the endpoint's query kept.

use std::time::Duration;

use backfeed::domain::job::{JobKind, JobState};
use backfeed::domain::sent::SendStatus;
use backfeed::storage::JobFilter;
use url::Url;

use super::harness::{Scene, item, scene};
use super::rocks::Posted;
use super::rocks_pages::{self, EXTRAS};

fn posts_for<'a>(posted: &'a [Posted], prefix: &str) -> Vec<&'a Posted> {
    posted
        .iter()
        .filter(|p| p.path == prefix || p.path.starts_with(&format!("{prefix}/")))
        .collect()
}

fn assert_one_webmention(
    s: &Scene,
    what: &str,
    posted: &[&Posted],
    path: &str,
    query: Option<&str>,
    source: &str,
    target: &str,
) {
    assert_eq!(posted.len(), 1, "{what}: exactly one POST, got {posted:#?}");
    let post = posted[0];
    assert_eq!(post.path, path, "{what}");
    assert_eq!(
        post.query.as_deref(),
        query,
        "{what}: the endpoint's query string is kept"
    );
    assert!(
        post.content_type
            .starts_with("application/x-www-form-urlencoded"),
        "{what}: {post:?}"
    );
    let names: Vec<&str> = post.fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names.len(),
        2,
        "{what}: only source and target in the body: {names:?}"
    );
    assert_eq!(post.field("source"), Some(source), "{what}");
    assert_eq!(post.field("target"), Some(target), "{what}");
    assert!(
        (200..300).contains(&post.status),
        "{what}: the endpoint accepted it: {post:?}"
    );
    let _ = s;
}

#[tokio::test]
async fn rocks_discovery_tests_1_to_23_and_the_extra_cases_reach_their_one_right_endpoint() {
    let s = scene(|_| {}).await;
    let mut targets: Vec<String> = (1..=23).map(|n| s.rocks.target(n)).collect();
    targets.extend(
        EXTRAS
            .iter()
            .map(|name| s.rocks.url(&format!("/extra/{name}"))),
    );
    let post = s.post("rocks", &targets);
    s.feed(&[item(&post, "Rocks", "Every discovery test")]);

    let run = s.publish().await;

    assert_eq!(
        (run.scan.new, run.scan.sends_queued),
        (1, targets.len()),
        "{run:#?}"
    );
    let posted = s.rocks.posted();
    for n in 1..=23 {
        let what = format!("discovery test {n}");
        let mine = posts_for(&posted, &format!("/test/{n}"));
        let target = s.rocks.target(n);
        match n {
            23 => {
                assert_eq!(mine.len(), 1, "{what}: {mine:#?}");
                assert!(
                    mine[0]
                        .path
                        .starts_with("/test/23/page/webmention-endpoint/"),
                    "{what}: resolved against the page the redirect led to: {mine:#?}"
                );
                assert_one_webmention(&s, &what, &mine, &mine[0].path, None, &post, &target);
                assert_eq!(
                    s.rocks.gets("/test/23/page"),
                    1,
                    "{what}: the target is fetched once"
                );
            }
            _ => {
                let page = rocks_pages::discovery(n, &s.rocks.base);
                let (path, query) = page.expected.unwrap();
                assert_one_webmention(&s, &what, &mine, &path, query, &post, &target);
            }
        }
    }
    let decoys: Vec<&Posted> = posted
        .iter()
        .filter(|p| p.path.ends_with("/webmention/error") || p.path == "/test/20")
        .collect();
    assert!(
        decoys.is_empty(),
        "no decoy endpoint is ever posted to: {decoys:#?}"
    );

    for name in EXTRAS {
        let what = format!("extra case {name}");
        let mine = posts_for(&posted, &format!("/extra/{name}"));
        let target = s.rocks.url(&format!("/extra/{name}"));
        match name {
            "text-plain" | "no-endpoint" => assert!(mine.is_empty(), "{what}: {mine:#?}"),
            "refuses" | "503-then-202" => assert_eq!(mine.len(), 1, "{what}: {mine:#?}"),
            _ => {
                let path = format!("/extra/{name}/webmention");
                assert_one_webmention(&s, &what, &mine, &path, None, &post, &target);
            }
        }
    }

    let sent = s.sent(&post).await;
    let status = |target: &str| {
        let t = sent
            .target(&Url::parse(target).unwrap())
            .unwrap_or_else(|| panic!("{target} has a record: {sent:#?}"));
        (t.status, t.http_status)
    };
    assert_eq!(status(&s.rocks.target(1)), (SendStatus::Sent, Some(200)));
    assert_eq!(status(&s.rocks.target(2)), (SendStatus::Sent, Some(201)));
    assert_eq!(
        status(&s.rocks.url("/extra/answers-204")),
        (SendStatus::Sent, Some(204))
    );
    assert_eq!(
        status(&s.rocks.url("/extra/text-plain")).0,
        SendStatus::NoEndpoint
    );
    assert_eq!(
        status(&s.rocks.url("/extra/no-endpoint")).0,
        SendStatus::NoEndpoint
    );
    assert_eq!(
        status(&s.rocks.url("/extra/503-then-202")),
        (SendStatus::Retrying, Some(503))
    );
    let refused = sent
        .target(&Url::parse(&s.rocks.url("/extra/refuses")).unwrap())
        .unwrap();
    assert_eq!(
        (refused.status, refused.http_status),
        (SendStatus::Failed, Some(400))
    );
    assert!(
        refused
            .answer
            .as_deref()
            .is_some_and(|a| a.contains("no_link_found")),
        "the endpoint's answer is recorded: {refused:?}"
    );
    assert!(
        sent.targets
            .iter()
            .all(|t| !t.target.as_str().contains("elsewhere.example")),
        "links outside the h-entry are not the post's"
    );
    assert_eq!((run.done.failed, run.retrying), (1, 1), "{run:#?}");
    let dead = s
        .app
        .app
        .store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::SendWebmention),
            state: Some(JobState::Dead),
            limit: 10,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        dead.len(),
        1,
        "the refusal is a dead job an operator sees: {dead:#?}"
    );

    // The 503 asked for 120 s: a later run sends it, and nothing else again.
    s.app.advance(Duration::from_secs(121));
    let later = s.publish().await;
    assert_eq!(later.scan.feeds_unchanged, 1, "{later:#?}");
    assert_eq!((later.done.sent, later.retrying), (1, 0), "{later:#?}");
    let again = s.rocks.posted();
    assert_eq!(again.len(), posted.len() + 1, "only the retry was sent");
    assert_eq!(again.last().unwrap().path, "/extra/503-then-202/webmention");
    assert_eq!(again.last().unwrap().status, 202);
    let now_sent = s.sent(&post).await;
    let retried = now_sent
        .target(&Url::parse(&s.rocks.url("/extra/503-then-202")).unwrap())
        .unwrap();
    assert_eq!((retried.status, retried.attempts), (SendStatus::Sent, 2));
}
