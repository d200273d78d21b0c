//! Stored publishing records → domain values, for every backend (the
//! `rows.rs` pattern for `SentStore`): each backend reads its columns or
//! JSON fields into a `Raw*` struct, and the conversion and its checks live
//! here once. SQL backends keep a source's links and a feed's entries as
//! JSON text in one column (they are only ever read and written whole).
//!
//! Invariant: a stored value this version cannot read becomes
//! `StoreError::Corrupt`, never a panic.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use url::Url;

use super::StoreError;
use super::rows::{StoredTime, parse_url};
use crate::domain::sent::{FeedState, SendStatus, SentSource, SentTarget};

/// A JSON column's value, or `Corrupt` naming what was being read.
pub(crate) fn from_json<T: for<'de> Deserialize<'de>>(
    text: &str,
    what: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// A value as JSON text for a column.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

pub(crate) fn link_texts(links: &[Url]) -> Vec<String> {
    links.iter().map(Url::to_string).collect()
}

fn time<T: StoredTime>(at: T, what: &str) -> Result<time::OffsetDateTime, StoreError> {
    at.to_time()
        .ok_or_else(|| StoreError::Corrupt(format!("{what}: a time out of range")))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RawSentSource<T> {
    pub source: String,
    pub version: Option<String>,
    pub links: Vec<String>,
    pub gone: bool,
    pub updated_at: T,
}

impl<T: StoredTime> RawSentSource<T> {
    pub fn into_source(self, targets: Vec<SentTarget>) -> Result<SentSource, StoreError> {
        let what = format!("sent record of {}", self.source);
        Ok(SentSource {
            source: parse_url(&self.source)?,
            version: self.version,
            links: self
                .links
                .iter()
                .map(|l| parse_url(l))
                .collect::<Result<_, _>>()?,
            gone: self.gone,
            updated_at: time(self.updated_at, &what)?,
            targets,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RawSentTarget<T> {
    pub target: String,
    pub endpoint: Option<String>,
    pub status: String,
    pub http_status: Option<i64>,
    pub answer: Option<String>,
    pub attempts: i64,
    pub version: String,
    pub delivered_version: Option<String>,
    pub updated_at: T,
}

impl<T: StoredTime> RawSentTarget<T> {
    pub fn into_target(self) -> Result<SentTarget, StoreError> {
        let what = format!("sent target {}", self.target);
        let status = SendStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!("{what}: unknown status `{}`", self.status))
        })?;
        Ok(SentTarget {
            target: parse_url(&self.target)?,
            endpoint: self.endpoint,
            status,
            http_status: self.http_status.and_then(|s| u16::try_from(s).ok()),
            answer: self.answer,
            attempts: u32::try_from(self.attempts).unwrap_or_default(),
            version: self.version,
            delivered_version: self.delivered_version,
            updated_at: time(self.updated_at, &what)?,
        })
    }
}

impl RawSentTarget<i64> {
    /// The S3 record of a target (times as Unix milliseconds).
    pub fn from_target(target: &SentTarget) -> Self {
        Self {
            target: target.target.to_string(),
            endpoint: target.endpoint.clone(),
            status: target.status.label().to_owned(),
            http_status: target.http_status.map(i64::from),
            answer: target.answer.clone(),
            attempts: i64::from(target.attempts),
            version: target.version.clone(),
            delivered_version: target.delivered_version.clone(),
            updated_at: super::rows::millis(target.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RawFeed<T> {
    pub feed: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub entries: BTreeMap<String, String>,
    pub checked_at: T,
}

impl<T: StoredTime> RawFeed<T> {
    pub fn into_feed(self) -> Result<FeedState, StoreError> {
        let what = format!("feed state of {}", self.feed);
        Ok(FeedState {
            feed: parse_url(&self.feed)?,
            etag: self.etag,
            last_modified: self.last_modified,
            entries: self.entries,
            checked_at: time(self.checked_at, &what)?,
        })
    }
}
