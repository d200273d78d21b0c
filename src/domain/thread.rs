//! A post's Mastodon reply thread: which replies may be shown, as a tree.
//!
//! The owner's token makes Mastodon return followers-only and direct replies
//! that mention the owner too; only `public` replies (and `unlisted` when the
//! operator says so) may ever be shown, and a reply whose parent was dropped
//! (not visible, hidden by the owner, deleted) is dropped with it, so no
//! private conversation leaks through its public answers.
//!
//! Anyone can answer the last reply of a thread, so a chain of replies is as
//! deep as it is long (Mastodon returns up to 4,096 descendants). The tree is
//! therefore built with explicit stacks, never recursion, and nests at most
//! [`MAX_DEPTH`] levels: a deeper reply is listed at that level, in reading
//! order (docs/comments-api.md). That bound is an invariant of [`ReplyNode`]
//! (only [`visible_tree`] makes one), so whatever walks or serialises the
//! tree recursively afterwards, drops included, recurses at most that deep.

use std::collections::{HashMap, HashSet};
use std::fmt;

use time::OffsetDateTime;

use super::Visibility;

/// A Mastodon status id: an opaque string (GoToSocial and Akkoma ids are
/// not numbers), never empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusId(String);

impl StatusId {
    /// Longer ids are refused: no server makes them, and they are keys.
    pub const MAX_LENGTH: usize = 256;

