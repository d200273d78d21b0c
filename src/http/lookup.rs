//! `GET /?url=<post url>`: the seed's contract, byte for byte.
//!
//! 200 `{"host":…,"user":…,"toot_id":"…"}`; 400 `{"code":400,"error":"…"}`
//! for a missing or unhandled URL, a post page that is not there yet, or a
//! page that says it is not a post of this blog; 429 with `Retry-After`
//! when new toots are over the rate (see `announce`); 404 for a post not
//! announced yet when `publish.announce_on_view` is off.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use crate::announce::AnnounceError;

/// Field order matters: it is the seed's.
#[derive(Serialize)]
struct Lookup<'a> {
    host: &'a str,
    user: &'a str,
    toot_id: &'a str,
}

pub async fn lookup(
    State(app): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let announcer = app.announcer.as_ref().ok_or(AnnounceError::NotConfigured)?;
    let raw_url = query.as_deref().and_then(url_parameter);
    let url = announcer.accept_url(raw_url.as_deref())?;
    let announcement = announcer.announce_for_view(url).await?;
    let mastodon = &announcer.config().mastodon;
    Ok(Json(Lookup {
        host: &mastodon.base.host,
        user: &mastodon.user,
        toot_id: announcement.toot_id.as_str(),
    })
    .into_response())
}

/// The first `url` parameter, percent-decoded.
fn url_parameter(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "url")
        .map(|(_, value)| value.into_owned())
}
