//! What a verified source says: microformats2 → [`MentionData`].
//!
//! Picks the source's h-entry (the one that refers to our target, else the
//! first), its relation to the target (`in-reply-to`, `like-of`,
//! `repost-of`, `bookmark-of`, RSVP, else a plain mention), its author (the
//! entry's `author`, falling back to the page's h-card), content, name,
//! published and url. Invariant: everything returned is safe to serve:
//! HTML is sanitised, URLs are http(s) only, text is length-capped.

use url::Url;

use crate::domain::mention::{Author, MentionData, Relation, Via};
use crate::domain::webmention::without_fragment;
use crate::protocol::mf2::{self, Document, Item, PropertyValue};
use crate::protocol::sanitize::{
    MAX_CONTENT, MAX_TEXT, capped, plain_text, safe_url, sanitize_html,
};

/// Properties that name the target, in the order they decide the relation.
const RELATIONS: [&str; 4] = ["in-reply-to", "like-of", "repost-of", "bookmark-of"];

pub fn mention_data(
    content_type: Option<&str>,
    body: &str,
    page: &Url,
    target: &Url,
) -> MentionData {
    let is_html = matches!(
        content_type,
        None | Some("text/html" | "application/xhtml+xml")
    );
    if !is_html {
        return MentionData {
            url: Some(page.to_string()),
            ..MentionData::default()
        };
    }
    let document = mf2::parse(body, page);
    let Some(entry) = pick_entry(&document, target) else {
        return MentionData {
            url: Some(page.to_string()),
            ..MentionData::default()
        };
    };
    let (content_html, content_text) = content(entry, page);
    let name =
        text_property(entry, "name").filter(|name| !repeats_content(name, content_text.as_deref()));
    MentionData {
        relation: relation(entry, target),
        author: author(entry).or_else(|| page_card(&document)),
        content_html,
        content_text,
        name,
        published: text_property(entry, "published"),
        url: url_property(entry, "url").or_else(|| Some(page.to_string())),
        via: Via::Webmention,
    }
}

/// Every h-entry of the page, outermost first (top level, then children).
fn entries(document: &Document) -> Vec<&Item> {
    let mut found = Vec::new();
    let mut stack: Vec<&Item> = document.items.iter().rev().collect();
    while let Some(item) = stack.pop() {
        if item.r#type.iter().any(|t| t == "h-entry") {
            found.push(item);
        }
        stack.extend(item.children.iter().rev());
    }
    found
}

fn pick_entry<'a>(document: &'a Document, target: &Url) -> Option<&'a Item> {
    let entries = entries(document);
    entries
        .iter()
        .find(|entry| RELATIONS.iter().any(|p| refers_to(entry, p, target)))
        .or_else(|| entries.first())
        .copied()
}

fn relation(entry: &Item, target: &Url) -> Relation {
    if refers_to(entry, "in-reply-to", target)
        && let Some(rsvp) = text_property(entry, "rsvp")
    {
        return Relation::Rsvp(rsvp.to_ascii_lowercase());
    }
    RELATIONS
        .iter()
        .find(|property| refers_to(entry, property, target))
        .and_then(|property| Relation::from_property(property, None))
        .unwrap_or(Relation::Mention)
}

/// Whether any value of `property` is the target (fragment ignored), as a
/// plain URL or as a nested item's `url`.
fn refers_to(entry: &Item, property: &str, target: &Url) -> bool {
    let wanted = without_fragment(target);
    let same =
        |text: &str| Url::parse(text.trim()).is_ok_and(|url| without_fragment(&url) == wanted);
    entry.properties.get(property).is_some_and(|values| {
        values.iter().any(|value| match value {
            PropertyValue::Item(item) => {
                item.value.as_deref().is_some_and(same)
                    || item
                        .properties
                        .get("url")
                        .is_some_and(|urls| urls.iter().filter_map(PropertyValue::as_str).any(same))
            }
            other => other.as_str().is_some_and(same),
        })
    })
}

fn content(entry: &Item, page: &Url) -> (Option<String>, Option<String>) {
    let Some(value) = entry
        .properties
        .get("content")
        .and_then(|values| values.first())
    else {
        return (None, None);
    };
    let (html, text) = match value {
        PropertyValue::Embedded { html, value, .. } => (clean(html, page), value.clone()),
        PropertyValue::Item(item) => match (&item.html, &item.value) {
            (Some(html), value) => (
                clean(html, page),
                value.clone().unwrap_or_else(|| plain_text(html)),
            ),
            (None, Some(value)) => (
                ammonia::clean_text(&capped(value, MAX_CONTENT)),
                value.clone(),
            ),
            (None, None) => return (None, None),
        },
        other => {
            let text = other.as_str().unwrap_or_default().to_owned();
            (ammonia::clean_text(&capped(&text, MAX_CONTENT)), text)
        }
    };
    let text = capped(text.trim(), MAX_CONTENT);
    (non_empty(html), non_empty(text))
}

/// Caps the markup *before* sanitising, so a cut can never leave a broken
/// tag in what is served.
fn clean(html: &str, page: &Url) -> String {
    sanitize_html(&capped(html, MAX_CONTENT), page)
}

/// An implied or explicit name that only repeats the content is no title.
fn repeats_content(name: &str, content: Option<&str>) -> bool {
    let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    content.is_some_and(|content| {
        let (name, content) = (squash(name), squash(content));
        content.starts_with(name.trim_end_matches('…').trim_end_matches("..."))
            || name.starts_with(&content)
    })
}

fn author(entry: &Item) -> Option<Author> {
    let value = entry.properties.get("author")?.first()?;
    let author = match value {
        PropertyValue::Item(card) => card_author(card),
        other => {
            let text = other.as_str()?.trim();
            match safe_url(text) {
                Some(url) => Author {
                    url: Some(url),
                    ..Author::default()
                },
                None => Author {
                    name: Some(capped(text, MAX_TEXT)),
                    ..Author::default()
                },
            }
        }
    };
    (author != Author::default()).then_some(author)
}

fn card_author(card: &Item) -> Author {
    Author {
        name: text_property(card, "name"),
        photo: url_property(card, "photo"),
        url: url_property(card, "url"),
    }
}

/// The page's own h-card, when the entry names no author.
fn page_card(document: &Document) -> Option<Author> {
    let card = document
        .items
        .iter()
        .find(|item| item.r#type.iter().any(|t| t == "h-card"))?;
    let author = card_author(card);
    (author != Author::default()).then_some(author)
}

fn text_property(item: &Item, name: &str) -> Option<String> {
    let value = item.properties.get(name)?.first()?;
    let text = match value {
        PropertyValue::Item(nested) => nested.value.clone()?,
        PropertyValue::Embedded { value, .. } => value.clone(),
        other => other.as_str()?.to_owned(),
    };
    non_empty(capped(text.trim(), MAX_TEXT))
}

fn url_property(item: &Item, name: &str) -> Option<String> {
    item.properties
        .get(name)?
        .iter()
        .find_map(|value| match value {
            PropertyValue::Item(nested) => nested.value.as_deref().and_then(safe_url),
            other => other.as_str().and_then(safe_url),
        })
}

fn non_empty(text: String) -> Option<String> {
    (!text.trim().is_empty()).then_some(text)
}

#[cfg(test)]
mod tests;
