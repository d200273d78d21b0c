//! Publishing: the outward work after a deploy. Read the blog's feeds; for
//! each post that is new or changed, queue its announcement on Mastodon and
//! a webmention for every link it makes (W3C Webmention §3.1), and for each
//! post that left the feed and answers 410, re-send to every target it ever
//! linked (§3.1.5).
//!
//! [`scan`] reads feeds and posts and *queues* work; the work itself is
//! jobs on the one durable queue: [`send::run_send`] (discover and POST
//! one webmention), [`handlers::run_announce`] (the exact `GET /?url=`
//! claim, so a post is announced once whichever path comes first) and
//! [`handlers::run_poll`] (the poller: `serve`'s workers and scheduled
//! serverless runs both run it; it re-queues itself after
//! `publish.feed_interval`). `backfeed publish` scans, then drains the queue
//! in-process; `POST /admin/publish` scans and leaves the sends to the
//! workers.
//!
//! Invariants: a feed whose validators answer 304 costs one request and a
//! constant number of store operations; a post whose content version was
//! queued already queues nothing (`domain::sent::targets_to_send`), and a
//! send whose version was delivered already sends nothing, so re-runs and
//! re-queued jobs never send twice; a post's sends are queued before its new
//! version is recorded, so a crash between the two re-queues (deduplicated)
//! instead of losing them.

mod feeds;
pub mod handlers;
mod post;
pub mod send;

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use time::OffsetDateTime;
use url::Url;

use crate::App;
use crate::clients::http::{FetchError, HttpClient};
use crate::clients::webmention::Sender;
use crate::storage::StoreError;

pub use post::{PostPlan, TargetPlan};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("no feed to read: set BACKFEED_FEEDS or give --feed (or --url for one post)")]
    NothingToPublish,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one run is asked to do.
#[derive(Debug, Clone, Default)]
pub struct PublishRequest {
    pub feeds: Vec<Url>,
    /// Single posts to publish or re-check, feed or not.
    pub urls: Vec<Url>,
    /// Discover and report; send, toot and write nothing.
    pub dry_run: bool,
    /// Start no new post after this (scheduled runs); `None` runs to the end.
    pub deadline: Option<OffsetDateTime>,
}

/// What a scan found and queued.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ScanReport {
    /// Feeds that answered 304 (or whose entries all were known).
    pub feeds_unchanged: usize,
    pub feeds_read: usize,
    /// Feeds that could not be read: the run could not do its work.
    pub feed_errors: Vec<String>,
    pub posts_seen: usize,
    pub new: usize,
    pub changed: usize,
    /// Posts that left a feed and answered 410: their deletes were queued.
    pub deleted: usize,
    pub announcements_queued: usize,
    pub sends_queued: usize,
    /// Posts that could not be read this time (tried again next run).
    pub post_errors: Vec<String>,
    /// `false` when the deadline stopped the scan; the next run goes on
    /// (posts that could not be read are in `post_errors` instead).
    pub complete: bool,
    /// Per post, what would be done (`--dry-run` only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub plans: Vec<PostPlan>,
}

/// Counts of what the job handlers did in this process.
#[derive(Debug, Default)]
pub struct Stats {
    announced: AtomicU64,
    sent: AtomicU64,
    no_endpoint: AtomicU64,
    failed: AtomicU64,
    retrying: AtomicU64,
}

/// A snapshot of [`Stats`]; `later - earlier` is what happened in between.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub announced: u64,
    pub sent: u64,
    pub no_endpoint: u64,
    pub failed: u64,
    pub retrying: u64,
}

impl std::ops::Sub for Counts {
    type Output = Self;
    fn sub(self, earlier: Self) -> Self {
        Self {
            announced: self.announced.saturating_sub(earlier.announced),
            sent: self.sent.saturating_sub(earlier.sent),
            no_endpoint: self.no_endpoint.saturating_sub(earlier.no_endpoint),
            failed: self.failed.saturating_sub(earlier.failed),
            retrying: self.retrying.saturating_sub(earlier.retrying),
        }
    }
}

impl Stats {
    pub fn snapshot(&self) -> Counts {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            announced: get(&self.announced),
            sent: get(&self.sent),
            no_endpoint: get(&self.no_endpoint),
            failed: get(&self.failed),
            retrying: get(&self.retrying),
        }
    }

    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// The sender and this process's counts; the use cases take `&App`.
pub struct Publisher {
    sender: Sender,
    stats: Stats,
}

impl Publisher {
    pub fn new(client: HttpClient) -> Self {
        Self {
            sender: Sender::new(client),
            stats: Stats::default(),
        }
    }

    pub fn stats(&self) -> Counts {
        self.stats.snapshot()
    }

    pub(crate) fn sender(&self) -> &Sender {
        &self.sender
    }
}

/// Something that wants to hear of progress (the CLI's progress bar).
pub trait Progress: Send + Sync {
    /// `n` more posts to look at.
    fn add(&self, _n: u64) {}
    /// One post looked at.
    fn done(&self, _post: &Url) {}
}

/// Hears nothing.
pub struct Silent;
impl Progress for Silent {}

/// Reads `request.feeds` and `request.urls` and queues what they need.
pub async fn scan(
    app: &App,
    request: &PublishRequest,
    progress: &dyn Progress,
) -> Result<ScanReport, PublishError> {
    if request.feeds.is_empty() && request.urls.is_empty() {
        return Err(PublishError::NothingToPublish);
    }
    let mut report = ScanReport {
        complete: true,
        ..ScanReport::default()
    };
    for feed in &request.feeds {
        feeds::scan_feed(app, feed, request, progress, &mut report).await?;
    }
    progress.add(request.urls.len() as u64);
    for url in &request.urls {
        report.posts_seen += 1;
        match post::publish_post(app, url, None, request.dry_run).await {
            Ok(done) => done.count(&mut report),
            Err(error) => report.post_errors.push(format!("{url}: {error}")),
        }
        progress.done(url);
    }
    Ok(report)
}

/// What [`run_now`] did: the scan, and what the jobs it drained did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct RunReport {
    pub scan: ScanReport,
    /// What this process's job handlers did during the run.
    pub done: Counts,
    /// Sends of this run that failed for now and wait for a later retry
    /// (`done.retrying`; counted without listing the queue, which on S3
    /// would cost a read per job).
    pub retrying: u64,
}

/// How many jobs [`run_now`] runs side by side (the sender's per-host
/// limit still holds).
const DRAIN_LOOPS: usize = 4;

/// `backfeed publish`: scans, then runs every due job in this process (the
/// sends and announcements just queued, and earlier retries now due) until
/// none is due. A dry run only scans.
pub async fn run_now(
    app: &App,
    request: &PublishRequest,
    progress: &dyn Progress,
) -> Result<RunReport, PublishError> {
    let scan = scan(app, request, progress).await?;
    let before = app.publisher.stats();
    if !request.dry_run {
        let loops = (0..DRAIN_LOOPS).map(|_| async {
            while crate::jobs::run_one(app).await?.is_some() {}
            Ok::<(), StoreError>(())
        });
        futures_util::future::try_join_all(loops).await?;
    }
    let done = app.publisher.stats() - before;
    Ok(RunReport {
        scan,
        retrying: done.retrying,
        done,
    })
}

/// Why a post could not be looked at this time.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("the page could not be fetched: {0}")]
    Fetch(#[from] FetchError),
    #[error("the page answered HTTP {0}")]
    Status(u16),
    #[error(transparent)]
    Store(#[from] StoreError),
}
