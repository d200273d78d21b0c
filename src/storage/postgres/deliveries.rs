//! The `webhook_deliveries` and `blocked_domains` tables.
//!
//! Invariant: like verification jobs, a due delivery is handed to one
//! worker at a time (`FOR UPDATE SKIP LOCKED`, a token and a lease), and
//! only the holder of the current token can settle it.

use std::time::Duration;

use deadpool_postgres::Object;
use time::OffsetDateTime;

use super::rows::{column, execute, ms, query, query_opt, text};
use crate::storage::rows::RawDelivery;
use crate::storage::{Delivery, StoreError};

pub async fn claim_delivery(
    client: &mut Object,
    now: OffsetDateTime,
    lease: Duration,
    token: String,
) -> Result<Option<Delivery>, StoreError> {
    let (until, now) = (ms(now + lease), ms(now));
    let tx = client.transaction().await?;
    let due = query_opt(
        &tx,
        "SELECT id, mention_id, event, attempts FROM webhook_deliveries
         WHERE due_at <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
         ORDER BY due_at, id LIMIT 1
         FOR UPDATE SKIP LOCKED",
        &[&now],
    )
    .await?;
    let Some(row) = due else {
        tx.commit().await?;
        return Ok(None);
    };
    const WHAT: &str = "webhook delivery";
    let id: i64 = column(&row, 0, WHAT)?;
    execute(
        &tx,
        "UPDATE webhook_deliveries SET claim_token = $2, claimed_until = $3 WHERE id = $1",
        &[&id, &token, &until],
    )
    .await?;
    tx.commit().await?;
    let raw = RawDelivery {
        id,
        mention_id: column(&row, 1, WHAT)?,
        event: column(&row, 2, WHAT)?,
        attempts: i64::from(column::<i32>(&row, 3, WHAT)?),
    };
    raw.into_delivery(token).map(Some)
}

pub async fn settle_delivery(
    client: &mut Object,
    delivery: &Delivery,
    retry_after: Option<Duration>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let changed = match retry_after {
        None => {
            execute(
                &*client,
                "DELETE FROM webhook_deliveries WHERE id = $1 AND claim_token = $2",
                &[&delivery.id, &delivery.token],
            )
            .await?
        }
        Some(delay) => {
            execute(
                &*client,
                "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = $3, claim_token = NULL,
                     claimed_until = NULL WHERE id = $1 AND claim_token = $2",
                &[&delivery.id, &delivery.token, &ms(now + delay)],
            )
            .await?
        }
    };
    Ok(changed > 0)
}

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
