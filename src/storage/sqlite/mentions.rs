//! The `mentions` table.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params, params_from_iter};
use time::OffsetDateTime;
use url::Url;

use super::{exec, millis, row};
use crate::domain::job::NewJob;
use crate::domain::mention::{Mention, MentionData, MentionId, Moderation, Relation, Transition};
use crate::storage::StoreError;
use crate::storage::mentions::{
    MentionQuery, Settled, SortDirection, SortField, host_prefixes, prefix_end,
};
use crate::storage::rows::RawMention;

type Outcome<T> = rusqlite::Result<Result<T, StoreError>>;

pub(super) const COLUMNS: &str = "id, source, target, verification, reason, moderation, property, rsvp, author_name, author_photo, \
     author_url, content_html, content_text, name, published, url, received_at, updated_at, via";

pub fn receive(
    conn: &mut Connection,
    source: &Url,
    target: &Url,
    moderation: Moderation,
    now: OffsetDateTime,
) -> rusqlite::Result<MentionId> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id: i64 = row(
        &tx,
        "INSERT INTO mentions (source, target, verification, moderation, received_at, updated_at)
         VALUES (?1, ?2, 'pending', ?3, ?4, ?4)
         ON CONFLICT (source, target) DO UPDATE SET updated_at = excluded.updated_at
         RETURNING id",
        params![
            source.as_str(),
            target.as_str(),
            moderation.label(),
            millis(now)
        ],
        |row| row.get(0),
    )?;
    // A re-sent request is verified again: one queued verification per
    // mention, so a re-send while one waits merges into it.
    super::jobs::insert(&tx, &NewJob::verify_mention(MentionId(id), now), now)?;
    tx.commit()?;
    Ok(MentionId(id))
}

pub fn settle(
    conn: &mut Connection,
    id: MentionId,
    transition: &Transition,
    seen: OffsetDateTime,
    now: OffsetDateTime,
) -> rusqlite::Result<Settled> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current: Option<i64> = row(
        &tx,
        "SELECT updated_at FROM mentions WHERE id = ?1",
        [id.0],
        |row| row.get(0),
    )
    .optional()?;
    let outcome = match current {
        None => Settled::Gone,
        Some(_) if matches!(transition, Transition::Keep(_) | Transition::Retry(_)) => {
            Settled::Settled
        }
        Some(updated_at) if updated_at != millis(seen) => Settled::Changed,
        Some(_) => {
            match transition {
                Transition::Verify(data) => write_verified(&tx, id.0, data, now)?,
                Transition::VerifyAndModerate(data, moderation) => {
                    write_verified(&tx, id.0, data, now)?;
                    exec(
                        &tx,
                        "UPDATE mentions SET moderation = ?2 WHERE id = ?1",
                        params![id.0, moderation.label()],
                    )?
                }
                Transition::Reject(reason) => set_state(&tx, id.0, "rejected", reason, now)?,
                Transition::Delete(reason) => set_state(&tx, id.0, "deleted", reason, now)?,
                Transition::Keep(_) | Transition::Retry(_) => 0,
            };
            Settled::Settled
        }
    };
    tx.commit()?;
    Ok(outcome)
}

fn write_verified(
    tx: &Connection,
    id: i64,
    data: &MentionData,
    now: OffsetDateTime,
) -> rusqlite::Result<usize> {
    let author = data.author.clone().unwrap_or_default();
    let rsvp = match &data.relation {
        Relation::Rsvp(value) => Some(value.as_str()),
        _ => None,
    };
    exec(tx,
        "UPDATE mentions SET verification = 'verified', reason = NULL, property = ?2, rsvp = ?3,
             author_name = ?4, author_photo = ?5, author_url = ?6, content_html = ?7, content_text = ?8,
             name = ?9, published = ?10, url = ?11, updated_at = ?12, via = ?13
         WHERE id = ?1",
        params![
            id,
            data.relation.property(),
            rsvp,
            author.name,
            author.photo,
            author.url,
            data.content_html,
            data.content_text,
            data.name,
            data.published,
            data.url,
            millis(now),
            data.via.to_stored()
        ],
    )
}

fn set_state(
    tx: &Connection,
    id: i64,
    state: &str,
    reason: &str,
    now: OffsetDateTime,
) -> rusqlite::Result<usize> {
    exec(
        tx,
        "UPDATE mentions SET verification = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1",
        params![id, state, reason, millis(now)],
    )
}

pub fn find(conn: &mut Connection, id: MentionId) -> Outcome<Option<Mention>> {
    let sql = format!("SELECT {COLUMNS} FROM mentions WHERE id = ?1");
    let row = row(conn, &sql, [id.0], raw_mention).optional()?;
    Ok(row.map(RawMention::into_mention).transpose())
}

