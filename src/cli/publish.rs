//! `backfeed publish` (read the feeds, queue what changed, then send it all
//! now) and `backfeed sent list` (what every post sent).
//!
//! `publish` exits non-zero only when the run itself could not proceed (a
//! feed unreachable or unreadable, the store down), never because a remote
//! endpoint refused: refusals are in the summary and in `sent list`.

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use url::Url;

use crate::App;
use crate::domain::sent::SentSource;
use crate::publish::{self, Counts, Progress, PublishRequest, ScanReport};

#[derive(Args)]
pub struct PublishArgs {
    /// A feed to read (RSS, Atom, JSON Feed); repeatable [default: BACKFEED_FEEDS].
    #[arg(long = "feed", value_name = "URL")]
    feeds: Vec<String>,
    /// Publish or re-check one post (it need not be in a feed); repeatable.
    #[arg(long = "url", value_name = "POST_URL")]
    urls: Vec<String>,
    /// Print, per post, whether it would be announced and every target with
    /// its endpoint; send nothing, toot nothing, write nothing.
    #[arg(long, alias = "dryrun")]
    dry_run: bool,
    /// Print the summary (and the dry run's plans) as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum SentCommand {
    /// Every target per post, with its endpoint, last status, attempts and time.
    List {
        /// Only this post.
        #[arg(long, value_name = "URL")]
        source: Option<String>,
        /// One JSON object per target and line instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_urls(texts: &[String]) -> Result<Vec<Url>, String> {
    texts
        .iter()
        .map(|t| Url::parse(t.trim()).map_err(|e| format!("`{t}` is not a URL: {e}")))
        .collect()
}

pub async fn publish(app: &App, args: PublishArgs) -> Result<(), String> {
    let feeds = if args.feeds.is_empty() && args.urls.is_empty() {
        app.config.publish.feeds.clone()
    } else {
        parse_urls(&args.feeds)?
    };
    let request = PublishRequest {
        feeds,
        urls: parse_urls(&args.urls)?,
        dry_run: args.dry_run,
        deadline: None,
    };
    let bar = Bar::new();
    let run = publish::run_now(app, &request, &bar).await;
    bar.0.finish_and_clear();
    let run = run.map_err(|e| e.to_string())?;
    if args.json {
        println!("{}", serde_json::to_string(&run).unwrap_or_default());
    } else {
        print_summary(&run.scan, &run.done, run.retrying, args.dry_run);
    }
    if !run.scan.feed_errors.is_empty() {
        return Err(format!(
            "the run could not read every feed: {}",
            run.scan.feed_errors.join("; ")
        ));
    }
    Ok(())
}

fn print_summary(report: &ScanReport, counts: &Counts, retrying: u64, dry_run: bool) {
    for plan in &report.plans {
        println!("{} ({:?}): {}", plan.url, plan.change, plan.announce);
        for target in &plan.targets {
            let endpoint = target.endpoint.as_deref().unwrap_or("-");
            println!(
                "  → {}  endpoint: {endpoint}  ({})",
                target.target, target.note
            );
        }
    }
    for error in report.feed_errors.iter().chain(&report.post_errors) {
        eprintln!("backfeed: {error}");
    }
    let verb = if dry_run { "would send" } else { "queued" };
    println!(
        "posts seen {}, new {}, changed {}, deleted {}; {verb} {} webmentions and {} announcements",
        report.posts_seen,
        report.new,
        report.changed,
        report.deleted,
        report.sends_queued,
        report.announcements_queued
    );
    if !dry_run {
        println!(
            "announced {}, sent {}, no endpoint {}, failed {}, retrying {retrying}",
            counts.announced, counts.sent, counts.no_endpoint, counts.failed
        );
    }
    if !report.post_errors.is_empty() {
        println!(
            "{} post(s) could not be read; the next run takes them up",
            report.post_errors.len()
        );
    }
}

pub async fn sent(app: &App, command: SentCommand) -> Result<(), String> {
    let SentCommand::List { source, json } = command;
    let source = source
        .map(|s| Url::parse(s.trim()).map_err(|e| format!("`{s}` is not a URL: {e}")))
        .transpose()?;
    let sources = app
        .store
        .list_sent(source.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    if !json {
        println!(
            "{:<12} {:>4} {:>3}  {:<20} TARGET  (ENDPOINT)",
            "STATUS", "HTTP", "TRY", "TIME"
        );
    }
    for post in &sources {
        print_source(post, json);
    }
    Ok(())
}

fn print_source(post: &SentSource, json: bool) {
    if !json {
        let state = if post.gone { " (gone)" } else { "" };
        println!("{}{state}", post.source);
    }
    for t in &post.targets {
        let time = t
            .updated_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        if json {
            let line = serde_json::json!({
                "source": post.source.as_str(),
                "target": t.target.as_str(),
                "endpoint": t.endpoint,
                "status": t.status.label(),
                "http_status": t.http_status,
                "answer": t.answer,
                "attempts": t.attempts,
                "version": t.version,
                "updated_at": time,
            });
            println!("{line}");
        } else {
            let http = t.http_status.map(|s| s.to_string()).unwrap_or_default();
            let endpoint = t.endpoint.as_deref().unwrap_or("no endpoint");
            println!(
                "  {:<12} {:>4} {:>3}  {:<20} {}  ({endpoint})",
                t.status.label(),
                http,
                t.attempts,
                time,
                t.target
            );
            if let Some(answer) = t.answer.as_deref().filter(|_| !t.status.is_delivered()) {
                println!("      {}", answer.replace('\n', " "));
            }
        }
    }
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
        let bar = ProgressBar::with_draw_target(Some(0), target);
        if let Ok(style) =
            ProgressStyle::with_template("{msg:>8} [{bar:30}] {pos}/{len} posts ({per_sec})")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message("reading");
        bar.enable_steady_tick(Duration::from_millis(200));
        Self(bar)
    }
}

impl Progress for Bar {
    fn add(&self, n: u64) {
        self.0.inc_length(n);
    }

    fn done(&self, _post: &Url) {
        self.0.inc(1);
    }
}
