//! Posts: the seed's announced-post objects plus our claim records.
//!
//! A post's truth is two objects. The seed's `.mastodon-meta/<path>` (see
//! `seed.rs`) exists once the post is announced. Our record
//! `.backfeed/posts/<sha256(url)>.json` holds the rest of the life cycle:
//! claimed (token, lease), failed (reason), released (as if absent), or
//! announced (a copy of the toot id, plus the times `posts list` shows).
//!
//! Invariants: a claim is a compare-and-swap on the record (`If-None-Match`
//! for a new post, `If-Match` to take over an expired lease), so exactly one
//! request holds a post where the provider decides conditional writes
//! atomically. Where it does not, two requests may both hold it and both
//! post (a duplicate toot, which Mastodon's `Idempotency-Key` catches within
//! an hour); recording reads the seed's object back, so both converge on
//! the toot readers see. Nothing here deletes a record, so nothing is lost. Recording a toot creates the seed's object *first*
//! and updates the record after, so a reader who finds no seed object and
//! then a claimed record is never looking at a post that was announced
//! before it looked; the seed's object wins over the record whenever both
//! exist.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::objects::{Record, Step, write_id};
use super::seed::SeedPost;
use super::{S3Store, millis};
use crate::domain::{ClaimOutcome, ClaimToken, PostRecord, PostState, PostUrl, TootId};
use crate::storage::StoreError;
use crate::storage::rows::RawPost;

/// The stored form of a post record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PostObject {
    url: String,
    /// `claimed`, `announced`, `failed` or `released`.
    state: String,
    #[serde(default)]
    toot_id: Option<String>,
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    reason: Option<String>,
    created_at: i64,
    updated_at: i64,
    write_id: String,
}

impl Record for PostObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl PostObject {
    fn new(url: &PostUrl, state: &str, now: OffsetDateTime) -> Self {
        Self {
            url: url.as_str().to_owned(),
            state: state.to_owned(),
            toot_id: None,
            token: None,
            expires_at: None,
            reason: None,
            created_at: millis(now),
            updated_at: millis(now),
            write_id: String::new(),
        }
    }

