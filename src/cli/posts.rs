//! `backfeed toot` and `backfeed posts`: the URL → toot mapping.

use std::sync::Arc;

use crate::App;
use crate::announce::Announcement;
use crate::domain::{PostState, PostUrl};

fn announcer(app: &App) -> Result<&Arc<crate::announce::Announcer>, String> {
    app.announcer.as_ref().ok_or_else(|| {
        "announcing is not configured: set MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN and BLOG_POST_PATTERN".to_owned()
    })
}

pub async fn toot(app: &App, url: &str, dry_run: bool) -> Result<(), String> {
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

pub async fn list(app: &App, json: bool) -> Result<(), String> {
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

pub async fn retry(app: &App, url: &str) -> Result<(), String> {
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
