//! SQLite → PostgreSQL → S3 → SQLite keeps everything, and a second run of
//! a hop copies nothing twice.

use std::sync::Arc;
use std::time::Duration;

use backfeed::config::DatabaseUrl;
use backfeed::domain::job::{JobKind, JobState, Settlement, VerifyMention};
use backfeed::domain::mention::{
    Author, Mention, MentionData, MentionId, Moderation, Relation, Transition,
};
use backfeed::domain::thread::{Reply, ReplyAuthor, StatusId, TootSummary};
use backfeed::domain::{ClaimOutcome, PostRecord, PostState, PostUrl, TootId};
use backfeed::storage::{self, CachedThread, JobFilter, Store};
use url::Url;

use super::{counts, migrated, now_ms, sqlite_url};
#[cfg(feature = "postgres")]
use crate::support_postgres::fresh_database;
#[cfg(feature = "postgres")]
use crate::support_s3::fresh_bucket_with_prefix;
use crate::support_s3::fresh_table;

const LEASE: Duration = Duration::from_secs(3600);

fn post(path: &str) -> PostUrl {
    PostUrl::parse(&format!("https://blog.example/posts/{path}/")).unwrap()
}

fn reply_data() -> MentionData {
    MentionData {
        relation: Relation::Reply,
        author: Some(Author {
            name: Some("Alice".into()),
            photo: Some("https://alice.example/me.jpg".into()),
            url: Some("https://alice.example/".into()),
        }),
        content_html: Some("<p>Lovely <em>post</em></p>".into()),
        content_text: Some("Lovely post".into()),
        name: None,
        published: Some("2024-05-06T07:08:09Z".into()),
        url: Some("https://alice.example/notes/1".into()),
        ..MentionData::default()
    }
}

fn thread(url: &PostUrl, toot: &str) -> CachedThread {
    let now = now_ms();
    CachedThread {
        url: url.clone(),
        toot: TootSummary {
            id: StatusId::new(toot).unwrap(),
            url: Some(format!("https://mastodon.example/@me/{toot}")),
            replies_count: 1,
            reblogs_count: 2,
            favourites_count: 3,
        },
        replies: vec![Reply {
            id: StatusId::new("112").unwrap(),
            in_reply_to_id: StatusId::new(toot),
            visibility: Some(backfeed::domain::Visibility::Public),
            author: ReplyAuthor {
                display_name: "Bob".into(),
                acct: "bob@social.example".into(),
                avatar: None,
                url: Some("https://social.example/@bob".into()),
                emojis: Vec::new(),
            },
            content_html: "<p>Hi</p>".into(),
            content_text: "Hi".into(),
            spoiler_text: None,
            created_at: time::macros::datetime!(2024-05-06 07:08:09 UTC),
            edited_at: None,
            url: Some("https://social.example/@bob/112".into()),
            media: Vec::new(),
            emojis: Vec::new(),
        }],
        fetched_at: now,
        fresh_until: now + Duration::from_secs(600),
    }
}

