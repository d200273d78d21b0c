//! The value of one property element: `p-*`, `u-*`, `dt-*` and `e-*`
//! parsing (microformats2-parsing, "parsing a p-/u-/dt-/e- property"),
//! including the value-class pattern.
//!
//! Invariant: each function reads only the element and its descendants and
//! never fails; where the spec falls back to text content, so do we.
//! Value-class pieces of `p-*` join with a space (as the corpus's
//! `h-card/p-property` expects), those of `u-*` with nothing.

use scraper::ElementRef;
use url::Url;

use super::datetime;
use super::names;
use super::rules::Rules;
use super::serialize::inner_html;
use super::text::{text_content, trimmed};
use super::tree::{Visit, attr, has_class, has_classes, tag, walk};
use super::types::PropertyValue;
use super::urls::resolve;

/// What every value parser needs: the base URL in force and the edition.
#[derive(Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub base: &'a Url,
    pub rules: Rules,
}

impl Ctx<'_> {
    pub fn text(&self, el: ElementRef<'_>) -> String {
        text_content(el, self.base, self.rules)
    }
}

/// A `p-*` value.
pub(super) fn p_value(el: ElementRef<'_>, ctx: Ctx<'_>) -> String {
    let parts = value_class_parts(el, ctx, false);
    if !parts.is_empty() {
        return parts.join(" ");
    }
    let authored = match tag(el) {
        "abbr" | "link" => attr(el, "title"),
        "data" | "input" => attr(el, "value"),
        "img" | "area" => attr(el, "alt"),
        _ => None,
    };
    authored.map_or_else(|| ctx.text(el), str::to_owned)
}

/// A `u-*` value (an `<img alt>` keeps its `alt` under the living rules).
pub(super) fn u_value(el: ElementRef<'_>, ctx: Ctx<'_>) -> PropertyValue {
    let url = |value: &str| PropertyValue::Url {
        value: resolve(ctx.base, value),
        alt: None,
    };
    let name = tag(el);
    if let Some(href) = attr(el, "href").filter(|_| matches!(name, "a" | "area" | "link")) {
        return url(href);
    }
    if let Some(src) = attr(el, "src") {
        match name {
            "img" => {
                let alt = attr(el, "alt").filter(|_| ctx.rules.url_keeps_alt());
                return PropertyValue::Url {
                    value: resolve(ctx.base, src),
                    alt: alt.map(str::to_owned),
                };
            }
            "audio" | "video" | "source" | "iframe" => return url(src),
            _ => {}
        }
    }
    if let Some(poster) = attr(el, "poster").filter(|_| name == "video") {
        return url(poster);
    }
    if let Some(data) = attr(el, "data").filter(|_| name == "object") {
        return url(data);
    }
    let parts = value_class_parts(el, ctx, false);
    let value = if !parts.is_empty() {
        parts.concat()
    } else if let Some(title) = attr(el, "title").filter(|_| name == "abbr") {
        title.to_owned()
    } else if let Some(value) = attr(el, "value").filter(|_| matches!(name, "data" | "input")) {
        value.to_owned()
    } else {
        ctx.text(el)
    };
    PropertyValue::Url {
        value: trimmed(value),
        alt: None,
    }
}

/// A `dt-*` value. `last_date` carries the date of the item's previous
/// date-bearing `dt-*` value, so a lone time (a `dt-end` of "19:00") gets it.
pub(super) fn dt_value(el: ElementRef<'_>, ctx: Ctx<'_>, last_date: &mut Option<String>) -> String {
    let parts = value_class_parts(el, ctx, true);
    let value = if parts.is_empty() {
        let name = tag(el);
        let authored = match name {
            "time" | "ins" | "del" => attr(el, "datetime"),
            "abbr" => attr(el, "title"),
            "data" | "input" => attr(el, "value"),
            _ => None,
        };
        let value = authored.map_or_else(|| ctx.text(el), str::to_owned);
        if ctx.rules.normalises_all_dates() {
            datetime::normalise(&value)
        } else {
            value
        }
    } else {
        datetime::assemble(&parts).unwrap_or_else(|| parts.concat())
    };
    if let Some(date) = datetime::leading_date(&value) {
        *last_date = Some(date.to_owned());
        value
    } else if let Some(date) = last_date
        .as_deref()
        .filter(|_| datetime::is_time_only(&value))
    {
        datetime::assemble(&[date.to_owned(), value.clone()]).unwrap_or(value)
    } else {
        value
    }
}

/// An `e-*` value: the inner HTML, its text, and the language in force.
pub(super) fn e_value(el: ElementRef<'_>, ctx: Ctx<'_>) -> PropertyValue {
    let html = inner_html(el, ctx.base, ctx.rules);
    let html = if ctx.rules.trims_embedded_html() {
        trimmed(html)
    } else {
        html
    };
    let lang = if ctx.rules.embedded_lang() {
        language(el)
    } else {
        None
    };
    PropertyValue::Embedded {
        html,
        value: ctx.text(el),
        lang,
    }
}

/// The `lang` attribute in force on an element (its own or an ancestor's).
fn language(el: ElementRef<'_>) -> Option<String> {
    std::iter::once(el)
        .chain(el.ancestors().filter_map(ElementRef::wrap))
        .find_map(|e| attr(e, "lang"))
        .map(|lang| lang.trim().to_owned())
        .filter(|lang| !lang.is_empty())
}

/// The value-class pattern: the values of descendants with class `value`
/// (or the `title` of those with class `value-title`), not looking inside
/// nested microformats or other property elements.
fn value_class_parts(el: ElementRef<'_>, ctx: Ctx<'_>, for_dates: bool) -> Vec<String> {
    let mut parts = Vec::new();
    walk(el, |visit| {
        let Visit::Open(child) = visit else {
            return false;
        };
        if !has_classes(child) {
            return true;
        }
        if names::root(child).is_some() {
            return false;
        }
        if has_class(child, "value-title") {
            parts.extend(attr(child, "title").map(str::to_owned));
            return false;
        }
        if has_class(child, "value") {
            parts.push(value_of_piece(child, ctx, for_dates));
            return false;
        }
        !names::is_property_element(child)
    });
    parts
}

fn value_of_piece(el: ElementRef<'_>, ctx: Ctx<'_>, for_dates: bool) -> String {
    let authored = match tag(el) {
        "img" | "area" => attr(el, "alt"),
        "data" => attr(el, "value"),
        "abbr" => attr(el, "title"),
        "time" | "ins" | "del" if for_dates => attr(el, "datetime"),
        _ => None,
    };
    authored.map_or_else(|| ctx.text(el), str::to_owned)
}
