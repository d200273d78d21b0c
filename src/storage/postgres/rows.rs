//! Running statements and converting rows: what every table module shares.
//!
//! Statements are prepared once per connection (`prepare_cached`) and
//! reused, so each later call is a single round trip.
//!
//! Invariant: a value the database holds but this version cannot read
//! (wrong type, NULL where a value belongs, a time out of range) becomes
//! `StoreError::Corrupt`, never a panic. Times are written at millisecond
//! precision, as the SQLite backend stores them, so both order and compare
//! alike.

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql};

use super::pool::describe;
use crate::storage::StoreError;

/// Column `index` of `row`, or `Corrupt` naming what was being read.
pub fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize, what: &str) -> Result<T, StoreError> {
    row.try_get(index)
        .map_err(|e| StoreError::Corrupt(format!("{what}: column {index}: {}", describe(&e))))
}

/// `at` truncated to whole milliseconds.
pub fn ms(at: OffsetDateTime) -> OffsetDateTime {
    at.replace_nanosecond(at.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(at)
}

/// PostgreSQL text cannot hold NUL characters (SQLite's can); text from
/// other sites is stored with them replaced rather than refused.
pub fn text(value: &str) -> String {
    value.replace('\0', "\u{FFFD}")
}

pub fn opt_text(value: Option<&str>) -> Option<String> {
    value.map(text)
}

/// A count from `COUNT(*)`, never negative.
pub fn count(row: &Row, what: &str) -> Result<u64, StoreError> {
    let count: i64 = column(row, 0, what)?;
    Ok(u64::try_from(count).unwrap_or_default())
}

pub type Params<'a> = [&'a (dyn ToSql + Sync)];

pub async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<u64, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

pub async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Vec<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

pub async fn query_one(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Row, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_one(&statement, params).await?)
}

pub async fn query_opt(
    client: &impl GenericClient,
    sql: &str,
    params: &Params<'_>,
) -> Result<Option<Row>, StoreError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}
