//! Conformance checks for the admin pages' search: a text matched
//! literally and without regard to ASCII case in a mention's source or
//! target, combined with the other filters, counted like them.

use super::mentions::{target, url};
use super::posts::now;
use crate::domain::mention::{Moderation, VerificationState};
use crate::storage::{MentionQuery, Store};

pub async fn run(store: &dyn Store) {
    search_matches_source_or_target_literally(store).await;
}

async fn search_matches_source_or_target_literally(store: &dyn Store) {
    let on_post = target("searched-Post_1");
    let elsewhere = target("searched-other");
    let by_alice = store
        .receive_mention(
            &url("https://Alice.Searchable.example/reply"),
            &elsewhere,
            Moderation::Pending,
            now(),
        )
        .await
        .unwrap();
    let on_post_id = store
        .receive_mention(
            &url("https://bob.example/searchable-100%25"),
            &on_post,
            Moderation::Approved,
            now(),
        )
        .await
        .unwrap();
    let search = |text: &str| MentionQuery {
        visible_only: false,
        search: Some(text.to_owned()),
        per_page: 100,
        ..MentionQuery::default()
    };
    let ids = |found: Vec<crate::domain::mention::Mention>| {
        let mut ids: Vec<_> = found.iter().map(|m| m.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(store
            .query_mentions(&search("alice.searchable"))
            .await
            .unwrap()),
        vec![by_alice],
        "the source, ignoring case"
    );
    assert_eq!(
        ids(store
            .query_mentions(&search("SEARCHED-post_1"))
            .await
            .unwrap()),
        vec![on_post_id],
        "the target, ignoring case"
    );
    assert_eq!(
        ids(store.query_mentions(&search("searched-")).await.unwrap()),
        ids(store.query_mentions(&search("SEARCHED-")).await.unwrap()),
    );
    assert_eq!(store.count_mentions(&search("searched-")).await.unwrap(), 2);
    assert!(
        store
            .query_mentions(&search("searched%post"))
            .await
            .unwrap()
            .is_empty(),
        "`%` is a character, not a wildcard"
    );
    assert_eq!(
        store
            .count_mentions(&search("searched_post"))
            .await
            .unwrap(),
        0,
        "`_` is a character, not a wildcard"
    );
    let pending = MentionQuery {
        moderation: Some(Moderation::Pending),
        ..search("searched-")
    };
    assert_eq!(
        ids(store.query_mentions(&pending).await.unwrap()),
        vec![by_alice]
    );
    let verified = MentionQuery {
        verification: Some(VerificationState::Verified),
        ..search("searched-")
    };
    assert_eq!(store.count_mentions(&verified).await.unwrap(), 0);
}
