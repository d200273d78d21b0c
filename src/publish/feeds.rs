//! One feed: a conditional GET (`If-None-Match`, `If-Modified-Since`), then
//! the entries that are new or changed since the last complete read, and
//! the ones that left it.
//!
//! Invariant: the validators are stored only after a read whose every post
//! was handled, so a feed read in part (a deadline, a post that could not
//! be fetched) is read in full next time; entries handled are recorded as
//! the scan goes, so a killed run does not redo them. An unchanged feed
//! costs one request, one store read and one store write.

use futures_util::future::join_all;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use time::OffsetDateTime;
use url::Url;

use super::post::{check_left, publish_post};
use super::{Progress, PublishError, PublishRequest, ScanReport};
use crate::App;
use crate::domain::sent::FeedState;
use crate::protocol::feed::{FeedEntry, parse};

const ACCEPT_FEED: &str = "application/atom+xml, application/rss+xml, application/feed+json, \
                           application/json;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1";
/// Posts read at once (the sender's per-host limit still holds).
const POSTS_AT_ONCE: usize = 4;
/// Entries handled between two saves of the feed's state.
const SAVE_EVERY: usize = 32;

/// What the feed answered.
enum Read {
    Unchanged,
    Entries {
        entries: Vec<FeedEntry>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

async fn read_feed(app: &App, feed: &Url, state: &FeedState) -> Result<Read, String> {
    let sender = app.publisher.sender();
    let mut request = sender
        .request(reqwest::Method::GET, feed.clone())
        .header(reqwest::header::ACCEPT, ACCEPT_FEED);
    if let Some(etag) = &state.etag {
        request = request.header(IF_NONE_MATCH, etag);
    }
    if let Some(modified) = &state.last_modified {
        request = request.header(IF_MODIFIED_SINCE, modified);
    }
    let answer = sender
        .get(request, feed)
        .await
        .map_err(|e| format!("{feed}: {e}"))?;
    if answer.status == http::StatusCode::NOT_MODIFIED {
        return Ok(Read::Unchanged);
    }
    if !answer.status.is_success() {
        return Err(format!(
            "{feed}: the feed answered HTTP {}",
            answer.status.as_u16()
        ));
    }
    let header = |name| {
        answer
            .headers
            .get(name)
            .and_then(|v: &http::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let entries = parse(&answer.body, &answer.final_url).map_err(|e| format!("{feed}: {e}"))?;
    Ok(Read::Entries {
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
        entries,
    })
}

async fn publish_entry<'a>(
    app: &App,
    entry: &'a FeedEntry,
    dry_run: bool,
) -> (
    &'a FeedEntry,
    Result<super::post::PostDone, super::PostError>,
) {
    let done = publish_post(app, &entry.url, entry.content.as_deref(), dry_run).await;
    (entry, done)
}

pub async fn scan_feed(
    app: &App,
    feed: &Url,
    request: &PublishRequest,
    progress: &dyn Progress,
    report: &mut ScanReport,
) -> Result<(), PublishError> {
    let now = app.clock.now();
    let mut state = app
        .store
        .load_feed(feed)
        .await?
        .unwrap_or_else(|| FeedState::new(feed.clone(), OffsetDateTime::UNIX_EPOCH));
    let (entries, etag, last_modified) = match read_feed(app, feed, &state).await {
        Err(error) => {
            tracing::warn!(%error, "a feed could not be read");
            report.feed_errors.push(error);
            return Ok(());
        }
        Ok(Read::Unchanged) => {
            report.feeds_unchanged += 1;
            report.posts_seen += state.entries.len();
            if !request.dry_run {
                state.checked_at = now;
                app.store.save_feed(&state).await?;
            }
            return Ok(());
        }
        Ok(Read::Entries {
            entries,
            etag,
            last_modified,
        }) => (entries, etag, last_modified),
    };
    report.feeds_read += 1;
    report.posts_seen += entries.len();
    let todo: Vec<&FeedEntry> = entries
        .iter()
        .filter(|e| state.entries.get(e.url.as_str()) != Some(&e.digest))
        .collect();
    let left: Vec<Url> = state
        .entries
        .keys()
        .filter(|known| !entries.iter().any(|e| e.url.as_str() == known.as_str()))
        .filter_map(|known| Url::parse(known).ok())
        .collect();
    progress.add((todo.len() + left.len()) as u64);
    // Validators are only kept when everything below is handled.
    state.etag = None;
    state.last_modified = None;
    let mut complete = true;
    let mut handled = 0;
    let mut failures = Vec::new();
    let mut pending = todo.into_iter().peekable();
    // Batches, not a rolling window: the feed's state is saved between
    // batches, and no post's future may sit unpolled holding the store's
    // writer while that save waits for it.
    while pending.peek().is_some() {
        if request.deadline.is_some_and(|d| app.clock.now() >= d) {
            complete = false;
            break;
        }
        let mut batch = Vec::with_capacity(POSTS_AT_ONCE);
        for entry in pending.by_ref().take(POSTS_AT_ONCE) {
            batch.push(publish_entry(app, entry, request.dry_run));
        }
        for (entry, done) in join_all(batch).await {
            progress.done(&entry.url);
            match done {
                Ok(done) => {
                    done.count(report);
                    state
                        .entries
                        .insert(entry.url.to_string(), entry.digest.clone());
                    handled += 1;
                }
                Err(error) => failures.push(format!("{}: {error}", entry.url)),
            }
        }
        if handled >= SAVE_EVERY && !request.dry_run {
            app.store.save_feed(&state).await?;
            handled = 0;
        }
    }
    for url in left {
        progress.done(&url);
        match check_left(app, &url, request.dry_run).await {
            Ok(done) => {
                if let Some(done) = done {
                    done.count(report);
                }
                state.entries.remove(url.as_str());
            }
            Err(error) => failures.push(format!("{url}: {error}")),
        }
    }
    report.complete &= complete;
    let handled_all = complete && failures.is_empty();
    report.post_errors.extend(failures);
    if handled_all {
        state.etag = etag;
        state.last_modified = last_modified;
        state.checked_at = now;
    }
    if !request.dry_run {
        app.store.save_feed(&state).await?;
    }
    Ok(())
}
