//! Where a migration reads from and writes to: the `--from` and `--to`
//! forms, and opening them.
//!
//! `--from` takes every `DATABASE_URL` form, and a webmention.io export as
//! `jf2:<file>` (or a file name ending in `.json` or `.jf2`). mastodon_post_blog's own
//! stores need no form of their own: a PostgreSQL database is looked at
//! before it is opened, and one holding mastodon_post_blog's `posts(id, url,
//! toot_id)` table and none of backfeed's schema is read as mastodon_post_blog's; an
//! S3 bucket is read in both layouts (see `seed.rs`).
//!
//! Invariant: a source's records are only read, and a source is never
//! created (a missing SQLite file is an error, not a new empty database).
//! Opening one of backfeed's stores does what every start does: it brings
//! an older schema up to date, and an S3 store writes and deletes one
//! scratch object to probe the provider. mastodon_post_blog's database is never
//! opened as a store (migrating it would fail half-way on its `posts`
//! table).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use url::Url;

use super::MigrateError;
use crate::clock::Clock;
use crate::config::DatabaseUrl;
#[cfg(feature = "postgres")]
use crate::storage::postgres::{self, Contents};
use crate::storage::s3::S3Store;
use crate::storage::{self, Store};

/// What `--from` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Store(DatabaseUrl),
    /// A webmention.io JF2 export.
    Jf2(PathBuf),
    /// The Lambda + DynamoDB receiver's tables (pfych/web-mentions).
    WebMentions(super::web_mentions::Tables),
}

impl Source {
    pub fn parse(text: &str) -> Result<Self, MigrateError> {
        let text = text.trim();
        if let Some(path) = text.strip_prefix("jf2:") {
            if path.is_empty() {
                return Err(MigrateError::Usage(
                    "`jf2:` names no file, e.g. jf2:webmention-io.json".to_owned(),
                ));
            }
            return Ok(Self::Jf2(PathBuf::from(path)));
        }
        if text.starts_with("dynamodb-web-mentions://") {
            return super::web_mentions::Tables::parse(text).map(Self::WebMentions);
        }
        let looks_like_file = !text.contains("://")
            && [".json", ".jf2"]
                .iter()
                .any(|end| text.to_ascii_lowercase().ends_with(end));
        if looks_like_file {
            return Ok(Self::Jf2(PathBuf::from(text)));
        }
        DatabaseUrl::parse(text).map(Self::Store).map_err(|e| {
            MigrateError::Usage(format!(
                "--from: {e}; or jf2:<file> for a webmention.io export"
            ))
        })
    }

    /// The source for people: a PostgreSQL password is left out.
    pub fn describe(&self) -> String {
        match self {
            Self::Store(url) => describe(url),
            Self::Jf2(path) => format!("jf2:{}", path.display()),
            Self::WebMentions(tables) => tables.describe(),
        }
    }
}

/// A store URL for people: a PostgreSQL password is left out.
pub fn describe(url: &DatabaseUrl) -> String {
    match url {
        DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        DatabaseUrl::Postgres(secret) => match Url::parse(secret.expose()) {
            Ok(mut url) => {
                let _ = url.set_password(None);
                url.set_query(None);
                url.to_string()
            }
            Err(_) => "postgres://…".to_owned(),
        },
        DatabaseUrl::S3 {
            bucket,
            prefix,
            endpoint,
            ..
        } => {
            let mut text = format!("s3://{bucket}");
            if !prefix.is_empty() {
                text = format!("{text}/{prefix}");
            }
            match endpoint {
                Some(endpoint) => format!("{text}?endpoint={endpoint}"),
                None => text,
            }
        }
        DatabaseUrl::DynamoDb {
            table, endpoint, ..
        } => match endpoint {
            Some(endpoint) => format!("dynamodb://{table}?endpoint={endpoint}"),
            None => format!("dynamodb://{table}"),
        },
    }
}

/// A source, opened.
pub enum Opened {
    /// One of backfeed's stores; `s3` is the same store when it is an S3
    /// bucket, which may also hold mastodon_post_blog's post objects.
    Store {
        store: Arc<dyn Store>,
        s3: Option<Arc<S3Store>>,
    },
    /// mastodon_post_blog's PostgreSQL table (the connection URL).
    #[cfg(feature = "postgres")]
    SeedPostgres(String),
}

