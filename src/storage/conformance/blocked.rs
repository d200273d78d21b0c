//! Conformance checks for the admin's blocked domains.

use super::posts::now;
use crate::storage::Store;

pub async fn run(store: &dyn Store) {
    blocked_domains_are_a_set(store).await;
}

async fn blocked_domains_are_a_set(store: &dyn Store) {
    store.block_domain("spam.example", now()).await.unwrap();
    store.block_domain("spam.example", now()).await.unwrap();
    store.block_domain("junk.example", now()).await.unwrap();
    assert_eq!(
        store.blocked_domains().await.unwrap(),
        vec!["junk.example", "spam.example"]
    );
    assert!(store.unblock_domain("junk.example").await.unwrap());
    assert!(!store.unblock_domain("junk.example").await.unwrap());
    assert_eq!(store.blocked_domains().await.unwrap(), vec!["spam.example"]);
}
