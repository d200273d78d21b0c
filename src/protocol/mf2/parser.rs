//! The walk that finds microformats and their properties
//! (microformats2-parsing, "parse an element for class microformats" and
//! "parse an element for properties").
//!
//! Invariant: every element is visited at most once per enclosing item, and
//! the walk stops descending past [`MAX_DEPTH`] elements (hostile pages nest
//! arbitrarily deep; what lies below is ignored rather than risking the stack).

use scraper::ElementRef;

use super::implied;
use super::names::{self, Prefix, Root};
use super::tree::{attr_nonempty, tag};
use super::types::{Item, PropertyValue};
use super::values::{Ctx, dt_value, e_value, p_value, u_value};

/// How deep (in elements) the walk goes below the document root.
pub const MAX_DEPTH: usize = 256;

/// The top-level items at or below `el`.
pub(super) fn find_items(el: ElementRef<'_>, ctx: Ctx<'_>) -> Vec<Item> {
    let mut items = Vec::new();
    match names::root(el) {
        Some(root) => items.push(item(el, &root, ctx, 0)),
        None => find_below(el, ctx, 0, &mut items),
    }
    items
}

fn find_below(el: ElementRef<'_>, ctx: Ctx<'_>, depth: usize, items: &mut Vec<Item>) {
    if depth >= MAX_DEPTH {
        return;
    }
    for child in el.child_elements().filter(|c| tag(*c) != "template") {
        match names::root(child) {
            Some(root) => items.push(item(child, &root, ctx, depth + 1)),
            None => find_below(child, ctx, depth + 1, items),
        }
    }
}

/// What the implied-property rules need to know about an item's markup.
#[derive(Default)]
struct Seen {
    name: bool,
    photo: bool,
    url: bool,
    p_or_e: bool,
    u: bool,
    nested: bool,
    last_date: Option<String>,
}

fn item(el: ElementRef<'_>, root: &Root, ctx: Ctx<'_>, depth: usize) -> Item {
    let mut types = root.types.clone();
    if ctx.rules.sorts_types() {
        types.sort();
    }
    let mut item = Item {
        r#type: types,
        id: attr_nonempty(el, "id").map(str::to_owned),
        ..Item::default()
    };
    let mut seen = Seen::default();
    properties(el, root, ctx, depth, &mut item, &mut seen);
    if root.classic.is_empty() {
        imply(el, ctx, &mut item, &seen);
    }
    item
}

fn imply(el: ElementRef<'_>, ctx: Ctx<'_>, item: &mut Item, seen: &Seen) {
    let strict = ctx.rules.implied_needs_bare_item();
    if !seen.name && !(strict && (seen.nested || seen.p_or_e)) {
        let name = implied::name(el, ctx);
        item.properties
            .insert("name".into(), vec![PropertyValue::Text(name)]);
    }
    let urls_allowed = !(strict && (seen.nested || seen.u));
    if !seen.photo
        && urls_allowed
        && let Some(photo) = implied::photo(el, ctx)
    {
        item.properties.insert("photo".into(), vec![photo]);
    }
    if !seen.url
        && urls_allowed
        && let Some(url) = implied::url(el, ctx)
    {
        let url = PropertyValue::Url {
            value: url,
            alt: None,
        };
        item.properties.insert("url".into(), vec![url]);
    }
}

fn properties(
    el: ElementRef<'_>,
    root: &Root,
    ctx: Ctx<'_>,
    depth: usize,
    item: &mut Item,
    seen: &mut Seen,
) {
    if depth >= MAX_DEPTH {
        return;
    }
    for child in el.child_elements().filter(|c| tag(*c) != "template") {
        let props = names::properties(child, root);
        for (prefix, name) in &props {
            seen.name |= name == "name";
            seen.photo |= name == "photo";
            seen.url |= name == "url";
            seen.p_or_e |= matches!(prefix, Prefix::P | Prefix::E);
            seen.u |= *prefix == Prefix::U;
        }
        if let Some(child_root) = names::root(child) {
            seen.nested = true;
            let mut nested = self::item(child, &child_root, ctx, depth + 1);
            if props.is_empty() {
                item.children.push(as_child(child, ctx, nested));
                continue;
            }
            let mut props = props.into_iter().peekable();
            while let Some((prefix, name)) = props.next() {
                // Only the last property takes the item itself; others get a copy.
                let this = if props.peek().is_some() {
                    nested.clone()
                } else {
                    std::mem::take(&mut nested)
                };
                let value = as_property(child, ctx, prefix, this, seen);
                push(item, name, value);
            }
            continue;
        }
        for (prefix, name) in props {
            if let Some(value) = plain_value(child, ctx, prefix, seen) {
                push(item, name, value);
            }
        }
        properties(child, root, ctx, depth + 1, item, seen);
    }
}

fn push(item: &mut Item, name: String, value: PropertyValue) {
    item.properties.entry(name).or_default().push(value);
}

/// A property's value from an element that is not itself a microformat.
/// Empty text values are dropped (the corpus's `<br class="p-…">` case).
fn plain_value(
    el: ElementRef<'_>,
    ctx: Ctx<'_>,
    prefix: Prefix,
    seen: &mut Seen,
) -> Option<PropertyValue> {
    let value = match prefix {
        Prefix::P => PropertyValue::Text(p_value(el, ctx)),
        Prefix::U => u_value(el, ctx),
        Prefix::Dt => PropertyValue::Text(dt_value(el, ctx, &mut seen.last_date)),
        Prefix::E => return Some(e_value(el, ctx)),
    };
    (value.as_str() != Some("")).then_some(value)
}

/// A nested microformat as a property value, with its `value` (and `html`).
fn as_property(
    el: ElementRef<'_>,
    ctx: Ctx<'_>,
    prefix: Prefix,
    mut nested: Item,
    seen: &mut Seen,
) -> PropertyValue {
    let first = |name: &str, nested: &Item| {
        nested
            .properties
            .get(name)
            .and_then(|values| values.first())
            .and_then(PropertyValue::as_str)
            .map(str::to_owned)
    };
    nested.value = Some(match prefix {
        Prefix::P => first("name", &nested).unwrap_or_else(|| p_value(el, ctx)),
        Prefix::U => first("url", &nested)
            .unwrap_or_else(|| u_value(el, ctx).as_str().unwrap_or_default().to_owned()),
        Prefix::Dt => dt_value(el, ctx, &mut seen.last_date),
        Prefix::E => match e_value(el, ctx) {
            PropertyValue::Embedded { html, value, .. } => {
                nested.html = Some(html);
                value
            }
            other => other.as_str().unwrap_or_default().to_owned(),
        },
    });
    PropertyValue::Item(Box::new(nested))
}

/// A nested microformat that is not a property (2015 rules: with its text as `value`).
fn as_child(el: ElementRef<'_>, ctx: Ctx<'_>, mut nested: Item) -> Item {
    if ctx.rules.children_carry_value() {
        nested.value = Some(ctx.text(el)).filter(|text| !text.is_empty());
    }
    nested
}
