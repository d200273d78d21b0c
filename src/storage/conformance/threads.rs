//! Conformance checks for cached threads and hidden replies.

use std::sync::Arc;
use std::time::Duration;

use super::mentions::{data, settle, target, url};
use super::posts::now;
use crate::domain::PostUrl;
use crate::domain::Visibility;
use crate::domain::mention::{Moderation, Transition};
use crate::domain::thread::{Reply, ReplyAuthor, StatusId, TootSummary};
use crate::storage::{CachedThread, Store};

pub async fn run(store: Arc<dyn Store>) {
    a_saved_thread_loads_back_whole_and_is_replaced(&*store).await;
    hidden_replies_and_accounts_are_sets(&*store).await;
    the_shown_version_moves_with_every_write_a_thread_shows(&*store).await;
}

fn reply(id: &str) -> Reply {
    Reply {
        id: StatusId::new(id).unwrap(),
        in_reply_to_id: StatusId::new("1"),
        visibility: Some(Visibility::Public),
        author: ReplyAuthor {
            display_name: "Alice".into(),
            acct: "alice@social.example".into(),
            avatar: Some("https://social.example/a.png".into()),
            url: None,
            emojis: vec![],
        },
        content_html: "<p>hi ✓</p>".into(),
        content_text: "hi ✓".into(),
        spoiler_text: Some("cw".into()),
        created_at: time::macros::datetime!(2026-11-22 10:00:00.123 UTC),
        edited_at: None,
        url: Some("https://social.example/@alice/2".into()),
        media: vec![],
        emojis: vec![],
    }
}

async fn a_saved_thread_loads_back_whole_and_is_replaced(store: &dyn Store) {
    let url = PostUrl::parse("https://conformance.example/threads/a").unwrap();
    assert!(store.load_thread(&url).await.unwrap().is_none());
    let thread = CachedThread {
        url: url.clone(),
        toot: TootSummary {
            id: StatusId::new("1").unwrap(),
            url: Some("https://m.example/@b/1".into()),
            replies_count: 1,
            reblogs_count: 2,
            favourites_count: 3,
        },
        replies: vec![reply("2")],
        fetched_at: now(),
        fresh_until: now() + Duration::from_secs(300),
    };
    store.save_thread(&thread).await.unwrap();
    assert_eq!(store.load_thread(&url).await.unwrap(), Some(thread.clone()));
    let newer = CachedThread {
        replies: vec![reply("2"), reply("3")],
        ..thread
    };
    store.save_thread(&newer).await.unwrap();
    assert_eq!(
        store
            .load_thread(&url)
            .await
            .unwrap()
            .unwrap()
            .replies
            .len(),
        2
    );
}

async fn hidden_replies_and_accounts_are_sets(store: &dyn Store) {
    store.hide_reply("42", now()).await.unwrap();
    store.hide_reply("42", now()).await.unwrap();
    store
        .hide_account("@Troll@Bad.Example", now())
        .await
        .unwrap();
    let hidden = store.hidden_replies().await.unwrap();
    assert!(hidden.statuses.contains("42"));
    assert!(hidden.accounts.contains("troll@bad.example"), "{hidden:?}");
    assert!(store.unhide_reply("42").await.unwrap());
    assert!(!store.unhide_reply("42").await.unwrap());
    assert!(store.unhide_account("troll@bad.example").await.unwrap());
    assert!(store.hidden_replies().await.unwrap().statuses.is_empty());
}

/// A store that keeps a shown version (S3, DynamoDB) moves it after every
/// write that a comment thread shows, so processes sharing it re-render;
/// one that keeps none says so, and is never asked again.
async fn the_shown_version_moves_with_every_write_a_thread_shows(store: &dyn Store) {
    let Some(mut last) = store.shown_version().await.unwrap() else {
        return;
    };
    let mut moved = |version: Option<String>, what: &str| {
        let version = version.expect("a store that keeps a version keeps it");
        assert_ne!(version, last, "{what} left the shown version as it was");
        last = version;
    };
    let id = store
        .receive_mention(
            &url("https://alice.example/shown"),
            &target("shown"),
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    moved(store.shown_version().await.unwrap(), "receiving a mention");
    settle(store, id, &Transition::Verify(data("shown"))).await;
    moved(store.shown_version().await.unwrap(), "verifying it");
    store
        .set_moderation(id, Moderation::Hidden, now())
        .await
        .unwrap();
    moved(store.shown_version().await.unwrap(), "moderating it");
    store.hide_reply("77", now()).await.unwrap();
    moved(store.shown_version().await.unwrap(), "hiding a reply");
    store.unhide_reply("77").await.unwrap();
    moved(store.shown_version().await.unwrap(), "showing it again");
    store.hide_account("eve@bad.example", now()).await.unwrap();
    moved(store.shown_version().await.unwrap(), "hiding an account");
    store.unhide_account("eve@bad.example").await.unwrap();
    moved(store.shown_version().await.unwrap(), "showing it again");
    store.remove_mention(id).await.unwrap();
    moved(store.shown_version().await.unwrap(), "removing a mention");
    let unchanged = store.shown_version().await.unwrap();
    assert_eq!(unchanged.as_ref(), Some(&last), "reading moves nothing");
}
