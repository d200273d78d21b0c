//! Conformance checks for received webmentions and their verification queue.

use std::sync::Arc;
use std::time::Duration;

use url::Url;

use super::posts::now;
use crate::domain::mention::{
    Author, MentionData, MentionId, Moderation, Relation, Transition, Verification,
};
use crate::storage::{MentionQuery, SortDirection, Store, VerificationJob};

pub(super) const LEASE: Duration = Duration::from_secs(60);

pub async fn run(store: Arc<dyn Store>) {
    a_received_mention_is_pending_with_a_due_job(&*store).await;
    a_resent_mention_keeps_its_id_and_moderation(&*store).await;
    a_claimed_job_is_not_handed_out_twice_until_its_lease_runs_out(&*store).await;
    a_stale_claim_cannot_settle(&*store).await;
    a_retry_reschedules_the_job_and_counts_the_attempt(&*store).await;
    verification_data_round_trips(&*store).await;
    rejection_and_deletion_keep_the_reason(&*store).await;
    queries_filter_by_target_visibility_property_and_page(&*store).await;
    moderation_and_removal_work(&*store).await;
    concurrent_workers_never_claim_the_same_job(Arc::clone(&store)).await;
}

pub(super) fn url(text: &str) -> Url {
    Url::parse(text).expect("valid URL")
}

pub(super) fn target(name: &str) -> Url {
    url(&format!("https://conformance.example/mentions/{name}"))
}

/// Claims jobs until the one for `id` comes up (other checks' jobs may be due
/// too); the others are settled out of the way.
pub(super) async fn claim_job_for(store: &dyn Store, id: MentionId) -> VerificationJob {
    for _ in 0..1000 {
        let job = store
            .claim_verification(now(), LEASE)
            .await
            .expect("claim")
            .unwrap_or_else(|| panic!("no due job for mention {id}"));
        if job.mention_id == id {
            return job;
        }
        store
            .settle_verification(
                &job,
                &Transition::Reject("cleared by the suite".into()),
                false,
                now(),
            )
            .await
            .expect("settle");
    }
    panic!("job for mention {id} never came up");
}

pub(super) fn data(text: &str) -> MentionData {
    MentionData {
        relation: Relation::Reply,
        author: Some(Author {
            name: Some("Alice".into()),
            photo: Some("https://alice.example/me.jpg".into()),
            url: Some("https://alice.example/".into()),
        }),
        content_html: Some(format!("<p>{text}</p>")),
        content_text: Some(text.into()),
        name: None,
        published: Some("2026-11-01T10:00:00Z".into()),
        url: Some("https://alice.example/reply".into()),
    }
}

