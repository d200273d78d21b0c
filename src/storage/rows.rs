//! Stored rows → domain values, for every backend.
//!
//! This is the one conversion from stored fields to domain values that the
//! backends share: SQLite and PostgreSQL read their columns into one of the
//! raw structs here (`Raw*`, one field per column, in the backend's own time
//! type), S3 fills them from its JSON records (posts, verification states,
//! URLs), and the method beside each converts it. The field-by-field checks
//! live only here, so every backend accepts and refuses the same stored
//! values, with the same messages. The millisecond time encoding SQLite and
//! S3 share is here too.
//!
//! Invariant: a stored value this version cannot read (an unknown state, a
//! malformed URL, a time out of range, a missing field a state requires)
//! becomes `StoreError::Corrupt`, never a panic.

use time::OffsetDateTime;
use url::Url;

use super::{CachedThread, StoreError};
use crate::domain::job::{Job, JobId, JobKind, JobState};
use crate::domain::mention::{
    Author, Mention, MentionData, MentionId, Moderation, Relation, Verification, Via,
};
use crate::domain::{ClaimToken, PostRecord, PostState, PostUrl, TootId};

/// A time as a backend stores it: PostgreSQL reads `timestamptz` straight
/// into `OffsetDateTime`; SQLite and S3 store Unix milliseconds (`i64`).
/// `None` is a time out of range, reported as `Corrupt`.
pub(crate) trait StoredTime {
    fn to_time(self) -> Option<OffsetDateTime>;
}

impl StoredTime for OffsetDateTime {
    fn to_time(self) -> Option<OffsetDateTime> {
        Some(self)
    }
}

/// SQLite and S3 store times as Unix milliseconds.
impl StoredTime for i64 {
    fn to_time(self) -> Option<OffsetDateTime> {
        from_millis(self)
    }
}

/// A time as Unix milliseconds (SQLite, S3); the far future saturates.
pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Unix milliseconds back to a time; `None` out of range.
pub(crate) fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

pub(crate) fn parse_url(text: &str) -> Result<Url, StoreError> {
    Url::parse(text).map_err(|e| StoreError::Corrupt(format!("stored URL `{text}`: {e}")))
}

pub(crate) fn verification_state(
    label: &str,
    reason: Option<String>,
) -> Result<Verification, StoreError> {
    let reason = reason.unwrap_or_default();
    Ok(match label {
        "pending" => Verification::Pending,
        "verified" => Verification::Verified,
        "rejected" => Verification::Rejected { reason },
        "deleted" => Verification::Deleted { reason },
        other => {
            return Err(StoreError::Corrupt(format!(
                "unknown verification state `{other}`"
            )));
        }
    })
}

/// A failure or retry count; one out of range counts as "very many".
fn attempts(stored: i64) -> u32 {
    u32::try_from(stored).unwrap_or(u32::MAX)
}

/// One `mentions` row as stored (the backends' `COLUMNS`, in order).
pub(crate) struct RawMention<T> {
    pub(crate) id: i64,
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) verification: String,
    pub(crate) reason: Option<String>,
    pub(crate) moderation: String,
    pub(crate) property: Option<String>,
    pub(crate) rsvp: Option<String>,
    /// `author_name`, `author_photo`, `author_url`.
    pub(crate) author: [Option<String>; 3],
    pub(crate) content_html: Option<String>,
    pub(crate) content_text: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) published: Option<String>,
    pub(crate) url: Option<String>,
    /// `Via::to_stored`: none for a webmention.
    pub(crate) via: Option<String>,
    pub(crate) received_at: T,
    pub(crate) updated_at: T,
}

impl<T: StoredTime> RawMention<T> {
    pub(crate) fn into_mention(self) -> Result<Mention, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("mention {}: {what}", self.id));
        let data = match self.property.as_deref() {
            Some(property) => {
                let relation = Relation::from_property(property, self.rsvp.as_deref())
                    .ok_or_else(|| corrupt(&format!("unknown property `{property}`")))?;
                let [name, photo, url] = self.author.clone();
                let author = (name.is_some() || photo.is_some() || url.is_some())
                    .then_some(Author { name, photo, url });
                Some(MentionData {
                    relation,
                    author,
                    content_html: self.content_html.clone(),
                    content_text: self.content_text.clone(),
                    name: self.name.clone(),
                    published: self.published.clone(),
                    url: self.url.clone(),
                    via: Via::from_stored(self.via.as_deref())
                        .ok_or_else(|| corrupt("unreadable `via`"))?,
                })
            }
            None => None,
        };
        Ok(Mention {
            id: MentionId(self.id),
            source: parse_url(&self.source)?,
            target: parse_url(&self.target)?,
            verification: verification_state(&self.verification, self.reason.clone())?,
            moderation: Moderation::parse(&self.moderation)
                .ok_or_else(|| corrupt("unknown moderation state"))?,
            data,
            received_at: self
                .received_at
                .to_time()
                .ok_or_else(|| corrupt("bad received_at"))?,
            updated_at: self
                .updated_at
                .to_time()
                .ok_or_else(|| corrupt("bad updated_at"))?,
        })
    }
}

