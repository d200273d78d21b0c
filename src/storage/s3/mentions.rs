//! Received mentions: reading, settling, querying, moderating and removing
//! them (receiving is `receive.rs`).
//!
//! Keys: the record `mentions/by-id/<id>.json` (see `mention_record.rs`),
//! the pair index `mentions/by-pair/<sha256(source, target)>.json` → id,
//! and one empty entry per mention under
//! `mentions/by-target/<sha256(target)>/` (what the read API lists).
//!
//! Invariants: every reader skips an index entry whose record is missing,
//! removed or of another target. Where a provider without atomic
//! conditional writes let two receivers of one webmention both write a
//! record, the pair index names the one that stands: settling the other
//! turns it into a tombstone, and queries show only the named one, so a
//! duplicate costs one more verification and is never shown twice.

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;
use url::Url;

use super::S3Store;
use super::layout::parse_id;
use super::mention_record::MentionObject;
use super::millis;
use super::objects::Step;
use super::receive::PairObject;
use crate::domain::mention::{Mention, MentionId, Moderation, Transition};
use crate::storage::mentions::{MentionQuery, SortDirection, SortField, host_prefixes};
use crate::storage::{Settled, StoreError};

/// Applies a verification attempt's outcome unless the record changed
/// since `seen` (one compare-and-swap). A duplicate (see
/// [`without_duplicates`]) is removed instead, and is `Gone`.
pub async fn settle(
    store: &S3Store,
    id: MentionId,
    transition: &Transition,
    seen: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Settled, StoreError> {
    let writes = !matches!(transition, Transition::Keep(_) | Transition::Retry(_));
    if writes && superseded(store, id).await? {
        remove(store, id).await?;
        return Ok(Settled::Gone);
    }
    store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => match transition {
                    Transition::Keep(_) | Transition::Retry(_) => Step::Done(Settled::Settled),
                    _ if record.updated_at != millis(seen) => Step::Done(Settled::Changed),
                    _ => {
                        let mut next = record.clone();
                        next.apply(transition, now);
                        Step::Write(next, Settled::Settled)
                    }
                },
                _ => Step::Done(Settled::Gone),
            })
        })
        .await
}

pub async fn find(store: &S3Store, id: MentionId) -> Result<Option<Mention>, StoreError> {
    let record = store
        .objects
        .read::<MentionObject>(&store.layout.mention(id.0))
        .await?;
    match record {
        Some(record) if record.value.is_live() => Ok(Some(record.value.to_mention()?)),
        _ => Ok(None),
    }
}

pub async fn query(store: &S3Store, query: &MentionQuery) -> Result<Vec<Mention>, StoreError> {
    let mut records = matching(store, query).await?;
    sort(&mut records, query.sort, query.direction);
    let skip = (query.page as usize).saturating_mul(query.per_page as usize);
    records
        .iter()
        .skip(skip)
        .take(query.per_page as usize)
        .map(MentionObject::to_mention)
        .collect()
}

pub async fn count(store: &S3Store, query: &MentionQuery) -> Result<u64, StoreError> {
    Ok(matching(store, query).await?.len() as u64)
}

/// The live mentions the query selects, unordered, one per source and
/// target. Lists one directory per target and reads the records it names;
/// for every target, lists the records' directory and reads only the
/// records changed since this process last read them (`record_cache.rs`).
async fn matching(store: &S3Store, query: &MentionQuery) -> Result<Vec<MentionObject>, StoreError> {
    let mut records = if query.targets.is_empty() {
        every_record(store).await?
    } else {
        let mut ids = BTreeSet::new();
        for target in &query.targets {
            for listed in store
                .objects
                .list(&store.layout.target_mentions(target))
                .await?
            {
                ids.extend(parse_id(&listed.name));
            }
        }
        let keys = ids.into_iter().map(|id| store.layout.mention(id)).collect();
        store.objects.read_many::<MentionObject>(keys).await?
    };
    let since = query.since.map(millis);
    records.retain(MentionObject::is_live);
    let records = without_duplicates(store, records).await?;
    Ok(records
        .into_iter()
        .filter(|m| {
            query.targets.is_empty() || query.targets.iter().any(|t| t.as_str() == m.target)
        })
        .filter(|m| {
            query.domain.as_deref().is_none_or(|host| {
                host_prefixes(host)
                    .iter()
                    .any(|p| m.target.starts_with(p.as_str()))
            })
        })
        .filter(|m| {
            !query.visible_only || (m.verification == "verified" && m.moderation == "approved")
        })
        .filter(|m| {
            query.properties.is_empty()
                || m.data
                    .as_ref()
                    .is_some_and(|d| query.properties.iter().any(|p| p == d.property()))
        })
        .filter(|m| {
            query
                .moderation
                .is_none_or(|wanted| m.moderation == wanted.label())
        })
        .filter(|m| {
            query
                .verification
                .is_none_or(|wanted| m.verification == wanted.label())
        })
        .filter(|m| since.is_none_or(|since| m.received_at > since))
        .filter(|m| query.since_id.is_none_or(|since| m.id > since.0))
        .filter(|m| {
            query.search.as_deref().is_none_or(|text| {
                let text = text.to_ascii_lowercase();
                m.source.to_ascii_lowercase().contains(&text)
                    || m.target.to_ascii_lowercase().contains(&text)
            })
        })
        .collect())
}

