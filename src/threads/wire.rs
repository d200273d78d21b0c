//! The JSON of `GET /api/comments` (documented in docs/comments-api.md).
//!
//! Built from the domain explicitly; field names here are a public contract.
//! Every URL a browser loads as an image (avatars, custom emoji, media
//! previews, `<img>` in content) is written last, by [`rewrite_images`],
//! through the image proxy or dropped (`images::ImageUrls`).

use serde::Serialize;

use crate::images::ImageUrls;

use crate::domain::mention::{Mention, Relation, Via};
use crate::domain::thread::{Emoji, ReplyNode, TootSummary};

#[derive(Serialize)]
pub struct CommentsBody {
    pub url: String,
    pub toot: Option<TootBody>,
    pub comments: Vec<CommentBody>,
    pub reactions: Reactions,
    pub comment_count: usize,
    pub fetched_at: Option<String>,
    /// Only when ActivityPub is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fediverse: Option<FediverseBody>,
}

/// The blog's own fediverse account, as another way to reply.
#[derive(Serialize)]
pub struct FediverseBody {
    /// `@blog@host`.
    pub handle: String,
    /// The post's ActivityPub id, once published: pasted into any server's
    /// search, it opens the post there to reply to.
    pub object: Option<String>,
}

#[derive(Serialize)]
pub struct TootBody {
    pub id: String,
    pub url: Option<String>,
    pub replies_count: u64,
    pub reblogs_count: u64,
    pub favourites_count: u64,
}

impl From<&TootSummary> for TootBody {
    fn from(toot: &TootSummary) -> Self {
        Self {
            id: toot.id.to_string(),
            url: toot.url.clone(),
            replies_count: toot.replies_count,
            reblogs_count: toot.reblogs_count,
            favourites_count: toot.favourites_count,
        }
    }
}

#[derive(Serialize, Clone)]
pub struct AuthorBody {
    pub name: String,
    pub handle: Option<String>,
    pub avatar: Option<String>,
    pub url: Option<String>,
    pub emojis: Vec<EmojiBody>,
}

#[derive(Serialize, Clone)]
pub struct EmojiBody {
    pub shortcode: String,
    pub url: String,
}

fn emojis(list: &[Emoji]) -> Vec<EmojiBody> {
    list.iter()
        .map(|e| EmojiBody {
            shortcode: e.shortcode.clone(),
            url: e.url.clone(),
        })
        .collect()
}

#[derive(Serialize)]
pub struct MediaBody {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub preview_url: Option<String>,
    pub description: Option<String>,
}

#[derive(Serialize)]
pub struct CommentBody {
    pub id: String,
    pub source: &'static str,
    pub author: AuthorBody,
    pub content_html: String,
    pub content_text: String,
    pub content_warning: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
    pub url: Option<String>,
    pub media: Vec<MediaBody>,
    pub replies: Vec<CommentBody>,
}

#[derive(Serialize, Default)]
pub struct Reactions {
    pub likes: ReactionGroup,
    pub reposts: ReactionGroup,
    pub bookmarks: ReactionGroup,
}

#[derive(Serialize, Default)]
pub struct ReactionGroup {
    pub count: usize,
    pub authors: Vec<AuthorBody>,
}

impl ReactionGroup {
    fn add(&mut self, author: AuthorBody) {
        self.count += 1;
        self.authors.push(author);
    }
}

