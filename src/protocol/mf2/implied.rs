//! Implied properties: the `name`, `photo` and `url` an item gets from its
//! markup when the author did not mark them (microformats2-parsing,
//! "parsing for implied properties").
//!
//! Invariant: an implied property is only ever added when the item has no
//! explicit property of that name; under the living rules also only when the
//! item has no other `p-*`/`e-*` (for `name`) or `u-*` (for `photo`, `url`)
//! property and no nested microformat. Classic roots get no implied
//! properties. `:not[.h-*]` in the spec's selectors excludes any root.

use scraper::ElementRef;

use super::names;
use super::tree::{attr, attr_nonempty, tag};
use super::types::PropertyValue;
use super::urls::resolve;
use super::values::Ctx;

/// The implied name: an `alt` or `title` from the root or an only child,
/// else the root's text content.
pub(super) fn name(el: ElementRef<'_>, ctx: Ctx<'_>) -> String {
    let own = match tag(el) {
        "img" | "area" => attr(el, "alt"),
        "abbr" => attr(el, "title"),
        _ => None,
    };
    if let Some(own) = own {
        return own.to_owned();
    }
    fn from_child(child: ElementRef<'_>) -> Option<&str> {
        match tag(child) {
            "img" | "area" => attr_nonempty(child, "alt"),
            "abbr" => attr_nonempty(child, "title"),
            _ => None,
        }
    }
    let child = only_child(el);
    let grandchild = child.and_then(only_child);
    child
        .into_iter()
        .chain(grandchild)
        .find_map(from_child)
        .map_or_else(|| ctx.text(el), str::to_owned)
}

/// The implied photo: the root's own `img[src]`/`object[data]`, else the
/// only such child, else the only such grandchild through an only child.
pub(super) fn photo(el: ElementRef<'_>, ctx: Ctx<'_>) -> Option<PropertyValue> {
    let image = |e: ElementRef<'_>| match tag(e) {
        "img" => attr(e, "src").map(|src| PropertyValue::Url {
            value: resolve(ctx.base, src),
            alt: attr(e, "alt")
                .filter(|_| ctx.rules.url_keeps_alt())
                .map(str::to_owned),
        }),
        "object" => attr(e, "data").map(|data| PropertyValue::Url {
            value: resolve(ctx.base, data),
            alt: None,
        }),
        _ => None,
    };
    let among_children = |parent: ElementRef<'_>| {
        ["img", "object"]
            .into_iter()
            .find_map(|name| only_of_type(parent, name).and_then(image))
    };
    image(el)
        .or_else(|| among_children(el))
        .or_else(|| only_child(el).and_then(among_children))
}

/// The implied URL: the root's own `a[href]`/`area[href]`, else the only
/// such child, else the only such grandchild through an only child.
pub(super) fn url(el: ElementRef<'_>, ctx: Ctx<'_>) -> Option<String> {
    let link = |e: ElementRef<'_>| match tag(e) {
        "a" | "area" => attr(e, "href").map(|href| resolve(ctx.base, href)),
        _ => None,
    };
    let among_children = |parent: ElementRef<'_>| {
        ["a", "area"]
            .into_iter()
            .find_map(|name| only_of_type(parent, name).and_then(link))
    };
    link(el)
        .or_else(|| among_children(el))
        .or_else(|| only_child(el).and_then(among_children))
}

/// `parent > :only-child:not[.h-*]`
fn only_child(parent: ElementRef<'_>) -> Option<ElementRef<'_>> {
    let mut children = parent.child_elements();
    let only = children.next()?;
    (children.next().is_none() && names::root(only).is_none()).then_some(only)
}

/// `parent > name:only-of-type:not[.h-*]`
fn only_of_type<'a>(parent: ElementRef<'a>, name: &str) -> Option<ElementRef<'a>> {
    let mut of_type = parent.child_elements().filter(|child| tag(*child) == name);
    let only = of_type.next()?;
    (of_type.next().is_none() && names::root(only).is_none()).then_some(only)
}
