//! The seed's PostgreSQL database, as `backfeed migrate` finds it: one
//! table `posts(id, url, toot_id)` mapping a post's URL to its toot, and
//! none of backfeed's schema (`schema_migrations`). Backfeed's own
//! `posts` table has the same name, so a database is inspected before it is
//! opened as a store: migrating the seed's database would fail half-way.
//!
//! Invariant: nothing here writes; the seed's table is read as it is.

use super::pool::{Db, bounded};
use super::rows::{column, query};
use crate::storage::StoreError;

/// What a PostgreSQL database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// Neither backfeed's schema nor a `posts` table.
    Empty,
    /// Backfeed's own store (it has `schema_migrations`).
    Backfeed,
    /// The seed's `posts(id, url, toot_id)` table, and no backfeed schema.
    Seed,
    /// A `posts` table that is neither: its column names.
    Unknown(Vec<String>),
}

/// One row of the seed's table, as stored (text casts of its columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedRow {
    pub id: String,
    pub url: Option<String>,
    pub toot_id: Option<String>,
}

/// Looks at the tables of the database `url` names, without changing it.
pub async fn inspect(url: &str) -> Result<Contents, StoreError> {
    let db = Db::new(url)?;
    let client = db.client().await?;
    bounded(async {
        let marker = query(
            &client,
            "SELECT to_regclass('schema_migrations') IS NOT NULL",
            &[],
        )
        .await?;
        let has_migrations: bool = match marker.first() {
            Some(row) => column(row, 0, "schema_migrations lookup")?,
            None => false,
        };
        if has_migrations {
            return Ok(Contents::Backfeed);
        }
        let rows = query(
            &client,
            "SELECT attname::text FROM pg_attribute
             WHERE attrelid = to_regclass('posts') AND attnum > 0 AND NOT attisdropped
             ORDER BY attnum",
            &[],
        )
        .await?;
        let columns = rows
            .iter()
            .map(|row| column::<String>(row, 0, "posts columns"))
            .collect::<Result<Vec<_>, _>>()?;
        let has = |name: &str| columns.iter().any(|c| c == name);
        Ok(if columns.is_empty() {
            Contents::Empty
        } else if has("id") && has("url") && has("toot_id") {
            Contents::Seed
        } else {
            Contents::Unknown(columns)
        })
    })
    .await
}

/// Every row of the seed's `posts` table, in id order.
pub async fn seed_rows(url: &str) -> Result<Vec<SeedRow>, StoreError> {
    let db = Db::new(url)?;
    let client = db.client().await?;
    bounded(async {
        let rows = query(
            &client,
            "SELECT id::text, url::text, toot_id::text FROM posts ORDER BY id",
            &[],
        )
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SeedRow {
                    id: column::<Option<String>>(row, 0, "seed posts")?.unwrap_or_default(),
                    url: column(row, 1, "seed posts")?,
                    toot_id: column(row, 2, "seed posts")?,
                })
            })
            .collect()
    })
    .await
}
