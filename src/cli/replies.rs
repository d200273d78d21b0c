//! `backfeed replies`: hide Mastodon replies from comment threads, the same
//! use cases as the admin API.

use clap::Subcommand;

use crate::App;

#[derive(Subcommand)]
pub enum RepliesCommand {
    /// Hide one reply (its Mastodon status id) and the replies under it.
    Hide { status_id: String },
    /// Show a hidden reply again.
    Unhide { status_id: String },
    /// Hide every reply from an account (user@domain).
    HideAccount { acct: String },
    /// Show an account's replies again.
    UnhideAccount { acct: String },
}

pub async fn run(app: &App, command: RepliesCommand) -> Result<(), String> {
    let threads = &app.threads;
    let message = match command {
        RepliesCommand::Hide { status_id } => {
            threads
                .hide_reply(&status_id)
                .await
                .map_err(|e| e.to_string())?;
            format!("reply {status_id} hidden")
        }
        RepliesCommand::Unhide { status_id } => match threads
            .unhide_reply(&status_id)
            .await
            .map_err(|e| e.to_string())?
        {
            true => format!("reply {status_id} shown again"),
            false => return Err(format!("reply {status_id} was not hidden")),
        },
        RepliesCommand::HideAccount { acct } => {
            threads
                .hide_account(&acct)
                .await
                .map_err(|e| e.to_string())?;
            format!("replies from {acct} hidden")
        }
        RepliesCommand::UnhideAccount { acct } => match threads
            .unhide_account(&acct)
            .await
            .map_err(|e| e.to_string())?
        {
            true => format!("replies from {acct} shown again"),
            false => return Err(format!("{acct} was not hidden")),
        },
    };
    println!("{message}");
    Ok(())
}