/// A store with one of everything: an announced, a failed and a claimed
/// post; verified, rejected, hidden and pending mentions; a blocked domain,
/// a hidden reply and account; a cached thread.
async fn fill(store: &dyn Store) {
    let claim = |url: PostUrl| async move {
        match store.claim_post(&url, LEASE, now_ms()).await.unwrap() {
            ClaimOutcome::Claimed(token) => token,
            other => panic!("{other:?}"),
        }
    };
    let token = claim(post("announced")).await;
    store
        .record_toot(
            &post("announced"),
            &token,
            &TootId::new("111").unwrap(),
            now_ms(),
        )
        .await
        .unwrap();
    let token = claim(post("failed")).await;
    store
        .record_failure(
            &post("failed"),
            &token,
            "Text character limit exceeded",
            now_ms(),
        )
        .await
        .unwrap();
    claim(post("in-flight")).await;

    let target = post("announced").as_url().clone();
    let receive = |source: &'static str| {
        let target = target.clone();
        async move {
            store
                .receive_mention(
                    &Url::parse(source).unwrap(),
                    &target,
                    Moderation::Approved,
                    now_ms(),
                )
                .await
                .unwrap()
        }
    };
    let verified = receive("https://alice.example/notes/1").await;
    let rejected = receive("https://bob.example/spam").await;
    let hidden = receive("https://dave.example/like").await;
    for _ in 0..3 {
        let job = store
            .claim_job(now_ms(), LEASE)
            .await
            .unwrap()
            .expect("a due job");
        let payload: VerifyMention = job.job.payload().unwrap();
        let mention_id = MentionId(payload.mention_id);
        let transition = if mention_id == rejected {
            Transition::Reject("the source does not link to the target".into())
        } else if mention_id == verified {
            Transition::Verify(reply_data())
        } else {
            Transition::Verify(MentionData {
                relation: Relation::Like,
                ..MentionData::default()
            })
        };
        let seen = store
            .find_mention(mention_id)
            .await
            .unwrap()
            .unwrap()
            .updated_at;
        assert_eq!(
            store
                .settle_mention(mention_id, &transition, seen, now_ms())
                .await
                .unwrap(),
            storage::Settled::Settled
        );
        store
            .settle_job(&job, &Settlement::Done, now_ms())
            .await
            .unwrap();
    }
    store
        .set_moderation(hidden, Moderation::Hidden, now_ms())
        .await
        .unwrap();
    receive("https://carol.example/pending").await;

    store.block_domain("spam.example", now_ms()).await.unwrap();
    store.hide_reply("109999", now_ms()).await.unwrap();
    store
        .hide_account("Troll@Bad.example", now_ms())
        .await
        .unwrap();
    store
        .save_thread(&thread(&post("announced"), "111"))
        .await
        .unwrap();
}

/// Everything a store holds that a migration must keep.
#[derive(Debug, PartialEq)]
struct Snapshot {
    posts: Vec<PostRecord>,
    /// Ids are each store's own.
    mentions: Vec<Mention>,
    pending_jobs: usize,
    blocked: Vec<String>,
    hidden_replies: Vec<String>,
    hidden_accounts: Vec<String>,
    thread: Option<CachedThread>,
}

async fn snapshot(store: &dyn Store) -> Snapshot {
    let mut posts: Vec<PostRecord> = store
        .list_posts()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| !matches!(p.state, PostState::Claimed { .. }))
        .collect();
    posts.sort_by(|a, b| a.url.as_str().cmp(b.url.as_str()));
    let mut mentions: Vec<Mention> = store
        .export_mentions(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|m| Mention {
            id: MentionId(0),
            ..m
        })
        .collect();
    mentions.sort_by(|a, b| a.source.as_str().cmp(b.source.as_str()));
    let hidden = store.hidden_replies().await.unwrap();
    let sorted = |set: std::collections::HashSet<String>| {
        let mut items: Vec<String> = set.into_iter().collect();
        items.sort();
        items
    };
    Snapshot {
        posts,
        mentions,
        pending_jobs: queued_verifications(store).await,
        blocked: store.blocked_domains().await.unwrap(),
        hidden_replies: sorted(hidden.statuses),
        hidden_accounts: sorted(hidden.accounts),
        thread: store.load_thread(&post("announced")).await.unwrap(),
    }
}

