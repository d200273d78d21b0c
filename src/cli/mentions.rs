//! `backfeed mentions`: moderation from the command line, the same use
//! cases as the admin API.

use clap::Subcommand;

use crate::App;
use crate::domain::mention::{MentionId, Moderation};
use crate::storage::MentionQuery;
use crate::webmention::Receiver;

#[derive(Subcommand)]
pub enum MentionsCommand {
    /// List received mentions, newest first, with their state.
    List {
        /// Only mentions in this moderation state (approved, pending, hidden).
        #[arg(long)]
        moderation: Option<String>,
        /// How many to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Approve a mention (shows it when verified).
    Approve { id: i64 },
    /// Hide a mention from every API.
    Hide { id: i64 },
    /// Delete a mention for good.
    Delete { id: i64 },
    /// Refuse a domain's webmentions (and its subdomains') and hide those received.
    Block { domain: String },
}

pub async fn run(app: &App, command: MentionsCommand) -> Result<(), String> {
    let receiver = app
        .receiver
        .as_deref()
        .ok_or("receiving webmentions is not configured: set BACKFEED_SITES")?;
    match command {
        MentionsCommand::List {
            moderation,
            limit,
            json,
        } => list(receiver, moderation, limit, json).await,
        MentionsCommand::Approve { id } => {
            report(receiver.approve(MentionId(id)).await, "approved", id)
        }
        MentionsCommand::Hide { id } => report(receiver.hide(MentionId(id)).await, "hidden", id),
        MentionsCommand::Delete { id } => {
            report(receiver.delete(MentionId(id)).await, "deleted", id)
        }
        MentionsCommand::Block { domain } => {
            let hidden = receiver.block(&domain).await.map_err(|e| e.to_string())?;
            println!("blocked {domain}; hid {hidden} mention(s) already received");
            Ok(())
        }
    }
}

fn report<E: std::fmt::Display>(result: Result<(), E>, what: &str, id: i64) -> Result<(), String> {
    result.map_err(|e| e.to_string())?;
    println!("mention {id} {what}");
    Ok(())
}

async fn list(
    receiver: &Receiver,
    moderation: Option<String>,
    limit: u32,
    json: bool,
) -> Result<(), String> {
    let moderation = moderation
        .map(|m| {
            Moderation::parse(&m).ok_or(format!("`{m}` is not one of approved, pending, hidden"))
        })
        .transpose()?;
    let query = MentionQuery {
        visible_only: false,
        moderation,
        per_page: limit.max(1),
        ..MentionQuery::default()
    };
    let mentions = receiver.list(&query).await.map_err(|e| e.to_string())?;
    if !json {
        println!(
            "{:<8} {:<9} {:<9} SOURCE → TARGET",
            "ID", "STATUS", "MODERATED"
        );
    }
    for mention in mentions {
        if json {
            let line = serde_json::json!({
                "id": mention.id.0,
                "source": mention.source.as_str(),
                "target": mention.target.as_str(),
                "status": mention.verification.label(),
                "reason": mention.verification.reason(),
                "moderation": mention.moderation.label(),
                "property": mention.data.as_ref().map(|d| d.relation.property()),
            });
            println!("{line}");
        } else {
            let reason = mention
                .verification
                .reason()
                .map(|r| format!("  ({r})"))
                .unwrap_or_default();
            println!(
                "{:<8} {:<9} {:<9} {} → {}{reason}",
                mention.id,
                mention.verification.label(),
                mention.moderation.label(),
                mention.source,
                mention.target
            );
        }
    }
    Ok(())
}
