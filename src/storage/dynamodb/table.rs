//! The one table: found, or created on first start.
//!
//! Created with on-demand billing (`PAY_PER_REQUEST`: no capacity to
//! plan, nothing paid while idle), a string partition key `pk` and sort
//! key `sk`, and time to live on attribute `x`. When the credentials may
//! not describe or create it, the error names the IAM actions to grant.
//!
//! Invariant: an existing table is never changed, except that time to live
//! is switched on when it is off (a table created by hand or by a template
//! may lack it).

use std::time::Duration;

use serde_json::json;

use super::client::DynamoError;
use super::items::Items;
use crate::storage::StoreError;

/// Every action the store uses, for the IAM policy.
pub const IAM_ACTIONS: &[&str] = &[
    "dynamodb:DescribeTable",
    "dynamodb:CreateTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    // `backfeed sent` only (the list of everything publishing sent).
    "dynamodb:Scan",
];

/// How long a new table may take to become active.
const ACTIVE_WITHIN: Duration = Duration::from_secs(120);

pub async fn ensure(items: &Items) -> Result<(), StoreError> {
    let table = items.table();
    let describe = json!({ "TableName": table });
    let status = match items.client().call("DescribeTable", &describe).await {
        Ok(answer) => answer["Table"]["TableStatus"]
            .as_str()
            .unwrap_or("ACTIVE")
            .to_owned(),
        Err(e) if e.is("ResourceNotFoundException") => {
            create(items).await?;
            "CREATING".to_owned()
        }
        Err(e) => return Err(refused(items, "DescribeTable", e)),
    };
    if status != "ACTIVE" {
        wait_until_active(items).await?;
    }
    enable_ttl(items).await
}

async fn create(items: &Items) -> Result<(), StoreError> {
    let request = json!({
        "TableName": items.table(),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            { "AttributeName": "pk", "AttributeType": "S" },
            { "AttributeName": "sk", "AttributeType": "S" }
        ],
        "KeySchema": [
            { "AttributeName": "pk", "KeyType": "HASH" },
            { "AttributeName": "sk", "KeyType": "RANGE" }
        ],
    });
    match items.client().call("CreateTable", &request).await {
        Ok(_) => {
            tracing::info!(table = items.table(), "created the DynamoDB table");
            Ok(())
        }
        // Another instance created it first.
        Err(e) if e.is("ResourceInUseException") => Ok(()),
        Err(e) => Err(refused(items, "CreateTable", e)),
    }
}

/// Polls the table's status: AWS takes a few seconds to create one.
async fn wait_until_active(items: &Items) -> Result<(), StoreError> {
    let describe = json!({ "TableName": items.table() });
    let started = std::time::Instant::now();
    loop {
        let answer = items
            .client()
            .call("DescribeTable", &describe)
            .await
            .map_err(|e| refused(items, "DescribeTable", e))?;
        if answer["Table"]["TableStatus"].as_str() == Some("ACTIVE") {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_WITHIN {
            return Err(StoreError::Unavailable(format!(
                "DynamoDB table `{}` is not active after {}s",
                items.table(),
                ACTIVE_WITHIN.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn enable_ttl(items: &Items) -> Result<(), StoreError> {
    let table = json!({ "TableName": items.table() });
    let answer = items
        .client()
        .call("DescribeTimeToLive", &table)
        .await
        .map_err(|e| refused(items, "DescribeTimeToLive", e))?;
    let status = answer["TimeToLiveDescription"]["TimeToLiveStatus"]
        .as_str()
        .unwrap_or("DISABLED");
    if matches!(status, "ENABLED" | "ENABLING") {
        return Ok(());
    }
    let request = json!({
        "TableName": items.table(),
        "TimeToLiveSpecification": { "AttributeName": "x", "Enabled": true },
    });
    match items.client().call("UpdateTimeToLive", &request).await {
        Ok(_) => Ok(()),
        // Switched on meanwhile by another instance.
        Err(e) if e.is("ValidationException") => Ok(()),
        Err(e) => Err(refused(items, "UpdateTimeToLive", e)),
    }
}

/// The error for a refused table operation: missing permissions named.
fn refused(items: &Items, operation: &str, error: DynamoError) -> StoreError {
    if error.is("AccessDeniedException") || error.is("UnrecognizedClientException") {
        return StoreError::Unavailable(format!(
            "DynamoDB table `{}`: {operation} was refused ({error}); the credentials need \
             the IAM permissions {} on this table",
            items.table(),
            IAM_ACTIONS.join(", ")
        ));
    }
    items.failed(operation, error)
}
