//! Hostile input: deep nesting, broken markup, odd classes. Nothing panics.

use serde_json::json;

use super::{legacy, living};
use crate::protocol::mf2::parser::MAX_DEPTH;

#[test]
fn deeply_nested_microformats_neither_overflow_the_stack_nor_panic() {
    let depth = 3_000;
    let html = format!(
        "{}x{}",
        r#"<div class="h-card p-knows"><span class="p-name">"#.repeat(depth),
        "</span></div>".repeat(depth)
    );
    let doc = living(&html);
    assert_eq!(doc["items"].as_array().map(Vec::len), Some(1));
}

#[test]
fn the_walk_stops_quietly_below_its_depth_limit() {
    let wrap = MAX_DEPTH + 10;
    let html = format!(
        "{}<p class=\"h-card\">deep</p>{}",
        "<div>".repeat(wrap),
        "</div>".repeat(wrap)
    );
    assert_eq!(living(&html)["items"], json!([]));
    let shallow = format!("{}<p class=\"h-card\">ok</p>", "<div>".repeat(10));
    assert_eq!(
        living(&shallow)["items"][0]["properties"]["name"],
        json!(["ok"])
    );
}

#[test]
fn broken_markup_and_odd_values_parse_without_panicking() {
    let inputs = [
        "",
        "\0\0<<<>>>&&&#;",
        "<div class='h-card'><a class='u-url' href='http://[::1'>x</a>",
        "<div class='h-entry'><time class='dt-published' datetime='٢٠٢٠-٠١-٠١T٢٢:٠٠+٠١٠٠'>",
        "<div class='h-event'><span class='dt-start'><span class='value'>99:99pm</span>",
        "<div class='h-card'><img class='u-photo' src='data:,x' alt=''><object class='h-card'>",
        "<a rel=' me  me ' href='javascript:alert(1)'>x</a><base href='::::'>",
        "<svg class='h-card'><a class='u-url' xlink:href='/x'>svg</a></svg>",
        "<table class='h-card'><tr><td class='p-name'><table><td>x</table></table>",
    ];
    for input in inputs {
        let _ = living(input);
        let _ = legacy(input);
    }
}
