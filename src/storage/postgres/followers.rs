//! The `followers` table (see `storage::followers`): one row per follower
//! actor; following again refreshes the inboxes only.

use deadpool_postgres::Object;
use tokio_postgres::Row;

use super::rows::{column, execute, ms, query, query_one, query_opt};
use crate::storage::{Follower, PublishedPost, StoreError};

/// Inserts or refreshes; `true` when the actor was not following.
pub async fn add(client: &mut Object, f: &Follower) -> Result<bool, StoreError> {
    // `xmax = 0` only for a row this statement inserted.
    let row = query_one(
        &*client,
        "INSERT INTO followers (actor, inbox, shared_inbox, followed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (actor) DO UPDATE SET inbox = excluded.inbox,
             shared_inbox = excluded.shared_inbox
         RETURNING (xmax = 0)",
        &[&f.actor, &f.inbox, &f.shared_inbox, &ms(f.followed_at)],
    )
    .await?;
    column(&row, 0, "followers")
}

pub async fn remove(client: &mut Object, actor: &str) -> Result<bool, StoreError> {
    Ok(execute(
        &*client,
        "DELETE FROM followers WHERE actor = $1",
        &[&actor],
    )
    .await?
        > 0)
}

const COLUMNS: &str = "SELECT actor, inbox, shared_inbox, followed_at FROM followers";

fn read(row: &Row) -> Result<Follower, StoreError> {
    Ok(Follower {
        actor: column(row, 0, "followers")?,
        inbox: column(row, 1, "followers")?,
        shared_inbox: column(row, 2, "followers")?,
        followed_at: column(row, 3, "followers")?,
    })
}

pub async fn find(client: &mut Object, actor: &str) -> Result<Option<Follower>, StoreError> {
    let sql = format!("{COLUMNS} WHERE actor = $1");
    query_opt(&*client, &sql, &[&actor])
        .await?
        .as_ref()
        .map(read)
        .transpose()
}

pub async fn list(client: &mut Object) -> Result<Vec<Follower>, StoreError> {
    let sql = format!("{COLUMNS} ORDER BY followed_at DESC, actor");
    query(&*client, &sql, &[]).await?.iter().map(read).collect()
}

/// Inserts or replaces the object; the first `published_at` stays.
pub async fn save_published(client: &mut Object, p: &PublishedPost) -> Result<(), StoreError> {
    execute(
        &*client,
        "INSERT INTO published_posts (url, object, published_at, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (url) DO UPDATE SET object = excluded.object, updated_at = excluded.updated_at",
        &[&p.url, &p.object, &ms(p.published_at), &ms(p.updated_at)],
    )
    .await?;
    Ok(())
}

const PUBLISHED: &str = "SELECT url, object, published_at, updated_at FROM published_posts";

fn read_published(row: &Row) -> Result<PublishedPost, StoreError> {
    const WHAT: &str = "published_posts";
    Ok(PublishedPost {
        url: column(row, 0, WHAT)?,
        object: column(row, 1, WHAT)?,
        published_at: column(row, 2, WHAT)?,
        updated_at: column(row, 3, WHAT)?,
    })
}

pub async fn find_published(
    client: &mut Object,
    url: &str,
) -> Result<Option<PublishedPost>, StoreError> {
    let sql = format!("{PUBLISHED} WHERE url = $1");
    query_opt(&*client, &sql, &[&url])
        .await?
        .as_ref()
        .map(read_published)
        .transpose()
}

pub async fn list_published(client: &mut Object) -> Result<Vec<PublishedPost>, StoreError> {
    let sql = format!("{PUBLISHED} ORDER BY published_at DESC, url");
    query(&*client, &sql, &[])
        .await?
        .iter()
        .map(read_published)
        .collect()
}
