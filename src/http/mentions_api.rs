//! The read API, compatible with webmention.io's: `GET /api/mentions`
//! (`.jf2`, `.json`, `.atom`, `.html`; `/api/links…` alike),
//! `GET /api/count[.json]`, and the seed receiver's
//! `POST /web-mentions/query`.
//!
//! Only verified, approved mentions appear. Parameters and their meanings:
//! `read_request.rs`; who may list without a target: `read_token.rs`;
//! the formats: `protocol::{jf2, links_json, atom, h_feed}`. Answers are
//! rendered once and reused (`response_cache.rs`) until a mention changes.
//!
//! Invariant: an answer lists at most `MAX_PER_PAGE` mentions and is at most
//! [`MAX_ANSWER_BYTES`] long; beyond either, the client is told (400) how to
//! ask, never silently given less.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::AppState;
use super::error::ReadApiError;
use super::extract::{FormOrJson, Query};
use super::read_request::{
    CountRequest, Format, MAX_PER_PAGE, ReadRequest, Scope, SortBy, targets,
};
use super::read_token;
use crate::App;
use crate::domain::mention::{Mention, Relation};
use crate::images::ImageUrls;
use crate::protocol::jf2::{Feed, link_type};
use crate::protocol::{atom, h_feed, links_json};
use crate::storage::{MentionQuery, SortDirection};

/// The longest answer served.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

pub async fn jf2(state: State<AppState>, query: Query) -> Result<Response, ReadApiError> {
    mentions(state, query, Format::Jf2).await
}

pub async fn json(state: State<AppState>, query: Query) -> Result<Response, ReadApiError> {
    mentions(state, query, Format::Json).await
}

pub async fn atom(state: State<AppState>, query: Query) -> Result<Response, ReadApiError> {
    mentions(state, query, Format::Atom).await
}

pub async fn html(state: State<AppState>, query: Query) -> Result<Response, ReadApiError> {
    mentions(state, query, Format::Html).await
}

async fn mentions(
    State(app): State<AppState>,
    Query(params): Query,
    format: Format,
) -> Result<Response, ReadApiError> {
    let request = ReadRequest::parse(&params, format)?;
    if request.needs_token() {
        read_token::authorize(&app.config, &params)?;
    }
    let body = app
        .responses
        .get_or_render(&request.cache_key(), || async {
            let mentions = load(&app, &request).await?;
            let images = app.images.urls().await?;
            render(&request, &mentions, &images, app.clock.now())
        })
        .await?;
    let mut response = (
        [(header::CONTENT_TYPE, content_type(format, &request.jsonp))],
        body,
    )
        .into_response();
    if matches!(request.scope, Scope::Site { .. }) {
        // Listed with a token: for the one who holds it only.
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        );
    }
    Ok(response)
}

/// The page asked for, within [`MAX_PER_PAGE`].
async fn load(app: &App, request: &ReadRequest) -> Result<Vec<Mention>, ReadApiError> {
    if request.matches_nothing {
        return Ok(Vec::new());
    }
    let query = request.query();
    if request.per_page > MAX_PER_PAGE {
        // webmention.io has no maximum and clients ask for 9001 to get
        // everything at once: fine while that fits; past it, a short page
        // would read as "no more" to clients that page, so refuse instead.
        let total = app.store.count_mentions(&query).await?;
        let skipped = u64::from(request.page) * u64::from(request.per_page);
        let remaining = total.saturating_sub(skipped);
        if remaining > u64::from(MAX_PER_PAGE) {
            return Err(ReadApiError::PageTooLarge {
                max: MAX_PER_PAGE,
                remaining,
            });
        }
    }
    let mut mentions = app.store.query_mentions(&query).await?;
    mentions.truncate(MAX_PER_PAGE as usize);
    if request.sort == SortBy::Rsvp {
        sort_by_rsvp(&mut mentions, request.direction);
    }
    Ok(mentions)
}

