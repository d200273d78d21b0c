//! What each post sent, and what each feed said: one object per source,
//! `.backfeed/sent/<sha256(source)>.json` (its version, links and whether it
//! is gone), one per source and target,
//! `.backfeed/sent-targets/<sha256(source)>/<sha256(target)>.json` (that
//! target's last attempt), and one per feed,
//! `.backfeed/feeds/<sha256(feed)>.json`.
//!
//! Invariants: reading or writing a feed's state, or a source's version, is
//! one or two requests on one object; recording an attempt changes only
//! that target's object, so workers sending one post's webmentions at once
//! never write the same object, even where a provider's conditional writes
//! are not atomic (`docs/s3-layout.md`); reading a source is its object and
//! one listing of its own targets' directory, whatever the bucket holds.
//! Only `list_sent` without a source lists every source.

use std::collections::BTreeMap;

use object_store::path::Path;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::objects::{Record, Step, write_id};
use super::{S3Store, millis};
use crate::domain::sent::{FeedState, SendAttempt, SentSource, SentTarget};
use crate::storage::StoreError;
use crate::storage::rows::parse_url;
use crate::storage::sent_rows::{RawFeed, RawSentSource, RawSentTarget, link_texts};

/// `sent/…`: a source's version, links and whether it is gone.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SentObject {
    #[serde(flatten)]
    source: RawSentSource<i64>,
    write_id: String,
}

impl Record for SentObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

/// `sent-targets/…`: one target's last attempt, and whose it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TargetObject {
    source: String,
    #[serde(flatten)]
    target: RawSentTarget<i64>,
    write_id: String,
}

impl Record for TargetObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

fn empty_source(source: &Url, now: OffsetDateTime) -> RawSentSource<i64> {
    RawSentSource {
        source: source.to_string(),
        version: None,
        links: Vec::new(),
        gone: false,
        updated_at: millis(now),
    }
}

/// A source from its object (if any) and its targets' objects; `None` when
/// there are neither.
fn assemble(
    asked: &Url,
    source: Option<SentObject>,
    targets: Vec<TargetObject>,
) -> Result<Option<SentSource>, StoreError> {
    let mine = |owner: &str| owner == asked.as_str();
    if let Some(found) = &source
        && !mine(&found.source.source)
    {
        return Err(StoreError::Corrupt(format!(
            "the sent record of {asked} belongs to {}",
            found.source.source
        )));
    }
    let targets: Vec<TargetObject> = targets.into_iter().filter(|t| mine(&t.source)).collect();
    let raw = match source {
        Some(found) => found.source,
        None if targets.is_empty() => return Ok(None),
        // Attempts recorded for a source whose version was never recorded.
        None => {
            let latest = targets.iter().map(|t| t.target.updated_at).max();
            RawSentSource {
                updated_at: latest.unwrap_or_default(),
                ..empty_source(asked, OffsetDateTime::UNIX_EPOCH)
            }
        }
    };
    let mut targets = targets
        .into_iter()
        .map(|t| t.target.into_target())
        .collect::<Result<Vec<_>, _>>()?;
    targets.sort_by(|a, b| a.target.as_str().cmp(b.target.as_str()));
    raw.into_source(targets).map(Some)
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
    let found = store
        .objects
        .read::<SentObject>(&store.layout.sent_source(source))
        .await?
        .map(|f| f.value);
    let keys = locations(store, store.layout.sent_targets(source)).await?;
    let targets = store.objects.read_many::<TargetObject>(keys).await?;
    assemble(source, found, targets)
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
        .modify(
            &store.layout.sent_source(source),
            |current: Option<&SentObject>| {
                let mut next = current.cloned().unwrap_or_else(|| SentObject {
                    source: empty_source(source, now),
                    write_id: String::new(),
                });
                next.source.version = Some(version.to_owned());
                next.source.links = link_texts(links);
                next.source.gone = gone;
                next.source.updated_at = millis(now);
                Ok(Step::Write(next, ()))
            },
        )
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
        .modify(
            &store.layout.sent_target(source, &attempt.target),
            |current: Option<&TargetObject>| {
                let previous = current
                    .filter(|c| c.source == source.as_str())
                    .map(|c| c.target.clone().into_target())
                    .transpose()?;
                let target = SentTarget::after(previous.as_ref(), attempt, now);
                Ok(Step::Write(
                    TargetObject {
                        source: source.to_string(),
                        target: RawSentTarget::from_target(&target),
                        write_id: String::new(),
                    },
                    (),
                ))
            },
        )
        .await
}

pub async fn list_sent(
    store: &S3Store,
    source: Option<&Url>,
) -> Result<Vec<SentSource>, StoreError> {
    if let Some(source) = source {
        return Ok(find_sent(store, source).await?.into_iter().collect());
    }
    let sources = store
        .objects
        .read_many::<SentObject>(locations(store, store.layout.sent()).await?)
        .await?;
    // One directory per source under `sent-targets/`: a listing at any depth.
    let targets = store
        .objects
        .list_tree(&store.layout.sent_targets_all())
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect();
    let targets = store.objects.read_many::<TargetObject>(targets).await?;
    let mut by_source: BTreeMap<String, (Option<SentObject>, Vec<TargetObject>)> = BTreeMap::new();
    for found in sources {
        let key = found.source.source.clone();
        by_source.entry(key).or_default().0 = Some(found);
    }
    for found in targets {
        let key = found.source.clone();
        by_source.entry(key).or_default().1.push(found);
    }
    let mut listed = Vec::with_capacity(by_source.len());
    for (text, (found, targets)) in by_source {
        let url = parse_url(&text)?;
        listed.extend(assemble(&url, found, targets)?);
    }
    listed.sort_by(|a, b| a.source.as_str().cmp(b.source.as_str()));
    Ok(listed)
}

/// The keys of every object under `dir`.
async fn locations(store: &S3Store, dir: Path) -> Result<Vec<Path>, StoreError> {
    Ok(store
        .objects
        .list(&dir)
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect())
}