impl<T> RawMention<T> {
    /// The columns a mention is written with (`import_mentions`); `time`
    /// converts to the backend's time type. The id is the caller's business.
    pub(crate) fn from_mention(mention: &Mention, time: impl Fn(OffsetDateTime) -> T) -> Self {
        let data = mention.data.clone();
        let (property, rsvp) = match data.as_ref().map(|d| &d.relation) {
            Some(Relation::Rsvp(value)) => (Some("rsvp".to_owned()), Some(value.clone())),
            Some(relation) => (Some(relation.property().to_owned()), None),
            None => (None, None),
        };
        let data = data.unwrap_or_default();
        let author = data.author.unwrap_or_default();
        Self {
            id: mention.id.0,
            source: mention.source.to_string(),
            target: mention.target.to_string(),
            verification: mention.verification.label().to_owned(),
            reason: mention.verification.reason().map(str::to_owned),
            moderation: mention.moderation.label().to_owned(),
            property,
            rsvp,
            author: [author.name, author.photo, author.url],
            content_html: data.content_html,
            content_text: data.content_text,
            name: data.name,
            published: data.published,
            via: data.via.to_stored(),
            url: data.url,
            received_at: time(mention.received_at),
            updated_at: time(mention.updated_at),
        }
    }
}

/// One `jobs` row as stored (the backends' job `COLUMNS`, in order).
pub(crate) struct RawJob<T> {
    pub(crate) id: String,
    pub(crate) kind: String,
    pub(crate) payload: String,
    pub(crate) dedupe_key: Option<String>,
    pub(crate) state: String,
    pub(crate) attempts: i64,
    pub(crate) due_at: T,
    pub(crate) last_error: Option<String>,
    pub(crate) created_at: T,
    pub(crate) updated_at: T,
}

impl<T: StoredTime> RawJob<T> {
    pub(crate) fn into_job(self) -> Result<Job, StoreError> {
        let id = self.id;
        let corrupt = |what: String| StoreError::Corrupt(format!("job {id}: {what}"));
        let time = |t: T, what: &str| t.to_time().ok_or_else(|| corrupt(format!("bad {what}")));
        Ok(Job {
            kind: JobKind::parse(&self.kind)
                .ok_or_else(|| corrupt(format!("unknown kind `{}`", self.kind)))?,
            state: JobState::parse(&self.state)
                .ok_or_else(|| corrupt(format!("unknown state `{}`", self.state)))?,
            payload: self.payload,
            dedupe_key: self.dedupe_key,
            attempts: attempts(self.attempts),
            due_at: time(self.due_at, "due_at")?,
            last_error: self.last_error,
            created_at: time(self.created_at, "created_at")?,
            updated_at: time(self.updated_at, "updated_at")?,
            id: JobId::parse(&id).ok_or_else(|| corrupt("malformed id".into()))?,
        })
    }
}

/// One `posts` row as stored (the backends' `COLUMNS`, in order).
pub(crate) struct RawPost<T> {
    pub(crate) url: String,
    pub(crate) state: String,
    pub(crate) toot_id: Option<String>,
    pub(crate) claim_token: Option<String>,
    pub(crate) claim_expires_at: Option<T>,
    pub(crate) failure: Option<String>,
    pub(crate) created_at: T,
    pub(crate) updated_at: T,
}

impl<T: StoredTime> RawPost<T> {
    pub(crate) fn into_record(self) -> Result<PostRecord, StoreError> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("post {}: {what}", self.url));
        let state = match self.state.as_str() {
            "announced" => PostState::Announced {
                toot_id: self
                    .toot_id
                    .clone()
                    .and_then(TootId::new)
                    .ok_or_else(|| corrupt("announced without a toot id"))?,
            },
            "failed" => PostState::Failed {
                reason: self.failure.clone().unwrap_or_default(),
            },
            "claimed" => PostState::Claimed {
                token: ClaimToken::new(
                    self.claim_token
                        .clone()
                        .ok_or_else(|| corrupt("claimed without a token"))?,
                ),
                expires_at: self
                    .claim_expires_at
                    .ok_or_else(|| corrupt("claimed without an expiry"))?
                    .to_time()
                    .ok_or_else(|| corrupt("bad claim expiry"))?,
            },
            other => return Err(corrupt(&format!("unknown state `{other}`"))),
        };
        Ok(PostRecord {
            url: PostUrl::from_stored(&self.url).map_err(|e| corrupt(&e.to_string()))?,
            state,
            created_at: self
                .created_at
                .to_time()
                .ok_or_else(|| corrupt("bad created_at"))?,
            updated_at: self
                .updated_at
                .to_time()
                .ok_or_else(|| corrupt("bad updated_at"))?,
        })
    }
}

/// The toot id `record_toot` reads back after writing one.
pub(crate) fn recorded_toot(url: &PostUrl, stored: Option<String>) -> Result<TootId, StoreError> {
    stored.and_then(TootId::new).ok_or_else(|| {
        StoreError::Corrupt(format!("post {url} has no toot id after recording one"))
    })
}

/// The stored form of a cached thread; versioned by its field names.
/// `thread`'s toot and replies as the versioned JSON text every backend
/// stores (`thread_record.rs`).
pub(crate) fn thread_payload(thread: &CachedThread) -> serde_json::Result<String> {
    super::thread_record::encode(&thread.toot, &thread.replies)
}

/// One `thread_cache` row as stored, without its key.
pub(crate) struct RawThread<T> {
    pub(crate) payload: String,
    pub(crate) fetched_at: T,
    pub(crate) fresh_until: T,
}

impl<T: StoredTime> RawThread<T> {
    /// `None` when the payload was written by another version or does not
    /// read back: a cache entry to fetch again, never an error.
    pub(crate) fn into_thread(self, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("cached thread of {url}: {what}"));
        let Some((toot, replies)) = super::thread_record::decode(&self.payload) else {
            tracing::debug!(%url, "cached thread in an older or unreadable form; fetching it again");
            return Ok(None);
        };
        Ok(Some(CachedThread {
            url: url.clone(),
            toot,
            replies,
            fetched_at: self
                .fetched_at
                .to_time()
                .ok_or_else(|| corrupt("bad fetched_at".into()))?,
            fresh_until: self
                .fresh_until
                .to_time()
                .ok_or_else(|| corrupt("bad fresh_until".into()))?,
        }))
    }
}
