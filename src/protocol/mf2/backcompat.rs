//! Classic microformats (hCard, hAtom, adr, geo) read as their
//! microformats2 equivalents (microformats2-parsing, "parsing for
//! backcompat"; mappings from the h-card, h-entry, h-feed, h-adr and h-geo
//! pages' "backward compatibility" sections).
//!
//! Invariant: a classic name counts only inside an item of its own classic
//! vocabulary, and only when the item's root has no `h-*` class. Many blogs
//! (older WordPress themes) still mark replies up this way.

use scraper::ElementRef;

use super::names::Prefix;
use super::tree::{attr, classes, tag};

/// Classic root class → (that class, its `h-*` type).
pub(super) fn root(class: &str) -> Option<(&'static str, &'static str)> {
    ROOTS.iter().find(|(classic, _)| *classic == class).copied()
}

const ROOTS: &[(&str, &str)] = &[
    ("vcard", "h-card"),
    ("hentry", "h-entry"),
    ("hfeed", "h-feed"),
    ("adr", "h-adr"),
    ("geo", "h-geo"),
];

/// The element's properties in the classic vocabularies `roots`.
pub(super) fn properties(
    el: ElementRef<'_>,
    roots: &[&'static str],
) -> Vec<(Prefix, &'static str)> {
    let mut found = Vec::new();
    for class in classes(el) {
        for root in roots {
            if let Some(&(_, prefix, name)) =
                table(root).iter().find(|(classic, _, _)| *classic == class)
            {
                found.push((prefix, name));
            }
        }
    }
    // hAtom: a rel=bookmark link inside an entry is its permalink.
    if roots.contains(&"hentry")
        && matches!(tag(el), "a" | "area" | "link")
        && attr(el, "rel").is_some_and(|rel| rel.split_ascii_whitespace().any(|r| r == "bookmark"))
    {
        found.push((Prefix::U, "url"));
    }
    found
}

type Mapping = (&'static str, Prefix, &'static str);

fn table(root: &str) -> &'static [Mapping] {
    match root {
        "vcard" => VCARD,
        "hentry" => HENTRY,
        "adr" => ADR,
        "geo" => GEO,
        _ => &[],
    }
}

const VCARD: &[Mapping] = &[
    ("fn", Prefix::P, "name"),
    ("honorific-prefix", Prefix::P, "honorific-prefix"),
    ("given-name", Prefix::P, "given-name"),
    ("additional-name", Prefix::P, "additional-name"),
    ("family-name", Prefix::P, "family-name"),
    ("honorific-suffix", Prefix::P, "honorific-suffix"),
    ("nickname", Prefix::P, "nickname"),
    ("email", Prefix::U, "email"),
    ("logo", Prefix::U, "logo"),
    ("photo", Prefix::U, "photo"),
    ("url", Prefix::U, "url"),
    ("uid", Prefix::U, "uid"),
    ("category", Prefix::P, "category"),
    ("adr", Prefix::P, "adr"),
    ("extended-address", Prefix::P, "extended-address"),
    ("street-address", Prefix::P, "street-address"),
    ("locality", Prefix::P, "locality"),
    ("region", Prefix::P, "region"),
    ("postal-code", Prefix::P, "postal-code"),
    ("country-name", Prefix::P, "country-name"),
    ("label", Prefix::P, "label"),
    ("geo", Prefix::P, "geo"),
    ("latitude", Prefix::P, "latitude"),
    ("longitude", Prefix::P, "longitude"),
    ("tel", Prefix::P, "tel"),
    ("note", Prefix::P, "note"),
    ("bday", Prefix::Dt, "bday"),
    ("key", Prefix::U, "key"),
    ("org", Prefix::P, "org"),
    ("organization-name", Prefix::P, "organization-name"),
    ("organization-unit", Prefix::P, "organization-unit"),
    ("title", Prefix::P, "job-title"),
    ("role", Prefix::P, "role"),
    ("tz", Prefix::P, "tz"),
    ("rev", Prefix::Dt, "rev"),
];

const HENTRY: &[Mapping] = &[
    ("entry-title", Prefix::P, "name"),
    ("entry-summary", Prefix::P, "summary"),
    ("entry-content", Prefix::E, "content"),
    ("published", Prefix::Dt, "published"),
    ("updated", Prefix::Dt, "updated"),
    ("author", Prefix::P, "author"),
    ("category", Prefix::P, "category"),
    ("geo", Prefix::P, "geo"),
    ("latitude", Prefix::P, "latitude"),
    ("longitude", Prefix::P, "longitude"),
];

const ADR: &[Mapping] = &[
    ("post-office-box", Prefix::P, "post-office-box"),
    ("extended-address", Prefix::P, "extended-address"),
    ("street-address", Prefix::P, "street-address"),
    ("locality", Prefix::P, "locality"),
    ("region", Prefix::P, "region"),
    ("postal-code", Prefix::P, "postal-code"),
    ("country-name", Prefix::P, "country-name"),
];

const GEO: &[Mapping] = &[
    ("latitude", Prefix::P, "latitude"),
    ("longitude", Prefix::P, "longitude"),
];
