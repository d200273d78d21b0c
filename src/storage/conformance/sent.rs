//! Conformance checks for what was sent and what feeds said.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::Decisions;
use super::posts::now;
use crate::domain::sent::{FeedState, SendAttempt, SendStatus};
use crate::storage::Store;

pub async fn run(store: Arc<dyn Store>, decisions: Decisions) {
    a_feed_state_loads_back_whole_and_is_replaced(&*store).await;
    versions_and_attempts_are_kept_apart_and_counted(&*store).await;
    concurrent_attempts_on_one_source_are_all_kept(Arc::clone(&store), decisions).await;
}

fn url(text: &str) -> Url {
    Url::parse(text).unwrap()
}

async fn a_feed_state_loads_back_whole_and_is_replaced(store: &dyn Store) {
    let feed = url("https://conformance.example/sent/feed.xml");
    assert!(store.load_feed(&feed).await.unwrap().is_none());
    let mut state = FeedState::new(feed.clone(), now());
    state.etag = Some("\"abc\"".into());
    state.last_modified = Some("Tue, 01 Dec 2026 10:00:00 GMT".into());
    state.entries = BTreeMap::from([
        ("https://conformance.example/sent/a".into(), "d1".into()),
        ("https://conformance.example/sent/é".into(), "d2".into()),
    ]);
    store.save_feed(&state).await.unwrap();
    assert_eq!(store.load_feed(&feed).await.unwrap(), Some(state.clone()));
    let later = FeedState {
        etag: None,
        entries: BTreeMap::new(),
        checked_at: now() + Duration::from_secs(60),
        ..state
    };
    store.save_feed(&later).await.unwrap();
    assert_eq!(store.load_feed(&feed).await.unwrap(), Some(later));
}

fn attempt(target: &str, status: SendStatus, version: &str) -> SendAttempt {
    SendAttempt {
        target: url(target),
        endpoint: Some("https://receiver.example/wm?key=1".into()),
        status,
        http_status: Some(503),
        answer: Some("busy ✓".into()),
        version: version.into(),
    }
}

async fn versions_and_attempts_are_kept_apart_and_counted(store: &dyn Store) {
    let source = url("https://conformance.example/sent/post");
    let (a, b) = ("https://t.example/a", "https://t.example/b#frag");
    assert!(store.find_sent(&source).await.unwrap().is_none());

    store
        .record_version(&source, "v1", &[url(a), url(b)], false, now())
        .await
        .unwrap();
    store
        .record_attempt(&source, &attempt(a, SendStatus::Retrying, "v1"), now())
        .await
        .unwrap();
    store
        .record_attempt(&source, &attempt(a, SendStatus::Sent, "v1"), now())
        .await
        .unwrap();
    store
        .record_attempt(&source, &attempt(b, SendStatus::NoEndpoint, "v1"), now())
        .await
        .unwrap();
    // A new version does not touch the pairs; its first attempt counts 1.
    store
        .record_version(&source, "v2", &[url(b)], false, now())
        .await
        .unwrap();
    store
        .record_attempt(&source, &attempt(a, SendStatus::Failed, "v2"), now())
        .await
        .unwrap();

    let found = store.find_sent(&source).await.unwrap().expect("stored");
    assert_eq!(found.version.as_deref(), Some("v2"));
    assert_eq!(found.links, vec![url(b)]);
    assert!(!found.gone);
    assert_eq!(found.targets.len(), 2);
    let first = found.target(&url(a)).expect("a");
    assert_eq!(first.status, SendStatus::Failed);
    assert_eq!(first.attempts, 1);
    assert_eq!(first.version, "v2");
    assert_eq!(first.delivered_version.as_deref(), Some("v1"));
    assert_eq!(first.http_status, Some(503));
    assert_eq!(first.answer.as_deref(), Some("busy ✓"));
    assert_eq!(
        first.endpoint.as_deref(),
        Some("https://receiver.example/wm?key=1")
    );
    let second = found.target(&url(b)).expect("b");
    assert_eq!(
        (second.status, second.delivered_version.as_deref()),
        (SendStatus::NoEndpoint, Some("v1"))
    );

    store
        .record_version(&source, "gone", &[url(b)], true, now())
        .await
        .unwrap();
    assert!(store.find_sent(&source).await.unwrap().unwrap().gone);

    // An attempt for a source never versioned makes it appear.
    let orphan = url("https://conformance.example/sent/orphan");
    store
        .record_attempt(&orphan, &attempt(a, SendStatus::Sent, "v1"), now())
        .await
        .unwrap();
    let listed = store.list_sent(Some(&orphan)).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].version, None);
    let all = store.list_sent(None).await.unwrap();
    let mine: Vec<&str> = all
        .iter()
        .map(|s| s.source.as_str())
        .filter(|s| s.starts_with("https://conformance.example/sent/"))
        .collect();
    assert_eq!(
        mine,
        [
            "https://conformance.example/sent/orphan",
            "https://conformance.example/sent/post"
        ]
    );
}

/// Eight attempts at once, two on each of four targets: every target is
/// kept with both attempts (where decisions are not exclusive, the two on
/// one target may count as one; no target is lost).
async fn concurrent_attempts_on_one_source_are_all_kept(
    store: Arc<dyn Store>,
    decisions: Decisions,
) {
    let source = url("https://conformance.example/sent/busy");
    let attempts = (0..8).map(|i| {
        let store = Arc::clone(&store);
        let source = source.clone();
        tokio::spawn(async move {
            let target = format!("https://t.example/{}", i % 4);
            store
                .record_attempt(&source, &attempt(&target, SendStatus::Sent, "v1"), now())
                .await
                .unwrap();
        })
    });
    for handle in futures_util::future::join_all(attempts).await {
        handle.unwrap();
    }
    let found = store.find_sent(&source).await.unwrap().expect("stored");
    assert_eq!(found.targets.len(), 4);
    match decisions {
        Decisions::Exclusive => {
            assert!(found.targets.iter().all(|t| t.attempts == 2), "{found:#?}");
        }
        Decisions::AtLeastOnce => {
            assert!(
                found.targets.iter().all(|t| (1..=2).contains(&t.attempts)),
                "{found:#?}"
            );
        }
    }
}
