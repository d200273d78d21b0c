//! What a thread shows from the store (its post's mentions, the hidden
//! replies and accounts), read again only when it may have changed.
//!
//! A store shared by several processes (S3, DynamoDB) keeps a version of
//! what threads show (`ThreadStore::shown_version`), moved by every write
//! that matters; this process's own writes also move [`Changes`]. What was
//! read at one version and one changes stamp is reused while both stand, so
//! rendering a thread again after a Mastodon refresh costs no listing. A
//! store that keeps no version (SQLite, PostgreSQL: reads there cost
//! nothing extra) is read every time.
//!
//! Invariant: the version is read before the records it stamps, so a cached
//! read is never stamped newer than what it holds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::RENDERED_LIMIT;
use crate::changes::{Changes, Stamp};
use crate::domain::PostUrl;
use crate::domain::mention::Mention;
use crate::domain::thread::HiddenReplies;
use crate::storage::{MentionQuery, SortDirection, Store, StoreError};

/// The store's version of what threads show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shown {
    Version(String),
    /// The store keeps no version.
    Untracked,
    /// It could not be read.
    Unknown,
}

type HiddenRead = (String, u64, Arc<HiddenReplies>);
type MentionsRead = (String, Stamp, Arc<Vec<Mention>>);

pub(super) struct ShownReads {
    store: Arc<dyn Store>,
    changes: Changes,
    hidden: Mutex<Option<HiddenRead>>,
    mentions: Mutex<HashMap<PostUrl, MentionsRead>>,
}

impl ShownReads {
    pub(super) fn new(store: Arc<dyn Store>, changes: Changes) -> Self {
        Self {
            store,
            changes,
            hidden: Mutex::new(None),
            mentions: Mutex::new(HashMap::new()),
        }
    }

    /// The store's version now (one small read on S3 and DynamoDB).
    pub(super) async fn version(&self) -> Shown {
        match self.store.shown_version().await {
            Ok(Some(version)) => Shown::Version(version),
            Ok(None) => Shown::Untracked,
            Err(error) => {
                tracing::warn!(%error, "cannot read the store's shown version");
                Shown::Unknown
            }
        }
    }

    /// The hidden replies and accounts, as of `shown`.
    pub(super) async fn hidden_replies(
        &self,
        shown: &Shown,
    ) -> Result<Arc<HiddenReplies>, StoreError> {
        let Shown::Version(version) = shown else {
            return Ok(Arc::new(self.store.hidden_replies().await?));
        };
        let changes = self.changes.total();
        if let Ok(cached) = self.hidden.lock()
            && let Some((v, c, hidden)) = cached.as_ref()
            && (v, *c) == (version, changes)
        {
            return Ok(Arc::clone(hidden));
        }
        let hidden = Arc::new(self.store.hidden_replies().await?);
        if let Ok(mut cached) = self.hidden.lock() {
            *cached = Some((version.clone(), changes, Arc::clone(&hidden)));
        }
        Ok(hidden)
    }

    /// Every mention of `url`, oldest first, as of `shown`.
    pub(super) async fn mentions(
        &self,
        url: &PostUrl,
        shown: &Shown,
    ) -> Result<Arc<Vec<Mention>>, StoreError> {
        let stamp = self.changes.stamp(url.as_str());
        if let Shown::Version(version) = shown
            && let Ok(cached) = self.mentions.lock()
            && let Some((v, s, mentions)) = cached.get(url)
            && (v, *s) == (version, stamp)
        {
            return Ok(Arc::clone(mentions));
        }
        let mentions = Arc::new(
            self.store
                .query_mentions(&MentionQuery {
                    targets: vec![url.as_url().clone()],
                    direction: SortDirection::Ascending,
                    per_page: 1000,
                    ..MentionQuery::default()
                })
                .await?,
        );
        if let Shown::Version(version) = shown
            && let Ok(mut cached) = self.mentions.lock()
        {
            if cached.len() >= RENDERED_LIMIT {
                cached.clear();
            }
            cached.insert(url.clone(), (version.clone(), stamp, Arc::clone(&mentions)));
        }
        Ok(mentions)
    }
}