/// webmention.io sorts a fetched page by RSVP value in Ruby: `no`,
/// `interested`, `maybe`, `yes` going up, the reverse going down. Here
/// other mentions follow the RSVPs, each group keeping its received order.
fn sort_by_rsvp(mentions: &mut [Mention], direction: SortDirection) {
    const UP: [&str; 4] = ["no", "interested", "maybe", "yes"];
    let rank = |mention: &Mention| {
        let value = match mention.data.as_ref().map(|d| &d.relation) {
            Some(Relation::Rsvp(value)) => value.as_str(),
            _ => return UP.len(),
        };
        let up = UP.iter().position(|v| *v == value).unwrap_or(UP.len());
        match direction {
            SortDirection::Ascending => up,
            SortDirection::Descending if up < UP.len() => UP.len() - 1 - up,
            SortDirection::Descending => up,
        }
    };
    mentions.sort_by_key(rank);
}

fn render(
    request: &ReadRequest,
    mentions: &[Mention],
    images: &ImageUrls,
    now: OffsetDateTime,
) -> Result<Bytes, ReadApiError> {
    let body = match request.format {
        Format::Jf2 => serde_json::to_vec(&Feed::new(mentions)).unwrap_or_default(),
        Format::Json => serde_json::to_vec(&links_json::links(mentions)).unwrap_or_default(),
        Format::Atom => {
            let id = format!("tag:backfeed,2017:{}", request.cache_key());
            atom::feed(mentions, &id, now).into_bytes()
        }
        Format::Html => h_feed::page(mentions, images).into_bytes(),
    };
    if body.len() > MAX_ANSWER_BYTES {
        return Err(ReadApiError::AnswerTooLarge {
            max_mb: MAX_ANSWER_BYTES / (1024 * 1024),
        });
    }
    let is_json = matches!(request.format, Format::Jf2 | Format::Json);
    Ok(match &request.jsonp {
        Some(callback) if is_json => with_callback(callback, &body),
        _ => Bytes::from(body),
    })
}

/// `/**/name(…);`: the comment keeps the first bytes from being anything a
/// plug-in could take for its own format.
fn with_callback(callback: &str, json: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(json.len() + callback.len() + 8);
    out.extend_from_slice(b"/**/");
    out.extend_from_slice(callback.as_bytes());
    out.push(b'(');
    out.extend_from_slice(json);
    out.extend_from_slice(b");");
    Bytes::from(out)
}

fn content_type(format: Format, jsonp: &Option<String>) -> &'static str {
    match format {
        Format::Jf2 | Format::Json if jsonp.is_some() => "text/javascript; charset=utf-8",
        // As webmention.io labels both.
        Format::Jf2 | Format::Json => "application/json",
        Format::Atom => "application/atom+xml; charset=utf-8",
        Format::Html => "text/html; charset=utf-8",
    }
}

