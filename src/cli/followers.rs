//! `backfeed followers`: the blog actor's followers (ActivityPub), the same
//! use cases as `/admin/followers`.

use clap::Subcommand;

use crate::App;
use crate::activitypub::operator::FollowersError;

#[derive(Subcommand)]
pub enum FollowersCommand {
    /// One line per follower, newest first: actor id, delivery inbox, since.
    List,
    /// Remove a follower (its actor id) and tell its server.
    Remove { actor: String },
}

pub async fn run(app: &App, command: FollowersCommand) -> Result<(), String> {
    let federation = app
        .federation
        .as_ref()
        .ok_or_else(|| FollowersError::Off.to_string())?;
    match command {
        FollowersCommand::List => {
            let followers = federation.followers().await.map_err(|e| e.to_string())?;
            for f in &followers {
                println!("{}\t{}\t{}", f.actor, f.delivery_inbox(), f.followed_at);
            }
            eprintln!("{} follower(s)", followers.len());
        }
        FollowersCommand::Remove { actor } => {
            federation.remove(&actor).await.map_err(|e| e.to_string())?;
            println!("{actor} removed; its server is told with a Reject");
        }
    }
    Ok(())
}
