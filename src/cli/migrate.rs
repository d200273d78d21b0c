//! `backfeed migrate`: the flags, a progress bar on standard error (only
//! when it is a terminal), and the summary on standard output. The work is
//! `crate::migrate::run`.

use std::io::IsTerminal;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::migrate::{self, Kind, Plan, Progress};

/// Shown after the options by `--help` (the one-line summary is the
/// command's doc comment in `cli/mod.rs`). Lines stay under 80 columns so
/// that clap does not re-wrap them.
const LONG_HELP: &str = "\
What is copied: posts (URL -> toot, announced or failed with the reason),
mentions in every state with their data, moderation and times (a pending one
is verified again in the destination), blocked domains, hidden replies and
accounts, and cached threads. Not copied: post claims and webhook deliveries
in flight, and mention ids (the destination hands out its own).

Safe to run again: posts are matched by URL, mentions by source and target,
the rest by name, and nothing in the destination is ever overwritten. A post
the destination has with another toot id is reported as a conflict and keeps
the destination's toot. The summary (standard output) counts, per kind, what
was read, copied, already present, conflicting and invalid; a progress bar
is drawn on standard error when it is a terminal. Exit status 1 on any error.

--from takes:
  sqlite:///absolute/path.db   sqlite://relative.db
      backfeed's SQLite store (the file must exist).
  postgres://user:password@host:port/database
      backfeed's PostgreSQL store; or, when the database holds the
      posts(id, url, toot_id) table of sdether/mastodon_post_blog (the
      Python/Flask service backfeed replaces) and none of backfeed's
      schema, that table (recognised by looking; nothing to add). Only in
      builds with the postgres feature (the default `cargo build`).
  s3://bucket/prefix?endpoint=URL&region=NAME
      backfeed's S3 store, plus any of mastodon_post_blog's zero-byte
      objects .mastodon-meta/<path> (metadata toot-id) it has no record of. Those
      keys hold only the URL's path: give --site for them.
  jf2:<file>   (or a file name ending in .json or .jf2)
      a webmention.io export: /api/mentions.jf2 pages one after another, or
      a JSON array of them. Entries become verified, approved mentions
      (wm-private ones wait for approval); their HTML is sanitised, and
      entries that make no mention are reported and skipped.
--to takes the sqlite://, postgres:// and s3:// forms; the store is created
and migrated when needed. S3 credentials come from AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, never from the URL.

Examples:
  backfeed migrate --from sqlite:///var/lib/backfeed/backfeed.db \\
      --to postgres://backfeed:secret@db.internal/backfeed
  backfeed migrate --from postgres://blog@db.internal/mastodon \\
      --to sqlite://backfeed.db
  backfeed migrate --site https://blog.example \\
      --from 's3://blog-meta?endpoint=https://fra1.digitaloceanspaces.com' \\
      --to sqlite://backfeed.db
  backfeed migrate --from jf2:webmention-io.json --to sqlite://backfeed.db \\
      --dry-run";

#[derive(Args, Debug)]
#[command(after_long_help = LONG_HELP)]
pub struct MigrateArgs {
    /// Where to read: sqlite://…, postgres://… (backfeed's store or the
    /// `posts` table of mastodon_post_blog, the Python/Flask service),
    /// s3://… (backfeed's store and mastodon_post_blog's layout), or
    /// jf2:<file> for a webmention.io export. See --help for every form.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// The store to copy into: sqlite://…, postgres://… or s3://….
    #[arg(long, value_name = "URL")]
    pub to: String,
    /// The blog's origin (https://blog.example), to rebuild the URLs of
    /// mastodon_post_blog's S3 objects, whose keys hold only the path.
    #[arg(long, value_name = "URL")]
    pub site: Option<String>,
    /// Report what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

pub async fn run(args: &MigrateArgs) -> Result<(), String> {
    let plan = Plan::parse(&args.from, &args.to, args.site.as_deref(), args.dry_run)
        .map_err(|e| e.to_string())?;
    let bar = Bar::new();
    let result = migrate::run(&plan, &bar).await;
    bar.0.finish_and_clear();
    let summary = result.map_err(|e| e.to_string())?;
    print!("{summary}");
    Ok(())
}

/// A progress bar on standard error, hidden unless it is a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Self(ProgressBar::with_draw_target(None, target))
    }
}

impl Progress for Bar {
    fn begin(&self, kind: Kind, total: Option<u64>) {
        let template = match total {
            Some(_) => "{msg:>16} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)",
            None => "{msg:>16} {spinner} {pos} ({per_sec})",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.0.set_style(style.progress_chars("=> "));
        }
        self.0.reset();
        match total {
            Some(total) => self.0.set_length(total),
            None => self.0.unset_length(),
        }
        self.0.set_message(kind.label());
    }

    fn advance(&self, count: u64) {
        self.0.inc(count);
    }
}
