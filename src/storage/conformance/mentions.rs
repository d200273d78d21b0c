//! Conformance checks for received webmentions and their verification queue.

use std::sync::Arc;

use url::Url;

use super::Decisions;
use super::posts::now;
use crate::domain::job::{Job, JobKind, JobState, NewJob, VerifyMention};
use crate::domain::mention::{
    Author, MentionData, MentionId, Moderation, Relation, Transition, Verification,
    VerificationState, Via,
};
use crate::storage::{JobFilter, MentionQuery, Settled, SortDirection, Store};

pub async fn run(store: Arc<dyn Store>, decisions: Decisions) {
    a_received_mention_is_pending_with_a_due_job(&*store).await;
    a_resent_mention_keeps_its_id_and_moderation(&*store).await;
    retry_and_keep_change_nothing_and_a_removed_mention_settles_nothing(&*store).await;
    verification_data_round_trips(&*store).await;
    a_verification_can_change_moderation_with_the_content(&*store).await;
    rejection_and_deletion_keep_the_reason(&*store).await;
    queries_filter_by_target_visibility_property_and_page(&*store).await;
    queries_filter_by_domain_and_sort_by_published_then_received(&*store).await;
    moderation_and_removal_work(&*store).await;
    concurrent_receives_of_one_pair_make_one_mention_and_one_job(Arc::clone(&store), decisions)
        .await;
}

pub(super) fn url(text: &str) -> Url {
    Url::parse(text).expect("valid URL")
}

pub(super) fn target(name: &str) -> Url {
    url(&format!("https://conformance.example/mentions/{name}"))
}

/// The queued verification job of mention `id` (it must have one).
pub(super) async fn queued_verification(store: &dyn Store, id: MentionId) -> Job {
    store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            state: Some(JobState::Queued),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .expect("list jobs")
        .into_iter()
        .find(|job| {
            job.payload::<VerifyMention>()
                .is_ok_and(|p| p.mention_id == id.0)
        })
        .unwrap_or_else(|| panic!("no queued verification for mention {id}"))
}

/// Settles mention `id` as a verification worker would: reading it, then
/// settling what it read.
pub(super) async fn settle(store: &dyn Store, id: MentionId, transition: &Transition) {
    let seen = store
        .find_mention(id)
        .await
        .expect("find")
        .unwrap_or_else(|| panic!("mention {id} is there to settle"))
        .updated_at;
    assert_eq!(
        store
            .settle_mention(id, transition, seen, now())
            .await
            .expect("settle"),
        Settled::Settled
    );
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
        via: Via::Webmention,
    }
}

async fn a_received_mention_is_pending_with_a_due_job(store: &dyn Store) {
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
    let mention = store.find_mention(id).await.unwrap().expect("stored");
    assert_eq!(mention.verification, Verification::Pending);
    assert_eq!(mention.source, url("https://alice.example/1"));
    assert!(mention.data.is_none());
    let job = queued_verification(store, id).await;
    assert_eq!(job.attempts, 0);
    assert!(job.due_at <= now(), "due at once");
    assert_eq!(job.dedupe_key, NewJob::verify_mention(id, now()).dedupe_key);
    settle(store, id, &Transition::Verify(data("hi"))).await;
}

async fn a_resent_mention_keeps_its_id_and_moderation(store: &dyn Store) {
    let (source, target) = (url("https://alice.example/2"), target("resent"));
    let id = store
        .receive_mention(&source, &target, Moderation::Pending, now())
        .await
        .unwrap();
    let first = queued_verification(store, id).await;
    settle(store, id, &Transition::Verify(data("v1"))).await;
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
    assert_eq!(
        queued_verification(store, id).await.id,
        first.id,
        "one queued verification per mention"
    );
    settle(store, id, &Transition::Verify(data("v2"))).await;
    let updated = store.find_mention(id).await.unwrap().unwrap();
    assert_eq!(
        updated.data.unwrap().content_text.as_deref(),
        Some("v2"),
        "updated in place"
    );
}

