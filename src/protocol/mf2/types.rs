//! The parsed shape of a page: items, their properties, and the page's rel
//! links, mirroring the canonical microformats2 JSON
//! (<https://microformats.org/wiki/microformats2-parsing#parse_a_document_for_microformats>).
//!
//! Invariant: these are plain values with no tie to the HTML tree they came
//! from; every URL in them is already resolved against the page's base URL
//! (authored absolute URLs are kept as written).

use std::collections::BTreeMap;

/// Everything the parser found in one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    /// Top-level microformats, in document order.
    pub items: Vec<Item>,
    /// `rel` value → the resolved URLs carrying it, in document order, unique.
    pub rels: BTreeMap<String, Vec<String>>,
    /// Resolved URL → what the links to it said about it (first link wins).
    pub rel_urls: BTreeMap<String, RelUrl>,
    /// The 2015 rules' separate list of `rel=alternate` links
    /// ([`super::Rules::Legacy2015`] only; always empty under the living rules).
    pub alternates: Vec<Alternate>,
}

/// One microformat (`h-*`, or a classic root such as `vcard` mapped to it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    /// Its `h-*` types, unique.
    pub r#type: Vec<String>,
    /// Property name (without prefix, e.g. `name`) → its values in document order.
    pub properties: BTreeMap<String, Vec<PropertyValue>>,
    /// Nested microformats that are not property values.
    pub children: Vec<Item>,
    /// The root element's non-empty `id` attribute.
    pub id: Option<String>,
    /// When the item is a property value: its plain value (the nested item's
    /// `name` for `p-*`, its `url` for `u-*`, the text for `e-*`, …).
    pub value: Option<String>,
    /// When the item is an `e-*` property value: the element's inner HTML.
    pub html: Option<String>,
}

/// One value of a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    /// `p-*` and `dt-*` values, and `u-*` values that carry no `alt`.
    Text(String),
    /// A `u-*` value; `alt` is set for an `<img alt>` under the living rules
    /// and then serialises as `{"value", "alt"}`, else as a plain string.
    Url { value: String, alt: Option<String> },
    /// An `e-*` value: inner HTML, its text, and the language in force there.
    Embedded {
        html: String,
        value: String,
        lang: Option<String>,
    },
    /// A nested microformat that is also a property value.
    Item(Box<Item>),
}

impl PropertyValue {
    /// The plain string of a text or URL value; `None` for embedded markup and items.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::Text(text) => Some(text),
            PropertyValue::Url { value, .. } => Some(value),
            PropertyValue::Embedded { .. } | PropertyValue::Item(_) => None,
        }
    }
}

/// What the page's links say about one URL (microformats2 "rel-urls").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelUrl {
    /// Every `rel` token seen on links to this URL, unique, in order of appearance.
    pub rels: Vec<String>,
    /// The first link's trimmed text, when not empty.
    pub text: Option<String>,
    pub title: Option<String>,
    pub media: Option<String>,
    pub hreflang: Option<String>,
    pub r#type: Option<String>,
}

/// One `rel=alternate` link as the 2015 rules listed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alternate {
    pub url: String,
    /// The link's other `rel` tokens, space separated.
    pub rel: Option<String>,
    pub media: Option<String>,
    pub hreflang: Option<String>,
    pub r#type: Option<String>,
    pub title: Option<String>,
    pub text: Option<String>,
}
