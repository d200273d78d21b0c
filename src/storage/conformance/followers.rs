//! Conformance checks for the ActivityPub followers: one record per actor,
//! a repeated follow refreshes the inboxes, newest first.

use time::Duration;

use super::posts::now;
use crate::storage::{Follower, PublishedPost, Store};

fn follower(actor: &str, shared: Option<&str>, minutes: i64) -> Follower {
    Follower {
        actor: format!("https://{actor}.example/users/a"),
        inbox: format!("https://{actor}.example/users/a/inbox"),
        shared_inbox: shared.map(str::to_owned),
        followed_at: now() + Duration::minutes(minutes),
    }
}

pub async fn run(store: &dyn Store) {
    assert!(store.list_followers().await.unwrap().is_empty());
    let first = follower("one", Some("https://one.example/inbox"), 0);
    assert!(store.add_follower(&first).await.unwrap(), "a new follower");
    let second = follower("two", None, 5);
    assert!(store.add_follower(&second).await.unwrap());

    let mut again = follower("one", None, 10);
    again.inbox = "https://one.example/users/a/inbox2".into();
    assert!(
        !store.add_follower(&again).await.unwrap(),
        "following again"
    );
    let found = store.find_follower(&first.actor).await.unwrap().unwrap();
    assert_eq!(
        found.inbox, "https://one.example/users/a/inbox2",
        "inboxes refresh"
    );
    assert_eq!(found.shared_inbox, None);
    assert_eq!(
        found.followed_at, first.followed_at,
        "the first follow's time stays"
    );
    assert_eq!(found.delivery_inbox(), found.inbox);

    let listed = store.list_followers().await.unwrap();
    let actors: Vec<&str> = listed.iter().map(|f| f.actor.as_str()).collect();
    assert_eq!(
        actors,
        [second.actor.as_str(), first.actor.as_str()],
        "newest first"
    );

    assert!(store.remove_follower(&first.actor).await.unwrap());
    assert!(
        !store.remove_follower(&first.actor).await.unwrap(),
        "already gone"
    );
    assert!(store.find_follower(&first.actor).await.unwrap().is_none());
    assert_eq!(
        store.list_followers().await.unwrap(),
        std::slice::from_ref(&second)
    );
    assert!(store.remove_follower(&second.actor).await.unwrap());
    published_posts(store).await;
}

/// Published posts: saved, replaced (the first publication time stays),
/// deleted to a tombstone, listed newest first.
async fn published_posts(store: &dyn Store) {
    let post = |url: &str, object: Option<&str>, minutes: i64| PublishedPost {
        url: format!("https://blog.example/{url}/"),
        object: object.map(str::to_owned),
        published_at: now() + Duration::minutes(minutes),
        updated_at: now() + Duration::minutes(minutes),
    };
    assert!(store.list_published().await.unwrap().is_empty());
    let first = post("first", Some(r#"{"type":"Article"}"#), 0);
    store.save_published(&first).await.unwrap();
    let second = post("second", Some(r#"{"type":"Note"}"#), 5);
    store.save_published(&second).await.unwrap();
    assert_eq!(
        store.find_published(&first.url).await.unwrap().as_ref(),
        Some(&first)
    );
    assert!(
        store
            .find_published("https://blog.example/none/")
            .await
            .unwrap()
            .is_none()
    );

    let mut edited = post("first", Some(r#"{"type":"Article","v":2}"#), 10);
    store.save_published(&edited).await.unwrap();
    edited.published_at = first.published_at;
    assert_eq!(
        store.find_published(&first.url).await.unwrap(),
        Some(edited.clone()),
        "replaced, first publication time kept"
    );
    let gone = PublishedPost {
        object: None,
        updated_at: now() + Duration::minutes(20),
        ..edited.clone()
    };
    store.save_published(&gone).await.unwrap();
    assert_eq!(
        store.find_published(&first.url).await.unwrap(),
        Some(gone.clone())
    );
    let listed: Vec<String> = store
        .list_published()
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.url)
        .collect();
    assert_eq!(
        listed,
        [second.url.clone(), first.url.clone()],
        "newest first"
    );
}
