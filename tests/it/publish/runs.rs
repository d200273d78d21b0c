//! Runs of `publish` over time: an unchanged feed costs one request and
//! sends nothing; announcing follows `GET /?url=`'s exactly-once claim; a
//! dry run writes nothing; links to the blog's own posts reach our own
//! receiver; `BACKFEED_ANNOUNCE_ON_VIEW=false` makes views look up only.

use std::time::Duration;

use backfeed::domain::job::JobKind;
use backfeed::domain::mention::Verification;
use backfeed::publish::PublishRequest;
use backfeed::storage::MentionQuery;
use url::Url;

use super::harness::{FEED_PATH, item, scene};
use crate::helpers::jobs_waiting;

#[tokio::test]
async fn an_unchanged_feed_costs_one_request_and_sends_and_toots_nothing() {
    let s = scene(|_| {}).await;
    let targets = vec![s.rocks.target(3), s.rocks.target(8)];
    let post = s.post("a", &targets);
    s.feed(&[item(&post, "A", "a")]);
    let first = s.publish().await;
    assert_eq!(
        (first.done.sent, first.done.announced),
        (2, 1),
        "{first:#?}"
    );
    let (posted, toots) = (s.rocks.posted().len(), s.app.mastodon.statuses_created());
    let page_hits = s.app.blog.hits("/posts/a/");
    let target_gets = s.rocks.gets("/test/3");

    for _ in 0..2 {
        s.app.advance(Duration::from_secs(900));
        let again = s.publish().await;
        assert_eq!(again.scan.feeds_unchanged, 1, "{again:#?}");
        assert_eq!(
            (
                again.scan.sends_queued,
                again.done.sent,
                again.done.announced
            ),
            (0, 0, 0)
        );
    }

    assert_eq!(s.app.blog.hits(FEED_PATH), 3, "one request per run");
    assert_eq!(
        s.app.blog.hits("/posts/a/"),
        page_hits,
        "no post page fetched"
    );
    assert_eq!(s.rocks.gets("/test/3"), target_gets, "no target fetched");
    assert_eq!(s.rocks.posted().len(), posted, "nothing sent");
    assert_eq!(s.app.mastodon.statuses_created(), toots, "nothing tooted");
}

#[tokio::test]
async fn a_feed_that_changes_elsewhere_sends_only_for_the_changed_post() {
    let s = scene(|_| {}).await;
    let a = s.post("a", &[s.rocks.target(3)]);
    let b = s.post("b", &[s.rocks.target(4)]);
    s.feed(&[item(&a, "A", "a"), item(&b, "B", "b")]);
    s.publish().await;
    let posted = s.rocks.posted().len();

    let c = s.post("c", &[s.rocks.target(5)]);
    s.feed(&[item(&c, "C", "c"), item(&a, "A", "a"), item(&b, "B", "b")]);
    let run = s.publish().await;

    assert_eq!(
        (run.scan.new, run.scan.changed, run.done.sent),
        (1, 0, 1),
        "{run:#?}"
    );
    assert_eq!(s.rocks.posted().len(), posted + 1);
    assert_eq!(
        s.app.blog.hits("/posts/a/"),
        2,
        "fetched once to publish, once to announce"
    );
}

#[tokio::test]
async fn a_post_is_announced_once_whichever_path_comes_first_and_never_again_when_edited() {
    let s = scene(|_| {}).await;
    let viewed = s.post("viewed-first", &[]);
    let fresh = s.post("fresh", &[s.rocks.target(3)]);
    let outside = s.app.blog.url("/about/");
    s.app
        .blog
        .page("/about/", &super::harness::post_html("About", &[]));
    let response = s.app.lookup(&viewed).await;
    assert_eq!(response.status(), 200);
    assert_eq!(s.app.mastodon.statuses_created(), 1);
    s.feed(&[
        item(&fresh, "Fresh", "f"),
        item(&viewed, "Viewed", "v"),
        item(&outside, "About", "x"),
    ]);

    let run = s.publish().await;

    assert_eq!(
        run.scan.announcements_queued, 1,
        "only the post without a toot: {run:#?}"
    );
    assert_eq!(run.done.announced, 1);
    assert_eq!(
        s.app.mastodon.statuses_created(),
        2,
        "pages outside BLOG_POST_PATTERN are not announced"
    );
    let statuses = s.app.mastodon.received();
    let key = crate::helpers::md5_hex(&fresh);
    assert_eq!(
        statuses.last().unwrap().idempotency_key.as_deref(),
        Some(key.as_str())
    );
    assert!(statuses.last().unwrap().status().unwrap().contains(&fresh));

    s.post("fresh", &[s.rocks.target(3), s.rocks.target(4)]);
    s.feed(&[
        item(&fresh, "Fresh", "edited"),
        item(&viewed, "Viewed", "v"),
        item(&outside, "About", "x"),
    ]);
    s.app.advance(Duration::from_secs(60));
    let edited = s.publish().await;
    assert_eq!(
        (edited.scan.changed, edited.done.announced),
        (1, 0),
        "{edited:#?}"
    );
    assert_eq!(
        s.app.mastodon.statuses_created(),
        2,
        "an edited post is not tooted again"
    );
    let body: serde_json::Value = s.app.lookup(&fresh).await.json().await.unwrap();
    let toot = s.app.mastodon.statuses().last().unwrap()["id"].clone();
    assert_eq!(
        body["toot_id"], toot,
        "the view finds the toot publish made"
    );
}

