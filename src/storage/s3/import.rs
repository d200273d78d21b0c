//! Copying whole stores (`backfeed migrate`): mentions out by id, posts and
//! mentions in, with several requests in flight (S3 has no batches).
//!
//! Invariants: an imported post follows the same order as `record_toot`
//! (the seed's object first, created with `If-None-Match`, then our
//! record), so the first toot recorded wins here too and a different one is
//! reported, never written. An imported mention is written as a received
//! one is (`receive.rs`: a new id, its job and index entry, its record,
//! then its pair), unless its source and target have a live mention.

use futures_util::{StreamExt, TryStreamExt, stream};
use time::OffsetDateTime;

use super::S3Store;
use super::layout::parse_id;
use super::mention_record::MentionObject;
use super::objects::{contended, contention_pause, max_attempts};
use super::posts::{create_announced, import_announced, import_failed};
use super::receive::{Pair, drop_duplicate, look, take_pair, verify, write_record};
use crate::domain::mention::{Mention, MentionId, Verification};
use crate::domain::{PostRecord, PostState, TootId};
use crate::storage::{Imported, StoreError};

/// Requests in flight while importing.
const IN_FLIGHT: usize = 16;

pub async fn import_posts(
    store: &S3Store,
    posts: &[PostRecord],
) -> Result<Vec<Imported>, StoreError> {
    let look_first = look_first(store, posts).await?;
    // Futures made up front: a closure over borrowed items in a stream
    // trips the compiler's check that the trait's future is `Send`.
    let imports: Vec<_> = posts
        .iter()
        .map(|post| import_post(store, post, look_first))
        .collect();
    stream::iter(imports)
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// Whether to look for each post's seed object before creating it: always
/// where the provider may not honour `If-None-Match` (a create there may
/// overwrite), else when the batch's first post is there already (a second
/// run), where looking is one request and a refused create two.
async fn look_first(store: &S3Store, posts: &[PostRecord]) -> Result<bool, StoreError> {
    if !store.conditional_writes() {
        return Ok(true);
    }
    match posts.first() {
        Some(post) => Ok(store
            .seed
            .find(&store.layout.seed_key(&post.url))
            .await?
            .is_some()),
        None => Ok(false),
    }
}

async fn import_post(
    store: &S3Store,
    post: &PostRecord,
    look_first: bool,
) -> Result<Imported, StoreError> {
    let seed_key = store.layout.seed_key(&post.url);
    let toot = match &post.state {
        PostState::Claimed { .. } => return Ok(Imported::Present),
        PostState::Failed { reason } => {
            if store.seed.find(&seed_key).await?.is_some() {
                return Ok(Imported::Present);
            }
            let written = import_failed(store, post, reason).await?;
            return Ok(if written {
                Imported::Copied
            } else {
                Imported::Present
            });
        }
        PostState::Announced { toot_id } => toot_id,
    };
    // Without a look, a post new to the store costs two requests: the
    // create decides whether the seed's object exists.
    let existing = if look_first {
        store.seed.find(&seed_key).await?.map(|seed| seed.toot)
    } else {
        None
    };
    let existing = match existing {
        Some(kept) => Some(kept),
        None => store.seed.create_or_find(&seed_key, toot).await?,
    };
    let may_be_new = existing.is_none() && store.conditional_writes();
    if may_be_new && create_announced(store, post, toot).await? {
        return Ok(Imported::Copied);
    }
    let kept = existing.as_ref().unwrap_or(toot);
    import_announced(store, post, kept).await?;
    Ok(match existing {
        None => Imported::Copied,
        Some(kept) if kept == *toot => Imported::Present,
        Some(kept) => conflict(&kept),
    })
}

fn conflict(kept: &TootId) -> Imported {
    Imported::Conflict {
        kept: format!("toot {kept}"),
    }
}

pub async fn export_mentions(
    store: &S3Store,
    after: Option<MentionId>,
    limit: usize,
) -> Result<Vec<Mention>, StoreError> {
    let dir = store.layout.mentions();
    let mut cursor = after.map(|id| store.layout.mention(id.0));
    let mut found = Vec::new();
    while found.len() < limit {
        let listed = store
            .objects
            .list_after(&dir, cursor.as_ref(), limit)
            .await?;
        let Some(last) = listed.last() else {
            break;
        };
        cursor = Some(last.location.clone());
        let exhausted = listed.len() < limit;
        let keys = listed
            .iter()
            .filter_map(|l| parse_id(&l.name))
            .map(|id| store.layout.mention(id))
            .collect();
        let mut records = store.objects.read_many::<MentionObject>(keys).await?;
        records.retain(MentionObject::is_live);
        records.sort_by_key(|r| r.id);
        for record in records.iter().take(limit - found.len()) {
            found.push(record.to_mention()?);
        }
        if exhausted {
            break;
        }
    }
    Ok(found)
}

pub async fn import_mentions(
    store: &S3Store,
    mentions: &[Mention],
    now: OffsetDateTime,
) -> Result<Vec<Imported>, StoreError> {
    let imports: Vec<_> = mentions
        .iter()
        .map(|mention| import_mention(store, mention, now))
        .collect();
    stream::iter(imports)
        .buffered(IN_FLIGHT)
        .try_collect()
        .await
}

/// Like `receive::receive`, but a live mention for the pair is left as it
/// is, and a new one is written as imported.
async fn import_mention(
    store: &S3Store,
    mention: &Mention,
    now: OffsetDateTime,
) -> Result<Imported, StoreError> {
    let (source, target) = (&mention.source, &mention.target);
    let pending = mention.verification == Verification::Pending;
    for attempt in 0..max_attempts() {
        match look(store, source, target, now).await? {
            Pair::Live(_) => return Ok(Imported::Present),
            Pair::InFlight => {}
            Pair::Free(pair) => {
                let make = |id| MentionObject::imported(id, mention);
                let id = write_record(store, target, make, now).await?;
                if take_pair(store, source, target, pair.as_ref(), id).await? {
                    if pending {
                        verify(store, id, now, now).await?;
                    }
                    return Ok(Imported::Copied);
                }
                drop_duplicate(store, target, id).await?;
            }
        }
        contention_pause(attempt).await;
    }
    Err(contended(&store.layout.pair(source, target)))
}
