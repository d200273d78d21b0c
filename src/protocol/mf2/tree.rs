//! Small helpers over scraper's element tree: a depth-first walk without
//! recursion, and attribute and class access in authored order.
//!
//! Invariant: nothing here recurses, so a page nested a million elements deep
//! costs time proportional to its size, never stack.

use scraper::{ElementRef, Node};

/// One step of a depth-first walk below an element.
pub(super) enum Visit<'a> {
    Text(&'a str),
    Comment(&'a str),
    /// Entering an element; the callback answers whether to walk into it.
    /// Elements not walked into get no [`Visit::Close`].
    Open(ElementRef<'a>),
    Close(ElementRef<'a>),
}

/// Walks the descendants of `root` (not `root` itself) in document order.
/// Template contents are walked like ordinary children.
pub(super) fn walk<'a>(root: ElementRef<'a>, mut visit: impl FnMut(Visit<'a>) -> bool) {
    let root_id = root.id();
    let mut next = root.first_child();
    while let Some(node) = next {
        let descend = match node.value() {
            Node::Text(text) => {
                visit(Visit::Text(text));
                false
            }
            Node::Comment(comment) => {
                visit(Visit::Comment(comment));
                false
            }
            Node::Element(_) => ElementRef::wrap(node).is_some_and(|el| visit(Visit::Open(el))),
            Node::Fragment => true,
            _ => false,
        };
        if descend && let Some(child) = node.first_child() {
            next = Some(child);
            continue;
        }
        // `node` is done: close it if we entered it, then climb until a
        // sibling is found, closing every ancestor we leave.
        let mut done = node;
        let mut entered = descend;
        next = loop {
            if entered && let Some(el) = ElementRef::wrap(done) {
                visit(Visit::Close(el));
            }
            if let Some(sibling) = done.next_sibling() {
                break Some(sibling);
            }
            match done.parent() {
                Some(parent) if parent.id() != root_id => {
                    done = parent;
                    entered = true;
                }
                _ => break None,
            }
        };
    }
}

/// The element's local name (`a`, `img`, …).
pub(super) fn tag(el: ElementRef<'_>) -> &str {
    el.value().name()
}

/// An attribute's value, when present.
pub(super) fn attr<'a>(el: ElementRef<'a>, name: &str) -> Option<&'a str> {
    el.value().attr(name)
}

/// An attribute's value, when present and not empty.
pub(super) fn attr_nonempty<'a>(el: ElementRef<'a>, name: &str) -> Option<&'a str> {
    attr(el, name).filter(|value| !value.is_empty())
}

/// Class names in the order the author wrote them (scraper's own list is sorted).
pub(super) fn classes(el: ElementRef<'_>) -> impl Iterator<Item = &str> {
    attr(el, "class")
        .unwrap_or("")
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|class| !class.is_empty())
}

/// Whether the element has any class at all (a cheap test that lets the
/// walks skip the many unclassed elements of a page).
pub(super) fn has_classes(el: ElementRef<'_>) -> bool {
    attr(el, "class").is_some_and(|class| !class.trim_ascii().is_empty())
}

/// Whether the element carries exactly this class.
pub(super) fn has_class(el: ElementRef<'_>, class: &str) -> bool {
    classes(el).any(|c| c == class)
}

/// HTML whitespace, which is what the spec's "trim" removes (not U+00A0).
pub(super) fn trim_html(text: &str) -> &str {
    text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\u{c}' | '\r'))
}
