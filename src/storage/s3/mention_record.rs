//! The stored form of a mention (`.backfeed/mentions/by-id/<id>.json`) and
//! its conversion to and from the domain.
//!
//! Its verification job lives on the one job queue (`jobs.rs`); records
//! written before that queue existed may still carry `job`, `outbox` and
//! `jobs_made` fields, which are ignored.
//!
//! Invariant: a removed mention stays as a tombstone (`removed`) that no
//! writer ever changes again; a re-sent webmention for it gets a new id.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use url::Url;

use super::objects::{Record, write_id};
use crate::domain::mention::{
    Mention, MentionData, Moderation, Relation, Transition, Verification,
};
use crate::storage::StoreError;
use crate::storage::rows::{RawMention, millis};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MentionObject {
    pub id: i64,
    pub source: String,
    pub target: String,
    /// `pending`, `verified`, `rejected` or `deleted`.
    pub verification: String,
    #[serde(default)]
    pub reason: Option<String>,
    pub moderation: String,
    #[serde(default)]
    pub data: Option<DataObject>,
    pub received_at: i64,
    pub updated_at: i64,
    #[serde(default)]
    pub removed: bool,
    pub write_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataObject {
    property: String,
    #[serde(default)]
    rsvp: Option<String>,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_photo: Option<String>,
    #[serde(default)]
    author_url: Option<String>,
    #[serde(default)]
    content_html: Option<String>,
    #[serde(default)]
    content_text: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    published: Option<String>,
    #[serde(default)]
    url: Option<String>,
    /// `Via::to_stored`: absent for a webmention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    via: Option<String>,
}

impl Record for MentionObject {
    fn restamp(&mut self) {
        self.write_id = write_id();
    }
}

impl MentionObject {
    /// A new pending mention.
    pub fn received(
        id: i64,
        source: &Url,
        target: &Url,
        moderation: Moderation,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            source: source.as_str().to_owned(),
            target: target.as_str().to_owned(),
            verification: Verification::Pending.label().to_owned(),
            reason: None,
            moderation: moderation.label().to_owned(),
            data: None,
            received_at: millis(now),
            updated_at: millis(now),
            removed: false,
            write_id: String::new(),
        }
    }

    /// A mention copied from another store as it is, under a new `id`.
    pub fn imported(id: i64, mention: &Mention) -> Self {
        Self {
            id,
            source: mention.source.as_str().to_owned(),
            target: mention.target.as_str().to_owned(),
            verification: mention.verification.label().to_owned(),
            reason: mention.verification.reason().map(str::to_owned),
            moderation: mention.moderation.label().to_owned(),
            data: mention.data.as_ref().map(DataObject::from),
            received_at: millis(mention.received_at),
            updated_at: millis(mention.updated_at),
            removed: false,
            write_id: String::new(),
        }
    }

    pub fn is_live(&self) -> bool {
        !self.removed
    }

    /// Applies what a verification attempt found.
    pub fn apply(&mut self, transition: &Transition, now: OffsetDateTime) {
        match transition {
            Transition::Verify(data) => {
                self.verification = Verification::Verified.label().to_owned();
                self.reason = None;
                self.data = Some(DataObject::from(data));
                self.updated_at = millis(now);
            }
            Transition::VerifyAndModerate(data, moderation) => {
                self.apply(&Transition::Verify(data.clone()), now);
                self.moderation = moderation.label().to_owned();
            }
            Transition::Reject(reason) => self.settle_as("rejected", reason, now),
            Transition::Delete(reason) => self.settle_as("deleted", reason, now),
            Transition::Keep(_) | Transition::Retry(_) => {}
        }
    }

    fn settle_as(&mut self, state: &str, reason: &str, now: OffsetDateTime) {
        self.verification = state.to_owned();
        self.reason = Some(reason.to_owned());
        self.updated_at = millis(now);
    }

    /// The domain's view, converted as the SQL backends' rows are.
    pub fn to_mention(&self) -> Result<Mention, StoreError> {
        let data = self.data.as_ref();
        let field = |pick: fn(&DataObject) -> &Option<String>| data.and_then(|d| pick(d).clone());
        RawMention::<i64> {
            id: self.id,
            source: self.source.clone(),
            target: self.target.clone(),
            verification: self.verification.clone(),
            reason: self.reason.clone(),
            moderation: self.moderation.clone(),
            property: data.map(|d| d.property.clone()),
            rsvp: field(|d| &d.rsvp),
            author: [
                field(|d| &d.author_name),
                field(|d| &d.author_photo),
                field(|d| &d.author_url),
            ],
            content_html: field(|d| &d.content_html),
            content_text: field(|d| &d.content_text),
            name: field(|d| &d.name),
            published: field(|d| &d.published),
            url: field(|d| &d.url),
            via: field(|d| &d.via),
            received_at: self.received_at,
            updated_at: self.updated_at,
        }
        .into_mention()
    }
}

impl From<&MentionData> for DataObject {
    fn from(data: &MentionData) -> Self {
        let author = data.author.clone().unwrap_or_default();
        Self {
            property: data.relation.property().to_owned(),
            rsvp: match &data.relation {
                Relation::Rsvp(value) => Some(value.clone()),
                _ => None,
            },
            author_name: author.name,
            author_photo: author.photo,
            author_url: author.url,
            content_html: data.content_html.clone(),
            content_text: data.content_text.clone(),
            name: data.name.clone(),
            published: data.published.clone(),
            url: data.url.clone(),
            via: data.via.to_stored(),
        }
    }
}

impl DataObject {
    pub fn property(&self) -> &str {
        &self.property
    }

    pub fn published(&self) -> &str {
        self.published.as_deref().unwrap_or_default()
    }
}
