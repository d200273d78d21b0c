//! Items in the one table: the operations the record logic needs, each one
//! DynamoDB request (a query one per page).
//!
//! An item is addressed by `pk` (a directory: every item that is ever
//! listed together shares one) and `sk` (a name inside it, in the order a
//! listing wants). Its attributes: `b` the record's JSON body (absent for
//! index entries), `v` a version written afresh on every write (what a
//! compare-and-swap compares), `m` when it was written (Unix
//! milliseconds, the writer's clock), `t` a post's toot id (the seed
//! layout's items), `x` when DynamoDB may delete it (time to live, Unix
//! seconds; only caches have one).
//!
//! Invariant: reads and queries are strongly consistent, so a
//! compare-and-swap decided on a read sees every write acknowledged
//! before it.

use serde_json::{Value, json};

use super::client::{Client, DynamoError};
use crate::storage::StoreError;

/// One item as read.
#[derive(Debug, Clone)]
pub struct Item {
    pub sk: String,
    pub body: Option<String>,
    pub version: String,
    pub modified_ms: i64,
    pub toot: Option<String>,
}

/// What a write requires of the item it replaces.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'a> {
    /// Write whatever is there.
    None,
    /// Only if there is no such item.
    Absent,
    /// Only if the item is at this version.
    Version(&'a str),
}

/// What one write puts in an item besides its key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields<'a> {
    pub body: Option<&'a str>,
    pub toot: Option<&'a str>,
    /// Time to live: Unix seconds after which DynamoDB may delete it.
    pub expires: Option<i64>,
}

/// Which part of a directory a query reads, in `sk` order.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range<'a> {
    /// Only names after this one.
    pub after: Option<&'a str>,
    /// Only names before this one.
    pub below: Option<&'a str>,
    /// At most this many items.
    pub limit: Option<usize>,
}

pub struct Items {
    client: Client,
    table: String,
}

