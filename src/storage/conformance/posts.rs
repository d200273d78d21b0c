//! Conformance checks for the post (URL → toot) part of the contract.

use super::Decisions;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::{ClaimOutcome, PostState, PostUrl, TootId};
use crate::storage::Store;

const LEASE: Duration = Duration::from_secs(60);

fn url(name: &str) -> PostUrl {
    PostUrl::parse(&format!("https://conformance.example/{name}")).expect("valid URL")
}

pub(super) fn now() -> OffsetDateTime {
    // Millisecond precision, as every backend stores it.
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .expect("valid nanosecond")
}

fn toot(id: &str) -> TootId {
    TootId::new(id).expect("non-empty id")
}

async fn claimed(
    store: &dyn Store,
    url: &PostUrl,
    at: OffsetDateTime,
) -> crate::domain::ClaimToken {
    match store.claim_post(url, LEASE, at).await.expect("claim") {
        ClaimOutcome::Claimed(token) => token,
        other => panic!("expected a claim on {url}, got {other:?}"),
    }
}

pub async fn run(store: Arc<dyn Store>, decisions: Decisions) {
    a_new_post_is_claimed_once(&*store).await;
    a_recorded_toot_is_returned_to_later_claims(&*store).await;
    the_first_recorded_toot_wins(&*store).await;
    an_expired_claim_can_be_taken_over(&*store).await;
    a_released_claim_lets_the_next_request_try(&*store).await;
    a_failure_is_kept_until_forgotten(&*store).await;
    a_stale_holder_cannot_overwrite_a_new_holders_failure(&*store).await;
    concurrent_claims_have_exactly_one_winner(Arc::clone(&store), decisions).await;
    posts_are_listed_oldest_first(&*store).await;
}

async fn a_new_post_is_claimed_once(store: &dyn Store) {
    let post = url("claimed-once");
    claimed(store, &post, now()).await;
    assert_eq!(
        store.claim_post(&post, LEASE, now()).await.unwrap(),
        ClaimOutcome::InProgress
    );
    let record = store
        .find_post(&post)
        .await
        .unwrap()
        .expect("claimed post is stored");
    assert!(matches!(record.state, PostState::Claimed { .. }));
}

async fn a_recorded_toot_is_returned_to_later_claims(store: &dyn Store) {
    let post = url("recorded");
    let token = claimed(store, &post, now()).await;
    assert_eq!(
        store
            .record_toot(&post, &token, &toot("110"), now())
            .await
            .unwrap(),
        toot("110")
    );
    assert_eq!(
        store.claim_post(&post, LEASE, now()).await.unwrap(),
        ClaimOutcome::Announced(toot("110"))
    );
    let record = store.find_post(&post).await.unwrap().unwrap();
    assert_eq!(
        record.state,
        PostState::Announced {
            toot_id: toot("110")
        }
    );
    assert_eq!(record.url, post);
}

async fn the_first_recorded_toot_wins(store: &dyn Store) {
    let post = url("first-wins");
    let token = claimed(store, &post, now()).await;
    store
        .record_toot(&post, &token, &toot("AAA-opaque"), now())
        .await
        .unwrap();
    let second = store
        .record_toot(&post, &token, &toot("BBB"), now())
        .await
        .unwrap();
    assert_eq!(
        second,
        toot("AAA-opaque"),
        "ids are opaque strings and the first one stays"
    );
}

async fn an_expired_claim_can_be_taken_over(store: &dyn Store) {
    let post = url("expired");
    let long_ago = now() - Duration::from_secs(3600);
    let old = claimed(store, &post, long_ago).await;
    let new = claimed(store, &post, now()).await;
    assert_ne!(old, new);
    // The old holder finishing late still records the toot: it exists.
    assert_eq!(
        store
            .record_toot(&post, &old, &toot("7"), now())
            .await
            .unwrap(),
        toot("7")
    );
}

async fn a_released_claim_lets_the_next_request_try(store: &dyn Store) {
    let post = url("released");
    let token = claimed(store, &post, now()).await;
    store.release_claim(&post, &token).await.unwrap();
    assert!(store.find_post(&post).await.unwrap().is_none());
    claimed(store, &post, now()).await;
}

async fn a_failure_is_kept_until_forgotten(store: &dyn Store) {
    let post = url("failed");
    let token = claimed(store, &post, now()).await;
    store
        .record_failure(&post, &token, "Text character limit of 500 exceeded", now())
        .await
        .unwrap();
    assert_eq!(
        store.claim_post(&post, LEASE, now()).await.unwrap(),
        ClaimOutcome::Failed("Text character limit of 500 exceeded".into())
    );
    assert!(store.forget_failure(&post).await.unwrap());
    assert!(
        !store.forget_failure(&post).await.unwrap(),
        "nothing left to forget"
    );
    claimed(store, &post, now()).await;
    assert!(
        !store.forget_failure(&post).await.unwrap(),
        "a claim is not a failure"
    );
}

async fn a_stale_holder_cannot_overwrite_a_new_holders_failure(store: &dyn Store) {
    let post = url("stale-holder");
    let old = claimed(store, &post, now() - Duration::from_secs(3600)).await;
    let _new = claimed(store, &post, now()).await;
    store
        .record_failure(&post, &old, "late", now())
        .await
        .unwrap();
    store.release_claim(&post, &old).await.unwrap();
    let record = store.find_post(&post).await.unwrap().unwrap();
    assert!(
        matches!(record.state, PostState::Claimed { .. }),
        "new holder keeps its claim: {record:?}"
    );
}

async fn concurrent_claims_have_exactly_one_winner(store: Arc<dyn Store>, decisions: Decisions) {
    let post = url("concurrent");
    let attempts = (0..32).map(|_| {
        let (store, post) = (Arc::clone(&store), post.clone());
        tokio::spawn(async move { store.claim_post(&post, LEASE, now()).await })
    });
    // Spawn every attempt before awaiting any, so they really overlap.
    let attempts: Vec<_> = attempts.collect();
    let mut winners = 0;
    for attempt in attempts {
        match attempt.await.expect("task").expect("claim") {
            ClaimOutcome::Claimed(_) => winners += 1,
            ClaimOutcome::InProgress => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    match decisions {
        Decisions::Exclusive => assert_eq!(winners, 1),
        Decisions::AtLeastOnce => assert!(winners >= 1, "someone holds the post"),
    }
}

async fn posts_are_listed_oldest_first(store: &dyn Store) {
    let before = store.list_posts().await.unwrap().len();
    let (a, b) = (url("list-a"), url("list-b"));
    claimed(store, &a, now() - Duration::from_secs(10)).await;
    claimed(store, &b, now()).await;
    let posts = store.list_posts().await.unwrap();
    assert_eq!(posts.len(), before + 2);
    let position = |u: &PostUrl| posts.iter().position(|p| &p.url == u).unwrap();
    assert!(position(&a) < position(&b));
}
