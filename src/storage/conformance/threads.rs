//! Conformance checks for cached threads and hidden replies.

use std::sync::Arc;
use std::time::Duration;

use super::posts::now;
use crate::domain::PostUrl;
use crate::domain::Visibility;
use crate::domain::thread::{Reply, ReplyAuthor, StatusId, TootSummary};
use crate::storage::{CachedThread, Store};

pub async fn run(store: Arc<dyn Store>) {
    a_saved_thread_loads_back_whole_and_is_replaced(&*store).await;
    hidden_replies_and_accounts_are_sets(&*store).await;
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