/// Top-level comments oldest first, by the instant, not the text: Mastodon
/// writes milliseconds, a received webmention whole seconds, a sender's
/// `published` its own offset. A time that does not parse goes last.
pub fn sort_oldest_first(comments: &mut [CommentBody]) {
    comments.sort_by_cached_key(|c| {
        let at = time::OffsetDateTime::parse(
            &c.created_at,
            &time::format_description::well_known::Rfc3339,
        )
        .ok();
        (at.is_none(), at)
    });
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A Mastodon reply and its subtree. Recursive, which is safe: a
/// [`ReplyNode`] nests at most `domain::thread::MAX_DEPTH` levels, so the
/// `CommentBody` (and serialising it) does too.
pub fn from_reply(node: &ReplyNode) -> CommentBody {
    let reply = node.reply();
    let mut all_emojis = emojis(&reply.emojis);
    all_emojis.extend(emojis(&reply.author.emojis));
    CommentBody {
        id: format!("mastodon:{}", reply.id),
        source: "mastodon",
        author: AuthorBody {
            name: reply.author.display_name.clone(),
            handle: Some(format!("@{}", reply.author.acct)),
            avatar: reply.author.avatar.clone(),
            url: reply.author.url.clone(),
            emojis: all_emojis,
        },
        content_html: reply.content_html.clone(),
        content_text: reply.content_text.clone(),
        content_warning: reply.spoiler_text.clone(),
        created_at: rfc3339(reply.created_at),
        edited_at: reply.edited_at.map(rfc3339),
        url: reply.url.clone(),
        media: reply
            .media
            .iter()
            .map(|m| MediaBody {
                kind: m.kind.clone(),
                url: m.url.clone(),
                preview_url: m.preview_url.clone(),
                description: m.description.clone(),
            })
            .collect(),
        replies: node.children().iter().map(from_reply).collect(),
    }
}

fn mention_author(mention: &Mention) -> AuthorBody {
    let data = mention.data.as_ref();
    let author = data.and_then(|d| d.author.clone()).unwrap_or_default();
    let fallback = mention.source.host_str().unwrap_or_default().to_owned();
    let handle = match data.map(|d| &d.via) {
        Some(Via::ActivityPub { handle, .. }) => Some(format!("@{handle}")),
        _ => None,
    };
    AuthorBody {
        name: author.name.unwrap_or(fallback),
        handle,
        avatar: author.photo,
        url: author.url,
        emojis: Vec::new(),
    }
}

/// Places webmentions and fediverse interactions: likes, reposts and
/// bookmarks as reactions; replies, RSVPs and mentions as comments, a
/// fediverse reply under the reply it answers (see [`nest_replies`]).
pub fn merge_mentions(
    mentions: &[Mention],
    comments: &mut Vec<CommentBody>,
    reactions: &mut Reactions,
) {
    let time = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    let mut fediverse = Vec::new();
    for mention in mentions {
        let Some(data) = &mention.data else { continue };
        let (id, source, parent) = match &data.via {
            Via::Webmention => (format!("webmention:{}", mention.id), "webmention", None),
            Via::ActivityPub { in_reply_to, .. } => (
                format!("activitypub:{}", mention.id),
                "activitypub",
                Some(in_reply_to.clone()),
            ),
        };
        match data.relation {
            Relation::Like => reactions.likes.add(mention_author(mention)),
            Relation::Repost => reactions.reposts.add(mention_author(mention)),
            Relation::Bookmark => reactions.bookmarks.add(mention_author(mention)),
            Relation::Reply | Relation::Rsvp(_) | Relation::Mention => {
                let body = CommentBody {
                    id,
                    source,
                    author: mention_author(mention),
                    content_html: data.content_html.clone().unwrap_or_default(),
                    content_text: data.content_text.clone().unwrap_or_default(),
                    content_warning: None,
                    created_at: data
                        .published
                        .clone()
                        .unwrap_or_else(|| time(mention.received_at)),
                    edited_at: None,
                    url: data
                        .url
                        .clone()
                        .or_else(|| Some(mention.source.to_string())),
                    media: Vec::new(),
                    replies: Vec::new(),
                };
                match parent {
                    Some(parent) => fediverse.push(FediverseReply {
                        source: mention.source.to_string(),
                        parent,
                        body,
                    }),
                    None => comments.push(body),
                }
            }
        }
    }
    comments.extend(nest_replies(fediverse));
}

/// A fediverse reply before threading: its note, and the note it answers
/// when that is not the post.
struct FediverseReply {
    source: String,
    parent: Option<String>,
    body: CommentBody,
}

/// Threads fediverse replies: each goes under the reply it answers, at most
/// `domain::thread::MAX_DEPTH` levels deep; one whose parent is not shown
/// (hidden, deleted, deeper than the limit, or a cycle) is listed at the
/// top level, so nothing shown is lost. Iterative: no recursion over what
/// others sent.
fn nest_replies(replies: Vec<FediverseReply>) -> Vec<CommentBody> {
    use std::collections::HashMap;
    let index: HashMap<&str, usize> = replies
        .iter()
        .enumerate()
        .map(|(i, r)| (r.source.as_str(), i))
        .collect();
    let parent_of: Vec<Option<usize>> = replies
        .iter()
        .map(|r| r.parent.as_deref().and_then(|p| index.get(p).copied()))
        .collect();
    // Depth along the parent chain; a chain that loops or runs too deep
    // makes the reply a root.
    let limit = crate::domain::thread::MAX_DEPTH;
    let mut parent = vec![None; replies.len()];
    for (i, first) in parent_of.iter().enumerate() {
        let mut depth = 1;
        let mut at = *first;
        while let Some(p) = at {
            depth += 1;
            if p == i || depth > limit {
                break;
            }
            at = parent_of[p];
        }
        if at.is_none() {
            parent[i] = *first;
        }
    }
    let mut bodies: Vec<Option<CommentBody>> = replies.into_iter().map(|r| Some(r.body)).collect();
    // Children before parents: attach the deepest first.
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(p) = parent[i] {
            d += 1;
            i = p;
        }
        d
    };
    let mut order: Vec<usize> = (0..bodies.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(depth(i)));
    for i in order {
        if let Some(p) = parent[i]
            && let Some(child) = bodies[i].take()
            && let Some(into) = bodies[p].as_mut()
        {
            into.replies.push(child);
        }
    }
    let mut roots: Vec<CommentBody> = bodies.into_iter().flatten().collect();
    for root in &mut roots {
        sort_tree(root);
    }
    roots
}

