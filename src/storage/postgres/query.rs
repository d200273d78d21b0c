//! Mention queries for the read API and the admin tools.
//!
//! Invariant: values are always bound as parameters, never written into
//! the SQL; only fixed fragments (column names, sort direction) are. The
//! order matches the SQLite backend: the sort key, then the id.

use deadpool_postgres::Object;
use time::OffsetDateTime;
use tokio_postgres::types::ToSql;

use super::mentions::{COLUMNS, raw_mention};
use super::rows::{count, ms, query, query_one};
use crate::domain::mention::Mention;
use crate::storage::StoreError;
use crate::storage::mentions::{MentionQuery, SortDirection, SortField, host_prefixes};

pub async fn mentions(
    client: &mut Object,
    request: &MentionQuery,
) -> Result<Vec<Mention>, StoreError> {
    let mut filter = Filter::of(request);
    let direction = match request.direction {
        SortDirection::Ascending => "ASC",
        SortDirection::Descending => "DESC",
    };
    // `COLLATE "C"`: byte order, as SQLite and S3 sort, whatever the
    // database's collation.
    let order = match request.sort {
        SortField::Received => format!("received_at {direction}"),
        SortField::Published => {
            format!("COALESCE(published, '') COLLATE \"C\" {direction}, received_at {direction}")
        }
        SortField::Updated => format!("updated_at {direction}"),
    };
    let limit = filter.bind(i64::from(request.per_page));
    let offset = filter.bind(i64::from(request.page) * i64::from(request.per_page));
    let sql = format!(
        "SELECT {COLUMNS} FROM mentions {} ORDER BY {order}, id {direction} \
         LIMIT {limit} OFFSET {offset}",
        filter.clause()
    );
    let rows = query(&*client, &sql, &filter.params()).await?;
    rows.iter()
        .map(|row| raw_mention(row)?.into_mention())
        .collect()
}

pub async fn count_mentions(
    client: &mut Object,
    request: &MentionQuery,
) -> Result<u64, StoreError> {
    let filter = Filter::of(request);
    let sql = format!("SELECT COUNT(*) FROM mentions {}", filter.clause());
    let row = query_one(&*client, &sql, &filter.params()).await?;
    count(&row, "mentions count")
}

/// A WHERE clause and the values bound to its `$n` placeholders.
struct Filter {
    conditions: Vec<String>,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    fn of(request: &MentionQuery) -> Self {
        let mut filter = Self {
            conditions: Vec::new(),
            values: Vec::new(),
        };
        if !request.targets.is_empty() {
            let targets: Vec<String> = request.targets.iter().map(ToString::to_string).collect();
            let at = filter.bind(targets);
            filter.conditions.push(format!("target = ANY({at})"));
        }
        if let Some(host) = &request.domain {
            // `starts_with`, not a range: a range follows the database's
            // collation, which need not be byte order.
            let prefixes: Vec<String> = host_prefixes(host).into();
            let at = filter.bind(prefixes);
            filter.conditions.push(format!(
                "EXISTS (SELECT 1 FROM unnest({at}::text[]) AS p WHERE starts_with(target, p))"
            ));
        }
        if request.visible_only {
            filter
                .conditions
                .push("verification = 'verified' AND moderation = 'approved'".to_owned());
        }
        if !request.properties.is_empty() {
            let at = filter.bind(request.properties.clone());
            filter.conditions.push(format!("property = ANY({at})"));
        }
        if let Some(moderation) = request.moderation {
            let at = filter.bind(moderation.label());
            filter.conditions.push(format!("moderation = {at}"));
        }
        if let Some(state) = request.verification {
            let at = filter.bind(state.label());
            filter.conditions.push(format!("verification = {at}"));
        }
        if let Some(since) = request.since {
            let at = filter.bind::<OffsetDateTime>(ms(since));
            filter.conditions.push(format!("received_at > {at}"));
        }
        if let Some(since_id) = request.since_id {
            let at = filter.bind(since_id.0);
            filter.conditions.push(format!("id > {at}"));
        }
        if let Some(text) = &request.search {
            // strpos, not LIKE: the text is matched literally.
            let at = filter.bind(text.to_ascii_lowercase());
            filter.conditions.push(format!(
                "(strpos(lower(source), {at}) > 0 OR strpos(lower(target), {at}) > 0)"
            ));
        }
        filter
    }

    /// Adds a value and returns its placeholder.
    fn bind<T: ToSql + Sync + Send + 'static>(&mut self, value: T) -> String {
        self.values.push(Box::new(value));
        format!("${}", self.values.len())
    }

    fn clause(&self) -> String {
        if self.conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conditions.join(" AND "))
        }
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}
