//! Leaving the Lambda + DynamoDB receiver (pfych/web-mentions): its mention
//! and status tables, shaped as its template creates them and filled as
//! its handler writes them, become pending mentions with their
//! verification queued, and its status ids keep answering.

use backfeed::config::DatabaseUrl;
use backfeed::domain::job::{JobKind, JobState};
use backfeed::domain::mention::Verification;
use backfeed::storage::{self, JobFilter, MentionQuery};

use super::{counts, migrated};
use crate::helpers::spawn_app_with;
use crate::support_s3::{fresh_table, fresh_table_name, moto_endpoint, python_on_moto};

const TARGET: &str = "https://blog.example/posts/hello/";

/// Creates the two tables as pfych's template does and writes what its
/// handler writes: three accepted mentions (each with its SUCCESS status)
/// and one FAILED status without a mention.
fn fill(mentions: &str, statuses: &str) -> String {
    format!(
        r#"
import boto3, os
db = boto3.resource("dynamodb", endpoint_url=os.environ["ENDPOINT"])
db.create_table(TableName="{statuses}", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}}],
    KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}])
db.create_table(TableName="{mentions}", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{{"AttributeName": "id", "AttributeType": "S"}},
                          {{"AttributeName": "target", "AttributeType": "S"}}],
    KeySchema=[{{"AttributeName": "id", "KeyType": "HASH"}}],
    GlobalSecondaryIndexes=[{{"IndexName": "target-index",
        "KeySchema": [{{"AttributeName": "target", "KeyType": "HASH"}}],
        "Projection": {{"ProjectionType": "ALL"}}}}])
status, mention = db.Table("{statuses}"), db.Table("{mentions}")
for n in range(1, 4):
    source = f"https://friend{{n}}.example/reply"
    status.put_item(Item={{"id": f"status-{{n}}", "status": "SUCCESS", "source": source, "target": "{TARGET}"}})
    mention.put_item(Item={{"id": f"mention-{{n}}", "source": source, "target": "{TARGET}",
                            "createdAt": str(1700000000000 + n * 1000)}})
status.put_item(Item={{"id": "status-failed", "status": "FAILED", "errorCode": "NO_MENTION",
                       "source": "https://spam.example/", "target": "{TARGET}"}})
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pfychs_tables_become_pending_mentions_and_their_status_ids_keep_answering() {
    let (mentions, statuses) = (fresh_table_name().await, fresh_table_name().await);
    python_on_moto(&fill(&mentions, &statuses)).await;
    let endpoint = moto_endpoint().await;
    let from = format!(
        "dynamodb-web-mentions://{mentions}?status-table={statuses}&endpoint={endpoint}&region=us-east-1"
    );
    let to = fresh_table().await;

    let summary = migrated(&from, &to, &[]).await;
    assert_eq!(counts(&summary, "mentions"), [3, 3, 0, 0, 0], "{summary}");
    assert_eq!(counts(&summary, "status ids"), [4, 3, 0, 0, 1], "{summary}");
    let again = migrated(&from, &to, &[]).await;
    assert_eq!(counts(&again, "mentions"), [3, 0, 3, 0, 0], "{again}");
    assert_eq!(counts(&again, "status ids"), [4, 0, 3, 0, 1], "{again}");

    let store = storage::open(
        &DatabaseUrl::parse(&to).unwrap(),
        &backfeed::clock::Clock::system(),
    )
    .await
    .unwrap();
    let all = store
        .query_mentions(&MentionQuery {
            visible_only: false,
            ..MentionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    for mention in &all {
        assert_eq!(mention.verification, Verification::Pending);
        assert_eq!(mention.target.as_str(), TARGET);
    }
    let first = all
        .iter()
        .find(|m| m.source.as_str() == "https://friend1.example/reply")
        .unwrap();
    assert_eq!(
        first.received_at.unix_timestamp_nanos() / 1_000_000,
        1_700_000_001_000,
        "received when pfych created it"
    );
    let queued = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::VerifyMention),
            state: Some(JobState::Queued),
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.len(), 3, "each mention is queued for verification");

    let url = to.clone();
    let app = spawn_app_with(move |env| {
        env.insert("DATABASE_URL".into(), url);
    })
    .await;
    let status = app.get("/web-mentions/status/status-1").await;
    assert_eq!(status.status(), 200);
    let body: serde_json::Value = status.json().await.unwrap();
    assert_eq!(body["source"], "https://friend1.example/reply");
    assert_eq!(body["id"], first.id.0);
    assert_eq!(
        app.get("/web-mentions/status/status-failed").await.status(),
        404
    );
}