/// Replies under each comment oldest first (iterative).
fn sort_tree(root: &mut CommentBody) {
    let mut stack = vec![root];
    while let Some(comment) = stack.pop() {
        sort_oldest_first(&mut comment.replies);
        stack.extend(comment.replies.iter_mut());
    }
}

/// Writes every image URL of `body` as `urls` says: avatars, custom emoji
/// (an emoji without a usable URL is dropped, so its `:shortcode:` stays
/// text), media previews (an image's own URL stands in for a missing
/// preview; the media's `url` stays as the link it is) and `<img>` in
/// content. Recursion is bounded: comments nest at most
/// `domain::thread::MAX_DEPTH` levels.
pub fn rewrite_images(body: &mut CommentsBody, urls: &ImageUrls) {
    for comment in &mut body.comments {
        rewrite_comment(comment, urls);
    }
    let reactions = &mut body.reactions;
    for group in [
        &mut reactions.likes,
        &mut reactions.reposts,
        &mut reactions.bookmarks,
    ] {
        for author in &mut group.authors {
            rewrite_author(author, urls);
        }
    }
}

fn rewrite_comment(comment: &mut CommentBody, urls: &ImageUrls) {
    rewrite_author(&mut comment.author, urls);
    comment.content_html = urls.content(&comment.content_html);
    for media in &mut comment.media {
        let preview = media
            .preview_url
            .take()
            .or_else(|| (media.kind == "image").then(|| media.url.clone()));
        media.preview_url = preview.and_then(|p| urls.image(&p));
    }
    for reply in &mut comment.replies {
        rewrite_comment(reply, urls);
    }
}

fn rewrite_author(author: &mut AuthorBody, urls: &ImageUrls) {
    author.avatar = author.avatar.take().and_then(|a| urls.image(&a));
    author
        .emojis
        .retain_mut(|emoji| match urls.image(&emoji.url) {
            Some(url) => {
                emoji.url = url;
                true
            }
            None => false,
        });
}

/// Every comment in the forest.
pub fn count(comments: &[CommentBody]) -> usize {
    let mut total = 0;
    let mut stack: Vec<&[CommentBody]> = vec![comments];
    while let Some(level) = stack.pop() {
        total += level.len();
        stack.extend(level.iter().map(|c| c.replies.as_slice()));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::thread::{
        HiddenReplies, MAX_DEPTH, Reply, ReplyAuthor, StatusId, visible_tree,
    };

    fn chain(length: usize) -> Vec<Reply> {
        (0..length)
            .map(|i| Reply {
                id: StatusId::new(format!("{i}")).unwrap(),
                in_reply_to_id: StatusId::new(if i == 0 {
                    "root".to_owned()
                } else {
                    format!("{}", i - 1)
                }),
                visibility: Some(crate::domain::Visibility::Public),
                author: ReplyAuthor {
                    display_name: "A".into(),
                    acct: "a@x.example".into(),
                    avatar: None,
                    url: None,
                    emojis: vec![],
                },
                content_html: format!("<p>{i}</p>"),
                content_text: format!("{i}"),
                spoiler_text: None,
                created_at: time::macros::datetime!(2026-11-22 10:00 UTC),
                edited_at: None,
                url: None,
                media: vec![],
                emojis: vec![],
            })
            .collect()
    }

    #[test]
    fn a_very_deep_chain_renders_to_json_any_parser_reads() {
        let tree = visible_tree("root", &chain(20_000), false, &HiddenReplies::default());
        let comments: Vec<CommentBody> = tree.iter().map(from_reply).collect();
        assert_eq!(count(&comments), 20_000);
        let json = serde_json::to_vec(&comments).unwrap();
        // serde_json refuses nesting past 128 levels; ours stays far below.
        let back: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let mut deepest = 0;
        let mut stack = vec![(1, &back[0])];
        while let Some((level, comment)) = stack.pop() {
            deepest = deepest.max(level);
            if let Some(replies) = comment["replies"].as_array() {
                stack.extend(replies.iter().map(|c| (level + 1, c)));
            }
        }
        assert_eq!(deepest, MAX_DEPTH);
    }

    #[test]
    fn comments_are_ordered_by_their_instant_whatever_the_text() {
        let tree = visible_tree("root", &chain(1), false, &HiddenReplies::default());
        let at = |created_at: &str| CommentBody {
            created_at: created_at.to_owned(),
            ..from_reply(&tree[0])
        };
        let mut comments = vec![
            at("not a time"),
            at("2026-12-06T10:40:12Z"),
            at("2026-12-06T12:40:11+02:00"),
            at("2026-12-06T10:40:11.500Z"),
        ];
        sort_oldest_first(&mut comments);
        let order: Vec<&str> = comments.iter().map(|c| c.created_at.as_str()).collect();
        assert_eq!(
            order,
            [
                "2026-12-06T12:40:11+02:00",
                "2026-12-06T10:40:11.500Z",
                "2026-12-06T10:40:12Z",
                "not a time"
            ]
        );
    }
}
