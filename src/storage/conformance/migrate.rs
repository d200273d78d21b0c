//! Conformance checks for copying whole stores (`backfeed migrate`):
//! importing posts and mentions as they are, idempotently, and exporting
//! mentions in pages by id.

use std::time::Duration;

use time::OffsetDateTime;

use super::mentions::{queued_verification, url};
use super::posts::now;
use crate::domain::job::{DeliverWebhook, JobKind, JobState};
use crate::domain::mention::{
    Author, Mention, MentionData, MentionId, Moderation, Relation, Verification, Via,
};
use crate::domain::{ClaimOutcome, PostRecord, PostState, PostUrl, TootId};
use crate::storage::{Imported, JobFilter, Store};

const LEASE: Duration = Duration::from_secs(60);

fn post_url(name: &str) -> PostUrl {
    PostUrl::parse(&format!("https://conformance.example/migrate/{name}")).expect("valid URL")
}

fn toot(id: &str) -> TootId {
    TootId::new(id).expect("non-empty id")
}

fn ago(seconds: u64) -> OffsetDateTime {
    now() - Duration::from_secs(seconds)
}

fn announced(name: &str, toot_id: &str) -> PostRecord {
    PostRecord {
        url: post_url(name),
        state: PostState::Announced {
            toot_id: toot(toot_id),
        },
        created_at: ago(7200),
        updated_at: ago(3600),
    }
}

fn failed(name: &str, reason: &str) -> PostRecord {
    PostRecord {
        state: PostState::Failed {
            reason: reason.to_owned(),
        },
        ..announced(name, "unused")
    }
}

pub async fn run(store: &dyn Store) {
    imported_posts_keep_their_state_and_times_and_come_in_once(store).await;
    a_different_toot_is_a_conflict_that_changes_nothing(store).await;
    an_imported_toot_replaces_a_failure_or_a_claim_and_then_wins(store).await;
    claims_and_failures_never_replace_what_is_there(store).await;
    imported_mentions_keep_everything_but_their_id_and_come_in_once(store).await;
    mentions_are_exported_in_pages_by_id(store).await;
}

async fn imported_posts_keep_their_state_and_times_and_come_in_once(store: &dyn Store) {
    let posts = [
        announced("announced", "A-1"),
        failed("failed", "Text character limit of 500 exceeded"),
    ];
    assert_eq!(
        store.import_posts(&posts).await.unwrap(),
        [Imported::Copied, Imported::Copied]
    );
    for post in &posts {
        assert_eq!(
            store.find_post(&post.url).await.unwrap().as_ref(),
            Some(post),
            "imported as it was"
        );
    }
    let listed = store.list_posts().await.unwrap();
    assert!(posts.iter().all(|p| listed.contains(p)), "{listed:?}");
    assert_eq!(
        store.import_posts(&posts).await.unwrap(),
        [Imported::Present, Imported::Present],
        "a second import changes nothing"
    );
    assert_eq!(store.list_posts().await.unwrap().len(), listed.len());
    assert_eq!(
        store.claim_post(&posts[0].url, LEASE, now()).await.unwrap(),
        ClaimOutcome::Announced(toot("A-1"))
    );
}

async fn a_different_toot_is_a_conflict_that_changes_nothing(store: &dyn Store) {
    store
        .import_posts(&[announced("conflict", "first")])
        .await
        .unwrap();
    // A batch that starts with a new post: stores may then try to write
    // before they look, and must still never overwrite.
    assert_eq!(
        store
            .import_posts(&[
                announced("conflict-batch-new", "N-1"),
                announced("conflict", "second")
            ])
            .await
            .unwrap(),
        [
            Imported::Copied,
            Imported::Conflict {
                kept: "toot first".into()
            }
        ]
    );
    assert_eq!(
        store
            .import_posts(&[announced("conflict", "third")])
            .await
            .unwrap(),
        [Imported::Conflict {
            kept: "toot first".into()
        }]
    );
    let kept = store.find_post(&post_url("conflict")).await.unwrap();
    assert_eq!(
        kept.map(|p| p.state),
        Some(PostState::Announced {
            toot_id: toot("first")
        })
    );
}

async fn an_imported_toot_replaces_a_failure_or_a_claim_and_then_wins(store: &dyn Store) {
    let claimed = post_url("was-claimed");
    let ClaimOutcome::Claimed(token) = store.claim_post(&claimed, LEASE, now()).await.unwrap()
    else {
        panic!("a new post is claimed");
    };
    let was_failed = post_url("was-failed");
    let ClaimOutcome::Claimed(other) = store.claim_post(&was_failed, LEASE, now()).await.unwrap()
    else {
        panic!("a new post is claimed");
    };
    store
        .record_failure(&was_failed, &other, "422", now())
        .await
        .unwrap();
    assert_eq!(
        store
            .import_posts(&[
                announced("was-claimed", "C-1"),
                announced("was-failed", "F-1")
            ])
            .await
            .unwrap(),
        [Imported::Copied, Imported::Copied]
    );
    assert_eq!(
        store.claim_post(&was_failed, LEASE, now()).await.unwrap(),
        ClaimOutcome::Announced(toot("F-1"))
    );
    assert_eq!(
        store
            .record_toot(&claimed, &token, &toot("late"), now())
            .await
            .unwrap(),
        toot("C-1"),
        "the claim holder finishing late finds the imported toot, which was first"
    );
}

