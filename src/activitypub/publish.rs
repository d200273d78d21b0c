//! Publishing posts to followers: `Create` for a new post, `Update` for a
//! changed one, `Delete` for one that is gone, one delivery job per
//! follower server (shared inbox, else personal inbox, de-duplicated).
//!
//! A post's object id is on backfeed's host (Mastodon rejects objects whose
//! id is on another host than the actor's, research §1.3) and encodes the
//! post's URL, so a reply's `inReplyTo` leads back to the post. `Article`
//! (Mastodon shows name, summary and link) or `Note` (the full text), as
//! configured; `updated` is set on an `Update`, which Mastodon needs to
//! edit the status.

use std::collections::BTreeSet;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::Federation;
use super::Urls;
use super::documents::{AS_CONTEXT, PUBLIC};
use crate::config::{ActivityPubConfig, ObjectType};
use crate::storage::{PublishedPost, StoreError};

/// What followers are told about a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingPost {
    pub url: Url,
    pub title: Option<String>,
    /// The description: plain text.
    pub summary: Option<String>,
    /// The full text as HTML, when known (a feed entry's content).
    pub content: Option<String>,
    pub published: OffsetDateTime,
    pub updated: Option<OffsetDateTime>,
    pub tags: Vec<String>,
    pub image: Option<Url>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostChange {
    Create,
    Update,
    Delete,
}

impl PostChange {
    fn activity_type(self) -> &'static str {
        match self {
            Self::Create => "Create",
            Self::Update => "Update",
            Self::Delete => "Delete",
        }
    }
}

/// The object id of a post: `<public>/ap/posts/<base64url of its URL>`.
pub fn object_id(base: &super::Urls, url: &Url) -> String {
    base.at(&format!(
        "/ap/posts/{}",
        URL_SAFE_NO_PAD.encode(url.as_str())
    ))
    .into()
}