    pub fn new(id: impl Into<String>) -> Option<Self> {
        let id = id.into();
        let valid =
            !id.is_empty() && id.len() <= Self::MAX_LENGTH && !id.chars().any(char::is_control);
        valid.then_some(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StatusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The announcing toot as Mastodon reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TootSummary {
    pub id: StatusId,
    pub url: Option<String>,
    pub replies_count: u64,
    pub reblogs_count: u64,
    pub favourites_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji {
    pub shortcode: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyAuthor {
    pub display_name: String,
    /// `user@domain`, without the leading `@`.
    pub acct: String,
    pub avatar: Option<String>,
    pub url: Option<String>,
    pub emojis: Vec<Emoji>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: String,
    pub url: String,
    pub preview_url: Option<String>,
    pub description: Option<String>,
}

/// One reply, as fetched (content already sanitised).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: StatusId,
    pub in_reply_to_id: Option<StatusId>,
    /// `None`: a visibility this version does not know (never shown).
    pub visibility: Option<Visibility>,
    pub author: ReplyAuthor,
    pub content_html: String,
    pub content_text: String,
    pub spoiler_text: Option<String>,
    pub created_at: OffsetDateTime,
    pub edited_at: Option<OffsetDateTime>,
    pub url: Option<String>,
    pub media: Vec<Media>,
    pub emojis: Vec<Emoji>,
}

/// What the owner chose to hide.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HiddenReplies {
    pub statuses: HashSet<String>,
    /// `user@domain`, lower-case.
    pub accounts: HashSet<String>,
}

impl HiddenReplies {
    fn hides(&self, reply: &Reply) -> bool {
        self.statuses.contains(reply.id.as_str())
            || self
                .accounts
                .contains(&reply.author.acct.to_ascii_lowercase())
    }
}

/// How many levels replies nest: a reply to the toot is at level 1. Past a
/// few levels the widget stops indenting, so deeper nesting shows nothing
/// more, and 16 keeps every JSON consumer's nesting limit far away.
pub const MAX_DEPTH: usize = 16;

/// A reply with the replies to it, oldest first; never more than
/// [`MAX_DEPTH`] levels deep, counting this one as level 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyNode {
    reply: Reply,
    children: Vec<ReplyNode>,
}

impl ReplyNode {
    pub fn reply(&self) -> &Reply {
        &self.reply
    }

    pub fn children(&self) -> &[ReplyNode] {
        &self.children
    }
}

/// The replies that may be shown, as a tree under the root toot, nested at
/// most [`MAX_DEPTH`] levels. A reply deeper than that is listed at level
/// `MAX_DEPTH`, right after the reply it follows in reading order.
pub fn visible_tree(
    root_id: &str,
    replies: &[Reply],
    include_unlisted: bool,
    hidden: &HiddenReplies,
) -> Vec<ReplyNode> {
    let may_show = |reply: &Reply| {
        let visible = match reply.visibility {
            Some(Visibility::Public) => true,
            Some(Visibility::Unlisted) => include_unlisted,
            Some(Visibility::Private | Visibility::Direct) | None => false,
        };
        visible && !hidden.hides(reply)
    };
    let mut children: HashMap<&str, Vec<&Reply>> = HashMap::new();
    for reply in replies.iter().filter(|r| may_show(r)) {
        if let Some(parent) = &reply.in_reply_to_id {
            children.entry(parent.as_str()).or_default().push(reply);
        }
    }
    for kids in children.values_mut() {
        kids.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
    }
    assemble(reading_order(root_id, &children))
}

/// Every reply reachable from the root, each once, in reading order (depth
/// first, siblings oldest first), with its level capped at [`MAX_DEPTH`].
/// Walking from the root only, a reply whose parent was dropped is never
/// reached.
fn reading_order<'a>(
    root_id: &str,
    children: &HashMap<&str, Vec<&'a Reply>>,
) -> Vec<(usize, &'a Reply)> {
    let kids = |id: &str| children.get(id).into_iter().flatten().rev().copied();
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Pushed in reverse so that the oldest sibling is popped first.
    let mut stack: Vec<(usize, &Reply)> = kids(root_id).map(|r| (1, r)).collect();
    while let Some((level, reply)) = stack.pop() {
        // Ids are unique, but a hostile server could send a cycle.
        if !seen.insert(reply.id.as_str()) {
            continue;
        }
        order.push((level, reply));
        let below = (level + 1).min(MAX_DEPTH);
        stack.extend(kids(reply.id.as_str()).map(|r| (below, r)));
    }
    order
}

/// Builds the tree from replies in reading order with their levels. Each
/// level is at most one more than the one before it, so the open path from a
/// top-level reply down to the last one read is all that needs keeping.
fn assemble(order: Vec<(usize, &Reply)>) -> Vec<ReplyNode> {
    fn close(path: &mut Vec<ReplyNode>, top: &mut Vec<ReplyNode>) {
        if let Some(node) = path.pop() {
            match path.last_mut() {
                Some(parent) => parent.children.push(node),
                None => top.push(node),
            }
        }
    }
    let mut top = Vec::new();
    let mut path: Vec<ReplyNode> = Vec::with_capacity(MAX_DEPTH);
    for (level, reply) in order {
        while path.len() >= level {
            close(&mut path, &mut top);
        }
        path.push(ReplyNode {
            reply: reply.clone(),
            children: Vec::new(),
        });
    }
    while !path.is_empty() {
        close(&mut path, &mut top);
    }
    top
}

/// Every node in the forest, counted.
pub fn count(nodes: &[ReplyNode]) -> usize {
    let mut total = 0;
    let mut stack: Vec<&[ReplyNode]> = vec![nodes];
    while let Some(level) = stack.pop() {
        total += level.len();
        stack.extend(level.iter().map(|n| n.children.as_slice()));
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: &str, parent: &str, visibility: &str, acct: &str) -> Reply {
        let second: u64 = id.parse().unwrap_or(0);
        Reply {
            id: StatusId::new(id).unwrap(),
            in_reply_to_id: StatusId::new(parent),
            visibility: visibility.parse().ok(),
            author: ReplyAuthor {
                display_name: acct.into(),
                acct: acct.into(),
                avatar: None,
                url: None,
                emojis: vec![],
            },
            content_html: String::new(),
            content_text: String::new(),
            spoiler_text: None,
            created_at: time::macros::datetime!(2026-11-22 10:00 UTC)
                + std::time::Duration::from_secs(second),
            edited_at: None,
            url: None,
            media: vec![],
            emojis: vec![],
        }
    }

    fn ids(nodes: &[ReplyNode]) -> Vec<String> {
        nodes
            .iter()
            .map(|n| {
                let kids = ids(&n.children);
                if kids.is_empty() {
                    n.reply.id.to_string()
                } else {
                    format!("{}[{}]", n.reply.id, kids.join(","))
                }
            })
            .collect()
    }

    #[test]
    fn replies_nest_under_their_parents_oldest_first() {
        let replies = [
            reply("3", "1", "public", "c@x"),
            reply("1", "root", "public", "a@x"),
            reply("2", "root", "public", "b@x"),
            reply("4", "3", "public", "d@x"),
        ];
        let tree = visible_tree("root", &replies, false, &HiddenReplies::default());
        assert_eq!(ids(&tree), vec!["1[3[4]]", "2"]);
        assert_eq!(count(&tree), 4);
    }

    #[test]
    fn only_public_replies_show_unless_unlisted_is_allowed() {
        let replies = [
            reply("1", "root", "public", "a@x"),
            reply("2", "root", "unlisted", "b@x"),
            reply("3", "root", "private", "c@x"),
            reply("4", "root", "direct", "d@x"),
        ];
        assert_eq!(
            ids(&visible_tree(
                "root",
                &replies,
                false,
                &HiddenReplies::default()
            )),
            vec!["1"]
        );
        assert_eq!(
            ids(&visible_tree(
                "root",
                &replies,
                true,
                &HiddenReplies::default()
            )),
            vec!["1", "2"]
        );
    }

    #[test]
    fn a_reply_to_a_dropped_reply_is_dropped_too() {
        let replies = [
            reply("1", "root", "direct", "a@x"),
            reply("2", "1", "public", "b@x"),
            reply("3", "2", "public", "c@x"),
            reply("5", "gone", "public", "e@x"),
        ];
        assert!(visible_tree("root", &replies, false, &HiddenReplies::default()).is_empty());
    }

    #[test]
    fn hidden_replies_and_accounts_are_dropped_with_their_subtrees() {
        let replies = [
            reply("1", "root", "public", "a@x"),
            reply("2", "1", "public", "b@x"),
            reply("3", "root", "public", "Troll@Bad.example"),
            reply("4", "root", "public", "c@x"),
        ];
        let hidden = HiddenReplies {
            statuses: HashSet::from(["1".to_owned()]),
            accounts: HashSet::from(["troll@bad.example".to_owned()]),
        };
        assert_eq!(
            ids(&visible_tree("root", &replies, false, &hidden)),
            vec!["4"]
        );
    }

    /// The depth of the deepest node, walked with an explicit stack.
    fn depth(nodes: &[ReplyNode]) -> usize {
        let mut deepest = 0;
        let mut stack: Vec<(usize, &ReplyNode)> = nodes.iter().map(|n| (1, n)).collect();
        while let Some((level, node)) = stack.pop() {
            deepest = deepest.max(level);
            stack.extend(node.children.iter().map(|c| (level + 1, c)));
        }
        deepest
    }

    /// Every node's id in reading order (depth first), walked with a stack.
    fn reading_order(nodes: &[ReplyNode]) -> Vec<&str> {
        let mut order = Vec::new();
        let mut stack: Vec<&ReplyNode> = nodes.iter().rev().collect();
        while let Some(node) = stack.pop() {
            order.push(node.reply.id.as_str());
            stack.extend(node.children.iter().rev());
        }
        order
    }

    #[test]
    fn a_reply_chain_100_000_deep_is_built_without_overflowing_and_nested_16_deep() {
        // Anyone can answer the last reply: a chain is as deep as it is long.
        let ids: Vec<String> = (0..100_000).map(|i| format!("r{i}")).collect();
        let replies: Vec<Reply> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let parent = if i == 0 { "root" } else { ids[i - 1].as_str() };
                reply(id, parent, "public", "a@x")
            })
            .collect();
        let tree = visible_tree("root", &replies, false, &HiddenReplies::default());
        assert_eq!(count(&tree), 100_000);
        assert_eq!(depth(&tree), MAX_DEPTH);
        assert_eq!(reading_order(&tree), ids, "the chain keeps its order");
    }

    #[test]
    fn replies_deeper_than_16_levels_are_listed_at_level_16_in_reading_order() {
        let mut replies: Vec<Reply> = (1..=16)
            .map(|i| {
                let parent = if i == 1 {
                    "root".to_owned()
                } else {
                    format!("{}", i - 1)
                };
                reply(&i.to_string(), &parent, "public", "a@x")
            })
            .collect();
        // Two answers to the level-16 reply, the older with an answer of its own.
        replies.extend([
            reply("20", "16", "public", "b@x"),
            reply("22", "20", "public", "c@x"),
            reply("21", "16", "public", "d@x"),
        ]);
        let tree = visible_tree("root", &replies, false, &HiddenReplies::default());
        assert_eq!(depth(&tree), MAX_DEPTH);
        assert_eq!(count(&tree), 19);
        let mut level_15 = &tree[0];
        while level_15.reply.id.as_str() != "15" {
            level_15 = &level_15.children[0];
        }
        assert_eq!(ids(&level_15.children), vec!["16", "20", "22", "21"]);
    }

    #[test]
    fn a_cycle_from_a_hostile_server_does_not_loop() {
        let replies = [
            reply("1", "root", "public", "a@x"),
            reply("2", "1", "public", "b@x"),
            reply("1", "2", "public", "a@x"),
        ];
        let tree = visible_tree("root", &replies, false, &HiddenReplies::default());
        assert!(count(&tree) <= 3);
    }
}
