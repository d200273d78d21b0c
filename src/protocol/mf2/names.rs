//! Class names that mean something to the parser: root class names (`h-*`,
//! or a classic root such as `vcard`) and property class names (`p-*`,
//! `u-*`, `dt-*`, `e-*`, or the classic names of the enclosing classic root).
//!
//! Invariant: only valid names count (microformats2-parsing, "parse an
//! element for class microformats": `h-` then an optional vendor prefix of
//! `[a-z0-9]+-`, then `[a-z]+(-[a-z]+)*`); classic names are used only where
//! no `h-*` class is present on the root.

use scraper::ElementRef;

use super::backcompat;
use super::tree::{classes, has_classes};

/// The four kinds of property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prefix {
    /// `p-*`: plain text.
    P,
    /// `u-*`: a URL.
    U,
    /// `dt-*`: a date and time.
    Dt,
    /// `e-*`: embedded markup.
    E,
}

/// How many root types, and how many properties, one element may declare.
/// Real markup uses a handful; the cap keeps a hostile element with
/// thousands of classes from costing thousands of copies of an item.
pub(super) const MAX_NAMES_PER_ELEMENT: usize = 32;

/// The root class names on an element, and whether they are classic ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Root {
    /// `h-*` types in authored order, unique.
    pub types: Vec<String>,
    /// Classic roots (e.g. `vcard`) in authored order; empty for `h-*` items.
    pub classic: Vec<&'static str>,
}

/// The element's root class names, if it starts a microformat.
pub(super) fn root(el: ElementRef<'_>) -> Option<Root> {
    if !has_classes(el) {
        return None;
    }
    let mut root = Root {
        types: Vec::new(),
        classic: Vec::new(),
    };
    let mut classic_types: Vec<String> = Vec::new();
    for class in classes(el) {
        if let Some(name) = class.strip_prefix("h-") {
            if is_valid_name(name)
                && root.types.len() < MAX_NAMES_PER_ELEMENT
                && !root.types.iter().any(|t| t == class)
            {
                root.types.push(class.to_owned());
            }
        } else if let Some((classic, h_type)) = backcompat::root(class)
            && !root.classic.contains(&classic)
        {
            root.classic.push(classic);
            if !classic_types.iter().any(|t| t == h_type) {
                classic_types.push(h_type.to_owned());
            }
        }
    }
    if !root.types.is_empty() {
        root.classic.clear();
    } else {
        root.types = classic_types;
    }
    (!root.types.is_empty()).then_some(root)
}

/// The element's property class names as seen by an item of kind `parent`
/// (classic items only see the classic names of their own vocabulary).
pub(super) fn properties(el: ElementRef<'_>, parent: &Root) -> Vec<(Prefix, String)> {
    let mut found: Vec<(Prefix, String)> = Vec::new();
    if !has_classes(el) && !parent.classic.contains(&"hentry") {
        return found;
    }
    let mut add = |prefix: Prefix, name: &str| {
        if found.len() < MAX_NAMES_PER_ELEMENT
            && !found.iter().any(|(p, n)| *p == prefix && n == name)
        {
            found.push((prefix, name.to_owned()));
        }
    };
    if parent.classic.is_empty() {
        for class in classes(el) {
            if let Some((prefix, name)) = split_property(class) {
                add(prefix, name);
            }
        }
    } else {
        for (prefix, name) in backcompat::properties(el, &parent.classic) {
            add(prefix, name);
        }
    }
    found
}

/// Whether any class on the element names an `h-*`-style property.
pub(super) fn is_property_element(el: ElementRef<'_>) -> bool {
    classes(el).any(|class| split_property(class).is_some())
}

fn split_property(class: &str) -> Option<(Prefix, &str)> {
    let (prefix, name) = if let Some(name) = class.strip_prefix("p-") {
        (Prefix::P, name)
    } else if let Some(name) = class.strip_prefix("u-") {
        (Prefix::U, name)
    } else if let Some(name) = class.strip_prefix("dt-") {
        (Prefix::Dt, name)
    } else if let Some(name) = class.strip_prefix("e-") {
        (Prefix::E, name)
    } else {
        return None;
    };
    is_valid_name(name).then_some((prefix, name))
}

/// `([a-z0-9]+-)?[a-z]+(-[a-z]+)*`
fn is_valid_name(name: &str) -> bool {
    let segments: Vec<&str> = name.split('-').collect();
    let lower = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    let vendor = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    match segments.as_slice() {
        [] => false,
        [only] => lower(only),
        [first, rest @ ..] => (vendor(first) || lower(first)) && rest.iter().all(|s| lower(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_follow_the_spec_pattern() {
        for good in ["card", "in-reply-to", "x2-card", "a-b-c"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "Card", "card-", "-card", "2", "card-2", "a--b", "ca_rd"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn property_classes_split_into_prefix_and_name() {
        assert_eq!(
            split_property("dt-published"),
            Some((Prefix::Dt, "published"))
        );
        assert_eq!(split_property("e-content"), Some((Prefix::E, "content")));
        assert_eq!(split_property("p-"), None);
        assert_eq!(split_property("h-card"), None);
    }
}
