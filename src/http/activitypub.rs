//! The blog actor's public documents: WebFinger, NodeInfo, the actor and
//! its collections, and the inbox (`POST /ap/inbox`, shared `POST /inbox`).
//! Routed only when ActivityPub is on. Thin: each handler reads the request,
//! asks `activitypub::Federation`, and answers with its media type.

use axum::body::{Body, to_bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use super::AppState;
use super::error::ApiError;
use crate::activitypub::documents::{self, ACTIVITY_JSON, JRD_JSON};
use crate::activitypub::inbox::MAX_BODY;
use crate::activitypub::publish::PostDocument;
use crate::activitypub::verify::SignedRequest;
use crate::activitypub::{Federation, InboxError};

fn federation(app: &AppState) -> Result<&Federation, ApiError> {
    app.federation.as_deref().ok_or_else(ApiError::not_found)
}

fn param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn json(media_type: &'static str, doc: &Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(media_type)),
            (header::VARY, HeaderValue::from_static("Accept")),
        ],
        doc.to_string(),
    )
        .into_response()
}

/// RFC 7033: 400 without a resource, 404 for someone else, CORS `*` always.
pub async fn webfinger(State(app): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let cors = [(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    )];
    let answer = match (federation(&app), param(query.as_deref(), "resource")) {
        (Err(e), _) => e.into_response(),
        (Ok(_), None) => {
            ApiError::bad_request("the `resource` parameter is missing").into_response()
        }
        (Ok(fed), Some(resource)) => {
            match documents::webfinger(&fed.config, &fed.urls, &resource) {
                Some(jrd) => json(JRD_JSON, &jrd),
                None => ApiError::not_found().into_response(),
            }
        }
    };
    (cors, answer).into_response()
}

pub async fn nodeinfo_links(State(app): State<AppState>) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    Ok(json(
        "application/json",
        &documents::nodeinfo_links(&fed.urls),
    ))
}

pub async fn nodeinfo(State(app): State<AppState>) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    let posts = fed.published_count().await?;
    Ok(json(
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
        &documents::nodeinfo(&app.config.version, posts),
    ))
}

/// A browser (HTML ranked above JSON) is sent to the blog; everyone else
/// gets the actor.
pub async fn actor(State(app): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    if wants_html(&headers) {
        let mut response = Redirect::to(fed.config.blog_url.as_str()).into_response();
        response
            .headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Accept"));
        return Ok(response);
    }
    let key = fed.key().await?;
    Ok(json(
        ACTIVITY_JSON,
        &documents::actor(&fed.config, &fed.urls, &key),
    ))
}

/// Whether `Accept` names HTML and no ActivityStreams type.
fn wants_html(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("text/html") && !accept.contains("activity+json") && !accept.contains("ld+json")
}

fn page(query: Option<&str>) -> Option<usize> {
    param(query, "page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
}

/// A `Create` of each published post, newest first.
pub async fn outbox(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    let items = fed.outbox_items().await?;
    Ok(json(
        ACTIVITY_JSON,
        &documents::collection(
            &fed.urls.outbox(),
            items.len() as u64,
            Some(&items),
            page(query.as_deref()),
        ),
    ))
}

/// A post at its object id: the object, a `Tombstone` with 410 once it is
/// deleted; a browser is sent to the post's page.
pub async fn post(
    State(app): State<AppState>,
    Path(encoded): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    let id = fed.urls.at(&format!("/ap/posts/{encoded}"));
    match fed.post_document(id.as_str()).await? {
        PostDocument::Live { page, .. } if wants_html(&headers) => {
            let mut response = Redirect::to(page.as_str()).into_response();
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept"));
            Ok(response)
        }
        PostDocument::Live { object, .. } => Ok(json(ACTIVITY_JSON, &object)),
        PostDocument::Gone { tombstone } => {
            Ok((StatusCode::GONE, json(ACTIVITY_JSON, &tombstone)).into_response())
        }
        PostDocument::Unknown => Err(ApiError::not_found()),
    }
}

/// The count always; the followers' ids only when the operator said so.
pub async fn followers(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    let list = fed.store().list_followers().await?;
    let ids: Vec<Value> = list.iter().map(|f| Value::from(f.actor.clone())).collect();
    let shown = fed.config.show_followers.then_some(ids.as_slice());
    Ok(json(
        ACTIVITY_JSON,
        &documents::collection(
            &fed.urls.followers(),
            list.len() as u64,
            shown,
            page(query.as_deref()),
        ),
    ))
}

pub async fn following(State(app): State<AppState>) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    Ok(json(
        ACTIVITY_JSON,
        &documents::collection(&fed.urls.following(), 0, Some(&[][..]), None),
    ))
}

/// 202 once the activity is verified and queued.
pub async fn inbox(
    State(app): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let fed = federation(&app)?;
    let body = to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::from(InboxError::TooLarge))?;
    let request = SignedRequest {
        method: "post",
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    fed.receive(&request).await?;
    Ok(StatusCode::ACCEPTED.into_response())
}
