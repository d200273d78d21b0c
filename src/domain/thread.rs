//! A post's Mastodon reply thread: which replies may be shown, as a tree.
//!
//! The owner's token makes Mastodon return followers-only and direct replies
//! that mention the owner too; only `public` replies (and `unlisted` when the
//! operator says so) may ever be shown, and a reply whose parent was dropped
//! (not visible, hidden by the owner, deleted) is dropped with it, so no
//! private conversation leaks through its public answers.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

/// The announcing toot as Mastodon reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TootSummary {
    pub id: String,
    pub url: Option<String>,
    pub replies_count: u64,
    pub reblogs_count: u64,
    pub favourites_count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emoji {
    pub shortcode: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyAuthor {
    pub display_name: String,
    /// `user@domain`, without the leading `@`.
    pub acct: String,
    pub avatar: Option<String>,
    pub url: Option<String>,
    pub emojis: Vec<Emoji>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub kind: String,
    pub url: String,
    pub preview_url: Option<String>,
    pub description: Option<String>,
}

/// One reply, as fetched (content already sanitised).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub id: String,
    pub in_reply_to_id: Option<String>,
    pub visibility: String,
    pub author: ReplyAuthor,
    pub content_html: String,
    pub content_text: String,
    pub spoiler_text: Option<String>,
    pub created_at: String,
    pub edited_at: Option<String>,
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
        self.statuses.contains(&reply.id)
            || self
                .accounts
                .contains(&reply.author.acct.to_ascii_lowercase())
    }
}

/// A reply with the replies to it, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyNode {
    pub reply: Reply,
    pub children: Vec<ReplyNode>,
}

/// The replies that may be shown, as a tree under the root toot.
pub fn visible_tree(
    root_id: &str,
    replies: &[Reply],
    include_unlisted: bool,
    hidden: &HiddenReplies,
) -> Vec<ReplyNode> {
    let may_show = |reply: &Reply| {
        let visible =
            reply.visibility == "public" || (include_unlisted && reply.visibility == "unlisted");
        visible && !hidden.hides(reply)
    };
    let mut children: HashMap<&str, Vec<&Reply>> = HashMap::new();
    for reply in replies.iter().filter(|r| may_show(r)) {
        if let Some(parent) = reply.in_reply_to_id.as_deref() {
            children.entry(parent).or_default().push(reply);
        }
    }
    // Walk from the root only: a reply whose parent was dropped is never reached.
    let mut seen = HashSet::new();
    build(root_id, &children, &mut seen)
}

fn build<'a>(
    parent: &str,
    children: &HashMap<&str, Vec<&'a Reply>>,
    seen: &mut HashSet<&'a str>,
) -> Vec<ReplyNode> {
    let mut nodes: Vec<ReplyNode> = Vec::new();
    let Some(kids) = children.get(parent) else {
        return nodes;
    };
    let mut kids = kids.clone();
    kids.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    for reply in kids {
        // Ids are unique, but a hostile server could send a cycle.
        if !seen.insert(reply.id.as_str()) {
            continue;
        }
        nodes.push(ReplyNode {
            reply: reply.clone(),
            children: build(&reply.id, children, seen),
        });
    }
    nodes
}

/// Every node in the forest, counted.
pub fn count(nodes: &[ReplyNode]) -> usize {
    nodes.iter().map(|n| 1 + count(&n.children)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(id: &str, parent: &str, visibility: &str, acct: &str) -> Reply {
        Reply {
            id: id.into(),
            in_reply_to_id: Some(parent.into()),
            visibility: visibility.into(),
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
            created_at: format!("2026-11-22T10:00:{id:0>2}Z"),
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
                    n.reply.id.clone()
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