    fn claimed(
        mut self,
        token: &ClaimToken,
        expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Self {
        self.state = "claimed".into();
        self.token = Some(token.as_str().to_owned());
        self.expires_at = Some(millis(expires_at));
        self.reason = None;
        self.toot_id = None;
        self.updated_at = millis(now);
        self
    }

    fn announced(mut self, toot: &TootId, now: OffsetDateTime) -> Self {
        self.state = "announced".into();
        self.toot_id = Some(toot.as_str().to_owned());
        self.token = None;
        self.expires_at = None;
        self.reason = None;
        self.updated_at = millis(now);
        self
    }

    fn released(mut self) -> Self {
        self.state = "released".into();
        self.token = None;
        self.expires_at = None;
        self.reason = None;
        self
    }

    fn is_claimed_by(&self, claim: &ClaimToken) -> bool {
        self.state == "claimed" && self.token.as_deref() == Some(claim.as_str())
    }

    /// The domain's view; `None` for a released record (as if absent).
    /// The other states convert as the SQL backends' rows do.
    fn into_record(self) -> Result<Option<PostRecord>, StoreError> {
        if self.state == "released" {
            return Ok(None);
        }
        RawPost::<i64> {
            url: self.url,
            state: self.state,
            toot_id: self.toot_id,
            claim_token: self.token,
            claim_expires_at: self.expires_at,
            failure: self.reason,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
        .into_record()
        .map(Some)
    }
}

pub async fn claim(
    store: &S3Store,
    url: &PostUrl,
    lease: Duration,
    now: OffsetDateTime,
) -> Result<ClaimOutcome, StoreError> {
    let seed_key = store.layout.seed_key(url);
    if let Some(seed) = store.seed.find(&seed_key).await? {
        backfill(store, url, &seed).await?;
        return Ok(ClaimOutcome::Announced(seed.toot));
    }
    let token = ClaimToken::new(uuid::Uuid::new_v4().to_string());
    let expires_at = now + lease;
    let key = store.layout.post(url);
    let (outcome, took_over) = store
        .objects
        .modify::<PostObject, _>(&key, |current| {
            Ok(match current {
                None => Step::Write(
                    PostObject::new(url, "claimed", now).claimed(&token, expires_at, now),
                    (ClaimOutcome::Claimed(token.clone()), false),
                ),
                Some(record) => match record.state.as_str() {
                    "released" => Step::Write(
                        PostObject::new(url, "claimed", now).claimed(&token, expires_at, now),
                        (ClaimOutcome::Claimed(token.clone()), false),
                    ),
                    "announced" => {
                        let toot =
                            record
                                .toot_id
                                .clone()
                                .and_then(TootId::new)
                                .ok_or_else(|| {
                                    StoreError::Corrupt(format!(
                                        "post {url}: announced without a toot id"
                                    ))
                                })?;
                        Step::Done((ClaimOutcome::Announced(toot), false))
                    }
                    "failed" => Step::Done((
                        ClaimOutcome::Failed(record.reason.clone().unwrap_or_default()),
                        false,
                    )),
                    _ if record.expires_at.is_some_and(|at| at > millis(now)) => {
                        Step::Done((ClaimOutcome::InProgress, false))
                    }
                    _ => Step::Write(
                        record.clone().claimed(&token, expires_at, now),
                        (ClaimOutcome::Claimed(token.clone()), true),
                    ),
                },
            })
        })
        .await?;
    if took_over {
        // The holder whose lease ran out may have announced the post since
        // we looked: it creates the seed's object before touching the record.
        if let Some(seed) = store.seed.find(&seed_key).await? {
            mark_announced(store, url, &seed.toot, now).await?;
            return Ok(ClaimOutcome::Announced(seed.toot));
        }
    }
    Ok(outcome)
}

/// A post the seed announced has no record of ours: write one, so that
/// `posts list` shows it from now on.
async fn backfill(store: &S3Store, url: &PostUrl, seed: &SeedPost) -> Result<(), StoreError> {
    let key = store.layout.post(url);
    if store.objects.exists(&key).await? {
        return Ok(());
    }
    let at = seed.last_modified.unwrap_or_else(OffsetDateTime::now_utc);
    let mut record = PostObject::new(url, "announced", at).announced(&seed.toot, at);
    store.objects.create(&key, &mut record).await.map(|_| ())
}

pub async fn record_toot(
    store: &S3Store,
    url: &PostUrl,
    toot: &TootId,
    now: OffsetDateTime,
) -> Result<TootId, StoreError> {
    let seed_key = store.layout.seed_key(url);
    let winner = match store.seed.find(&seed_key).await? {
        Some(seed) => seed.toot,
        None => match store.seed.create_or_find(&seed_key, toot).await? {
            Some(first) => first,
            // Read back: where conditional writes are not atomic, two
            // holders may both have created the object, and the one that
            // landed last is what every reader sees from now on.
            None => store
                .seed
                .find(&seed_key)
                .await?
                .map_or_else(|| toot.clone(), |seed| seed.toot),
        },
    };
    mark_announced(store, url, &winner, now).await?;
    Ok(winner)
}

async fn mark_announced(
    store: &S3Store,
    url: &PostUrl,
    toot: &TootId,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(url), |current| {
            Ok(match current {
                Some(record) if record.state == "announced" => Step::Done(()),
                Some(record) if record.state != "released" => {
                    Step::Write(record.clone().announced(toot, now), ())
                }
                _ => Step::Write(
                    PostObject::new(url, "announced", now).announced(toot, now),
                    (),
                ),
            })
        })
        .await
}

pub async fn record_failure(
    store: &S3Store,
    url: &PostUrl,
    claim: &ClaimToken,
    reason: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(url), |current| {
            Ok(match current {
                Some(record) if record.is_claimed_by(claim) => {
                    let mut failed = record.clone().released();
                    failed.state = "failed".into();
                    failed.reason = Some(reason.to_owned());
                    failed.updated_at = millis(now);
                    Step::Write(failed, ())
                }
                _ => Step::Done(()),
            })
        })
        .await
}

pub async fn release_claim(
    store: &S3Store,
    url: &PostUrl,
    claim: &ClaimToken,
) -> Result<(), StoreError> {
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(url), |current| {
            Ok(match current {
                Some(record) if record.is_claimed_by(claim) => {
                    Step::Write(record.clone().released(), ())
                }
                _ => Step::Done(()),
            })
        })
        .await
}

