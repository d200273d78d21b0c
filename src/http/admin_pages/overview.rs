//! `GET /admin/`: how things stand at a glance. Posts by state, mentions
//! by state, comments per day and source over the last 30 days (chart),
//! the job queue, the last errors, the store and the version.
//!
//! Read-only, and only as costly as an admin's page view: the reply counts
//! read the cached threads of the [`THREADS_READ`] most recently active
//! posts, never Mastodon.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use time::{Date, OffsetDateTime};

use super::PagesState;
use super::chart::{self, Day};
use super::guard::{PageError, SignedIn};
use super::layout::{self, Frame, Section};
use crate::App;
use crate::config::DatabaseUrl;
use crate::domain::job::JobState;
use crate::domain::mention::{Moderation, VerificationState};
use crate::domain::{PostState, Visibility};
use crate::storage::{JobFilter, MentionQuery};

/// Days the chart covers.
const DAYS: u16 = 30;
/// Cached threads read for the chart.
const THREADS_READ: usize = 200;
/// Errors listed.
const ERRORS_SHOWN: usize = 8;

pub async fn page(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
) -> Result<Response, PageError> {
    let app = &pages.app;
    let now = app.clock.now();
    let posts = app.store.list_posts().await?;
    let mut post_states: BTreeMap<&str, u64> = BTreeMap::new();
    for post in &posts {
        *post_states.entry(post.state.label()).or_default() += 1;
    }
    let mentions = mention_counts(app).await?;
    let days = comments_per_day(app, &posts, now).await?;
    let queue = app.store.count_jobs().await?;
    let errors = last_errors(app, &posts).await?;
    let store_ok = app.store.ping().await.is_ok();
    let body = html! {
        div.cards {
            section.card aria-labelledby="posts-h" {
                h2 #posts-h { a href="posts" { "Posts" } }
                dl {
                    @for state in ["announced", "failed", "claimed"] {
                        dt { (state) } dd { (post_states.get(state).copied().unwrap_or(0)) }
                    }
                }
            }
            section.card aria-labelledby="mentions-h" {
                h2 #mentions-h { a href="mentions" { "Mentions" } }
                dl {
                    @for (label, count) in &mentions {
                        dt { (label) } dd { (count) }
                    }
                }
            }
            section.card aria-labelledby="queue-h" {
                h2 #queue-h { a href="jobs" { "Job queue" } }
                dl {
                    dt { "waiting" } dd { (queue.iter().map(|(_, c)| c.queued).sum::<u64>()) }
                    dt { "running" } dd { (queue.iter().map(|(_, c)| c.running).sum::<u64>()) }
                    dt { "dead" } dd { (queue.iter().map(|(_, c)| c.dead).sum::<u64>()) }
                }
            }
            section.card aria-labelledby="system-h" {
                h2 #system-h { "System" }
                dl {
                    dt { "version" } dd { (app.config.version) }
                    dt { "store" } dd { (store_kind(&app.config.database)) }
                    dt { "store reachable" } dd { @if store_ok { "yes" } @else { "no" } }
                }
                p.hint { (app.config.database.redacted()) }
            }
        }
        h2 { "Comments in the last " (DAYS) " days" }
        (chart::chart(&days))
        h2 { "Last errors" }
        @if errors.is_empty() {
            p.muted { "None." }
        } @else {
            ul.errors {
                @for error in &errors {
                    li {
                        (layout::time(error.at)) " "
                        a href=(error.link) { (error.what) } ": "
                        span.reason { (layout::excerpt(&error.message, 300)) }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Overview",
            section: Some(Section::Overview),
            csrf: Some(&signed_in.csrf),
            notice: None,
        },
        body,
    )
    .into_response())
}

async fn mention_counts(app: &App) -> Result<Vec<(&'static str, u64)>, PageError> {
    let all = MentionQuery {
        visible_only: false,
        ..MentionQuery::default()
    };
    let mut counts = Vec::new();
    let waiting = MentionQuery {
        moderation: Some(Moderation::Pending),
        ..all.clone()
    };
    counts.push((
        "awaiting approval",
        app.store.count_mentions(&waiting).await?,
    ));
    for state in VerificationState::ALL {
        let query = MentionQuery {
            verification: Some(state),
            ..all.clone()
        };
        counts.push((state.label(), app.store.count_mentions(&query).await?));
    }
    let hidden = MentionQuery {
        moderation: Some(Moderation::Hidden),
        ..all
    };
    counts.push(("hidden", app.store.count_mentions(&hidden).await?));
    Ok(counts)
}

/// Verified webmentions by the day they arrived, and public Mastodon
/// replies by the day they were written, over the last [`DAYS`] days.
async fn comments_per_day(
    app: &App,
    posts: &[crate::domain::PostRecord],
    now: OffsetDateTime,
) -> Result<Vec<Day>, PageError> {
    let first = (now - Duration::from_secs(u64::from(DAYS - 1) * 86_400)).date();
    let mut days: Vec<Day> = (0..DAYS)
        .filter_map(|i| first.checked_add(time::Duration::days(i64::from(i))))
        .map(|date| Day {
            date,
            mastodon: 0,
            webmention: 0,
        })
        .collect();
    let mut count = |date: Date, mastodon: bool| {
        if let Some(day) = days.iter_mut().find(|d| d.date == date) {
            if mastodon {
                day.mastodon += 1;
            } else {
                day.webmention += 1;
            }
        }
    };
    let since = first.midnight().assume_utc();
    let mut page = 0;
    loop {
        let query = MentionQuery {
            visible_only: false,
            verification: Some(VerificationState::Verified),
            since: Some(since),
            page,
            per_page: 500,
            ..MentionQuery::default()
        };
        let mentions = app.store.query_mentions(&query).await?;
        for mention in &mentions {
            count(mention.received_at.date(), false);
        }
        if mentions.len() < 500 {
            break;
        }
        page += 1;
    }
    let hidden = app.store.hidden_replies().await?;
    let mut announced: Vec<_> = posts
        .iter()
        .filter(|p| matches!(p.state, PostState::Announced { .. }))
        .collect();
    announced.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    for post in announced.into_iter().take(THREADS_READ) {
        let Some(thread) = app.store.load_thread(&post.url).await? else {
            continue;
        };
        for reply in &thread.replies {
            let shown = reply.visibility == Some(Visibility::Public)
                || (app.config.threads.include_unlisted
                    && reply.visibility == Some(Visibility::Unlisted));
            let hidden = hidden.statuses.contains(reply.id.as_str())
                || hidden
                    .accounts
                    .contains(&reply.author.acct.to_ascii_lowercase());
            if shown && !hidden {
                count(reply.created_at.date(), true);
            }
        }
    }
    Ok(days)
}

struct LastError {
    at: OffsetDateTime,
    what: String,
    link: &'static str,
    message: String,
}

/// Failed posts and jobs with an error (dead, or waiting to be retried),
/// newest first.
async fn last_errors(
    app: &App,
    posts: &[crate::domain::PostRecord],
) -> Result<Vec<LastError>, PageError> {
    let mut errors: Vec<LastError> = posts
        .iter()
        .filter_map(|post| match &post.state {
            PostState::Failed { reason } => Some(LastError {
                at: post.updated_at,
                what: format!("post {}", post.url),
                link: "posts?state=failed",
                message: reason.clone(),
            }),
            _ => None,
        })
        .collect();
    for state in [JobState::Dead, JobState::Queued] {
        let filter = JobFilter {
            state: Some(state),
            limit: 50,
            ..JobFilter::default()
        };
        for job in app.store.list_jobs(&filter).await? {
            if let Some(message) = &job.last_error {
                errors.push(LastError {
                    at: job.updated_at,
                    what: format!("{} job ({})", job.kind, job.state),
                    link: if state == JobState::Dead {
                        "jobs?state=dead"
                    } else {
                        "jobs?state=retrying"
                    },
                    message: message.clone(),
                });
            }
        }
    }
    errors.sort_by_key(|e| std::cmp::Reverse(e.at));
    errors.truncate(ERRORS_SHOWN);
    Ok(errors)
}

fn store_kind(url: &DatabaseUrl) -> &'static str {
    match url {
        DatabaseUrl::Sqlite(_) => "SQLite",
        DatabaseUrl::Postgres(_) => "PostgreSQL",
        DatabaseUrl::S3 { .. } => "S3",
        DatabaseUrl::DynamoDb { .. } => "DynamoDB",
    }
}
