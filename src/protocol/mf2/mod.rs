//! A microformats2 parser (<https://microformats.org/wiki/microformats2-parsing>):
//! HTML text in, items, `rels` and `rel-urls` out, as Rust values or as the
//! canonical JSON.
//!
//! The walk (`parser`) finds roots (`names`, `backcompat` for classic
//! hCard/hAtom) and reads property values (`values`, `datetime`, `text`,
//! `serialize`), then adds implied properties (`implied`); `rels` reads the
//! links, `urls` resolves everything against the page's base URL. `rules`
//! holds the few places where today's living specification and the 2015
//! rules of the public test corpus disagree.
//!
//! Invariant: pure and total. No I/O; any input, however hostile, yields a
//! [`Document`] (possibly empty) without panicking, in time roughly linear
//! in the page's size, and without unbounded recursion.

mod backcompat;
mod datetime;
mod implied;
mod json;
mod names;
mod parser;
mod rels;
mod rules;
mod serialize;
mod text;
mod tree;
mod types;
mod urls;
mod values;

#[cfg(test)]
mod tests;

use scraper::Html;
use url::Url;

pub use parser::MAX_DEPTH;
pub use rules::Rules;
pub use types::{Alternate, Document, Item, PropertyValue, RelUrl};

/// Parses a page fetched from `base_url` under today's living rules.
pub fn parse(html: &str, base_url: &Url) -> Document {
    parse_with(html, base_url, Rules::Living)
}

/// Parses a page fetched from `base_url` under the given edition of the rules.
pub fn parse_with(html: &str, base_url: &Url, rules: Rules) -> Document {
    let page = Html::parse_document(html);
    let root = page.root_element();
    let base = urls::document_base(root, base_url);
    let ctx = values::Ctx { base: &base, rules };
    let mut doc = Document {
        items: parser::find_items(root, ctx),
        ..Document::default()
    };
    rels::collect(root, ctx, &mut doc);
    doc
}
