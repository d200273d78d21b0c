//! Conformance checks for named secrets: made once, then the same for
//! everyone, even when callers race on first use.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::Decisions;
use super::posts::now;
use crate::storage::Store;

pub async fn run(store: Arc<dyn Store>, decisions: Decisions) {
    a_secret_is_made_once_and_then_read(&*store).await;
    callers_racing_on_first_use_agree(store, decisions).await;
}

async fn a_secret_is_made_once_and_then_read(store: &dyn Store) {
    let made = AtomicUsize::new(0);
    let create = || {
        made.fetch_add(1, Ordering::SeqCst);
        vec![0, 1, 2, 255, 128, 7]
    };
    let first = store
        .secret("conformance-once", now(), &create)
        .await
        .unwrap();
    assert_eq!(first.expose(), [0, 1, 2, 255, 128, 7], "bytes round-trip");
    let again = store
        .secret("conformance-once", now(), &|| vec![9; 32])
        .await
        .unwrap();
    assert_eq!(again, first, "the stored value wins over a new one");
    assert_eq!(made.load(Ordering::SeqCst), 1);

    let other = store
        .secret("conformance-other", now(), &|| vec![42; 32])
        .await
        .unwrap();
    assert_eq!(other.expose(), [42; 32], "names are independent");

    assert!(
        store.secret("../escape", now(), &|| vec![1]).await.is_err(),
        "a name that is no key is refused"
    );
}

async fn callers_racing_on_first_use_agree(store: Arc<dyn Store>, decisions: Decisions) {
    let racers = (0u8..8).map(|i| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            store
                .secret("conformance-race", now(), &move || vec![i; 32])
                .await
                .unwrap()
        })
    });
    let values: Vec<_> = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(|joined| joined.unwrap())
        .collect();
    let stored = store
        .secret("conformance-race", now(), &|| vec![99; 32])
        .await
        .unwrap();
    match decisions {
        Decisions::Exclusive => {
            assert!(
                values.windows(2).all(|pair| pair[0] == pair[1]),
                "every racer got the first value stored"
            );
            assert_eq!(stored, values[0]);
        }
        // Racers may each have kept their own; the one stored now is one
        // of theirs, and it stays.
        Decisions::AtLeastOnce => assert!(values.contains(&stored), "a racer's value is kept"),
    }
    for _ in 0..3 {
        let again = store
            .secret("conformance-race", now(), &|| vec![98; 32])
            .await
            .unwrap();
        assert_eq!(
            again, stored,
            "after the race, every caller reads one value"
        );
    }
}
