//! `rels` and `rel-urls`: what the page's `<a>`, `<area>` and `<link>`
//! elements with `rel` and `href` say (microformats2-parsing, "parse a
//! hyperlink element for rel microformats").
//!
//! Invariant: URLs are resolved; each URL appears once per rel value; for a
//! URL linked several times, `rels` collects every token and each other
//! field keeps the first non-empty value seen.

use std::collections::HashSet;

use scraper::ElementRef;

use super::names::MAX_NAMES_PER_ELEMENT;
use super::tree::{attr, attr_nonempty, tag};
use super::types::{Alternate, Document};
use super::urls::resolve;
use super::values::Ctx;

/// Fills `doc.rels`, `doc.rel_urls` (and, under the 2015 rules, `doc.alternates`).
pub(super) fn collect(root: ElementRef<'_>, ctx: Ctx<'_>, doc: &mut Document) {
    // (rel, url) pairs already recorded, so large pages stay linear.
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for el in root.descendent_elements() {
        if !matches!(tag(el), "a" | "area" | "link") {
            continue;
        }
        let (Some(rel), Some(href)) = (attr(el, "rel"), attr(el, "href")) else {
            continue;
        };
        let tokens: Vec<&str> = unique(rel.split_ascii_whitespace().take(MAX_NAMES_PER_ELEMENT));
        if tokens.is_empty() {
            continue;
        }
        let url = resolve(ctx.base, href);
        let fresh: Vec<&str> = tokens
            .iter()
            .copied()
            .filter(|token| seen.insert(((*token).to_owned(), url.clone())))
            .collect();
        for token in &fresh {
            doc.rels
                .entry((*token).to_owned())
                .or_default()
                .push(url.clone());
        }
        let text = || Some(ctx.text(el)).filter(|text| !text.is_empty());
        let field = |name: &str| attr_nonempty(el, name).map(str::to_owned);
        let entry = doc.rel_urls.entry(url.clone()).or_default();
        entry
            .rels
            .extend(fresh.iter().map(|token| (*token).to_owned()));
        fill(&mut entry.text, text);
        fill(&mut entry.title, || field("title"));
        fill(&mut entry.media, || field("media"));
        fill(&mut entry.hreflang, || field("hreflang"));
        fill(&mut entry.r#type, || field("type"));
        if ctx.rules.lists_alternates() && tokens.contains(&"alternate") {
            let others: Vec<&str> = tokens
                .iter()
                .copied()
                .filter(|t| *t != "alternate")
                .collect();
            doc.alternates.push(Alternate {
                url,
                rel: (!others.is_empty()).then(|| others.join(" ")),
                media: field("media"),
                hreflang: field("hreflang"),
                r#type: field("type"),
                title: field("title"),
                text: text(),
            });
        }
    }
}

fn fill(slot: &mut Option<String>, value: impl FnOnce() -> Option<String>) {
    if slot.is_none() {
        *slot = value();
    }
}

fn unique<'a>(tokens: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = Vec::new();
    for token in tokens {
        if !seen.contains(&token) {
            seen.push(token);
        }
    }
    seen
}