/// The post URL an object id of ours encodes, if it is one.
pub fn post_url_of(base: &super::Urls, id: &str) -> Option<Url> {
    let prefix = base.at("/ap/posts/").to_string();
    let encoded = id.strip_prefix(&prefix)?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    Url::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

fn time(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// The post as an ActivityStreams object.
pub fn post_object(config: &ActivityPubConfig, urls: &Urls, post: &OutgoingPost) -> Value {
    let escape = super::documents::escape_html;
    let link = format!("<p><a href=\"{0}\">{0}</a></p>", escape(post.url.as_str()));
    let summary_html = post
        .summary
        .as_deref()
        .map(|s| format!("<p>{}</p>", escape(s)));
    let body = post
        .content
        .as_deref()
        .map(ammonia::clean)
        .or_else(|| summary_html.clone())
        .unwrap_or_default();
    let tags: Vec<Value> = post
        .tags
        .iter()
        .map(|tag| {
            let name = tag.trim_start_matches('#');
            json!({"type": "Hashtag", "name": format!("#{name}")})
        })
        .collect();
    let mut object = json!({
        "id": object_id(urls, &post.url),
        "type": config.object.as_str(),
        "attributedTo": urls.actor(),
        "to": [PUBLIC],
        "cc": [urls.followers()],
        "url": post.url.as_str(),
        "published": time(post.published),
        "tag": tags,
    });
    match config.object {
        ObjectType::Article => {
            object["name"] = json!(post.title.clone().unwrap_or_else(|| post.url.to_string()));
            object["summary"] = json!(summary_html.unwrap_or_else(|| link.clone()));
            object["content"] = json!(body);
        }
        ObjectType::Note => {
            let title = post
                .title
                .as_deref()
                .map(|t| format!("<p><strong>{}</strong></p>", escape(t)))
                .unwrap_or_default();
            object["content"] = json!(format!("{title}{body}{link}"));
        }
    }
    if let Some(updated) = post.updated {
        object["updated"] = json!(time(updated));
    }
    if let Some(image) = &post.image {
        object["attachment"] = json!([{"type": "Image", "url": image.as_str()}]);
    }
    object
}

/// What a post's object id answers.
#[derive(Debug, Clone, PartialEq)]
pub enum PostDocument {
    /// The object as last published; the page URL for browsers.
    Live {
        object: Value,
        page: Url,
    },
    /// Deleted: a `Tombstone` (410).
    Gone {
        tombstone: Value,
    },
    Unknown,
}

impl Federation {
    /// The post whose object id is `id` (a full id of ours).
    pub async fn post_document(&self, id: &str) -> Result<PostDocument, StoreError> {
        let Some(url) = post_url_of(&self.urls, id) else {
            return Ok(PostDocument::Unknown);
        };
        let Some(stored) = self.store.find_published(url.as_str()).await? else {
            return Ok(PostDocument::Unknown);
        };
        let object = stored
            .object
            .as_deref()
            .and_then(|o| serde_json::from_str::<Value>(o).ok());
        Ok(match object {
            Some(mut object) => {
                object["@context"] = json!(AS_CONTEXT);
                PostDocument::Live { object, page: url }
            }
            None => PostDocument::Gone {
                tombstone: json!({
                    "@context": AS_CONTEXT,
                    "id": id,
                    "type": "Tombstone",
                    "deleted": time(stored.updated_at),
                }),
            },
        })
    }

    /// How many posts are published and not deleted (NodeInfo).
    pub async fn published_count(&self) -> Result<u64, StoreError> {
        let posts = self.store.list_published().await?;
        Ok(posts.iter().filter(|p| p.object.is_some()).count() as u64)
    }

    /// The outbox's items: a `Create` of each live post, newest first.
    pub async fn outbox_items(&self) -> Result<Vec<Value>, StoreError> {
        Ok(self
            .store
            .list_published()
            .await?
            .into_iter()
            .filter_map(|p| {
                let object: Value = serde_json::from_str(p.object.as_deref()?).ok()?;
                let id = object.get("id")?.as_str()?.to_owned();
                Some(json!({
                    "id": format!("{id}#create"),
                    "type": "Create",
                    "actor": self.urls.actor(),
                    "published": time(p.published_at),
                    "to": [PUBLIC],
                    "cc": [self.urls.followers()],
                    "object": object,
                }))
            })
            .collect())
    }

    /// The activity for `change` of `post`.
    pub fn post_activity(&self, change: PostChange, post: &OutgoingPost) -> Value {
        let object = match change {
            PostChange::Delete => json!({
                "id": object_id(&self.urls, &post.url),
                "type": "Tombstone",
            }),
            _ => post_object(&self.config, &self.urls, post),
        };
        json!({
            "@context": AS_CONTEXT,
            "id": self.urls.new_activity(),
            "type": change.activity_type(),
            "actor": self.urls.actor(),
            "to": [PUBLIC],
            "cc": [self.urls.followers()],
            "object": object,
        })
    }

    /// Records `change` of `post` (served at its id and in the outbox) and
    /// queues it for every follower server; returns how many deliveries
    /// were queued.
    pub async fn federate(
        &self,
        change: PostChange,
        post: &OutgoingPost,
    ) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let object = match change {
            PostChange::Delete => None,
            _ => Some(post_object(&self.config, &self.urls, post).to_string()),
        };
        self.store
            .save_published(&PublishedPost {
                url: post.url.to_string(),
                object,
                published_at: post.published,
                updated_at: now,
            })
            .await?;
        // Threads show the post's object id once it has one.
        match crate::domain::PostUrl::parse(post.url.as_str()) {
            Ok(url) => self.changes.bump_for(url.as_str()),
            Err(_) => self.changes.bump(),
        }
        let inboxes: BTreeSet<String> = self
            .store
            .list_followers()
            .await?
            .iter()
            .map(|f| f.delivery_inbox().to_owned())
            .collect();
        if inboxes.is_empty() {
            return Ok(0);
        }
        let activity = self.post_activity(change, post);
        for inbox in &inboxes {
            self.queue_delivery(inbox, &activity, None).await?;
        }
        tracing::info!(url = %post.url, change = change.activity_type(), servers = inboxes.len(),
            "post federated to followers");
        Ok(inboxes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activitypub::Urls;
    use crate::activitypub::documents::tests::config;

    fn post(updated: bool) -> OutgoingPost {
        let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        OutgoingPost {
            url: Url::parse("https://blog.example/posts/a/").unwrap(),
            title: Some("A <title>".into()),
            summary: Some("Short & sweet".into()),
            content: Some("<p>Full <script>x</script>text</p>".into()),
            published: at,
            updated: updated.then_some(at),
            tags: vec!["#rust".into(), "web".into()],
            image: Some(Url::parse("https://blog.example/a.png").unwrap()),
        }
    }

    #[test]
    fn an_article_has_name_summary_and_sanitised_content() {
        let config = config();
        let urls = Urls::new(&config);
        let object = post_object(&config, &urls, &post(false));
        assert_eq!(object["type"], "Article");
        assert_eq!(object["name"], "A <title>");
        assert_eq!(object["summary"], "<p>Short &amp; sweet</p>");
        assert_eq!(object["content"], "<p>Full text</p>");
        assert_eq!(object["url"], "https://blog.example/posts/a/");
        assert_eq!(object["attributedTo"], "https://c.example/ap/actor");
        assert_eq!(object["to"][0], PUBLIC);
        assert_eq!(object["cc"][0], "https://c.example/ap/followers");
        assert_eq!(object["tag"][0]["name"], "#rust");
        assert_eq!(object["tag"][1]["name"], "#web");
        assert_eq!(object["attachment"][0]["url"], "https://blog.example/a.png");
        assert!(object.get("updated").is_none());
        assert!(
            post_object(&config, &urls, &post(true))
                .get("updated")
                .is_some()
        );
    }

    #[test]
    fn a_note_carries_title_text_and_link_in_its_content() {
        let mut config = config();
        config.object = ObjectType::Note;
        let urls = Urls::new(&config);
        let object = post_object(&config, &urls, &post(false));
        assert_eq!(object["type"], "Note");
        assert!(object.get("name").is_none());
        let content = object["content"].as_str().unwrap();
        assert!(
            content.starts_with("<p><strong>A &lt;title&gt;</strong></p><p>Full text</p>"),
            "{content}"
        );
        assert!(
            content.contains("href=\"https://blog.example/posts/a/\""),
            "{content}"
        );
    }

    #[test]
    fn object_ids_are_on_our_host_and_lead_back_to_the_post() {
        let urls = Urls::new(&config());
        let post = Url::parse("https://blog.example/posts/a?b=c").unwrap();
        let id = object_id(&urls, &post);
        assert!(id.starts_with("https://c.example/ap/posts/"), "{id}");
        assert_eq!(post_url_of(&urls, &id), Some(post));
        assert_eq!(post_url_of(&urls, "https://c.example/ap/actor"), None);
        assert_eq!(
            post_url_of(&urls, "https://else.example/ap/posts/aGk"),
            None
        );
    }
}
