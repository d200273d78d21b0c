//! `backfeed migrate`: copying everything from one store to another, or
//! importing mastodon_post_blog's stores, a webmention.io export and the
//! Lambda + DynamoDB receiver's tables (`web_mentions.rs`).
//!
//! What is copied: posts (announced, failed with their reason; claims in
//! flight are left behind), mentions in every state with their data,
//! moderation and times (a pending one gets a verification job in the
//! destination), blocked domains, hidden replies and accounts, and cached
//! threads. What is not: webhook deliveries in flight (they belong to the
//! old store's events; the destination notifies about what happens there)
//! and mention ids (each store hands out its own).
//!
//! Invariant: a migration is idempotent. Records are matched by their
//! natural keys (a post's URL; a mention's source and target; a name), and
//! nothing the destination holds is overwritten (`storage::import`), so a
//! second run reports everything as already present. The source's records
//! are only read.

mod copy;
mod jf2;
mod seed;
mod source;
mod summary;
mod web_mentions;

use std::path::PathBuf;
use std::time::Instant;

use time::OffsetDateTime;
use url::Url;

use crate::config::DatabaseUrl;
use crate::storage::StoreError;
use copy::Target;
use source::Opened;

pub use source::Source;
pub use summary::{Kind, Summary, Tally};

/// What to copy where.
#[derive(Debug, Clone)]
pub struct Plan {
    pub from: Source,
    pub to: DatabaseUrl,
    /// The blog's origin, for mastodon_post_blog's S3 keys (which hold only paths).
    pub site: Option<Url>,
    /// Read and compare only; write nothing.
    pub dry_run: bool,
}

impl Plan {
    /// Parses the command line's `--from`, `--to` and `--site`.
    pub fn parse(
        from: &str,
        to: &str,
        site: Option<&str>,
        dry_run: bool,
    ) -> Result<Self, MigrateError> {
        let from = Source::parse(from)?;
        let to = DatabaseUrl::parse(to).map_err(|e| MigrateError::Usage(format!("--to: {e}")))?;
        let site = site.map(seed::parse_site).transpose()?;
        if from.describe() == source::describe(&to) {
            return Err(MigrateError::Usage(
                "--from and --to name the same store".to_owned(),
            ));
        }
        Ok(Self {
            from,
            to,
            site,
            dry_run,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// A flag or URL that cannot work, or a store that holds the wrong thing.
    #[error("{0}")]
    Usage(String),
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("cannot open the source {what}: {error}")]
    Source { what: String, error: StoreError },
    #[error("cannot open the destination {what}: {error}")]
    Destination { what: String, error: StoreError },
    #[error("reading {0} failed: {1}")]
    Read(String, StoreError),
    #[error("writing to {0} failed: {1}")]
    Write(String, StoreError),
}

/// Told how far the copy has come (a progress bar, or nothing).
pub trait Progress: Sync {
    /// A new kind of record begins; `total` when it is known.
    fn begin(&self, kind: Kind, total: Option<u64>);
    fn advance(&self, count: u64);
}

/// Reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn begin(&self, _: Kind, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
}

/// Runs the plan: the source is read (and a JF2 file parsed) before the
/// destination is opened, so a missing source creates nothing.
pub async fn run(plan: &Plan, progress: &dyn Progress) -> Result<Summary, MigrateError> {
    let started = Instant::now();
    let now = crate::clock::Clock::system().now();
    let (from, to) = (plan.from.describe(), source::describe(&plan.to));
    let mut summary = Summary::new(from.clone(), to.clone(), plan.dry_run);
    let opened = match &plan.from {
        Source::Jf2(path) => {
            let export = read_export(path, now).await?;
            let target = destination(plan, to).await?;
            summary.read(Kind::Mentions, export.read());
            for why in export.invalid {
                summary.invalid(Kind::Mentions, why);
            }
            copy::mentions(&export.mentions, &target, now, progress, &mut summary).await?;
            return Ok(finished(summary, started));
        }
        Source::WebMentions(tables) => {
            let read = web_mentions::read(tables, now).await?;
            let target = destination(plan, to).await?;
            summary.read(
                Kind::Mentions,
                (read.mentions.len() + read.invalid.len()) as u64,
            );
            for why in read.invalid {
                summary.invalid(Kind::Mentions, why);
            }
            copy::mentions(&read.mentions, &target, now, progress, &mut summary).await?;
            copy::status_aliases(&read.statuses, &target, &mut summary).await?;
            return Ok(finished(summary, started));
        }
        Source::Store(url) => source::open_source(url).await?,
    };
    match opened {
        #[cfg(feature = "postgres")]
        Opened::SeedPostgres(url) => {
            let posts = seed::postgres_posts(&url, &from, now, &mut summary).await?;
            let target = destination(plan, to).await?;
            copy::posts(posts, &target, progress, &mut summary).await?;
        }
        Opened::Store { store, s3 } => {
            let mut posts = store
                .list_posts()
                .await
                .map_err(|e| MigrateError::Read(from.clone(), e))?;
            summary.read(Kind::Posts, posts.len() as u64);
            if let Some(s3) = &s3 {
                let seeded =
                    seed::s3_posts(s3, &posts, plan.site.as_ref(), &from, &mut summary).await?;
                posts.extend(seeded);
            }
            let target = destination(plan, to).await?;
            copy::posts(posts, &target, progress, &mut summary).await?;
            copy::store_mentions(&*store, &from, &target, now, progress, &mut summary).await?;
            copy::sets(&*store, &from, &target, now, &mut summary).await?;
            copy::threads(&*store, &from, &target, progress, &mut summary).await?;
        }
    }
    Ok(finished(summary, started))
}

async fn destination(plan: &Plan, what: String) -> Result<Target, MigrateError> {
    let store = source::open_destination(&plan.to).await?;
    Ok(Target::new(store, plan.dry_run, what))
}

async fn read_export(path: &PathBuf, now: OffsetDateTime) -> Result<jf2::Export, MigrateError> {
    let cannot = |reason: String| MigrateError::File {
        path: path.clone(),
        reason,
    };
    let text = tokio::fs::read_to_string(path)
        .await
        .map_err(|e| cannot(e.to_string()))?;
    jf2::parse(&text, now).map_err(cannot)
}

fn finished(mut summary: Summary, started: Instant) -> Summary {
    summary.elapsed = started.elapsed();
    summary
}
