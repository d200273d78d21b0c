//! Reading a toot and its replies: `GET /api/v1/statuses/{id}` and
//! `GET /api/v1/statuses/{id}/context`, with the owner's token.
//!
//! Mastodon's JSON stays here; it becomes domain [`Reply`] values with their
//! HTML sanitised, URLs checked to be http(s), and nothing else kept.

use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::{MastodonClient, MastodonError, parse_success};
use crate::domain::thread::{Emoji, Media, Reply, ReplyAuthor, StatusId, TootSummary};
use crate::protocol::sanitize::{self, plain_text, sanitize_html};

/// A fetched thread: the toot, its descendants, and Mastodon's hint that
/// more remote replies are being fetched (`Mastodon-Async-Refresh`).
#[derive(Debug, Clone)]
pub struct FetchedThread {
    pub toot: TootSummary,
    pub replies: Vec<Reply>,
    pub refresh_hint: Option<Duration>,
}

impl MastodonClient {
    pub async fn fetch_thread(&self, toot_id: &str) -> Result<FetchedThread, MastodonError> {
        let status: StatusWire = self
            .get_json(&format!("/api/v1/statuses/{toot_id}"))
            .await?
            .0;
        let (context, headers): (ContextWire, _) = self
            .get_json(&format!("/api/v1/statuses/{toot_id}/context"))
            .await?;
        let refresh_hint = headers
            .get("mastodon-async-refresh")
            .and_then(|v| v.to_str().ok())
            .and_then(async_refresh_retry);
        let id = StatusId::new(status.id.clone()).ok_or_else(|| {
            MastodonError::Unexpected(format!("the toot's id `{}` is not a status id", status.id))
        })?;
        Ok(FetchedThread {
            toot: TootSummary {
                id,
                url: safe_url(status.url.as_deref()),
                replies_count: status.replies_count,
                reblogs_count: status.reblogs_count,
                favourites_count: status.favourites_count,
            },
            replies: context
                .descendants
                .into_iter()
                .filter_map(StatusWire::into_reply)
                .collect(),
            refresh_hint,
        })
    }

    async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        path: &str,
    ) -> Result<(T, http::HeaderMap), MastodonError> {
        let request = self
            .http
            .request(Method::GET, self.config.base.endpoint(path))
            .bearer_auth(self.config.token.expose())
            .header("Accept", "application/json");
        let response = self
            .http
            .execute(request)
            .await
            .map_err(MastodonError::from_fetch)?;
        let value = parse_success(&response, self.clock.now())?;
        Ok((value, response.headers))
    }
}

/// `Mastodon-Async-Refresh: id="…", retry=5, result_count=3`: when to look again.
pub fn async_refresh_retry(header: &str) -> Option<Duration> {
    header
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .find(|(key, _)| key.trim() == "retry")
        .and_then(|(_, value)| value.trim().trim_matches('"').parse::<u64>().ok())
        .map(|secs| Duration::from_secs(secs.clamp(1, 3600)))
}

fn safe_url(text: Option<&str>) -> Option<String> {
    text.and_then(sanitize::safe_url)
}

#[derive(Deserialize)]
struct ContextWire {
    #[serde(default)]
    descendants: Vec<StatusWire>,
}

#[derive(Deserialize)]
struct StatusWire {
    id: String,
    #[serde(default)]
    in_reply_to_id: Option<String>,
    #[serde(default)]
    visibility: String,
    #[serde(default)]
    created_at: String,
    #[serde(default)]
    edited_at: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    uri: Option<String>,
    #[serde(default)]
    content: String,
    #[serde(default)]
    spoiler_text: String,
    #[serde(default)]
    replies_count: u64,
    #[serde(default)]
    reblogs_count: u64,
    #[serde(default)]
    favourites_count: u64,
    #[serde(default)]
    media_attachments: Vec<MediaWire>,
    #[serde(default)]
    emojis: Vec<EmojiWire>,
    account: Option<AccountWire>,
}

#[derive(Deserialize)]
struct AccountWire {
    #[serde(default)]
    acct: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    avatar: Option<String>,
    #[serde(default)]
    emojis: Vec<EmojiWire>,
}