/// Every mention record: the kept copies the listing confirms, and the
/// others read (and kept for next time).
async fn every_record(store: &S3Store) -> Result<Vec<MentionObject>, StoreError> {
    let listed = store.objects.list(&store.layout.mentions()).await?;
    let lookup = store.records.lookup(&listed);
    let sizes: HashMap<i64, u64> = lookup.missing.iter().copied().collect();
    let keys = lookup
        .missing
        .iter()
        .map(|(id, _)| store.layout.mention(*id))
        .collect();
    let mut records = lookup.found;
    for read in store
        .objects
        .read_many_versioned::<MentionObject>(keys)
        .await?
    {
        let size = sizes.get(&read.value.id).copied().unwrap_or(u64::MAX);
        store.records.keep(read.e_tag(), size, &read.value);
        records.push(read.value);
    }
    Ok(records)
}

/// The SQLite backend's order: the field (a missing `published` as the
/// empty string, then the received time), then the id, all in the query's
/// direction.
fn sort(records: &mut [MentionObject], field: SortField, direction: SortDirection) {
    let published = |m: &MentionObject| {
        m.data
            .as_ref()
            .map(|d| d.published().to_owned())
            .unwrap_or_default()
    };
    records.sort_by(|a, b| {
        let by_field = match field {
            SortField::Received => a.received_at.cmp(&b.received_at),
            SortField::Updated => a.updated_at.cmp(&b.updated_at),
            SortField::Published => published(a)
                .cmp(&published(b))
                .then(a.received_at.cmp(&b.received_at)),
        };
        let order = by_field.then(a.id.cmp(&b.id));
        match direction {
            SortDirection::Ascending => order,
            SortDirection::Descending => order.reverse(),
        }
    });
}

pub async fn set_moderation(
    store: &S3Store,
    id: MentionId,
    moderation: Moderation,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => {
                    let mut next = record.clone();
                    next.moderation = moderation.label().to_owned();
                    next.updated_at = millis(now);
                    Step::Write(next, true)
                }
                _ => Step::Done(false),
            })
        })
        .await
}

/// Turns the record into a tombstone (one compare-and-swap, so it cannot
/// race a settlement), then tidies its index entries away.
pub async fn remove(store: &S3Store, id: MentionId) -> Result<bool, StoreError> {
    let Some(record) = tombstone(store, id).await? else {
        return Ok(false);
    };
    if let Ok(target) = Url::parse(&record.target) {
        store
            .objects
            .delete(&store.layout.target_entry(&target, id.0))
            .await?;
    }
    Ok(true)
}

/// Turns a live record into a tombstone; the record as it was, or `None`
/// when there was no live one.
pub async fn tombstone(
    store: &S3Store,
    id: MentionId,
) -> Result<Option<MentionObject>, StoreError> {
    store
        .objects
        .modify::<MentionObject, _>(&store.layout.mention(id.0), |current| {
            Ok(match current {
                Some(record) if record.is_live() => {
                    let mut tombstone = record.clone();
                    tombstone.removed = true;
                    tombstone.data = None;
                    Step::Write(tombstone, Some(record.clone()))
                }
                _ => Step::Done(None),
            })
        })
        .await
}

/// Whether the live mention `id` is a duplicate: the pair index of its
/// source and target names another live mention of theirs (two receivers
/// raced on a provider without atomic conditional writes).
async fn superseded(store: &S3Store, id: MentionId) -> Result<bool, StoreError> {
    let record = store
        .objects
        .read::<MentionObject>(&store.layout.mention(id.0))
        .await?;
    let Some(record) = record.filter(|r| r.value.is_live()) else {
        return Ok(false);
    };
    let standing = standing_id(store, &record.value).await?;
    Ok(standing.is_some_and(|other| other != id.0))
}

/// The id the pair index names for a record's source and target, if that
/// mention is live and theirs.
async fn standing_id(store: &S3Store, record: &MentionObject) -> Result<Option<i64>, StoreError> {
    let (Ok(source), Ok(target)) = (Url::parse(&record.source), Url::parse(&record.target)) else {
        return Ok(None);
    };
    let pair = store
        .objects
        .read::<PairObject>(&store.layout.pair(&source, &target))
        .await?;
    let Some(pair) = pair else {
        return Ok(None);
    };
    if pair.value.id == record.id {
        return Ok(Some(record.id));
    }
    let named = store
        .objects
        .read::<MentionObject>(&store.layout.mention(pair.value.id))
        .await?;
    Ok(named
        .filter(|n| {
            n.value.is_live() && n.value.source == record.source && n.value.target == record.target
        })
        .map(|n| n.value.id))
}

/// Keeps one live record per source and target: the one the pair index
/// names, else the oldest. Duplicates are rare (see the module docs), so
/// the pair index is read only for them.
async fn without_duplicates(
    store: &S3Store,
    records: Vec<MentionObject>,
) -> Result<Vec<MentionObject>, StoreError> {
    let mut groups: HashMap<(String, String), Vec<MentionObject>> = HashMap::new();
    for record in records {
        groups
            .entry((record.source.clone(), record.target.clone()))
            .or_default()
            .push(record);
    }
    let mut kept = Vec::with_capacity(groups.len());
    for (_, mut group) in groups {
        if group.len() > 1 {
            group.sort_by_key(|r| r.id);
            let standing = standing_id(store, &group[0]).await?;
            let index = standing
                .and_then(|id| group.iter().position(|r| r.id == id))
                .unwrap_or(0);
            kept.push(group.swap_remove(index));
        } else {
            kept.extend(group);
        }
    }
    Ok(kept)
}