async fn retry_and_keep_change_nothing_and_a_removed_mention_settles_nothing(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/3"),
            &target("kept"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    settle(store, id, &Transition::Verify(data("kept"))).await;
    let before = store.find_mention(id).await.unwrap().unwrap();
    settle(store, id, &Transition::Retry("503".into())).await;
    settle(store, id, &Transition::Keep("503".into())).await;
    assert_eq!(store.find_mention(id).await.unwrap().unwrap(), before);

    // An attempt that read the mention before it changed (a re-send, a
    // moderation) settles nothing: its finding may be stale.
    let seen = before.updated_at;
    let later = now() + std::time::Duration::from_secs(5);
    store
        .set_moderation(id, Moderation::Hidden, later)
        .await
        .unwrap();
    assert_eq!(
        store
            .settle_mention(id, &Transition::Delete("stale".into()), seen, later)
            .await
            .unwrap(),
        Settled::Changed
    );
    assert_eq!(
        store.find_mention(id).await.unwrap().unwrap().verification,
        Verification::Verified,
        "nothing written"
    );

    assert!(store.remove_mention(id).await.unwrap());
    assert_eq!(
        store
            .settle_mention(id, &Transition::Verify(data("late")), seen, now())
            .await
            .unwrap(),
        Settled::Gone,
        "a removed mention stays removed"
    );
    assert!(store.find_mention(id).await.unwrap().is_none());
}

async fn a_verification_can_change_moderation_with_the_content(store: &dyn Store) {
    let id = store
        .receive_mention(
            &url("https://alice.example/reapproval"),
            &target("reapproval"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    settle(store, id, &Transition::Verify(data("approved"))).await;
    let changed = Transition::VerifyAndModerate(data("changed"), Moderation::Pending);
    settle(store, id, &changed).await;
    let mention = store.find_mention(id).await.unwrap().unwrap();
    assert_eq!(mention.verification, Verification::Verified);
    assert_eq!(mention.moderation, Moderation::Pending, "in one step");
    assert_eq!(
        mention.data.unwrap().content_text.as_deref(),
        Some("changed")
    );
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
    let mut rsvp = data("I'll be there");
    rsvp.relation = Relation::Rsvp("maybe".into());
    rsvp.name = Some("RSVP".into());
    settle(store, id, &Transition::Verify(rsvp.clone())).await;
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
        settle(store, id, &transition).await;
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
        let mut found = data(&format!("m{i}"));
        if i == 4 {
            found.relation = Relation::Like;
        }
        let transition = if i == 3 {
            Transition::Reject("no".into())
        } else {
            Transition::Verify(found)
        };
        settle(store, id, &transition).await;
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
    let rejected = MentionQuery {
        verification: Some(VerificationState::Rejected),
        per_page: 1,
        ..everything.clone()
    };
    assert_eq!(
        store
            .query_mentions(&rejected)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![ids[3]],
        "filtered by the store, before paging"
    );
    assert_eq!(store.count_mentions(&rejected).await.unwrap(), 1);
    let elsewhere = MentionQuery {
        targets: vec![target("nothing-here")],
        ..base
    };
    assert!(store.query_mentions(&elsewhere).await.unwrap().is_empty());
}

/// webmention.io's `domain`: one host's mentions, on any scheme and port,
/// and never another host's that merely starts or ends the same way.
async fn queries_filter_by_domain_and_sort_by_published_then_received(store: &dyn Store) {
    let targets = [
        (
            "on-https",
            "https://site.conformance.example/a/",
            Some("2026-01-02"),
        ),
        (
            "on-http-port",
            "http://site.conformance.example:8080/b/",
            None,
        ),
        (
            "on-https-root",
            "https://site.conformance.example/",
            Some("2026-01-01"),
        ),
        (
            "longer-host",
            "https://site.conformance.example.org/a/",
            None,
        ),
        ("subdomain", "https://www.site.conformance.example/a/", None),
    ];
    let mut ids = Vec::new();
    for (i, (name, target, published)) in targets.into_iter().enumerate() {
        let at = now() + time::Duration::seconds(i as i64);
        let id = store
            .receive_mention(
                &url(&format!("https://d.example/{name}")),
                &url(target),
                Moderation::Approved,
                at,
            )
            .await
            .unwrap();
        let mut found = data(name);
        found.published = published.map(str::to_owned);
        settle(store, id, &Transition::Verify(found)).await;
        ids.push(id);
    }
    let site = MentionQuery {
        domain: Some("site.conformance.example".into()),
        per_page: 100,
        direction: SortDirection::Ascending,
        ..MentionQuery::default()
    };
    let found: Vec<_> = store
        .query_mentions(&site)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        found,
        vec![ids[0], ids[1], ids[2]],
        "by received, ascending"
    );
    assert_eq!(store.count_mentions(&site).await.unwrap(), 3);
    let by_published = MentionQuery {
        sort: crate::storage::SortField::Published,
        ..site.clone()
    };
    let found: Vec<_> = store
        .query_mentions(&by_published)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        found,
        vec![ids[1], ids[2], ids[0]],
        "no published date first (as the empty string), then by date"
    );
    let one_target = MentionQuery {
        targets: vec![url("https://site.conformance.example/a/")],
        ..site.clone()
    };
    assert_eq!(store.count_mentions(&one_target).await.unwrap(), 1);
    let unknown = MentionQuery {
        domain: Some("nowhere.conformance.example".into()),
        ..site.clone()
    };
    assert_eq!(store.count_mentions(&unknown).await.unwrap(), 0);
    // A listing after a change shows the change (a backend may keep what
    // it read for the last listing, never past a change).
    assert!(
        store
            .set_moderation(ids[1], Moderation::Hidden, now())
            .await
            .unwrap()
    );
    assert!(store.remove_mention(ids[2]).await.unwrap());
    let found: Vec<_> = store
        .query_mentions(&site)
        .await
        .unwrap()
        .iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(found, vec![ids[0]]);
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
    settle(store, id, &Transition::Verify(data("wait"))).await;
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

async fn concurrent_receives_of_one_pair_make_one_mention_and_one_job(
    store: Arc<dyn Store>,
    decisions: Decisions,
) {
    let (source, target) = (url("https://c.example/same"), target("concurrent"));
    let receivers: Vec<_> = (0..8)
        .map(|_| {
            let (store, source, target) = (Arc::clone(&store), source.clone(), target.clone());
            tokio::spawn(async move {
                store
                    .receive_mention(&source, &target, Moderation::Approved, now())
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut ids = Vec::new();
    for receiver in receivers {
        ids.push(receiver.await.expect("receiver"));
    }
    ids.sort();
    ids.dedup();
    let shown = store
        .query_mentions(&MentionQuery {
            targets: vec![target.clone()],
            visible_only: false,
            ..MentionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(shown.len(), 1, "one mention shown: {shown:?}");
    if decisions == Decisions::AtLeastOnce {
        // Racing receivers may each have written a record (and queued its
        // verification); the one shown is among those they answered with.
        assert!(ids.contains(&shown[0].id), "{ids:?} {shown:?}");
        return;
    }
    assert_eq!(ids.len(), 1, "one mention: {ids:?}");
    let jobs = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            state: Some(JobState::Queued),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|job| {
            job.payload::<VerifyMention>()
                .is_ok_and(|p| p.mention_id == ids[0].0)
        })
        .count();
    assert_eq!(jobs, 1, "one queued verification");
}