async fn open(url: &str) -> Arc<dyn Store> {
    storage::open(
        &DatabaseUrl::parse(url).unwrap(),
        &backfeed::clock::Clock::system(),
    )
    .await
    .unwrap_or_else(|e| panic!("opening {url}: {e}"))
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_s3_to_sqlite_keeps_everything_and_reruns_copy_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = sqlite_url(&dir.path().join("first.db"));
    let last = sqlite_url(&dir.path().join("last.db"));
    let postgres = fresh_database().await;
    let s3 = fresh_bucket_with_prefix("sites/blog").await;
    let original = {
        let store = open(&first).await;
        fill(&*store).await;
        snapshot(&*store).await
    };
    assert_eq!(original.posts.len(), 2);
    assert_eq!(original.mentions.len(), 4);
    assert_eq!(original.pending_jobs, 1);

    let summary = migrated(&first, &postgres, &[]).await;
    assert_eq!(counts(&summary, "posts"), [3, 2, 0, 0, 0], "{summary}");
    assert!(summary.contains("1 post(s) claimed by a request in flight were not copied"));
    assert_eq!(counts(&summary, "mentions"), [4, 4, 0, 0, 0]);
    for kind in [
        "blocked domains",
        "hidden replies",
        "hidden accounts",
        "cached threads",
    ] {
        assert_eq!(counts(&summary, kind), [1, 1, 0, 0, 0], "{kind}: {summary}");
    }
    assert!(!summary.contains("secret"), "no password in the summary");
    assert_eq!(snapshot(&*open(&postgres).await).await, original);

    let again = migrated(&first, &postgres, &[]).await;
    assert_eq!(counts(&again, "posts"), [3, 0, 2, 0, 0], "{again}");
    assert_eq!(counts(&again, "mentions"), [4, 0, 4, 0, 0]);
    assert_eq!(counts(&again, "cached threads"), [1, 0, 1, 0, 0]);
    assert!(again.contains(": 0 copied, 10 already present"), "{again}");
    assert_eq!(snapshot(&*open(&postgres).await).await, original);

    let summary = migrated(&postgres, &s3, &[]).await;
    assert_eq!(counts(&summary, "posts"), [2, 2, 0, 0, 0], "{summary}");
    assert_eq!(snapshot(&*open(&s3).await).await, original);

    let summary = migrated(&s3, &last, &[]).await;
    assert_eq!(counts(&summary, "posts"), [2, 2, 0, 0, 0], "{summary}");
    assert_eq!(counts(&summary, "mentions"), [4, 4, 0, 0, 0]);
    let again = migrated(&s3, &last, &[]).await;
    assert!(again.contains(": 0 copied, 10 already present"), "{again}");
    let copy = open(&last).await;
    assert_eq!(snapshot(&*copy).await, original);

    // The pending mention is verified in its new home.
    let job = copy
        .claim_job(now_ms(), LEASE)
        .await
        .unwrap()
        .expect("the pending mention has a job");
    let payload: VerifyMention = job.job.payload().unwrap();
    let mention = copy
        .find_mention(MentionId(payload.mention_id))
        .await
        .unwrap()
        .expect("its mention");
    assert_eq!(mention.source.as_str(), "https://carol.example/pending");
}

async fn queued_verifications(store: &dyn Store) -> usize {
    store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            state: Some(JobState::Queued),
            limit: 10_000,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_dynamodb_to_sqlite_keeps_everything_and_reruns_copy_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = sqlite_url(&dir.path().join("first.db"));
    let last = sqlite_url(&dir.path().join("last.db"));
    let dynamodb = fresh_table().await;
    let original = {
        let store = open(&first).await;
        fill(&*store).await;
        snapshot(&*store).await
    };

    let summary = migrated(&first, &dynamodb, &[]).await;
    assert_eq!(counts(&summary, "posts"), [3, 2, 0, 0, 0], "{summary}");
    assert_eq!(counts(&summary, "mentions"), [4, 4, 0, 0, 0], "{summary}");
    assert_eq!(snapshot(&*open(&dynamodb).await).await, original);
    let again = migrated(&first, &dynamodb, &[]).await;
    assert!(again.contains(": 0 copied, 10 already present"), "{again}");

    let summary = migrated(&dynamodb, &last, &[]).await;
    assert_eq!(counts(&summary, "posts"), [2, 2, 0, 0, 0], "{summary}");
    assert_eq!(counts(&summary, "mentions"), [4, 4, 0, 0, 0]);
    for kind in [
        "blocked domains",
        "hidden replies",
        "hidden accounts",
        "cached threads",
    ] {
        assert_eq!(counts(&summary, kind), [1, 1, 0, 0, 0], "{kind}: {summary}");
    }
    let again = migrated(&dynamodb, &last, &[]).await;
    assert!(again.contains(": 0 copied, 10 already present"), "{again}");
    assert_eq!(snapshot(&*open(&last).await).await, original);
}