/// `GET /api/count?target=…`: `{"count", "type": {reply, like, repost,
/// bookmark, mention, rsvp-yes, …}}`, the types that occur.
pub async fn count(
    State(app): State<AppState>,
    Query(params): Query,
) -> Result<Response, ReadApiError> {
    let request = CountRequest::parse(&params)?;
    let body = app
        .responses
        .get_or_render(&request.cache_key(), || async {
            let counts = count_by_type(&app, &request).await?;
            let json = serde_json::json!({
                "count": counts.values().sum::<u64>(),
                "type": counts,
            });
            let json = json.to_string().into_bytes();
            Ok::<_, ReadApiError>(match &request.jsonp {
                Some(callback) => with_callback(callback, &json),
                None => Bytes::from(json),
            })
        })
        .await?;
    let content_type = content_type(Format::Json, &request.jsonp);
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

async fn count_by_type(
    app: &App,
    request: &CountRequest,
) -> Result<BTreeMap<String, u64>, ReadApiError> {
    let mut counts = BTreeMap::new();
    let base = MentionQuery {
        targets: request.targets.clone(),
        ..MentionQuery::default()
    };
    for relation in [
        Relation::Reply,
        Relation::Like,
        Relation::Repost,
        Relation::Bookmark,
        Relation::Mention,
    ] {
        let query = MentionQuery {
            properties: vec![relation.property().to_owned()],
            ..base.clone()
        };
        let count = app.store.count_mentions(&query).await?;
        if count > 0 {
            let name = match relation {
                Relation::Mention => "mention".to_owned(),
                other => link_type(&other),
            };
            counts.insert(name, count);
        }
    }
    // RSVPs by value: few, so they are read and counted here.
    let mut rsvps = MentionQuery {
        properties: vec!["rsvp".to_owned()],
        per_page: MAX_PER_PAGE,
        ..base
    };
    loop {
        let page = app.store.query_mentions(&rsvps).await?;
        for mention in &page {
            if let Some(data) = &mention.data {
                *counts.entry(link_type(&data.relation)).or_default() += 1;
            }
        }
        if page.len() < MAX_PER_PAGE as usize {
            break;
        }
        rsvps.page += 1;
    }
    Ok(counts)
}

/// `POST /web-mentions/query` with a form or JSON body naming `target`:
/// every visible mention of that page, as the replaced Lambda receiver
/// (pfych/web-mentions) answered it: a JSON array of `{id, source, target,
/// createdAt}`, its ids strings and `createdAt` the string of
/// milliseconds since the epoch (its `Date.now().toString()`).
pub async fn seed_query(
    State(app): State<AppState>,
    FormOrJson(params): FormOrJson,
) -> Result<Response, ReadApiError> {
    let targets = targets(&params)?;
    let Some(target) = targets.first() else {
        return Err(ReadApiError::MissingTarget);
    };
    let mut query = MentionQuery {
        targets: vec![target.clone()],
        direction: SortDirection::Ascending,
        per_page: MAX_PER_PAGE,
        ..MentionQuery::default()
    };
    let mut items = Vec::new();
    loop {
        let page = app.store.query_mentions(&query).await?;
        items.extend(page.iter().map(|mention| {
            serde_json::json!({
                "id": mention.id.to_string(),
                "source": mention.source.as_str(),
                "target": mention.target.as_str(),
                "createdAt": (mention.received_at.unix_timestamp_nanos() / 1_000_000).to_string(),
            })
        }));
        if page.len() < MAX_PER_PAGE as usize {
            break;
        }
        query.page += 1;
    }
    Ok(axum::Json(items).into_response())
}

#[cfg(test)]
mod tests {
    use url::Url;

    use super::*;
    use crate::domain::mention::{MentionData, MentionId, Moderation, Verification};

    fn rsvp(id: i64, relation: Relation) -> Mention {
        Mention {
            id: MentionId(id),
            source: Url::parse("https://a.example/").unwrap(),
            target: Url::parse("https://b.example/").unwrap(),
            verification: Verification::Verified,
            moderation: Moderation::Approved,
            data: Some(MentionData {
                relation,
                ..MentionData::default()
            }),
            received_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn rsvps_sort_yes_first_going_down_and_no_first_going_up() {
        let page = || {
            vec![
                rsvp(1, Relation::Rsvp("maybe".into())),
                rsvp(2, Relation::Like),
                rsvp(3, Relation::Rsvp("no".into())),
                rsvp(4, Relation::Rsvp("yes".into())),
                rsvp(5, Relation::Rsvp("interested".into())),
            ]
        };
        let ids = |m: &[Mention]| m.iter().map(|m| m.id.0).collect::<Vec<_>>();
        let mut down = page();
        sort_by_rsvp(&mut down, SortDirection::Descending);
        assert_eq!(ids(&down), [4, 1, 5, 3, 2]);
        let mut up = page();
        sort_by_rsvp(&mut up, SortDirection::Ascending);
        assert_eq!(ids(&up), [3, 5, 1, 4, 2]);
    }

    #[test]
    fn a_jsonp_answer_calls_the_callback_with_the_json() {
        assert_eq!(&with_callback("cb", b"{}")[..], b"/**/cb({});");
    }
}