async fn a_received_mention_is_pending_with_a_due_job(store: &dyn Store) {
    let before = store.pending_verifications().await.unwrap();
    let id = store
        .receive_mention(
            &url("https://alice.example/1"),
            &target("pending"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    assert!(id.0 > 0, "ids are positive");
    assert_eq!(store.pending_verifications().await.unwrap(), before + 1);
    let mention = store.find_mention(id).await.unwrap().expect("stored");
    assert_eq!(mention.verification, Verification::Pending);
    assert_eq!(mention.source, url("https://alice.example/1"));
    assert!(mention.data.is_none());
    let job = claim_job_for(store, id).await;
    assert_eq!(
        (job.attempts, job.current.clone()),
        (0, Verification::Pending)
    );
    assert!(
        store
            .settle_verification(&job, &Transition::Verify(data("hi")), false, now())
            .await
            .unwrap()
    );
}

async fn a_resent_mention_keeps_its_id_and_moderation(store: &dyn Store) {
    let (source, target) = (url("https://alice.example/2"), target("resent"));
    let id = store
        .receive_mention(&source, &target, Moderation::Pending, now())
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    store
        .settle_verification(&job, &Transition::Verify(data("v1")), false, now())
        .await
        .unwrap();
    store
        .set_moderation(id, Moderation::Hidden, now())
        .await
        .unwrap();

    let again = store
        .receive_mention(&source, &target, Moderation::Approved, now())
        .await
        .unwrap();
    assert_eq!(again, id, "same source and target, same id");
    let mention = store.find_mention(id).await.unwrap().unwrap();
    assert_eq!(mention.moderation, Moderation::Hidden, "moderation kept");
    assert_eq!(
        mention.verification,
        Verification::Verified,
        "still verified while re-verifying"
    );
    let job = claim_job_for(store, id).await;
    assert_eq!(job.current, Verification::Verified);
    store
        .settle_verification(&job, &Transition::Verify(data("v2")), false, now())
        .await
        .unwrap();
    let updated = store.find_mention(id).await.unwrap().unwrap();
    assert_eq!(
        updated.data.unwrap().content_text.as_deref(),
        Some("v2"),
        "updated in place"
    );
}

async fn a_claimed_job_is_not_handed_out_twice_until_its_lease_runs_out(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/3"),
            &target("leased"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    while let Some(other) = store.claim_verification(now(), LEASE).await.unwrap() {
        assert_ne!(other.mention_id, id, "a held job is not handed out again");
        store
            .settle_verification(&other, &Transition::Reject("cleared".into()), false, now())
            .await
            .unwrap();
    }
    let later = now() + LEASE + Duration::from_secs(1);
    let retaken = store
        .claim_verification(later, LEASE)
        .await
        .unwrap()
        .expect("lease ran out");
    assert_eq!(retaken.mention_id, id);
    assert_ne!(retaken.token, job.token);
    store
        .settle_verification(&retaken, &Transition::Reject("done".into()), false, now())
        .await
        .unwrap();
}

async fn a_stale_claim_cannot_settle(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/4"),
            &target("stale"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let old = claim_job_for(store, id).await;
    let new = store
        .claim_verification(now() + LEASE + Duration::from_secs(1), LEASE)
        .await
        .unwrap()
        .expect("retaken");
    assert_eq!(new.mention_id, id);
    assert!(
        !store
            .settle_verification(&old, &Transition::Verify(data("late")), false, now())
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_mention(id).await.unwrap().unwrap().verification,
        Verification::Pending
    );
    assert!(
        store
            .settle_verification(&new, &Transition::Reject("no".into()), false, now())
            .await
            .unwrap()
    );
}

async fn a_retry_reschedules_the_job_and_counts_the_attempt(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/5"),
            &target("retry"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    let delay = Duration::from_secs(3600);
    assert!(
        store
            .settle_verification(&job, &Transition::RetryAfter(delay), false, now())
            .await
            .unwrap()
    );
    while let Some(other) = store.claim_verification(now(), LEASE).await.unwrap() {
        assert_ne!(other.mention_id, id, "not due before its delay");
        store
            .settle_verification(&other, &Transition::Reject("cleared".into()), false, now())
            .await
            .unwrap();
    }
    let due = store
        .claim_verification(now() + delay + Duration::from_secs(1), LEASE)
        .await
        .unwrap()
        .expect("due after the delay");
    assert_eq!((due.mention_id, due.attempts), (id, 1));
    store
        .settle_verification(&due, &Transition::Reject("done".into()), false, now())
        .await
        .unwrap();
}

async fn verification_data_round_trips(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/6"),
            &target("data"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    let mut rsvp = data("I'll be there");
    rsvp.relation = Relation::Rsvp("maybe".into());
    rsvp.name = Some("RSVP".into());
    store
        .settle_verification(&job, &Transition::Verify(rsvp.clone()), false, now())
        .await
        .unwrap();
    let mention = store.find_mention(id).await.unwrap().unwrap();
    assert_eq!(mention.verification, Verification::Verified);
    assert_eq!(mention.data, Some(rsvp));
    assert!(mention.is_visible());
}

async fn rejection_and_deletion_keep_the_reason(store: &dyn Store) {
    for (name, transition, expected) in [
        (
            "rejected",
            Transition::Reject("no link".into()),
            Verification::Rejected {
                reason: "no link".into(),
            },
        ),
        (
            "deleted",
            Transition::Delete("gone".into()),
            Verification::Deleted {
                reason: "gone".into(),
            },
        ),
    ] {
        let id = store
            .receive_mention(
                &url(&format!("https://alice.example/{name}")),
                &target(name),
                Moderation::Approved,
                now(),
            )
            .await
            .unwrap();
        let job = claim_job_for(store, id).await;
        store
            .settle_verification(&job, &transition, false, now())
            .await
            .unwrap();
        assert_eq!(
            store.find_mention(id).await.unwrap().unwrap().verification,
            expected
        );
    }
}

async fn queries_filter_by_target_visibility_property_and_page(store: &dyn Store) {
    let page_target = target("query");
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = store
            .receive_mention(
                &url(&format!("https://q.example/{i}")),
                &page_target,
                Moderation::Approved,
                now(),
            )
            .await
            .unwrap();
        let job = claim_job_for(store, id).await;
        let mut found = data(&format!("m{i}"));
        if i == 4 {
            found.relation = Relation::Like;
        }
        let transition = if i == 3 {
            Transition::Reject("no".into())
        } else {
            Transition::Verify(found)
        };
        store
            .settle_verification(&job, &transition, false, now())
            .await
            .unwrap();
        ids.push(id);
    }
    let base = MentionQuery {
        targets: vec![page_target.clone()],
        per_page: 100,
        ..MentionQuery::default()
    };
    let visible = store.query_mentions(&base).await.unwrap();
    assert_eq!(visible.len(), 4, "the rejected one is not visible");
    assert_eq!(store.count_mentions(&base).await.unwrap(), 4);
    assert!(
        visible.windows(2).all(|w| w[0].id > w[1].id),
        "newest first by default"
    );

    let likes = MentionQuery {
        properties: vec!["like-of".into()],
        ..base.clone()
    };
    assert_eq!(
        store
            .query_mentions(&likes)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![ids[4]]
    );

    let paged = MentionQuery {
        per_page: 2,
        page: 1,
        direction: SortDirection::Ascending,
        ..base.clone()
    };
    let page: Vec<_> = store
        .query_mentions(&paged)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(page, vec![ids[2], ids[4]]);

    let since = MentionQuery {
        since_id: Some(ids[1]),
        ..base.clone()
    };
    assert_eq!(store.count_mentions(&since).await.unwrap(), 2);

    let everything = MentionQuery {
        visible_only: false,
        ..base.clone()
    };
    assert_eq!(store.count_mentions(&everything).await.unwrap(), 5);
    let elsewhere = MentionQuery {
        targets: vec![target("nothing-here")],
        ..base
    };
    assert!(store.query_mentions(&elsewhere).await.unwrap().is_empty());
}

async fn moderation_and_removal_work(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/mod"),
            &target("moderated"),
            Moderation::Pending,
            now(),
        )
        .await
        .unwrap();
    let job = claim_job_for(store, id).await;
    store
        .settle_verification(&job, &Transition::Verify(data("wait")), false, now())
        .await
        .unwrap();
    assert!(
        !store.find_mention(id).await.unwrap().unwrap().is_visible(),
        "waits for approval"
    );
    assert!(
        store
            .set_moderation(id, Moderation::Approved, now())
            .await
            .unwrap()
    );
    assert!(store.find_mention(id).await.unwrap().unwrap().is_visible());
    let pending = MentionQuery {
        visible_only: false,
        moderation: Some(Moderation::Pending),
        targets: vec![target("moderated")],
        ..MentionQuery::default()
    };
    assert_eq!(store.count_mentions(&pending).await.unwrap(), 0);
    assert!(store.remove_mention(id).await.unwrap());
    assert!(store.find_mention(id).await.unwrap().is_none());
    assert!(!store.remove_mention(id).await.unwrap());
    assert!(
        !store
            .set_moderation(id, Moderation::Hidden, now())
            .await
            .unwrap()
    );
}

async fn concurrent_workers_never_claim_the_same_job(store: Arc<dyn Store>) {
    while let Some(job) = store.claim_verification(now(), LEASE).await.unwrap() {
        store
            .settle_verification(&job, &Transition::Reject("cleared".into()), false, now())
            .await
            .unwrap();
    }
    for i in 0..20 {
        store
            .receive_mention(
                &url(&format!("https://c.example/{i}")),
                &target("concurrent"),
                Moderation::Approved,
                now(),
            )
            .await
            .unwrap();
    }
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(job) = store.claim_verification(now(), LEASE).await.unwrap() {
                    claimed.push(job.mention_id);
                    store
                        .settle_verification(&job, &Transition::Reject("done".into()), false, now())
                        .await
                        .unwrap();
                }
                claimed
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let count = all.len();
    all.sort();
    all.dedup();
    assert_eq!((count, all.len()), (20, 20), "each job exactly once");
}