/// Opens a store source (a JF2 file is read elsewhere).
pub async fn open_source(url: &DatabaseUrl) -> Result<Opened, MigrateError> {
    let what = describe(url);
    let cannot = |error| MigrateError::Source {
        what: what.clone(),
        error,
    };
    match url {
        DatabaseUrl::Sqlite(path) => {
            require_file(path, &what)?;
            let store = storage::open(url, &Clock::system()).await.map_err(cannot)?;
            Ok(Opened::Store { store, s3: None })
        }
        #[cfg(not(feature = "postgres"))]
        DatabaseUrl::Postgres(_) => Err(cannot(storage::StoreError::NotBuilt(
            storage::POSTGRES_NOT_BUILT,
        ))),
        #[cfg(feature = "postgres")]
        DatabaseUrl::Postgres(secret) => {
            match postgres::inspect(secret.expose()).await.map_err(cannot)? {
                Contents::Backfeed => Ok(Opened::Store {
                    store: storage::open(url, &Clock::system()).await.map_err(cannot)?,
                    s3: None,
                }),
                Contents::Seed => Ok(Opened::SeedPostgres(secret.expose().to_owned())),
                Contents::Empty => Err(MigrateError::Usage(format!(
                    "the source {what} holds neither a backfeed store nor mastodon_post_blog's `posts(id, url, toot_id)` table: nothing to copy"
                ))),
                Contents::Unknown(columns) => Err(unknown_posts_table(&what, &columns)),
            }
        }
        DatabaseUrl::S3 {
            bucket,
            prefix,
            endpoint,
            region,
        } => {
            let s3 = S3Store::open(
                bucket,
                prefix,
                endpoint.as_ref(),
                region.as_deref(),
                Clock::system().now(),
            )
            .await
            .map_err(cannot)?;
            let s3 = Arc::new(s3);
            Ok(Opened::Store {
                store: Arc::clone(&s3) as Arc<dyn Store>,
                s3: Some(s3),
            })
        }
        // Its post items are always written with our records beside them,
        // so `list_posts` gives every post.
        DatabaseUrl::DynamoDb { .. } => {
            let store = storage::open(url, &Clock::system()).await.map_err(cannot)?;
            Ok(Opened::Store { store, s3: None })
        }
    }
}

/// Opens (creating and migrating when needed) the destination store.
pub async fn open_destination(url: &DatabaseUrl) -> Result<Arc<dyn Store>, MigrateError> {
    let what = describe(url);
    let cannot = |error| MigrateError::Destination {
        what: what.clone(),
        error,
    };
    #[cfg(feature = "postgres")]
    if let DatabaseUrl::Postgres(secret) = url {
        match postgres::inspect(secret.expose()).await.map_err(cannot)? {
            Contents::Empty | Contents::Backfeed => {}
            Contents::Seed => {
                return Err(MigrateError::Usage(format!(
                    "the destination {what} holds mastodon_post_blog's `posts` table, whose name backfeed's own schema needs: \
                     migrate into a new database (createdb backfeed) and read this one with --from"
                )));
            }
            Contents::Unknown(columns) => return Err(unknown_posts_table(&what, &columns)),
        }
    }
    storage::open(url, &Clock::system()).await.map_err(cannot)
}

fn require_file(path: &Path, what: &str) -> Result<(), MigrateError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(MigrateError::Usage(format!(
            "the source {what} does not exist (no file {})",
            path.display()
        )))
    }
}

#[cfg(feature = "postgres")]
fn unknown_posts_table(what: &str, columns: &[String]) -> MigrateError {
    MigrateError::Usage(format!(
        "{what} has a `posts` table with columns ({}), which is neither backfeed's nor mastodon_post_blog's (id, url, toot_id)",
        columns.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_named_by_jf2_or_by_their_file_name() {
        assert_eq!(
            Source::parse("jf2:/tmp/export.txt").unwrap(),
            Source::Jf2("/tmp/export.txt".into())
        );
        assert_eq!(
            Source::parse("mentions.JSON").unwrap(),
            Source::Jf2("mentions.JSON".into())
        );
        assert!(matches!(
            Source::parse("sqlite://backfeed.db").unwrap(),
            Source::Store(DatabaseUrl::Sqlite(_))
        ));
        let error = Source::parse("mysql://x/y").unwrap_err().to_string();
        assert!(error.contains("jf2:"), "{error}");
    }

    #[test]
    fn passwords_never_show() {
        let url = DatabaseUrl::parse("postgres://me:secret@db.example:5433/blog").unwrap();
        assert_eq!(describe(&url), "postgres://me@db.example:5433/blog");
    }
}
