//! The microformats2 parser (`protocol::mf2`), under both editions of the
//! rules: never panics, items nest no deeper than the walk's limit, and the
//! canonical JSON serialises.
#![no_main]

use std::sync::LazyLock;

use backfeed::protocol::mf2::{self, Item, MAX_DEPTH, PropertyValue, Rules};
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://source.example/notes/1").unwrap());

/// Levels of nested items (children and item-valued properties), counted
/// without recursion.
fn nesting(items: &[Item]) -> usize {
    let mut deepest = 0;
    let mut stack: Vec<(&Item, usize)> = items.iter().map(|item| (item, 1)).collect();
    while let Some((item, level)) = stack.pop() {
        deepest = deepest.max(level);
        stack.extend(item.children.iter().map(|child| (child, level + 1)));
        for values in item.properties.values() {
            for value in values {
                if let PropertyValue::Item(nested) = value {
                    stack.push((nested, level + 1));
                }
            }
        }
    }
    deepest
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, html)) = data.split_first() else {
        return;
    };
    let Ok(html) = std::str::from_utf8(html) else {
        return;
    };
    let rules = if selector & 1 == 0 {
        Rules::Living
    } else {
        Rules::Legacy2015
    };
    let document = mf2::parse_with(html, &BASE, rules);
    let depth = nesting(&document.items);
    assert!(depth <= MAX_DEPTH + 1, "items nest {depth} deep");
    let json = document.to_json();
    serde_json::to_string(&json).expect("the canonical JSON serialises");
});
