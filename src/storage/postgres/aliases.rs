//! The `mention_aliases` table (see `storage::aliases`).

use deadpool_postgres::Object;

use super::rows::{column, execute, query, text};
use crate::domain::mention::MentionId;
use crate::storage::aliases::outcome;
use crate::storage::{Imported, StoreError};

pub async fn alias_mention(
    client: &mut Object,
    alias: &str,
    id: MentionId,
) -> Result<Imported, StoreError> {
    let inserted = execute(
        &*client,
        "INSERT INTO mention_aliases (alias, mention_id) VALUES ($1, $2)
         ON CONFLICT (alias) DO NOTHING",
        &[&text(alias), &id.0],
    )
    .await?;
    if inserted > 0 {
        return Ok(Imported::Copied);
    }
    Ok(outcome(find(client, alias).await?, id))
}

pub async fn find(client: &mut Object, alias: &str) -> Result<Option<MentionId>, StoreError> {
    let rows = query(
        &*client,
        "SELECT mention_id FROM mention_aliases WHERE alias = $1",
        &[&text(alias)],
    )
    .await?;
    rows.first()
        .map(|row| column::<i64>(row, 0, "mention_aliases").map(MentionId))
        .transpose()
}
