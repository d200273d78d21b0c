//! One post: read its page, queue its announcement and the webmentions its
//! content version needs, or its deletes when it answers 410.
//!
//! Invariant: a post's sends are queued before its new version is recorded
//! (a crash in between re-queues, deduplicated by key, instead of losing
//! them), and a dry run reads but never writes, queues or sends.

use serde::Serialize;
use url::Url;

use super::{PostError, ScanReport};
use crate::App;
use crate::activitypub::publish::{OutgoingPost, PostChange};
use crate::clients::http::Fetched;
use crate::clients::webmention::Discovery;
use crate::domain::job::NewJob;
use crate::domain::sent::{GONE_VERSION, SentSource, targets_on_delete, targets_to_send};
use crate::domain::{PostState, PostUrl};
use crate::protocol::page_meta::parse_page_meta;
use crate::protocol::post_links::read_post;
use crate::protocol::source_links::html_declares_gone;

const ACCEPT_HTML: &str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1";

/// What became of a post, compared with what was sent for it before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Changed,
    Unchanged,
    Deleted,
}

/// What a dry run would do for one post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostPlan {
    pub url: String,
    pub change: Change,
    /// Whether it would be announced, and why (not).
    pub announce: String,
    pub targets: Vec<TargetPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetPlan {
    pub target: String,
    /// The endpoint discovery found, or what it found instead.
    pub endpoint: Option<String>,
    pub note: String,
}

/// What publishing one post did.
pub struct PostDone {
    change: Change,
    announcements: usize,
    sends: usize,
    plan: Option<PostPlan>,
}

impl PostDone {
    pub fn count(self, report: &mut ScanReport) {
        match self.change {
            Change::New => report.new += 1,
            Change::Changed => report.changed += 1,
            Change::Deleted => report.deleted += 1,
            Change::Unchanged => {}
        }
        report.announcements_queued += self.announcements;
        report.sends_queued += self.sends;
        report.plans.extend(self.plan);
    }
}

async fn fetch_page(app: &App, url: &Url) -> Result<Fetched, PostError> {
    let sender = app.publisher.sender();
    let request = sender
        .request(reqwest::Method::GET, url.clone())
        .header(reqwest::header::ACCEPT, ACCEPT_HTML);
    Ok(sender.get(request, url).await?)
}

fn is_gone(page: &Fetched) -> bool {
    page.status == http::StatusCode::GONE
        || (page.status.is_success() && html_declares_gone(&page.text_lossy()))
}

/// Publishes (or re-checks) the post at `url`; `feed_content` is its feed
/// entry's content, if it came from a feed.
pub async fn publish_post(
    app: &App,
    url: &Url,
    feed_content: Option<&str>,
    dry_run: bool,
) -> Result<PostDone, PostError> {
    let page = fetch_page(app, url).await?;
    if is_gone(&page) {
        return delete_post(app, url, dry_run).await;
    }
    if !page.status.is_success() {
        return Err(PostError::Status(page.status.as_u16()));
    }
    let html = page.text_lossy();
    let post = read_post(&html, &page.final_url, feed_content);
    let previous = app.store.find_sent(url).await?;
    let (announcements, announce) = announce(app, url, dry_run).await?;
    let change = match &previous {
        None => Change::New,
        Some(p) if p.gone || p.version.as_deref() != Some(post.version.as_str()) => Change::Changed,
        Some(_) => Change::Unchanged,
    };
    let targets =
        targets_to_send(previous.as_ref(), &post.links, &post.version).unwrap_or_default();
    if dry_run {
        let plan = PostPlan {
            url: url.to_string(),
            change,
            announce,
            targets: plan_targets(app, &targets).await,
        };
        return Ok(PostDone {
            change,
            announcements,
            sends: targets.len(),
            plan: Some(plan),
        });
    }
    let sends = queue_sends(app, url, &targets, &post.version).await?;
    if change != Change::Unchanged {
        app.store
            .record_version(url, &post.version, &post.links, false, app.clock.now())
            .await?;
        tracing::info!(%url, ?change, sends, origin = post.origin.label(), "post published");
        let change = match change {
            Change::New => PostChange::Create,
            _ => PostChange::Update,
        };
        federate(app, change, outgoing(app, url, &html, feed_content, change)).await?;
    }
    Ok(PostDone {
        change,
        announcements,
        sends,
        plan: None,
    })
}

/// Checks a post that left its feed, once: gone (410, or the meta tag)
/// means its deletes are queued; anything else means it simply left.
pub async fn check_left(
    app: &App,
    url: &Url,
    dry_run: bool,
) -> Result<Option<PostDone>, PostError> {
    let page = fetch_page(app, url).await?;
    if is_gone(&page) {
        return delete_post(app, url, dry_run).await.map(Some);
    }
    if page.status.is_server_error() || page.status == http::StatusCode::TOO_MANY_REQUESTS {
        return Err(PostError::Status(page.status.as_u16()));
    }
    Ok(None)
}

