//! Importing the tables of the Lambda + DynamoDB webmention receiver
//! (pfych/web-mentions): `--from
//! dynamodb-web-mentions://<mention-table>?status-table=…&endpoint=…&region=…`.
//!
//! Its mention table holds one item per accepted mention: `id` (a UUID),
//! `source`, `target`, `createdAt` (Unix milliseconds, as a string). That
//! receiver only checked that the source's text contained the target, so
//! every mention comes in *pending*: the destination queues its
//! verification, and it comes back with its author and content. Its status
//! table holds one item per request: `id` (the UUID its `Location` named),
//! `status`, `source`, `target`; each id is kept as an alias of the
//! mention with that source and target, so `/web-mentions/status/{id}`
//! keeps answering.
//!
//! Invariant: both tables are only read (`Scan`, a page at a time).

use serde_json::{Value, json};
use time::OffsetDateTime;
use url::Url;

use super::MigrateError;
use crate::domain::mention::{Mention, MentionId, Moderation, Verification};
use crate::storage::StoreError;
use crate::storage::dynamodb::{self, client::Client};
use crate::storage::rows::from_millis;

/// Where the receiver's tables are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tables {
    pub mentions: String,
    pub statuses: Option<String>,
    pub endpoint: Option<Url>,
    pub region: Option<String>,
}

impl Tables {
    /// `dynamodb-web-mentions://<mention-table>[?status-table=…&endpoint=…&region=…]`.
    pub fn parse(text: &str) -> Result<Self, MigrateError> {
        let usage = |why: String| MigrateError::Usage(format!("--from {text}: {why}"));
        let rest = text
            .strip_prefix("dynamodb-web-mentions://")
            .ok_or_else(|| usage("not a dynamodb-web-mentions:// URL".to_owned()))?;
        let (table, query) = rest.split_once('?').unwrap_or((rest, ""));
        if table.is_empty() || table.contains('/') {
            return Err(usage("name the mention table, e.g. dynamodb-web-mentions://webmentions-mention-table?status-table=webmentions-status-table".to_owned()));
        }
        let mut tables = Self {
            mentions: table.to_owned(),
            statuses: None,
            endpoint: None,
            region: None,
        };
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "status-table" => tables.statuses = Some(value.into_owned()),
                "endpoint" => {
                    tables.endpoint =
                        Some(Url::parse(&value).map_err(|e| usage(format!("endpoint: {e}")))?);
                }
                "region" => tables.region = Some(value.into_owned()),
                other => {
                    return Err(usage(format!(
                        "unknown parameter `{other}`; known: status-table, endpoint, region"
                    )));
                }
            }
        }
        Ok(tables)
    }

    pub fn describe(&self) -> String {
        match &self.statuses {
            Some(statuses) => format!(
                "dynamodb-web-mentions://{}?status-table={statuses}",
                self.mentions
            ),
            None => format!("dynamodb-web-mentions://{}", self.mentions),
        }
    }
}

/// What the tables hold, as mentions to import and status ids to keep.
#[derive(Debug, Default)]
pub struct Read {
    pub mentions: Vec<Mention>,
    /// Status id → the source and target it was about.
    pub statuses: Vec<(String, Url, Url)>,
    /// Items that make no mention, with why.
    pub invalid: Vec<String>,
}

pub async fn read(tables: &Tables, now: OffsetDateTime) -> Result<Read, MigrateError> {
    let what = tables.describe();
    let failed = |e: StoreError| MigrateError::Source {
        what: what.clone(),
        error: e,
    };
    let items = dynamodb::connect(
        &tables.mentions,
        tables.endpoint.as_ref(),
        tables.region.as_deref(),
    )
    .map_err(failed)?;
    let mut read = Read::default();
    for item in scan(items.client(), &tables.mentions)
        .await
        .map_err(failed)?
    {
        match mention(&item, now) {
            Ok(mention) => read.mentions.push(mention),
            Err(why) => read.invalid.push(why),
        }
    }
    if let Some(statuses) = &tables.statuses {
        for item in scan(items.client(), statuses).await.map_err(failed)? {
            let text = |name: &str| item[name]["S"].as_str();
            let parsed = (text("id"), text("source"), text("target"));
            if let (Some(id), Some(source), Some(target)) = parsed
                && let (Ok(source), Ok(target)) = (Url::parse(source), Url::parse(target))
            {
                read.statuses.push((id.to_owned(), source, target));
            }
        }
    }
    Ok(read)
}

