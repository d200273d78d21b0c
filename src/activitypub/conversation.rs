//! Replies, likes and boosts from the fediverse, brought home as comments.
//!
//! Each becomes a mention of the post (`domain::mention::Via::ActivityPub`),
//! so it is moderated, hidden, blocked, counted and served exactly as a
//! webmention is: a reply's source is its note, a like's or boost's the
//! activity. A reply answers one of our posts (`inReplyTo` is the post's
//! object id or its page) or a reply already in its thread (threaded under
//! it). `Update` and `Delete` of a note, and `Undo` of a like or boost, act
//! only on what the same account sent.
//!
//! Invariant: the signer is the activity's actor (the inbox checked), a
//! note must be attributed to that actor and have its id on the actor's
//! host, and a change to an existing interaction must come from the account
//! that made it. Only public notes (and unlisted ones, when threads include
//! them) become comments.

use serde_json::Value;
use url::Url;

use super::Federation;
use super::documents::PUBLIC;
use super::publish::post_url_of;
use super::remote::{RemoteActor, host_of, text};
use crate::domain::PostUrl;
use crate::domain::approval::{self, Origin, Rules};
use crate::domain::mention::{
    Author, Mention, MentionData, MentionId, Relation, Transition, Verification, Via,
};
use crate::domain::webmention::DomainList;
use crate::protocol::sanitize::{capped, plain_text, safe_url, sanitize_html};
use crate::storage::{MentionQuery, Settled, StoreError};

/// Largest note content kept (the inbox already caps the activity).
const MAX_CONTENT: usize = 64 * 1024;

/// The owner's settings that judge an interaction, as for webmentions.
#[derive(Debug, Clone, Default)]
pub struct ConversationRules {
    /// Manual moderation: a new interaction waits for approval unless its
    /// server is allowed.
    pub manual: bool,
    pub allowed: DomainList,
    pub blocked: DomainList,
    /// Unlisted notes (public, but not in `to`) become comments too.
    pub include_unlisted: bool,
}

/// What acting on an interaction did (for tests and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interaction {
    Recorded,
    Edited,
    Removed,
    Ignored(&'static str),
}

impl Federation {
    /// `Create`, `Update`, `Delete`, `Like`, `Announce` and their `Undo`
    /// from `actor` (the verified signer).
    pub async fn interact(&self, actor: &str, activity: &Value) -> Result<Interaction, String> {
        let kind = activity.get("type").and_then(Value::as_str).unwrap_or("");
        let host = host_name(actor);
        if self.is_blocked(&host).await.map_err(|e| e.to_string())? {
            return Ok(Interaction::Ignored("a blocked server"));
        }
        let result = match kind {
            "Create" => self.create_note(actor, activity).await,
            "Update" => self.update_note(actor, activity).await,
            "Delete" => match text(activity, "object") {
                Some(id) => self.withdraw(actor, &id).await,
                None => Ok(Interaction::Ignored("a delete of nothing")),
            },
            "Like" => self.react(actor, activity, Relation::Like).await,
            "Announce" => self.react(actor, activity, Relation::Repost).await,
            "Undo" => match text(activity, "object") {
                Some(id) => self.withdraw(actor, &id).await,
                None => Ok(Interaction::Ignored("an undo of nothing")),
            },
            _ => Ok(Interaction::Ignored("an activity type we do not act on")),
        };
        result.map_err(|e| e.to_string())
    }

    async fn create_note(&self, actor: &str, create: &Value) -> Result<Interaction, StoreError> {
        let Some(note) = create.get("object").filter(|o| o.is_object()) else {
            return Ok(Interaction::Ignored("a create without an embedded object"));
        };
        let Some(place) = self.place_of(note).await? else {
            return Ok(Interaction::Ignored("not a reply in one of our threads"));
        };
        let Some((source, remote)) = self.own_note(actor, note).await else {
            return Ok(Interaction::Ignored("a note its actor does not own"));
        };
        if !self.is_visible(note) {
            return Ok(Interaction::Ignored("a note that is not public"));
        }
        let data = note_data(note, &remote, place.in_reply_to.clone());
        if let Some(existing) = self.interaction(source.as_str()).await? {
            return self.edit(existing, &remote, data).await;
        }
        self.record(source, place.post, data).await
    }