impl Items {
    pub fn new(client: Client, table: &str) -> Self {
        Self {
            client,
            table: table.to_owned(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let answer = self
            .call(
                "GetItem",
                json!({
                    "TableName": self.table,
                    "Key": key(pk, sk),
                    "ConsistentRead": true,
                }),
            )
            .await?;
        match answer.get("Item") {
            Some(item) => Ok(Some(read_item(item)?)),
            None => Ok(None),
        }
    }

    /// Writes the item; `false` when `condition` did not hold.
    pub async fn put(
        &self,
        pk: &str,
        sk: &str,
        fields: Fields<'_>,
        condition: Condition<'_>,
    ) -> Result<bool, StoreError> {
        let mut item = key(pk, sk);
        item["v"] = json!({ "S": uuid::Uuid::new_v4().simple().to_string() });
        item["m"] = json!({ "N": now_ms().to_string() });
        if let Some(body) = fields.body {
            item["b"] = json!({ "S": body });
        }
        if let Some(toot) = fields.toot {
            item["t"] = json!({ "S": toot });
        }
        if let Some(expires) = fields.expires {
            item["x"] = json!({ "N": expires.to_string() });
        }
        let mut request = json!({
            "TableName": self.table,
            "Item": item,
        });
        match condition {
            Condition::None => {}
            Condition::Absent => {
                request["ConditionExpression"] = json!("attribute_not_exists(pk)");
            }
            Condition::Version(version) => {
                request["ConditionExpression"] = json!("v = :v");
                request["ExpressionAttributeValues"] = json!({ ":v": { "S": version } });
            }
        }
        match self.client.call("PutItem", &request).await {
            Ok(_) => Ok(true),
            Err(e) if e.is("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(self.failed("PutItem", e)),
        }
    }

    /// Deletes the item; a missing one is not an error.
    pub async fn delete(&self, pk: &str, sk: &str) -> Result<(), StoreError> {
        self.call(
            "DeleteItem",
            json!({
            "TableName": self.table,
            "Key": key(pk, sk),
            }),
        )
        .await
        .map(|_| ())
    }

    /// The items of directory `pk` within `range`, in `sk` order, a page
    /// per request; asks for the next page only while more are wanted.
    pub async fn query(&self, pk: &str, range: Range<'_>) -> Result<Vec<Item>, StoreError> {
        let mut condition = "pk = :pk".to_owned();
        let mut values = json!({ ":pk": { "S": pk } });
        if let Some(after) = range.after {
            condition.push_str(" AND sk > :after");
            values[":after"] = json!({ "S": after });
        }
        if let Some(below) = range.below {
            condition.push_str(" AND sk < :below");
            values[":below"] = json!({ "S": below });
        }
        let mut items = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut request = json!({
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": values,
            "ConsistentRead": true,
            });
            if let Some(limit) = range.limit {
                let remaining = limit.saturating_sub(items.len()).clamp(1, 1_000);
                request["Limit"] = json!(remaining);
            }
            if let Some(start) = start.take() {
                request["ExclusiveStartKey"] = start;
            }
            let answer = self.call("Query", request).await?;
            for item in answer["Items"].as_array().into_iter().flatten() {
                items.push(read_item(item)?);
            }
            let full = range.limit.is_some_and(|limit| items.len() >= limit);
            match answer.get("LastEvaluatedKey") {
                Some(next) if !full && !next.is_null() => start = Some(next.clone()),
                _ => return Ok(items),
            }
        }
    }

    /// Every item whose directory is `dir` or below it, as (directory,
    /// item) pairs in no particular order. A Scan: it reads the whole
    /// table, so only an operator's listing (`backfeed sent`) makes one,
    /// never a request or a scheduled run.
    pub async fn scan_under(&self, dir: &str) -> Result<Vec<(String, Item)>, StoreError> {
        let mut found = Vec::new();
        let mut start: Option<Value> = None;
        loop {
            let mut request = json!({
                "TableName": self.table,
                "FilterExpression": "pk = :dir OR begins_with(pk, :below)",
                "ExpressionAttributeValues": {
                    ":dir": { "S": dir },
                    ":below": { "S": format!("{dir}/") },
                },
                "ConsistentRead": true,
            });
            if let Some(start) = start.take() {
                request["ExclusiveStartKey"] = start;
            }
            let answer = self.call("Scan", request).await?;
            for item in answer["Items"].as_array().into_iter().flatten() {
                let pk = item["pk"]["S"]
                    .as_str()
                    .ok_or_else(|| corrupt(item, "no partition key `pk`"))?;
                found.push((pk.to_owned(), read_item(item)?));
            }
            match answer.get("LastEvaluatedKey") {
                Some(next) if !next.is_null() => start = Some(next.clone()),
                _ => return Ok(found),
            }
        }
    }

    async fn call(&self, operation: &str, request: Value) -> Result<Value, StoreError> {
        self.client
            .call(operation, &request)
            .await
            .map_err(|e| self.failed(operation, e))
    }

    pub fn failed(&self, operation: &str, error: DynamoError) -> StoreError {
        StoreError::Unavailable(format!(
            "DynamoDB table `{}`: {operation} failed: {error}",
            self.table
        ))
    }
}

fn key(pk: &str, sk: &str) -> Value {
    json!({ "pk": { "S": pk }, "sk": { "S": sk } })
}

fn read_item(item: &Value) -> Result<Item, StoreError> {
    let text = |name: &str| item[name]["S"].as_str().map(str::to_owned);
    let sk = text("sk").ok_or_else(|| corrupt(item, "no sort key `sk`"))?;
    let modified_ms = item["m"]["N"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(Item {
        sk,
        body: text("b"),
        version: text("v").unwrap_or_default(),
        modified_ms,
        toot: text("t"),
    })
}

fn corrupt(item: &Value, why: &str) -> StoreError {
    let pk = item["pk"]["S"].as_str().unwrap_or("?");
    StoreError::Corrupt(format!("DynamoDB item in `{pk}`: {why}"))
}

/// The writer's clock, as S3 providers stamp `Last-Modified` with theirs:
/// only compared against a generous staleness bound.
fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_item_reads_back_its_attributes_and_tolerates_missing_ones() {
        let item = json!({
            "pk": {"S": "d"}, "sk": {"S": "n"}, "b": {"S": "{}"},
            "v": {"S": "v1"}, "m": {"N": "42"}
        });
        let read = read_item(&item).unwrap();
        assert_eq!(
            (
                read.sk.as_str(),
                read.body.as_deref(),
                read.version.as_str()
            ),
            ("n", Some("{}"), "v1")
        );
        assert_eq!(read.modified_ms, 42);
        assert!(read.toot.is_none());
        assert!(matches!(
            read_item(&json!({"pk": {"S": "d"}})),
            Err(StoreError::Corrupt(_))
        ));
    }
}