async fn claims_and_failures_never_replace_what_is_there(store: &dyn Store) {
    let claim = PostRecord {
        state: PostState::Claimed {
            token: crate::domain::ClaimToken::new("someone-elses"),
            expires_at: now() + LEASE,
        },
        ..announced("claim-in-flight", "unused")
    };
    assert_eq!(
        store.import_posts(&[claim]).await.unwrap(),
        [Imported::Present]
    );
    assert!(
        store
            .find_post(&post_url("claim-in-flight"))
            .await
            .unwrap()
            .is_none(),
        "claims are never imported"
    );
    store
        .import_posts(&[announced("announced-stays", "S-1")])
        .await
        .unwrap();
    assert_eq!(
        store
            .import_posts(&[failed("announced-stays", "late failure")])
            .await
            .unwrap(),
        [Imported::Present]
    );
    assert_eq!(
        store
            .find_post(&post_url("announced-stays"))
            .await
            .unwrap()
            .map(|p| p.state),
        Some(PostState::Announced {
            toot_id: toot("S-1")
        })
    );
}

fn mention(source: &str, verification: Verification, moderation: Moderation) -> Mention {
    Mention {
        id: MentionId(0),
        source: url(source),
        target: url("https://conformance.example/migrate/target"),
        verification,
        moderation,
        data: None,
        received_at: ago(86_400),
        updated_at: ago(3600),
    }
}

fn full_data() -> MentionData {
    MentionData {
        relation: Relation::Reply,
        author: Some(Author {
            name: Some("Alice".into()),
            photo: Some("https://alice.example/me.jpg".into()),
            url: Some("https://alice.example/".into()),
        }),
        content_html: Some("<p>Nice <b>post</b></p>".into()),
        content_text: Some("Nice post".into()),
        name: Some("Re: post".into()),
        published: Some("2024-02-03T04:05:06+00:00".into()),
        url: Some("https://alice.example/replies/1".into()),
        // The rarer kind, so that a copy must carry it.
        via: Via::ActivityPub {
            handle: "alice@alice.example".into(),
            in_reply_to: Some("https://alice.example/notes/0".into()),
        },
    }
}

/// The imported mentions as the store holds them now, found by source.
async fn stored(store: &dyn Store, wanted: &[Mention]) -> Vec<Mention> {
    let all = store.export_mentions(None, 100_000).await.unwrap();
    wanted
        .iter()
        .map(|w| {
            all.iter()
                .find(|m| m.source == w.source && m.target == w.target)
                .cloned()
                .unwrap_or_else(|| panic!("{} was imported", w.source))
        })
        .collect()
}

async fn imported_mentions_keep_everything_but_their_id_and_come_in_once(store: &dyn Store) {
    let verified = Mention {
        data: Some(full_data()),
        ..mention(
            "https://alice.example/replies/1",
            Verification::Verified,
            Moderation::Approved,
        )
    };
    let rejected = mention(
        "https://bob.example/spam",
        Verification::Rejected {
            reason: "the source does not link to the target".into(),
        },
        Moderation::Hidden,
    );
    let deleted = Mention {
        data: Some(MentionData {
            relation: Relation::Rsvp("maybe".into()),
            ..MentionData::default()
        }),
        ..mention(
            "https://carol.example/rsvp",
            Verification::Deleted {
                reason: "the source is gone (410)".into(),
            },
            Moderation::Approved,
        )
    };
    let pending = mention(
        "https://dave.example/new",
        Verification::Pending,
        Moderation::Pending,
    );
    let received = url("https://erin.example/received");
    let target = url("https://conformance.example/migrate/target");
    store
        .receive_mention(&received, &target, Moderation::Approved, now())
        .await
        .unwrap();
    let already = Mention {
        data: Some(full_data()),
        ..mention(
            received.as_str(),
            Verification::Verified,
            Moderation::Hidden,
        )
    };
    let jobs_before = queued_verifications(store).await;
    let mentions = [verified, rejected, deleted, pending, already];
    assert_eq!(
        store.import_mentions(&mentions, now()).await.unwrap(),
        [
            Imported::Copied,
            Imported::Copied,
            Imported::Copied,
            Imported::Copied,
            Imported::Present
        ]
    );
    let found = stored(store, &mentions).await;
    for (original, found) in mentions.iter().zip(&found).take(4) {
        assert!(found.id.0 > 0, "the store gives its own ids");
        assert_eq!(
            &Mention {
                id: found.id,
                ..original.clone()
            },
            found,
            "imported as it was"
        );
    }
    assert_eq!(
        found[4].verification,
        Verification::Pending,
        "a pair the store has is left as it is"
    );
    assert_eq!(
        queued_verifications(store).await,
        jobs_before + 1,
        "only the pending mention gets a job"
    );
    assert_eq!(
        store.import_mentions(&mentions, now()).await.unwrap(),
        vec![Imported::Present; 5],
        "a second import changes nothing"
    );
    assert_eq!(stored(store, &mentions).await, found);

    queued_verification(store, found[3].id).await;
    let webhooks = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::DeliverWebhook),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert!(
        !webhooks.iter().any(|job| {
            job.payload::<DeliverWebhook>()
                .is_ok_and(|p| found.iter().any(|m| m.id.0 == p.mention_id))
        }),
        "importing queues no webhook"
    );
}

async fn mentions_are_exported_in_pages_by_id(store: &dyn Store) {
    let all = store.export_mentions(None, 100_000).await.unwrap();
    assert!(all.len() >= 5, "the suite left mentions behind");
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "by ascending id");
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = store.export_mentions(after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else {
            break;
        };
        after = Some(last.id);
        paged.extend(page);
    }
    assert_eq!(paged, all);
    let visible = all.iter().filter(|m| m.is_visible()).count();
    assert!(
        visible < all.len(),
        "every state is exported, not only visible ones"
    );
}

async fn queued_verifications(store: &dyn Store) -> usize {
    store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            state: Some(JobState::Queued),
            limit: 100_000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}
