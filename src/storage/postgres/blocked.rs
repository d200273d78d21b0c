//! The `blocked_domains` table.

use deadpool_postgres::Object;
use time::OffsetDateTime;

use super::rows::{column, execute, ms, query, text};
use crate::storage::StoreError;

pub async fn block_domain(
    client: &mut Object,
    domain: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    execute(
        &*client,
        "INSERT INTO blocked_domains (domain, created_at) VALUES ($1, $2)
         ON CONFLICT (domain) DO NOTHING",
        &[&text(domain), &ms(now)],
    )
    .await?;
    Ok(())
}

pub async fn unblock_domain(client: &mut Object, domain: &str) -> Result<bool, StoreError> {
    let removed = execute(
        &*client,
        "DELETE FROM blocked_domains WHERE domain = $1",
        &[&text(domain)],
    )
    .await?;
    Ok(removed > 0)
}

pub async fn blocked_domains(client: &mut Object) -> Result<Vec<String>, StoreError> {
    let rows = query(
        &*client,
        "SELECT domain FROM blocked_domains ORDER BY domain",
        &[],
    )
    .await?;
    rows.iter()
        .map(|row| column(row, 0, "blocked_domains"))
        .collect()
}
