//! The `webhook_deliveries` and `blocked_domains` tables.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use super::{exec, millis, row};
use crate::storage::rows::RawDelivery;
use crate::storage::{Delivery, StoreError};

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

pub fn claim_delivery(
    conn: &mut Connection,
    now: OffsetDateTime,
    until: OffsetDateTime,
    token: String,
) -> Outcome<Option<Delivery>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let due = row(
        &tx,
        "SELECT id, mention_id, event, attempts FROM webhook_deliveries
             WHERE due_at <= ?1 AND (claimed_until IS NULL OR claimed_until <= ?1)
             ORDER BY due_at, id LIMIT 1",
        [millis(now)],
        |row| {
            Ok(RawDelivery {
                id: row.get(0)?,
                mention_id: row.get(1)?,
                event: row.get(2)?,
                attempts: row.get(3)?,
            })
        },
    )
    .optional()?;
    let Some(delivery) = due else {
        return Ok(Ok(None));
    };
    exec(
        &tx,
        "UPDATE webhook_deliveries SET claim_token = ?2, claimed_until = ?3 WHERE id = ?1",
        params![delivery.id, token, millis(until)],
    )?;
    tx.commit()?;
    Ok(delivery.into_delivery(token).map(Some))
}

pub fn settle_delivery(
    conn: &mut Connection,
    delivery: &Delivery,
    retry_after: Option<std::time::Duration>,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let changed = match retry_after {
        None => exec(conn,
            "DELETE FROM webhook_deliveries WHERE id = ?1 AND claim_token = ?2",
            params![delivery.id, delivery.token],
        )?,
        Some(delay) => exec(conn,
            "UPDATE webhook_deliveries SET attempts = attempts + 1, due_at = ?3, claim_token = NULL,
                 claimed_until = NULL WHERE id = ?1 AND claim_token = ?2",
            params![delivery.id, delivery.token, millis(now + delay)],
        )?,
    };
    Ok(changed > 0)
}

pub fn block_domain(
    conn: &mut Connection,
    domain: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<()> {
    exec(
        conn,
        "INSERT INTO blocked_domains (domain, created_at) VALUES (?1, ?2) ON CONFLICT (domain) DO NOTHING",
        params![domain, millis(now)],
    )?;
    Ok(())
}

pub fn unblock_domain(conn: &mut Connection, domain: &str) -> rusqlite::Result<bool> {
    Ok(exec(
        conn,
        "DELETE FROM blocked_domains WHERE domain = ?1",
        [domain],
    )? > 0)
}

pub fn blocked_domains(conn: &mut Connection) -> rusqlite::Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT domain FROM blocked_domains ORDER BY domain")?;
    statement.query_map([], |row| row.get(0))?.collect()
}
