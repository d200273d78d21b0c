//! The read API, compatible with webmention.io: `GET /api/mentions.jf2`,
//! `GET /api/count`, and the seed receiver's `POST /web-mentions/query`.
//!
//! Only verified, approved mentions appear. Parameters: `target` (repeatable,
//! also `target[]`), `per-page`, `page` (from 0), `sort-by` (`created`,
//! `updated`, `published`), `sort-dir` (`down`, `up`), `since` (RFC 3339),
//! `since_id`, `wm-property` (repeatable).

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::AppState;
use super::error::ApiError;
use crate::domain::mention::{MentionId, Relation};
use crate::protocol::jf2::{Feed, count_type};
use crate::storage::{MentionQuery, SortDirection, SortField};

const MAX_PER_PAGE: u32 = 1000;
const DEFAULT_PER_PAGE: u32 = 20;

pub async fn mentions_jf2(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let raw = query.unwrap_or_default();
    let key = format!("jf2?{raw}");
    if let Some(body) = app.responses.get(&key) {
        return Ok(json(body));
    }
    let changes = app.responses.changes_now();
    let query = mention_query(&parameters(raw.as_bytes()))?;
    let mentions = app.store.query_mentions(&query).await?;
    let body = Bytes::from(serde_json::to_vec(&Feed::new(&mentions)).unwrap_or_default());
    app.responses.put(key, changes, body.clone());
    Ok(json(body))
}

fn json(body: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

pub async fn count(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let raw = query.unwrap_or_default();
    let key = format!("count?{raw}");
    if let Some(body) = app.responses.get(&key) {
        return Ok(json(body));
    }
    let changes = app.responses.changes_now();
    let targets = targets(&parameters(raw.as_bytes()))?;
    if targets.is_empty() {
        return Err(missing_target());
    }
    let mut types: BTreeMap<&str, u64> = BTreeMap::new();
    let mut total = 0;
    for relation in COUNTED {
        let query = MentionQuery {
            targets: targets.clone(),
            properties: vec![relation.property().to_owned()],
            ..MentionQuery::default()
        };
        let count = app.store.count_mentions(&query).await?;
        if count > 0 {
            types.insert(count_type(&relation), count);
        }
        total += count;
    }
    let body = Bytes::from(serde_json::json!({ "count": total, "type": types }).to_string());
    app.responses.put(key, changes, body.clone());
    Ok(json(body))
}

/// One of each relation, to count by `wm-property`.
const COUNTED: [Relation; 6] = [
    Relation::Reply,
    Relation::Like,
    Relation::Repost,
    Relation::Bookmark,
    Relation::Rsvp(String::new()),
    Relation::Mention,
];

/// `POST /web-mentions/query` with a form or JSON body naming `target`.
pub async fn seed_query(State(app): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let params = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(json) => json
            .get("target")
            .and_then(|t| t.as_str())
            .map(|t| vec![("target".to_owned(), t.to_owned())])
            .unwrap_or_default(),
        Err(_) => parameters(&body),
    };
    let query = mention_query(&params)?;
    let mentions = app.store.query_mentions(&query).await?;
    Ok(Json(Feed::new(&mentions)).into_response())
}

fn parameters(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw).into_owned().collect()
}

fn values<'a>(
    params: &'a [(String, String)],
    names: &'a [&str],
) -> impl Iterator<Item = &'a str> + 'a {
    params
        .iter()
        .filter(move |(key, _)| names.contains(&key.as_str()))
        .map(|(_, value)| value.as_str())
}

fn single<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn missing_target() -> ApiError {
    bad("the `target` parameter is missing: name the page whose mentions you want".to_owned())
}

fn targets(params: &[(String, String)]) -> Result<Vec<Url>, ApiError> {
    values(params, &["target", "target[]"])
        .map(|target| {
            Url::parse(target.trim())
                .map_err(|e| bad(format!("`target` `{target}` is not a valid URL: {e}")))
        })
        .collect()
}

fn mention_query(params: &[(String, String)]) -> Result<MentionQuery, ApiError> {
    let targets = targets(params)?;
    if targets.is_empty() {
        return Err(missing_target());
    }
    let number = |name: &str, default: u32| -> Result<u32, ApiError> {
        single(params, name).map_or(Ok(default), |v| {
            v.trim()
                .parse()
                .map_err(|_| bad(format!("`{name}` must be a whole number, not `{v}`")))
        })
    };
    let per_page = number("per-page", DEFAULT_PER_PAGE)?.clamp(1, MAX_PER_PAGE);
    Ok(MentionQuery {
        targets,
        properties: values(params, &["wm-property", "wm-property[]"])
            .map(str::to_owned)
            .collect(),
        sort: sort_field(single(params, "sort-by"))?,
        direction: sort_direction(single(params, "sort-dir"))?,
        since: single(params, "since")
            .map(|v| {
                OffsetDateTime::parse(v.trim(), &Rfc3339).map_err(|_| {
                    bad(format!(
                        "`since` must be an RFC 3339 time like 2026-11-01T00:00:00Z, not `{v}`"
                    ))
                })
            })
            .transpose()?,
        since_id: single(params, "since_id")
            .map(|v| {
                v.trim()
                    .parse()
                    .map(MentionId)
                    .map_err(|_| bad(format!("`since_id` must be a mention id, not `{v}`")))
            })
            .transpose()?,
        page: number("page", 0)?,
        per_page,
        ..MentionQuery::default()
    })
}

fn sort_field(value: Option<&str>) -> Result<SortField, ApiError> {
    match value.map(str::trim) {
        None | Some("created" | "received") => Ok(SortField::Received),
        Some("updated") => Ok(SortField::Updated),
        Some("published") => Ok(SortField::Published),
        Some(other) => Err(bad(format!(
            "`sort-by` must be created, updated or published, not `{other}`"
        ))),
    }
}

fn sort_direction(value: Option<&str>) -> Result<SortDirection, ApiError> {
    match value.map(str::trim) {
        None | Some("down" | "desc") => Ok(SortDirection::Descending),
        Some("up" | "asc") => Ok(SortDirection::Ascending),
        Some(other) => Err(bad(format!("`sort-dir` must be down or up, not `{other}`"))),
    }
}
