//! The `backfeed` command line: argument parsing and one small function per
//! command, each calling one library use case. `main.rs` only calls [`main`].
//!
//! Results go to standard output, logs and errors to standard error; a
//! configuration error exits with 2, any other failure with 1.

mod check;
mod followers;
mod jobs;
mod mastodon;
mod mentions;
mod migrate;
mod posts;
mod publish;
mod replies;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::App;
use crate::config::{Config, Overrides};
use crate::runtime::{lambda, openwhisk, server};

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
    /// Without a command the binary must be running as an AWS Lambda
    /// function (AWS_LAMBDA_RUNTIME_API set, as `bootstrap`) or as an
    /// OpenWhisk ActionLoop executable (`exec`, started by the Go runtime).
    #[command(subcommand)]
    command: Option<Command>,
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
    /// Moderate received webmentions.
    Mentions {
        #[command(subcommand)]
        command: mentions::MentionsCommand,
    },
    /// See the background job queue (webmention verification, webhook
    /// deliveries, thread refreshes): list jobs, retry or drop dead ones.
    Jobs {
        #[command(subcommand)]
        command: jobs::JobsCommand,
    },
    /// The blog's fediverse followers (ActivityPub): list them, remove one.
    Followers {
        #[command(subcommand)]
        command: followers::FollowersCommand,
    },
    /// Hide Mastodon replies (or whole accounts) from comment threads.
    Replies {
        #[command(subcommand)]
        command: replies::RepliesCommand,
    },
    /// Run as an OpenWhisk / DigitalOcean Functions action: the ActionLoop
    /// protocol (one JSON activation per line on stdin, one result per line
    /// on file descriptor 3), or with --http the /init + /run action proxy.
    Openwhisk {
        /// Serve the /init and /run action-proxy protocol over HTTP instead.
        #[arg(long)]
        http: bool,
        /// Address for --http [default: 0.0.0.0:8080]
        #[arg(long, value_name = "ADDR", requires = "http")]
        listen: Option<String>,
    },
    /// Read the blog's feeds: announce each new post on Mastodon and send
    /// webmentions for every link of new, changed and deleted posts; then
    /// send what is queued. Safe to run again: nothing is sent twice.
    Publish(publish::PublishArgs),
    /// What publishing sent: every target per post, with its endpoint.
    Sent {
        #[command(subcommand)]
        command: publish::SentCommand,
    },
    /// Register backfeed on your Mastodon instance and save its token.
    Mastodon {
        #[command(subcommand)]
        command: mastodon::MastodonCommand,
    },
    /// Check the setup line by line: the store, the Mastodon token and its
    /// scopes, BLOG_POST_PATTERN against the feed (BACKFEED_FEEDS), the
    /// blog's webmention endpoint, the widget. Exits 0 only when everything
    /// the enabled features need is in order.
    Check,
    /// Copy everything from one store to another (any two of sqlite://,
    /// postgres://, s3://), or import the PostgreSQL table or S3 bucket of
    /// sdether/mastodon_post_blog (the Python/Flask service backfeed
    /// replaces), or a webmention.io JF2 export. Safe to run again.
    Migrate(migrate::MigrateArgs),
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

/// Parses the command line, runs the command, and returns the exit code.
pub fn main() -> ExitCode {
    crate::clients::tls::install_crypto_provider();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("backfeed: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async_main())
}

async fn async_main() -> ExitCode {
    let cli = Cli::parse();
    let in_lambda = lambda::is_lambda_environment();
    let command = match cli.command {
        Some(command) => command,
        None if in_lambda => Command::Serve { listen: None },
        // The Go runtime's proxy starts `exec` with no arguments.
        None if openwhisk::is_action_loop_environment() => Command::Openwhisk {
            http: false,
            listen: None,
        },
        None => {
            let _ = <Cli as clap::CommandFactory>::command().print_help();
            eprintln!("\nbackfeed: a command is needed (try `backfeed serve`)");
            return ExitCode::from(2);
        }
    };
    if let Command::Migrate(args) = &command {
        crate::telemetry::init("warn", crate::config::LogFormat::default());
        return match migrate::run(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("backfeed: {error}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::Mastodon { command } = &command {
        crate::telemetry::init("warn", crate::config::LogFormat::default());
        return match mastodon::run(command, cli.config.as_deref()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("backfeed: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let overrides = match &command {
        Command::Serve { listen } => Overrides {
            listen: listen.clone(),
            ..Overrides::default()
        },
        // The action proxy protocol always uses port 8080 on every interface.
        Command::Openwhisk { listen, .. } => Overrides {
            listen: Some(listen.clone().unwrap_or_else(|| "0.0.0.0:8080".to_owned())),
            platform_cors_default: true,
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
    crate::telemetry::init(&config.log_level, config.log_format);
    if let Command::Check = command {
        return check::run(config).await;
    }
    let command = match command {
        // The same binary, started by Lambda (as `bootstrap`, or with `serve`).
        Command::Serve { .. } if in_lambda => Runtime::Lambda,
        Command::Serve { .. } => Runtime::Server,
        Command::Openwhisk { http: false, .. } => Runtime::ActionLoop,
        Command::Openwhisk { http: true, .. } => Runtime::ActionProxy,
        other => Runtime::Once(other),
    };
    match run(command, config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("backfeed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// How this process serves: a long-running runtime, or one command.
enum Runtime {
    Server,
    Lambda,
    ActionLoop,
    ActionProxy,
    Once(Command),
}

async fn run(runtime: Runtime, config: Config) -> Result<(), String> {
    let disabled = config.disabled_features();
    let listen = config.listen;
    let app = App::build(config).await.map_err(|e| e.to_string())?;
    let command = match runtime {
        Runtime::Once(command) => command,
        serving => {
            for notice in disabled {
                tracing::warn!("{notice}");
            }
            return match serving {
                Runtime::Lambda => lambda::run(app).await,
                Runtime::ActionLoop => openwhisk::run_action_loop(app).await,
                Runtime::ActionProxy => openwhisk::serve_action_proxy(app, listen).await,
                _ => server::serve(app, listen).await,
            }
            .map_err(|e| e.to_string());
        }
    };
    match command {
        Command::Toot { url, dry_run } => posts::toot(&app, &url, dry_run).await,
        Command::Posts {
            command: PostsCommand::List { json },
        } => posts::list(&app, json).await,
        Command::Posts {
            command: PostsCommand::Retry { url },
        } => posts::retry(&app, &url).await,
        Command::Mentions { command } => mentions::run(&app, command).await,
        Command::Replies { command } => replies::run(&app, command).await,
        Command::Followers { command } => followers::run(&app, command).await,
        Command::Jobs { command } => jobs::run(&app, command).await,
        Command::Publish(args) => publish::publish(&app, args).await,
        Command::Sent { command } => publish::sent(&app, command).await,
        Command::Serve { .. }
        | Command::Openwhisk { .. }
        | Command::Migrate(_)
        | Command::Mastodon { .. }
        | Command::Check => Err("not a one-off command".to_owned()),
    }
}