pub fn query(conn: &mut Connection, query: &MentionQuery) -> Outcome<Vec<Mention>> {
    let (filter, mut values) = where_clause(query);
    let direction = match query.direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    let order = match query.sort {
        SortField::Received => format!("received_at {direction}"),
        SortField::Published => {
            format!("COALESCE(published, '') {direction}, received_at {direction}")
        }
        SortField::Updated => format!("updated_at {direction}"),
    };
    values.push(Value::Integer(i64::from(query.per_page)));
    values.push(Value::Integer(
        i64::from(query.page) * i64::from(query.per_page),
    ));
    let sql = format!(
        "SELECT {COLUMNS} FROM mentions {filter} ORDER BY {order}, id {direction} LIMIT ? OFFSET ?"
    );
    let mut statement = conn.prepare(&sql)?;
    let rows = statement
        .query_map(params_from_iter(values), raw_mention)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows.into_iter().map(RawMention::into_mention).collect())
}

pub fn count(conn: &mut Connection, query: &MentionQuery) -> rusqlite::Result<u64> {
    let (filter, values) = where_clause(query);
    let sql = format!("SELECT COUNT(*) FROM mentions {filter}");
    let count: i64 = row(conn, &sql, params_from_iter(values), |row| row.get(0))?;
    Ok(u64::try_from(count).unwrap_or_default())
}

/// Builds the WHERE clause with positional parameters, never interpolating
/// values into SQL.
fn where_clause(query: &MentionQuery) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    let placeholders = |n: usize| vec!["?"; n].join(", ");
    if !query.targets.is_empty() {
        conditions.push(format!("target IN ({})", placeholders(query.targets.len())));
        values.extend(query.targets.iter().map(|t| Value::Text(t.to_string())));
    }
    if let Some(host) = &query.domain {
        // Ranges over the `(target, received_at)` index; SQLite compares
        // text byte by byte, so a range is exactly "starts with".
        let mut ranges = Vec::new();
        for prefix in host_prefixes(host) {
            if let Some(end) = prefix_end(&prefix) {
                ranges.push("(target >= ? AND target < ?)");
                values.push(Value::Text(prefix));
                values.push(Value::Text(end));
            }
        }
        conditions.push(format!("({})", ranges.join(" OR ")));
    }
    if query.visible_only {
        conditions.push("verification = 'verified' AND moderation = 'approved'".to_owned());
    }
    if !query.properties.is_empty() {
        conditions.push(format!(
            "property IN ({})",
            placeholders(query.properties.len())
        ));
        values.extend(query.properties.iter().cloned().map(Value::Text));
    }
    if let Some(moderation) = query.moderation {
        conditions.push("moderation = ?".to_owned());
        values.push(Value::Text(moderation.label().to_owned()));
    }
    if let Some(state) = query.verification {
        conditions.push("verification = ?".to_owned());
        values.push(Value::Text(state.label().to_owned()));
    }
    if let Some(since) = query.since {
        conditions.push("received_at > ?".to_owned());
        values.push(Value::Integer(millis(since)));
    }
    if let Some(since_id) = query.since_id {
        conditions.push("id > ?".to_owned());
        values.push(Value::Integer(since_id.0));
    }
    if let Some(text) = &query.search {
        // instr, not LIKE: the text is matched literally, `%` and `_` included.
        conditions.push("(instr(lower(source), ?) > 0 OR instr(lower(target), ?) > 0)".to_owned());
        values.push(Value::Text(text.to_ascii_lowercase()));
        values.push(Value::Text(text.to_ascii_lowercase()));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (filter, values)
}

pub fn set_moderation(
    conn: &mut Connection,
    id: MentionId,
    moderation: Moderation,
    now: OffsetDateTime,
) -> rusqlite::Result<bool> {
    let changed = exec(
        conn,
        "UPDATE mentions SET moderation = ?2, updated_at = ?3 WHERE id = ?1",
        params![id.0, moderation.label(), millis(now)],
    )?;
    Ok(changed > 0)
}

pub fn remove(conn: &mut Connection, id: MentionId) -> rusqlite::Result<bool> {
    // Its verification job, if one waits, finds no mention and ends.
    Ok(exec(conn, "DELETE FROM mentions WHERE id = ?1", [id.0])? > 0)
}

/// Reads one row of `COLUMNS`; `rows` converts it.
pub(super) fn raw_mention(row: &Row<'_>) -> rusqlite::Result<RawMention<i64>> {
    Ok(RawMention {
        id: row.get(0)?,
        source: row.get(1)?,
        target: row.get(2)?,
        verification: row.get(3)?,
        reason: row.get(4)?,
        moderation: row.get(5)?,
        property: row.get(6)?,
        rsvp: row.get(7)?,
        author: [row.get(8)?, row.get(9)?, row.get(10)?],
        content_html: row.get(11)?,
        content_text: row.get(12)?,
        name: row.get(13)?,
        published: row.get(14)?,
        url: row.get(15)?,
        received_at: row.get(16)?,
        updated_at: row.get(17)?,
        via: row.get(18)?,
    })
}