/// §3.1.5: re-send to every target the post ever linked, once.
async fn delete_post(app: &App, url: &Url, dry_run: bool) -> Result<PostDone, PostError> {
    let previous = app.store.find_sent(url).await?;
    let targets = previous.as_ref().map(targets_on_delete).unwrap_or_default();
    let change = if previous.as_ref().is_some_and(|p| !p.gone) {
        Change::Deleted
    } else {
        Change::Unchanged
    };
    if dry_run {
        return Ok(PostDone {
            change,
            announcements: 0,
            sends: targets.len(),
            plan: Some(PostPlan {
                url: url.to_string(),
                change,
                announce: "gone (410): not announced".to_owned(),
                targets: plan_targets(app, &targets).await,
            }),
        });
    }
    let sends = queue_sends(app, url, &targets, GONE_VERSION).await?;
    if let Some(SentSource {
        links, gone: false, ..
    }) = &previous
    {
        app.store
            .record_version(url, GONE_VERSION, links, true, app.clock.now())
            .await?;
        tracing::info!(%url, sends, "post deleted: its webmentions are sent again");
        let gone = outgoing(app, url, "", None, PostChange::Delete);
        federate(app, PostChange::Delete, gone).await?;
    }
    Ok(PostDone {
        change,
        announcements: 0,
        sends,
        plan: None,
    })
}

/// What the post's followers on the fediverse are told (ActivityPub on).
fn outgoing(
    app: &App,
    url: &Url,
    html: &str,
    feed_content: Option<&str>,
    change: PostChange,
) -> OutgoingPost {
    let meta = parse_page_meta(html);
    let now = app.clock.now();
    OutgoingPost {
        url: url.clone(),
        title: meta.mastodon_title.or(meta.page_title),
        summary: meta.description,
        content: feed_content.map(str::to_owned),
        published: now,
        updated: (change == PostChange::Update).then_some(now),
        tags: meta
            .tags
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        image: None,
    }
}

async fn federate(app: &App, change: PostChange, post: OutgoingPost) -> Result<(), PostError> {
    if let Some(federation) = &app.federation {
        federation.federate(change, &post).await?;
    }
    Ok(())
}

async fn queue_sends(
    app: &App,
    source: &Url,
    targets: &[Url],
    version: &str,
) -> Result<usize, PostError> {
    let now = app.clock.now();
    for target in targets {
        app.queue
            .enqueue(&NewJob::send_webmention(source, target, version, now))
            .await?;
    }
    Ok(targets.len())
}

/// Queues the post's announcement when it is one of the blog's posts and
/// has none; says what it did (or would do).
async fn announce(app: &App, url: &Url, dry_run: bool) -> Result<(usize, String), PostError> {
    let Some(announcer) = &app.announcer else {
        return Ok((0, "announcing is off (no Mastodon settings)".to_owned()));
    };
    let Ok(post) = announcer.accept_url(Some(url.as_str())) else {
        return Ok((
            0,
            "not announced: the URL does not match BLOG_POST_PATTERN".to_owned(),
        ));
    };
    let note = match app.store.find_post(&post).await?.map(|r| r.state) {
        Some(PostState::Announced { toot_id }) => format!("already announced as toot {toot_id}"),
        Some(PostState::Failed { reason }) => {
            format!("announcing failed earlier ({reason}); `backfeed posts retry` tries again")
        }
        Some(PostState::Claimed { .. }) => "being announced now".to_owned(),
        None if dry_run => "would be announced".to_owned(),
        None => {
            queue_announcement(app, &post).await?;
            return Ok((1, "announcement queued".to_owned()));
        }
    };
    Ok((0, note))
}

async fn queue_announcement(app: &App, post: &PostUrl) -> Result<(), PostError> {
    app.queue
        .enqueue(&NewJob::announce_post(post, app.clock.now()))
        .await?;
    Ok(())
}

/// Discovers each target's endpoint (sending nothing) for a dry run.
async fn plan_targets(app: &App, targets: &[Url]) -> Vec<TargetPlan> {
    let mut plans = Vec::with_capacity(targets.len());
    for target in targets {
        plans.push(plan_target(app, target).await);
    }
    plans
}

async fn plan_target(app: &App, target: &Url) -> TargetPlan {
    let plan = |endpoint: Option<String>, note: String| TargetPlan {
        target: target.to_string(),
        endpoint,
        note,
    };
    if super::send::is_own_site(app, target) {
        return plan(None, "handed to this backfeed's receiver".to_owned());
    }
    match app.publisher.sender().discover(target).await {
        Ok(Discovery::Endpoint { url, via }) => plan(
            Some(url.to_string()),
            format!("endpoint found ({via:?})").to_lowercase(),
        ),
        Ok(Discovery::NoEndpoint { status }) => {
            plan(None, format!("no endpoint (the target answered {status})"))
        }
        Err(error) => plan(None, error.to_string()),
    }
}