#[derive(Deserialize)]
struct MediaWire {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    preview_url: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct EmojiWire {
    shortcode: String,
    url: String,
}

/// Mastodon's times are RFC 3339 (`2026-11-22T10:44:12.345Z`).
fn timestamp(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

fn emojis(wire: Vec<EmojiWire>) -> Vec<Emoji> {
    wire.into_iter()
        .filter(|e| {
            e.shortcode
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .filter_map(|e| {
            Some(Emoji {
                url: safe_url(Some(&e.url))?,
                shortcode: e.shortcode,
            })
        })
        .collect()
}

impl StatusWire {
    /// `None` for a status without an account, a usable id or a readable
    /// time (never shown; its replies, unreachable, are dropped with it).
    fn into_reply(self) -> Option<Reply> {
        let account = self.account?;
        let id = StatusId::new(self.id)?;
        let created_at = timestamp(&self.created_at)?;
        let permalink = safe_url(self.url.as_deref()).or_else(|| safe_url(self.uri.as_deref()));
        let base = permalink
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
            .unwrap_or_else(|| Url::parse("https://invalid.invalid/").expect("static URL"));
        let content_html = sanitize_html(&self.content, &base);
        let content_text = plain_text(&content_html);
        let acct = if account.acct.is_empty() {
            account.username
        } else {
            account.acct
        };
        Some(Reply {
            id,
            in_reply_to_id: self.in_reply_to_id.and_then(StatusId::new),
            visibility: self.visibility.parse().ok(),
            author: ReplyAuthor {
                // Plain text on Mastodon (never HTML): kept as is, shown as text.
                display_name: account.display_name.trim().to_owned(),
                acct,
                avatar: safe_url(account.avatar.as_deref()),
                url: safe_url(account.url.as_deref()),
                emojis: emojis(account.emojis),
            },
            content_text,
            content_html,
            spoiler_text: Some(self.spoiler_text).filter(|s| !s.trim().is_empty()),
            created_at,
            edited_at: self.edited_at.as_deref().and_then(timestamp),
            url: permalink,
            media: self
                .media_attachments
                .into_iter()
                .filter_map(|m| {
                    Some(Media {
                        url: safe_url(m.url.as_deref())?,
                        kind: m.kind,
                        preview_url: safe_url(m.preview_url.as_deref()),
                        description: m.description.filter(|d| !d.trim().is_empty()),
                    })
                })
                .collect(),
            emojis: emojis(self.emojis),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_async_refresh_header_gives_the_retry_delay() {
        assert_eq!(
            async_refresh_retry(
                r#"id="ImNvbnRleHQ6MTEzNjUyMjc3NTY2NTY4NDI1OnJlZnJlc2gi", retry=5, result_count=3"#
            ),
            Some(Duration::from_secs(5))
        );
        assert_eq!(async_refresh_retry("id=\"x\""), None);
    }

    #[test]
    fn deeply_nested_json_in_a_context_is_skipped_without_recursing() {
        // The wire types are flat (a context is a list, not a tree), so deep
        // nesting can only sit in fields we skip, and serde_json skips
        // values with a loop, not recursion.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let context: ContextWire = serde_json::from_str(&format!(
            r#"{{"descendants":[{{"id":"1","card":{deep},"account":{{"acct":"a","x":{deep}}}}}]}}"#
        ))
        .unwrap();
        assert_eq!(context.descendants.len(), 1);
    }

    #[test]
    fn reply_content_is_sanitised_and_urls_checked() {
        let wire: StatusWire = serde_json::from_str(
            r#"{"id":"2","in_reply_to_id":"1","visibility":"public","created_at":"2026-11-22T10:00:00.000Z",
                "url":"https://social.example/@a/2","content":"<p>hi<script>alert(1)</script></p><p>there</p>",
                "spoiler_text":"","account":{"acct":"a@social.example","username":"a","display_name":"<b>A</b>",
                "url":"javascript:alert(1)","avatar":"https://social.example/a.png","emojis":[]},
                "media_attachments":[{"type":"image","url":"https://social.example/m.png","description":"a cat"},
                                     {"type":"image","url":"data:x"}]}"#,
        )
        .unwrap();
        let reply = wire.into_reply().unwrap();
        assert_eq!(reply.content_html, "<p>hi</p><p>there</p>");
        assert_eq!(reply.content_text, "hi there");
        assert_eq!(
            reply.author.display_name, "<b>A</b>",
            "display names are text, not HTML"
        );
        assert_eq!(reply.author.url, None);
        assert_eq!(reply.media.len(), 1);
        assert_eq!(reply.media[0].description.as_deref(), Some("a cat"));
        assert_eq!(reply.spoiler_text, None);
    }
}
