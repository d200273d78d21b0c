//! The `secrets` table (see `storage::secrets`): the primary key makes the
//! first value stored win, whichever instance wrote it.

use deadpool_postgres::Object;
use time::OffsetDateTime;

use super::rows::{column, execute, ms, query_one, query_opt};
use crate::storage::StoreError;

pub async fn find(client: &mut Object, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row = query_opt(
        &*client,
        "SELECT value FROM secrets WHERE name = $1",
        &[&name],
    )
    .await?;
    row.map(|row| column(&row, 0, "secrets")).transpose()
}

/// Stores `value` unless `name` has one; returns the one stored.
pub async fn create(
    client: &mut Object,
    name: &str,
    value: &[u8],
    now: OffsetDateTime,
) -> Result<Vec<u8>, StoreError> {
    execute(
        &*client,
        "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO NOTHING",
        &[&name, &value, &ms(now)],
    )
    .await?;
    let row = query_one(
        &*client,
        "SELECT value FROM secrets WHERE name = $1",
        &[&name],
    )
    .await?;
    column(&row, 0, "secrets")
}
