//! Reading mastodon_post_blog's own stores into post records: its PostgreSQL table
//! `posts(id, url, toot_id)`, and its S3 layout (a zero-byte object
//! `.mastodon-meta/<url path>` with user metadata `toot-id` per post).
//!
//! mastodon_post_blog's S3 keys hold only the URL's path, so the blog's origin comes
//! from `--site`; it is asked for only when the bucket holds such objects
//! that backfeed has no record of (backfeed writes the same objects for the
//! posts it announces, next to a record that holds the whole URL).
//!
//! Invariant: a row or object that does not make a post (no URL, no toot
//! id) is reported as invalid, never guessed at; mastodon_post_blog recorded no times,
//! so a post from its table is dated by the migration, one from its bucket
//! by the object's last change.

use std::collections::HashSet;

use futures_util::{StreamExt, stream};
use time::OffsetDateTime;
use url::Url;

use super::MigrateError;
use super::summary::{Kind, Summary};
#[cfg(feature = "postgres")]
use crate::domain::TootId;
use crate::domain::{PostRecord, PostState, PostUrl};
use crate::storage::StoreError;
#[cfg(feature = "postgres")]
use crate::storage::postgres::{SeedRow, seed_rows};
use crate::storage::s3::S3Store;

/// Requests in flight while reading mastodon_post_blog's objects.
const IN_FLIGHT: usize = 16;

/// The posts in mastodon_post_blog's PostgreSQL table; rows that are no post are
/// counted as invalid in `summary`.
#[cfg(feature = "postgres")]
pub async fn postgres_posts(
    url: &str,
    what: &str,
    now: OffsetDateTime,
    summary: &mut Summary,
) -> Result<Vec<PostRecord>, MigrateError> {
    let rows = seed_rows(url).await.map_err(|error| MigrateError::Source {
        what: what.to_owned(),
        error,
    })?;
    summary.read(Kind::Posts, rows.len() as u64);
    let mut posts = Vec::with_capacity(rows.len());
    for row in rows {
        match seed_row_post(&row, now) {
            Ok(post) => posts.push(post),
            Err(why) => summary.invalid(
                Kind::Posts,
                format!("mastodon_post_blog row id {}: {why}", row.id),
            ),
        }
    }
    Ok(posts)
}

#[cfg(feature = "postgres")]
fn seed_row_post(row: &SeedRow, now: OffsetDateTime) -> Result<PostRecord, String> {
    let text = row.url.as_deref().ok_or("no url")?;
    let url = PostUrl::parse(text).map_err(|e| e.to_string())?;
    let toot_id = row
        .toot_id
        .clone()
        .and_then(TootId::new)
        .ok_or_else(|| format!("{url} has no toot id"))?;
    Ok(PostRecord {
        url,
        state: PostState::Announced { toot_id },
        created_at: now,
        updated_at: now,
    })
}

/// `--site`: the blog's origin, which mastodon_post_blog's keys leave out.
pub fn parse_site(text: &str) -> Result<Url, MigrateError> {
    let bad = |why: &str| {
        MigrateError::Usage(format!(
            "--site `{text}` {why}; give the blog's origin, like https://blog.example"
        ))
    };
    let url = Url::parse(text.trim()).map_err(|_| bad("is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("is not an http(s) address"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad(
            "has a path: mastodon_post_blog's keys hold a post's whole path, so only the origin is needed",
        ));
    }
    Ok(url)
}

/// The posts the bucket holds only in mastodon_post_blog's layout (no record of
/// ours names them), with their URLs rebuilt from `site`.
pub async fn s3_posts(
    s3: &S3Store,
    ours: &[PostRecord],
    site: Option<&Url>,
    what: &str,
    summary: &mut Summary,
) -> Result<Vec<PostRecord>, MigrateError> {
    let read_failed = |error| MigrateError::Read(what.to_owned(), error);
    let covered: HashSet<&str> = ours
        .iter()
        .map(|p| p.url.path_without_leading_slash())
        .collect();
    let paths: Vec<String> = s3
        .seed_paths()
        .await
        .map_err(read_failed)?
        .into_iter()
        .filter(|path| !covered.contains(path.as_str()))
        .collect();
    let Some(first) = paths.first() else {
        return Ok(Vec::new());
    };
    let Some(site) = site else {
        return Err(MigrateError::Usage(format!(
            "{what} holds {} announced post(s) in mastodon_post_blog's layout (e.g. `.mastodon-meta/{first}`), whose keys hold \
             only the URL's path: give the blog's address with --site https://blog.example so their URLs can be rebuilt",
            paths.len()
        )));
    };
    summary.read(Kind::Posts, paths.len() as u64);
    summary.note(format!(
        "{} post(s) found only in mastodon_post_blog's layout (.mastodon-meta/…) were read as {site}<path>",
        paths.len()
    ));
    let looks: Vec<_> = paths.iter().map(|path| s3.seed_post(path)).collect();
    let found: Vec<_> = stream::iter(looks).buffered(IN_FLIGHT).collect().await;
    let mut posts = Vec::new();
    for (path, found) in paths.iter().zip(found) {
        let key = format!(".mastodon-meta/{path}");
        let seed = match found {
            Ok(Some(seed)) => seed,
            // Deleted since it was listed: nothing to copy.
            Ok(None) => {
                summary.invalid(Kind::Posts, format!("{key}: gone while reading"));
                continue;
            }
            Err(StoreError::Corrupt(why)) => {
                summary.invalid(Kind::Posts, format!("{key}: {why}"));
                continue;
            }
            Err(error) => return Err(read_failed(error)),
        };
        let url = match PostUrl::parse(&format!("{}{path}", site.as_str())) {
            Ok(url) => url,
            Err(e) => {
                summary.invalid(Kind::Posts, format!("{key}: {e}"));
                continue;
            }
        };
        let at = seed.last_modified.unwrap_or_else(OffsetDateTime::now_utc);
        posts.push(PostRecord {
            url,
            state: PostState::Announced { toot_id: seed.toot },
            created_at: at,
            updated_at: at,
        });
    }
    Ok(posts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_site_is_an_origin() {
        assert_eq!(
            parse_site("https://blog.example").unwrap().as_str(),
            "https://blog.example/"
        );
        for bad in [
            "blog.example",
            "ftp://blog.example",
            "https://blog.example/blog/",
        ] {
            assert!(parse_site(bad).is_err(), "{bad}");
        }
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn seed_rows_without_a_url_or_toot_are_not_posts() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let row = |url: Option<&str>, toot: Option<&str>| SeedRow {
            id: "1".into(),
            url: url.map(str::to_owned),
            toot_id: toot.map(str::to_owned),
        };
        let post =
            seed_row_post(&row(Some("https://blog.example/p?x=1"), Some("42")), now).unwrap();
        assert_eq!(post.url.as_str(), "https://blog.example/p");
        assert!(seed_row_post(&row(None, Some("42")), now).is_err());
        assert!(seed_row_post(&row(Some("https://blog.example/p"), None), now).is_err());
        assert!(seed_row_post(&row(Some("not a url"), Some("42")), now).is_err());
    }
}
