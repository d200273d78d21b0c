//! Conformance checks for blocked domains and the webhook delivery queue.

use std::sync::Arc;
use std::time::Duration;

use super::mentions::{LEASE, claim_job_for, data, target, url};
use super::posts::now;
use crate::domain::mention::{MentionEvent, Moderation, Transition};
use crate::storage::Store;

pub async fn run(store: Arc<dyn Store>) {
    blocked_domains_are_a_set(&*store).await;
    notified_settlements_queue_deliveries_in_order(&*store).await;
}

async fn blocked_domains_are_a_set(store: &dyn Store) {
    store.block_domain("spam.example", now()).await.unwrap();
    store.block_domain("spam.example", now()).await.unwrap();
    store.block_domain("junk.example", now()).await.unwrap();
    assert_eq!(
        store.blocked_domains().await.unwrap(),
        vec!["junk.example", "spam.example"]
    );
    assert!(store.unblock_domain("junk.example").await.unwrap());
    assert!(!store.unblock_domain("junk.example").await.unwrap());
    assert_eq!(store.blocked_domains().await.unwrap(), vec!["spam.example"]);
}

async fn notified_settlements_queue_deliveries_in_order(store: &dyn Store) {
    let (source, target) = (url("https://alice.example/hook"), target("hook"));
    let id = store
        .receive_mention(&source, &target, Moderation::Approved, now())
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    store
        .settle_verification(&job, &Transition::Verify(data("a")), true, now())
        .await
        .unwrap();
    store
        .receive_mention(&source, &target, Moderation::Approved, now())
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    store
        .settle_verification(&job, &Transition::Delete("gone".into()), true, now())
        .await
        .unwrap();

    let first = store
        .claim_delivery(now(), LEASE)
        .await
        .unwrap()
        .expect("a delivery");
    assert_eq!(
        (first.mention_id, first.event, first.attempts),
        (id, MentionEvent::New, 0)
    );
    let second = store
        .claim_delivery(now(), LEASE)
        .await
        .unwrap()
        .expect("another");
    assert_eq!(second.event, MentionEvent::Deleted);
    assert!(
        store.claim_delivery(now(), LEASE).await.unwrap().is_none(),
        "both are held"
    );

    let delay = Duration::from_secs(600);
    assert!(
        store
            .settle_delivery(&first, Some(delay), now())
            .await
            .unwrap()
    );
    assert!(store.settle_delivery(&second, None, now()).await.unwrap());
    assert!(
        !store.settle_delivery(&second, None, now()).await.unwrap(),
        "already settled"
    );
    assert!(
        store.claim_delivery(now(), LEASE).await.unwrap().is_none(),
        "retry not due yet"
    );
    let retried = store
        .claim_delivery(now() + delay + Duration::from_secs(1), LEASE)
        .await
        .unwrap()
        .expect("due again");
    assert_eq!((retried.id, retried.attempts), (first.id, 1));
    store.settle_delivery(&retried, None, now()).await.unwrap();

    let quiet = store
        .receive_mention(
            &url("https://alice.example/quiet"),
            &target,
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let job = claim_job_for(store, quiet).await;
    store
        .settle_verification(&job, &Transition::Verify(data("q")), false, now())
        .await
        .unwrap();
    assert!(
        store.claim_delivery(now(), LEASE).await.unwrap().is_none(),
        "no notify, no delivery"
    );
}
