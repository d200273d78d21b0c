//! The `backfeed` command line: a thin layer over the library.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use backfeed::App;
use backfeed::announce::Announcement;
use backfeed::config::{Config, Overrides};
use backfeed::domain::{PostState, PostUrl};
use backfeed::runtime::server;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "backfeed",
    version,
    about = "Announces blog posts on Mastodon and serves the conversation back to your site.",
    long_about = "Announces blog posts on Mastodon and serves the conversation back to your site.\n\n\
        Settings come from an optional TOML file (--config), overlaid by environment variables \
        (MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN, BLOG_POST_PATTERN, DATABASE_URL, …). \
        See config/example.toml for every setting."
)]
struct Cli {
    /// TOML config file; environment variables override what it says.
    #[arg(
        long,
        short,
        global = true,
        env = "BACKFEED_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP service (default store: a SQLite file in the working directory).
    Serve {
        /// Address to listen on [env: BACKFEED_LISTEN, or PORT for 0.0.0.0:PORT] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Announce one post now, or with --dry-run print the exact status text without posting.
    Toot {
        /// The blog post's URL.
        url: String,
        /// Print the status that would be posted; post nothing and record nothing.
        #[arg(long, alias = "dryrun", alias = "show-toot")]
        dry_run: bool,
    },
    /// Inspect and repair the URL → toot mapping.
    Posts {
        #[command(subcommand)]
        command: PostsCommand,
    },
}

#[derive(Subcommand)]
enum PostsCommand {
    /// List every post with its state, toot id and failure reason.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Clear a post's failure and announce it again.
    Retry {
        /// The blog post's URL.
        url: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let overrides = match &cli.command {
        Command::Serve { listen } => Overrides {
            listen: listen.clone(),
        },
        _ => Overrides::default(),
    };
    let config = match Config::from_process_env(cli.config.as_deref(), overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("backfeed: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    backfeed::telemetry::init(&config.log_level, config.log_format);
    match run(cli.command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backfeed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config) -> Result<(), String> {
    let disabled = config.disabled_features();
    let listen = config.listen;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    match command {
        Command::Serve { .. } => {
            for notice in disabled {
                tracing::warn!("{notice}");
            }
            server::serve(app, listen).await.map_err(|e| e.to_string())
        }
        Command::Toot { url, dry_run } => toot(&app, &url, dry_run).await,
        Command::Posts {
            command: PostsCommand::List { json },
        } => list_posts(&app, json).await,
        Command::Posts {
            command: PostsCommand::Retry { url },
        } => retry(&app, &url).await,
    }
}

fn announcer(app: &App) -> Result<&Arc<backfeed::announce::Announcer>, String> {
    app.announcer.as_ref().ok_or_else(|| {
        "announcing is not configured: set MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN and BLOG_POST_PATTERN".to_owned()
    })
}

async fn toot(app: &App, url: &str, dry_run: bool) -> Result<(), String> {
    let announcer = announcer(app)?;
    let url = announcer.accept_url(Some(url)).map_err(|e| e.to_string())?;
    if dry_run {
        let status = announcer.compose(&url).await.map_err(|e| e.to_string())?;
        println!("{}", status.text);
        return Ok(());
    }
    let announcement = announcer.announce(url).await.map_err(|e| e.to_string())?;
    print_announcement(&announcement);
    Ok(())
}

async fn list_posts(app: &App, json: bool) -> Result<(), String> {
    let posts = app.store.list_posts().await.map_err(|e| e.to_string())?;
    if !json {
        println!("{:<10} {:<24} URL", "STATE", "TOOT");
    }
    for post in posts {
        let (toot, note) = match &post.state {
            PostState::Announced { toot_id } => (toot_id.to_string(), String::new()),
            PostState::Failed { reason } => (String::new(), reason.clone()),
            PostState::Claimed { expires_at, .. } => {
                (String::new(), format!("claim held until {expires_at}"))
            }
        };
        if json {
            let line = serde_json::json!({
                "url": post.url.as_str(),
                "state": post.state.label(),
                "toot_id": (!toot.is_empty()).then_some(&toot),
                "note": (!note.is_empty()).then_some(&note),
                "created_at": post.created_at.unix_timestamp(),
                "updated_at": post.updated_at.unix_timestamp(),
            });
            println!("{line}");
        } else {
            let note = if note.is_empty() {
                String::new()
            } else {
                format!("  ({note})")
            };
            println!("{:<10} {:<24} {}{note}", post.state.label(), toot, post.url);
        }
    }
    Ok(())
}

async fn retry(app: &App, url: &str) -> Result<(), String> {
    let announcer = announcer(app)?;
    let url: PostUrl = announcer.accept_url(Some(url)).map_err(|e| e.to_string())?;
    let announcement = announcer.retry(url).await.map_err(|e| e.to_string())?;
    print_announcement(&announcement);
    Ok(())
}

fn print_announcement(announcement: &Announcement) {
    let verb = if announcement.created {
        "announced"
    } else {
        "already announced"
    };
    println!(
        "{verb} {} as toot {}",
        announcement.url, announcement.toot_id
    );
}