/// Every item of `table`, a page per request.
async fn scan(client: &Client, table: &str) -> Result<Vec<Value>, StoreError> {
    let mut items = Vec::new();
    let mut start: Option<Value> = None;
    loop {
        let mut request = json!({ "TableName": table, "ConsistentRead": true });
        if let Some(start) = start.take() {
            request["ExclusiveStartKey"] = start;
        }
        let answer = client.call("Scan", &request).await.map_err(|e| {
            StoreError::Unavailable(format!("DynamoDB table `{table}`: Scan failed: {e}"))
        })?;
        items.extend(answer["Items"].as_array().into_iter().flatten().cloned());
        match answer.get("LastEvaluatedKey") {
            Some(next) if !next.is_null() => start = Some(next.clone()),
            _ => return Ok(items),
        }
    }
}

/// One mention item as a pending mention, received when it was created.
fn mention(item: &Value, now: OffsetDateTime) -> Result<Mention, String> {
    let text = |name: &str| item[name]["S"].as_str();
    let id = text("id").unwrap_or("?");
    let url = |name: &str| -> Result<Url, String> {
        let value = text(name).ok_or_else(|| format!("mention {id}: no `{name}`"))?;
        let url = Url::parse(value).map_err(|e| format!("mention {id}: `{name}` {value}: {e}"))?;
        match url.scheme() {
            "http" | "https" => Ok(url),
            other => Err(format!("mention {id}: `{name}` is a {other}: URL")),
        }
    };
    let (source, target) = (url("source")?, url("target")?);
    let received_at = text("createdAt")
        .or_else(|| item["createdAt"]["N"].as_str())
        .and_then(|ms| ms.trim().parse::<i64>().ok())
        .and_then(from_millis)
        .unwrap_or(now);
    Ok(Mention {
        id: MentionId(0),
        source,
        target,
        verification: Verification::Pending,
        moderation: Moderation::Approved,
        data: None,
        received_at,
        updated_at: received_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_mention_table_and_optionally_the_rest() {
        let tables = Tables::parse(
            "dynamodb-web-mentions://webmentions-mention-table?status-table=webmentions-status-table&endpoint=http://127.0.0.1:5000&region=ap-southeast-2",
        )
        .unwrap();
        assert_eq!(tables.mentions, "webmentions-mention-table");
        assert_eq!(tables.statuses.as_deref(), Some("webmentions-status-table"));
        assert_eq!(tables.region.as_deref(), Some("ap-southeast-2"));
        assert!(Tables::parse("dynamodb-web-mentions://").is_err());
        assert!(Tables::parse("dynamodb-web-mentions://t?stage=dev").is_err());
    }

    #[test]
    fn a_mention_item_comes_in_pending_at_its_creation_time() {
        let now = OffsetDateTime::now_utc();
        let item = json!({
            "id": {"S": "0c2d…"}, "source": {"S": "https://a.example/reply"},
            "target": {"S": "https://blog.example/post/"}, "createdAt": {"S": "1700000000000"}
        });
        let read = mention(&item, now).unwrap();
        assert_eq!(read.verification, Verification::Pending);
        assert_eq!(read.received_at.unix_timestamp(), 1_700_000_000);
        let bad = json!({ "id": {"S": "x"}, "source": {"S": "javascript:alert(1)"}, "target": {"S": "https://b.example/"} });
        assert!(mention(&bad, now).is_err());
    }
}