pub async fn forget_failure(store: &S3Store, url: &PostUrl) -> Result<bool, StoreError> {
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(url), |current| {
            Ok(match current {
                Some(record) if record.state == "failed" => {
                    Step::Write(record.clone().released(), true)
                }
                _ => Step::Done(false),
            })
        })
        .await
}

pub async fn find(store: &S3Store, url: &PostUrl) -> Result<Option<PostRecord>, StoreError> {
    let seed = store.seed.find(&store.layout.seed_key(url)).await?;
    let record = store
        .objects
        .read::<PostObject>(&store.layout.post(url))
        .await?
        .map(|r| r.value.into_record())
        .transpose()?
        .flatten();
    Ok(match (seed, record) {
        (Some(seed), Some(record)) => Some(PostRecord {
            state: PostState::Announced { toot_id: seed.toot },
            ..record
        }),
        (Some(seed), None) => {
            let at = seed.last_modified.unwrap_or_else(OffsetDateTime::now_utc);
            Some(PostRecord {
                url: url.clone(),
                state: PostState::Announced { toot_id: seed.toot },
                created_at: at,
                updated_at: at,
            })
        }
        (None, record) => record,
    })
}

/// Every post record of ours, oldest first. A post the seed announced shows
/// up once backfeed has looked it up (see [`backfill`]): the seed's keys
/// hold only the URL's path, not the URL.
pub async fn list(store: &S3Store) -> Result<Vec<PostRecord>, StoreError> {
    let keys = store
        .objects
        .list(&store.layout.posts())
        .await?
        .into_iter()
        .map(|listed| listed.location)
        .collect();
    let mut posts = Vec::new();
    for object in store.objects.read_many::<PostObject>(keys).await? {
        let Some(mut record) = object.into_record()? else {
            continue;
        };
        if !matches!(record.state, PostState::Announced { .. }) {
            // A holder may have created the seed's object and stopped
            // before updating the record: the seed's object wins.
            if let Some(seed) = store.seed.find(&store.layout.seed_key(&record.url)).await? {
                record.state = PostState::Announced { toot_id: seed.toot };
            }
        }
        posts.push(record);
    }
    posts.sort_by(|a, b| (a.created_at, a.url.as_str()).cmp(&(b.created_at, b.url.as_str())));
    Ok(posts)
}

/// Migrate: writes the post's record as announced with `toot`, with the
/// imported record's times, unless a record exists (`false`): one request
/// for a post new to the store.
pub async fn create_announced(
    store: &S3Store,
    post: &PostRecord,
    toot: &TootId,
) -> Result<bool, StoreError> {
    let mut record =
        PostObject::new(&post.url, "announced", post.created_at).announced(toot, post.updated_at);
    store
        .objects
        .create(&store.layout.post(&post.url), &mut record)
        .await
}

/// Migrate: makes the post's record say announced with `toot` (the toot
/// the seed's object holds), with the imported record's times; a record
/// that already says announced is left alone.
pub async fn import_announced(
    store: &S3Store,
    post: &PostRecord,
    toot: &TootId,
) -> Result<(), StoreError> {
    let updated = post.updated_at;
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(&post.url), |current| {
            Ok(match current {
                Some(record) if record.state == "announced" => Step::Done(()),
                Some(record) if record.state != "released" => {
                    Step::Write(record.clone().announced(toot, updated), ())
                }
                _ => Step::Write(
                    PostObject::new(&post.url, "announced", post.created_at)
                        .announced(toot, updated),
                    (),
                ),
            })
        })
        .await
}

/// Migrate: records the post as failed unless the store has a record of it
/// (a released one counts as none); `true` when written.
pub async fn import_failed(
    store: &S3Store,
    post: &PostRecord,
    reason: &str,
) -> Result<bool, StoreError> {
    store
        .objects
        .modify::<PostObject, _>(&store.layout.post(&post.url), |current| {
            Ok(match current {
                Some(record) if record.state != "released" => Step::Done(false),
                _ => {
                    let mut failed = PostObject::new(&post.url, "failed", post.created_at);
                    failed.reason = Some(reason.to_owned());
                    failed.updated_at = millis(post.updated_at);
                    Step::Write(failed, true)
                }
            })
        })
        .await
}
