//! Conformance checks for mention aliases (imported status ids).

use url::Url;

use super::posts::now;
use crate::domain::mention::Moderation;
use crate::storage::{Imported, Store};

pub async fn run(store: &dyn Store) {
    let target = Url::parse("https://conformance.example/aliased").unwrap();
    let receive = |source: &'static str| {
        let target = target.clone();
        async move {
            store
                .receive_mention(
                    &Url::parse(source).unwrap(),
                    &target,
                    Moderation::Approved,
                    now(),
                )
                .await
                .expect("receive")
        }
    };
    let one = receive("https://one.example/").await;
    let two = receive("https://two.example/").await;
    let alias = "3f2b9c1e-5d7a-4e8b-9c0d-1a2b3c4d5e6f";
    assert_eq!(store.find_mention_alias(alias).await.unwrap(), None);
    assert_eq!(
        store.alias_mention(alias, one).await.unwrap(),
        Imported::Copied
    );
    assert_eq!(
        store.alias_mention(alias, one).await.unwrap(),
        Imported::Present
    );
    assert!(matches!(
        store.alias_mention(alias, two).await.unwrap(),
        Imported::Conflict { .. }
    ));
    assert_eq!(store.find_mention_alias(alias).await.unwrap(), Some(one));
}
