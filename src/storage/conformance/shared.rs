//! Conformance checks for two store instances on one database (two
//! processes, or two functions, sharing a table, a bucket or a server):
//! what one writes the other reads, and every claim has one winner across
//! them. Run on a fresh, empty store.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::posts::now;
use crate::domain::mention::Moderation;
use crate::domain::{ClaimOutcome, PostUrl, TootId};
use crate::storage::Store;

const LEASE: Duration = Duration::from_secs(60);

pub async fn run(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    a_claim_holds_across_instances(&*one, &*two).await;
    a_due_job_goes_to_one_instance(one, two).await;
}

async fn a_claim_holds_across_instances(one: &dyn Store, two: &dyn Store) {
    let post = PostUrl::parse("https://conformance.example/shared").expect("URL");
    let ClaimOutcome::Claimed(token) = one.claim_post(&post, LEASE, now()).await.unwrap() else {
        panic!("the first claim wins");
    };
    assert_eq!(
        two.claim_post(&post, LEASE, now()).await.unwrap(),
        ClaimOutcome::InProgress
    );
    let toot = TootId::new("777").unwrap();
    one.record_toot(&post, &token, &toot, now()).await.unwrap();
    assert_eq!(
        two.claim_post(&post, LEASE, now()).await.unwrap(),
        ClaimOutcome::Announced(toot)
    );
    one.block_domain("shared.example", now()).await.unwrap();
    assert_eq!(two.blocked_domains().await.unwrap(), ["shared.example"]);
}

async fn a_due_job_goes_to_one_instance(one: Arc<dyn Store>, two: Arc<dyn Store>) {
    let source = Url::parse("https://elsewhere.example/reply").unwrap();
    let target = Url::parse("https://conformance.example/shared").unwrap();
    let at = now();
    let id = one
        .receive_mention(&source, &target, Moderation::Approved, at)
        .await
        .unwrap();
    assert!(two.find_mention(id).await.unwrap().is_some());
    let later = at + Duration::from_secs(1);
    let (a, b) = tokio::join!(one.claim_job(later, LEASE), two.claim_job(later, LEASE));
    let won = [a.unwrap(), b.unwrap()].into_iter().flatten().count();
    assert_eq!(won, 1, "exactly one instance holds the verification job");
}