#[tokio::test]
async fn a_dry_run_discovers_and_reports_but_writes_sends_and_toots_nothing() {
    let s = scene(|_| {}).await;
    let post = s.post(
        "dry",
        &[
            s.rocks.target(3),
            s.rocks.target(23),
            s.rocks.url("/extra/no-endpoint"),
        ],
    );
    s.feed(&[item(&post, "Dry", "d")]);

    let run = s
        .run(PublishRequest {
            feeds: vec![s.feed_url()],
            dry_run: true,
            ..PublishRequest::default()
        })
        .await;

    let plan = &run.scan.plans[0];
    assert_eq!(plan.url, post);
    assert_eq!(plan.announce, "would be announced");
    let endpoints: Vec<Option<&str>> = plan.targets.iter().map(|t| t.endpoint.as_deref()).collect();
    assert_eq!(
        endpoints[0],
        Some(s.rocks.url("/test/3/webmention").as_str())
    );
    assert!(endpoints[1].is_some_and(|e| e.contains("/test/23/page/webmention-endpoint/")));
    assert_eq!(endpoints[2], None);
    assert!(s.rocks.posted().is_empty());
    assert_eq!(s.app.mastodon.statuses_created(), 0);
    let store = &s.app.app.store;
    assert!(store.list_sent(None).await.unwrap().is_empty());
    assert!(store.load_feed(&s.feed_url()).await.unwrap().is_none());
    assert_eq!(jobs_waiting(&**store, JobKind::SendWebmention).await, 0);
    assert_eq!(jobs_waiting(&**store, JobKind::AnnouncePost).await, 0);
}

#[tokio::test]
async fn links_to_the_blogs_own_posts_are_handed_to_our_receiver() {
    let s = scene(|_| {}).await;
    let older = s.post("older", &[]);
    let newer = s.post("newer", std::slice::from_ref(&older));
    s.feed(&[item(&newer, "Newer", "n")]);

    let run = s.publish().await;
    assert_eq!(run.done.sent, 1, "{run:#?}");

    // Verification is the receiver's own job, drained by the run too.
    let mentions = s
        .app
        .app
        .store
        .query_mentions(&MentionQuery {
            targets: vec![Url::parse(&older).unwrap()],
            visible_only: false,
            ..MentionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(mentions.len(), 1, "{mentions:#?}");
    assert_eq!(mentions[0].source.as_str(), newer);
    assert_eq!(mentions[0].verification, Verification::Verified);
    let sent = s.sent(&newer).await;
    assert!(
        sent.targets[0]
            .endpoint
            .as_deref()
            .unwrap()
            .contains("this backfeed")
    );
}

#[tokio::test]
async fn with_announce_on_view_off_views_only_look_up_until_publish_announces() {
    let s = scene(|env| {
        env.insert("BACKFEED_ANNOUNCE_ON_VIEW".into(), "false".into());
    })
    .await;
    let post = s.post("quiet", &[]);

    let lookup = s.app.lookup(&post).await;
    assert_eq!(lookup.status(), 404);
    let body: serde_json::Value = lookup.json().await.unwrap();
    assert_eq!(body["code"], 404);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("not been announced yet"),
        "{body}"
    );
    let comments = s.app.get(&format!("/api/comments?url={post}")).await;
    assert_eq!(comments.status(), 404);
    assert_eq!(s.app.mastodon.statuses_created(), 0, "a view toots nothing");

    s.feed(&[item(&post, "Quiet", "q")]);
    s.publish().await;

    assert_eq!(s.app.mastodon.statuses_created(), 1);
    assert_eq!(s.app.lookup(&post).await.status(), 200);
    assert_eq!(
        s.app
            .get(&format!("/api/comments?url={post}"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_post_whose_page_fails_is_read_again_by_the_next_run() {
    let s = scene(|_| {}).await;
    let ok = s.post("fine", &[s.rocks.target(3)]);
    let broken = s.app.blog.url("/posts/broken/");
    s.app.blog.page_with_status("/posts/broken/", 503, "busy");
    s.feed(&[item(&ok, "Fine", "f"), item(&broken, "Broken", "b")]);

    let first = s.publish().await;
    assert_eq!(
        (first.scan.new, first.scan.post_errors.len()),
        (1, 1),
        "{first:#?}"
    );
    assert!(first.scan.post_errors[0].contains("503"), "{first:#?}");

    s.post("broken", &[s.rocks.target(4)]);
    s.app.advance(Duration::from_secs(60));
    let second = s.publish().await;

    assert_eq!(
        second.scan.feeds_unchanged, 0,
        "the feed is read in full again: {second:#?}"
    );
    assert_eq!((second.scan.new, second.done.sent), (1, 1), "{second:#?}");
    assert_eq!(s.rocks.posted().len(), 2);
    assert_eq!(
        s.app.blog.hits("/posts/fine/"),
        2,
        "the fine post is not read again (once more to announce it)"
    );
    assert_eq!(
        s.publish().await.scan.feeds_unchanged,
        1,
        "and then the feed is known"
    );
}

#[tokio::test]
async fn a_feed_longer_than_a_save_interval_is_published_in_one_run() {
    let s = scene(|_| {}).await;
    let items: Vec<_> = (0..45)
        .map(|n| {
            let url = s.post(&format!("many-{n}"), &[s.rocks.url("/extra/capital-rel")]);
            item(&url, &format!("Many {n}"), "m")
        })
        .collect();
    s.feed(&items);

    let run = s.publish().await;

    assert_eq!((run.scan.new, run.done.sent), (45, 45), "{run:#?}");
    let state = s
        .app
        .app
        .store
        .load_feed(&s.feed_url())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.entries.len(), 45);
    assert!(state.etag.is_some(), "a complete read keeps the validators");
}
