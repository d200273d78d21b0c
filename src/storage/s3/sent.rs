//! What each post sent, and what each feed said: one object per source,
//! `.backfeed/sent/<sha256(source)>.json` (its version, links and every
//! target's record), and one per feed, `.backfeed/feeds/<sha256(feed)>.json`.
//!
//! Invariant: every operation on one source or one feed is one or two
//! requests on one object, whatever the bucket holds (an unchanged feed
//! costs a read and a write of its state); only `list_sent` without a
//! source lists a directory, and only `.backfeed/sent/`. A source's record
//! changes by compare-and-swap (`Objects::modify`), so workers sending one
//! post's webmentions at once each keep their attempt.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::objects::{Record, Step, write_id};
use super::{S3Store, millis};
use crate::domain::sent::{FeedState, SendAttempt, SentSource, SentTarget};
use crate::storage::StoreError;
use crate::storage::sent_rows::{RawFeed, RawSentSource, RawSentTarget, link_texts};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentObject {
    #[serde(flatten)]
    source: RawSentSource<i64>,
    targets: Vec<RawSentTarget<i64>>,
    write_id: String,
}

impl Record for SentObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl SentObject {
    fn empty(source: &Url, now: OffsetDateTime) -> Self {
        Self {
            source: RawSentSource {
                source: source.to_string(),
                version: None,
                links: Vec::new(),
                gone: false,
                updated_at: millis(now),
            },
            targets: Vec::new(),
            write_id: String::new(),
        }
    }

    fn into_source(self, asked: &Url) -> Result<SentSource, StoreError> {
        if self.source.source != asked.as_str() {
            return Err(StoreError::Corrupt(format!(
                "the sent record of {asked} belongs to {}",
                self.source.source
            )));
        }
        let mut targets = self
            .targets
            .into_iter()
            .map(RawSentTarget::into_target)
            .collect::<Result<Vec<_>, _>>()?;
        targets.sort_by(|a, b| a.target.as_str().cmp(b.target.as_str()));
        self.source.into_source(targets)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct FeedObject {
    #[serde(flatten)]
    feed: RawFeed<i64>,
    write_id: String,
}

impl Record for FeedObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

pub async fn load_feed(store: &S3Store, feed: &Url) -> Result<Option<FeedState>, StoreError> {
    let Some(found) = store
        .objects
        .read::<FeedObject>(&store.layout.feed(feed))
        .await?
    else {
        return Ok(None);
    };
    let state = found.value.feed.into_feed()?;
    if state.feed != *feed {
        return Err(StoreError::Corrupt(format!(
            "the state of feed {feed} belongs to {}",
            state.feed
        )));
    }
    Ok(Some(state))
}

pub async fn save_feed(store: &S3Store, state: &FeedState) -> Result<(), StoreError> {
    let mut record = FeedObject {
        feed: RawFeed {
            feed: state.feed.to_string(),
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
            entries: state.entries.clone(),
            checked_at: millis(state.checked_at),
        },
        write_id: String::new(),
    };
    store
        .objects
        .overwrite(&store.layout.feed(&state.feed), &mut record)
        .await
}

pub async fn find_sent(store: &S3Store, source: &Url) -> Result<Option<SentSource>, StoreError> {
    store
        .objects
        .read::<SentObject>(&store.layout.sent_source(source))
        .await?
        .map(|found| found.value.into_source(source))
        .transpose()
}

pub async fn record_version(
    store: &S3Store,
    source: &Url,
    version: &str,
    links: &[Url],
    gone: bool,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    store
        .objects
        .modify(&store.layout.sent_source(source), |current| {
            let mut next = current
                .cloned()
                .unwrap_or_else(|| SentObject::empty(source, now));
            next.source.version = Some(version.to_owned());
            next.source.links = link_texts(links);
            next.source.gone = gone;
            next.source.updated_at = millis(now);
            Ok(Step::Write(next, ()))
        })
        .await
}

pub async fn record_attempt(
    store: &S3Store,
    source: &Url,
    attempt: &SendAttempt,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    store
        .objects
        .modify(&store.layout.sent_source(source), |current| {
            let mut next = current
                .cloned()
                .unwrap_or_else(|| SentObject::empty(source, now));
            let position = next
                .targets
                .iter()
                .position(|t| t.target == attempt.target.as_str());
            let previous = position
                .map(|i| next.targets[i].clone().into_target())
                .transpose()?;
            let record =
                RawSentTarget::from_target(&SentTarget::after(previous.as_ref(), attempt, now));
            match position {
                Some(i) => next.targets[i] = record,
                None => next.targets.push(record),
            }
            Ok(Step::Write(next, ()))
        })
        .await
}

pub async fn list_sent(
    store: &S3Store,
    source: Option<&Url>,
) -> Result<Vec<SentSource>, StoreError> {
    if let Some(source) = source {
        return Ok(find_sent(store, source).await?.into_iter().collect());
    }
    let listed = store.objects.list(&store.layout.sent()).await?;
    let records = store
        .objects
        .read_many::<SentObject>(listed.into_iter().map(|l| l.location).collect())
        .await?;
    let mut sources = records
        .into_iter()
        .map(|record| {
            let url = crate::storage::rows::parse_url(&record.source.source)?;
            record.into_source(&url)
        })
        .collect::<Result<Vec<_>, _>>()?;
    sources.sort_by(|a, b| a.source.as_str().cmp(b.source.as_str()));
    Ok(sources)
}