    async fn update_note(&self, actor: &str, update: &Value) -> Result<Interaction, StoreError> {
        let Some(note) = update.get("object").filter(|o| o.is_object()) else {
            return Ok(Interaction::Ignored("an update without an embedded object"));
        };
        let Some((source, remote)) = self.own_note(actor, note).await else {
            return Ok(Interaction::Ignored("a note its actor does not own"));
        };
        let Some(existing) = self.interaction(source.as_str()).await? else {
            // An edit of a reply we never had may make it one: take it as new.
            return self.create_note(actor, update).await;
        };
        if !self.is_visible(note) {
            return self.remove_interaction(existing, "no longer public").await;
        }
        let in_reply_to = match &existing.data {
            Some(MentionData {
                via: Via::ActivityPub { in_reply_to, .. },
                ..
            }) => in_reply_to.clone(),
            _ => None,
        };
        let data = note_data(note, &remote, in_reply_to);
        self.edit(existing, &remote, data).await
    }

    async fn react(
        &self,
        actor: &str,
        activity: &Value,
        relation: Relation,
    ) -> Result<Interaction, StoreError> {
        let Some(object) = text(activity, "object") else {
            return Ok(Interaction::Ignored("a reaction to nothing"));
        };
        let Some(post) = self.our_post(&object).await? else {
            return Ok(Interaction::Ignored("a reaction to something not ours"));
        };
        let Some(id) = text(activity, "id").and_then(|id| Url::parse(&id).ok()) else {
            return Ok(Interaction::Ignored("a reaction without an id"));
        };
        if origin(id.as_str()) != origin(actor) {
            return Ok(Interaction::Ignored(
                "a reaction whose id is not its actor's",
            ));
        }
        let remote = self.actor(actor).await.map_err(remote_error)?;
        if self.interaction(id.as_str()).await?.is_some() {
            return Ok(Interaction::Ignored("a reaction we have"));
        }
        let data = MentionData {
            relation,
            author: Some(author(&remote)),
            url: Some(id.to_string()),
            via: Via::ActivityPub {
                handle: remote.handle(),
                in_reply_to: None,
            },
            ..MentionData::default()
        };
        self.record(id, post, data).await
    }

    /// `Delete` of a note, or `Undo` of a like or boost: `id` is what it
    /// withdraws.
    async fn withdraw(&self, actor: &str, id: &str) -> Result<Interaction, StoreError> {
        let Some(existing) = self.interaction(id).await? else {
            return Ok(Interaction::Ignored(
                "a withdrawal of something we do not have",
            ));
        };
        let remote = self.actor(actor).await.map_err(remote_error)?;
        if !made_by(&existing, &remote) {
            return Ok(Interaction::Ignored("a withdrawal by someone else"));
        }
        self.remove_interaction(existing, "withdrawn by its author")
            .await
    }

    async fn record(
        &self,
        source: Url,
        post: Url,
        data: MentionData,
    ) -> Result<Interaction, StoreError> {
        let host = host_name(source.as_str());
        let rules = self.approval_rules();
        let origin = Origin {
            source_host: &host,
            content_host: &host,
        };
        let moderation = match approval::apply(
            Transition::Verify(data.clone()),
            rules,
            origin,
            approval::initial(rules),
            None,
        ) {
            Transition::VerifyAndModerate(_, moderation) => moderation,
            _ => approval::initial(rules),
        };
        let now = self.clock.now();
        let mention = Mention {
            id: MentionId(0),
            source,
            target: post.clone(),
            verification: Verification::Verified,
            moderation,
            data: Some(data),
            received_at: now,
            updated_at: now,
        };
        self.store.import_mentions(&[mention], now).await?;
        self.changed(&post);
        Ok(Interaction::Recorded)
    }

