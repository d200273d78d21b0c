//! Conformance checks for the ActivityPub followers: one record per actor,
//! a repeated follow refreshes the inboxes, newest first.

use time::Duration;

use super::posts::now;
use crate::storage::{Follower, Store};

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
}
