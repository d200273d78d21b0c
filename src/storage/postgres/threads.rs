//! The `thread_cache`, `hidden_replies` and `hidden_accounts` tables.
//!
//! Invariant: a cached thread is one JSON document, stored as text (not
//! `jsonb`, which refuses the `\u0000` escapes that serde may write), in the
//! one shape both SQL backends store (`crate::storage::rows`); an unreadable
//! one is `Corrupt`.

use deadpool_postgres::Object;
use time::OffsetDateTime;

use super::rows::{column, execute, ms, query, query_opt, text};
use crate::domain::PostUrl;
use crate::domain::thread::HiddenReplies;
use crate::storage::rows::{RawThread, thread_payload};
use crate::storage::{CachedThread, StoreError};

/// What the owner can hide: one fixed table and key column each.
#[derive(Clone, Copy)]
pub enum Hidden {
    Reply,
    Account,
}

impl Hidden {
    fn insert(self) -> &'static str {
        match self {
            Self::Reply => {
                "INSERT INTO hidden_replies (status_id, created_at) VALUES ($1, $2)
                 ON CONFLICT (status_id) DO NOTHING"
            }
            Self::Account => {
                "INSERT INTO hidden_accounts (acct, created_at) VALUES ($1, $2)
                 ON CONFLICT (acct) DO NOTHING"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Self::Reply => "DELETE FROM hidden_replies WHERE status_id = $1",
            Self::Account => "DELETE FROM hidden_accounts WHERE acct = $1",
        }
    }
}

pub async fn load(client: &mut Object, url: &PostUrl) -> Result<Option<CachedThread>, StoreError> {
    let row = query_opt(
        &*client,
        "SELECT payload, fetched_at, fresh_until FROM thread_cache WHERE url = $1",
        &[&url.as_str()],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let what = format!("cached thread of {url}");
    let raw = RawThread::<OffsetDateTime> {
        payload: column(&row, 0, &what)?,
        fetched_at: column(&row, 1, &what)?,
        fresh_until: column(&row, 2, &what)?,
    };
    raw.into_thread(url)
}

pub async fn save(client: &mut Object, thread: &CachedThread) -> Result<(), StoreError> {
    let payload = thread_payload(thread).map_err(|e| {
        StoreError::Unavailable(format!("cannot encode the thread of {}: {e}", thread.url))
    })?;
    execute(
        &*client,
        "INSERT INTO thread_cache (url, payload, fetched_at, fresh_until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (url) DO UPDATE SET payload = excluded.payload, fetched_at = excluded.fetched_at,
             fresh_until = excluded.fresh_until",
        &[
            &thread.url.as_str(),
            &payload,
            &ms(thread.fetched_at),
            &ms(thread.fresh_until),
        ],
    )
    .await?;
    Ok(())
}

pub async fn hide(
    client: &mut Object,
    what: Hidden,
    key: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    execute(&*client, what.insert(), &[&text(key), &ms(now)]).await?;
    Ok(())
}

pub async fn unhide(client: &mut Object, what: Hidden, key: &str) -> Result<bool, StoreError> {
    Ok(execute(&*client, what.delete(), &[&text(key)]).await? > 0)
}

pub async fn hidden(client: &mut Object) -> Result<HiddenReplies, StoreError> {
    let mut hidden = HiddenReplies::default();
    for row in query(&*client, "SELECT status_id FROM hidden_replies", &[]).await? {
        hidden.statuses.insert(column(&row, 0, "hidden_replies")?);
    }
    for row in query(&*client, "SELECT acct FROM hidden_accounts", &[]).await? {
        hidden.accounts.insert(column(&row, 0, "hidden_accounts")?);
    }
    Ok(hidden)
}