    async fn edit(
        &self,
        existing: Mention,
        remote: &RemoteActor,
        data: MentionData,
    ) -> Result<Interaction, StoreError> {
        if !made_by(&existing, remote) {
            return Ok(Interaction::Ignored("an edit by someone else"));
        }
        let host = host_name(existing.source.as_str());
        let origin = Origin {
            source_host: &host,
            content_host: &host,
        };
        let transition = approval::apply(
            Transition::Verify(data),
            self.approval_rules(),
            origin,
            existing.moderation,
            existing.data.as_ref(),
        );
        self.settle(&existing, &transition).await?;
        Ok(Interaction::Edited)
    }

    async fn remove_interaction(
        &self,
        existing: Mention,
        why: &str,
    ) -> Result<Interaction, StoreError> {
        self.settle(&existing, &Transition::Delete(why.to_owned()))
            .await?;
        Ok(Interaction::Removed)
    }

    async fn settle(&self, existing: &Mention, transition: &Transition) -> Result<(), StoreError> {
        let now = self.clock.now();
        match self
            .store
            .settle_mention(existing.id, transition, existing.updated_at, now)
            .await?
        {
            Settled::Settled | Settled::Gone => {}
            // Moderated meanwhile: apply on top of what stands now.
            Settled::Changed => {
                if let Some(current) = self.store.find_mention(existing.id).await? {
                    self.store
                        .settle_mention(current.id, transition, current.updated_at, now)
                        .await?;
                }
            }
        }
        self.changed(&existing.target);
        Ok(())
    }

    /// The fediverse interaction whose source is `id`, whatever its state.
    async fn interaction(&self, id: &str) -> Result<Option<Mention>, StoreError> {
        let found = self
            .store
            .query_mentions(&MentionQuery {
                search: Some(id.to_owned()),
                visible_only: false,
                per_page: 100,
                ..MentionQuery::default()
            })
            .await?;
        Ok(found.into_iter().find(|m| {
            m.source.as_str() == id
                && m.data.as_ref().is_some_and(|d| d.via.is_activitypub())
                && !matches!(m.verification, Verification::Deleted { .. })
        }))
    }

    /// The post a note replies to, directly or through replies in its
    /// thread; `None` when it is not a reply in one of our threads.
    async fn place_of(&self, note: &Value) -> Result<Option<Place>, StoreError> {
        let Some(parent) = text(note, "inReplyTo") else {
            return Ok(None);
        };
        if let Some(post) = self.our_post(&parent).await? {
            return Ok(Some(Place {
                post,
                in_reply_to: None,
            }));
        }
        // Every reply we keep is a mention of the post itself.
        Ok(self.interaction(&parent).await?.map(|reply| Place {
            post: reply.target,
            in_reply_to: Some(parent),
        }))
    }

    /// The page URL of one of our published posts, named by its object id
    /// or its page URL.
    async fn our_post(&self, id: &str) -> Result<Option<Url>, StoreError> {
        let url = match post_url_of(&self.urls, id) {
            Some(url) => url,
            None => match Url::parse(id) {
                Ok(url) => url,
                Err(_) => return Ok(None),
            },
        };
        Ok(self
            .store
            .find_published(url.as_str())
            .await?
            .filter(|p| p.object.is_some())
            .map(|_| url))
    }

    /// The note's id as a URL, when the note is `actor`'s: attributed to it
    /// and with its id on the actor's host.
    async fn own_note(
        &self,
        actor: &str,
        note: &Value,
    ) -> Option<(Url, std::sync::Arc<RemoteActor>)> {
        let id = Url::parse(&text(note, "id")?).ok()?;
        let attributed = text(note, "attributedTo").unwrap_or_else(|| actor.to_owned());
        if attributed != actor || origin(id.as_str()) != origin(actor) {
            return None;
        }
        let remote = self.actor(actor).await.ok()?;
        Some((id, remote))
    }

