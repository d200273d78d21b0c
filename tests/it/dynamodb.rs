//! The DynamoDB store against a real DynamoDB API (moto's server, the one
//! `support_s3.rs` starts): the table created on first start, the storage
//! contract, two instances sharing one table, and a queue with nothing due
//! costing one request.

use std::sync::Arc;
use std::time::Duration;

use backfeed::config::DatabaseUrl;
use backfeed::domain::job::{JobKind, NewJob};
use backfeed::storage::JobStore;
use backfeed::storage::conformance;
use backfeed::storage::dynamodb;
use backfeed::storage::s3::S3Store;

use crate::support_s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY, fresh_table};

async fn open(url: &str) -> S3Store {
    let DatabaseUrl::DynamoDb {
        table,
        endpoint,
        region,
    } = DatabaseUrl::parse(url).expect("a DynamoDB URL")
    else {
        panic!("{url} is not a DynamoDB URL");
    };
    dynamodb::open(
        &table,
        endpoint.as_ref(),
        region.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("the DynamoDB store opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_passes_the_storage_conformance_suite() {
    let store = open(&fresh_table().await).await;
    conformance::run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_store_on_the_same_table_sees_the_first_ones_records() {
    let url = fresh_table().await;
    let (one, two) = tokio::join!(open(&url), open(&url));
    conformance::run_shared(Arc::new(one), Arc::new(two)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_sharing_one_table_create_exactly_one_status() {
    crate::concurrency::assert_two_instances_post_once(
        Some(fresh_table().await),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_with_nothing_due_costs_one_query_whatever_it_holds() {
    let store = open(&fresh_table().await).await;
    let now = time::OffsetDateTime::now_utc();
    for i in 0..30 {
        let job = NewJob {
            kind: JobKind::RefreshThread,
            payload: format!(r#"{{"url":"https://blog.example/{i}"}}"#),
            dedupe_key: Some(format!("later:{i}")),
            due_at: now + Duration::from_secs(3600 + i),
        };
        store.enqueue(&job, now).await.expect("enqueue");
    }
    let before = store.dynamodb_usage().expect("a DynamoDB store");
    let claimed = store
        .claim_job(now, Duration::from_secs(60))
        .await
        .expect("claim");
    assert!(claimed.is_none(), "nothing is due");
    let after = store.dynamodb_usage().unwrap();
    assert_eq!(
        after.requests - before.requests,
        1,
        "one Query of the due index"
    );
    assert!(
        after.read_units - before.read_units <= 1.0,
        "it reads no entry that is not due: {before:?} → {after:?}"
    );
}