    fn is_visible(&self, note: &Value) -> bool {
        let names = |field: &str| -> Vec<String> {
            match note.get(field) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(one)) => vec![one.clone()],
                _ => Vec::new(),
            }
        };
        let public = |list: Vec<String>| {
            list.iter()
                .any(|a| a == PUBLIC || a == "as:Public" || a == "Public")
        };
        public(names("to")) || (self.rules.include_unlisted && public(names("cc")))
    }

    async fn is_blocked(&self, host: &str) -> Result<bool, StoreError> {
        if self.rules.blocked.matches(host) {
            return Ok(true);
        }
        Ok(DomainList::new(self.store.blocked_domains().await?).matches(host))
    }

    fn approval_rules(&self) -> Rules<'_> {
        Rules {
            manual: self.rules.manual,
            allowed: &self.rules.allowed,
        }
    }

    fn changed(&self, post: &Url) {
        match PostUrl::parse(post.as_str()) {
            Ok(post) => self.changes.bump_for(post.as_str()),
            Err(_) => self.changes.bump(),
        }
    }
}

/// Where a reply goes: the post, and the reply it answers (if not the post).
struct Place {
    post: Url,
    in_reply_to: Option<String>,
}

fn remote_error(error: super::remote::RemoteError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// `host[:port]` of a URL, lower-case: which server it is on; empty when
/// it is not one.
fn origin(url: &str) -> String {
    Url::parse(url)
        .map(|u| host_of(&u).to_ascii_lowercase())
        .unwrap_or_default()
}

/// The host name of a URL (what domain lists judge); empty when it is not one.
fn host_name(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

fn made_by(mention: &Mention, remote: &RemoteActor) -> bool {
    let handle = remote.handle();
    origin(mention.source.as_str()) == origin(&remote.id)
        && matches!(
            mention.data.as_ref().map(|d| &d.via),
            Some(Via::ActivityPub { handle: h, .. }) if *h == handle
        )
}

fn author(remote: &RemoteActor) -> Author {
    Author {
        name: Some(
            remote
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| remote.handle()),
        )
        .map(|n| capped(&n, 200)),
        photo: remote.icon.as_deref().and_then(safe_url),
        url: remote
            .url
            .as_deref()
            .and_then(safe_url)
            .or_else(|| safe_url(&remote.id)),
    }
}

/// A note as a reply: sanitised content, its page, when it was written.
fn note_data(note: &Value, remote: &RemoteActor, in_reply_to: Option<String>) -> MentionData {
    let id = text(note, "id").unwrap_or_default();
    let base = Url::parse(&id).unwrap_or_else(|_| Url::parse("https://invalid.example/").unwrap());
    let html = note
        .get("content")
        .and_then(Value::as_str)
        .map(|c| sanitize_html(&capped(c, MAX_CONTENT), &base));
    let text_content = html.as_deref().map(plain_text);
    let url = match note.get("url") {
        Some(Value::String(url)) => safe_url(url),
        Some(Value::Object(link)) => link.get("href").and_then(Value::as_str).and_then(safe_url),
        Some(Value::Array(links)) => links.iter().find_map(|l| match l {
            Value::String(url) => safe_url(url),
            Value::Object(link) => link.get("href").and_then(Value::as_str).and_then(safe_url),
            _ => None,
        }),
        _ => None,
    }
    .or_else(|| safe_url(&id));
    MentionData {
        relation: Relation::Reply,
        author: Some(author(remote)),
        content_html: html.filter(|h| !h.trim().is_empty()),
        content_text: text_content.filter(|t| !t.is_empty()),
        name: None,
        published: note
            .get("published")
            .and_then(Value::as_str)
            .map(|p| capped(p, 64)),
        url,
        via: Via::ActivityPub {
            handle: remote.handle(),
            in_reply_to,
        },
    }
}
