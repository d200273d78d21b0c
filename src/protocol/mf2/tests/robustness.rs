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

#[test]
fn scratch_timing() {
    let entry = r#"<article class="h-entry" id="e"><h2 class="p-name"><a class="u-url" href="/p/1">Title</a></h2>
    <a class="p-author h-card" href="/me"><img class="u-photo" src="me.jpg" alt="Me"> Me</a>
    <time class="dt-published" datetime="2024-01-02T03:04:05Z">Jan</time>
    <div class="e-content"><p>Some <b>content</b> with a <a href="/x" rel="tag">link</a> and &amp; entities.</p>
    <p>More text more text more text more text more text more text more text.</p></div>
    <a class="u-in-reply-to h-cite" href="https://x.example/post"><span class="p-name">Re</span></a></article>
"#;
    let html = format!(
        "<html><body class=\"h-feed\">{}</body></html>",
        entry.repeat(1_000_000 / entry.len())
    );
    let t = std::time::Instant::now();
    let _page = scraper::Html::parse_document(&html);
    let parse = t.elapsed();
    let t = std::time::Instant::now();
    let doc = living(&html);
    eprintln!(
        "{} bytes: html5ever {parse:?}, full {:?}, {} children",
        html.len(),
        t.elapsed(),
        doc["items"][0]["children"].as_array().unwrap().len()
    );
    let t = std::time::Instant::now();
    let _ = legacy(&html);
    eprintln!("legacy full {:?}", t.elapsed());
    let base = url::Url::parse("http://example.com/").unwrap();
    let t = std::time::Instant::now();
    let d = crate::protocol::mf2::parse(&html, &base);
    eprintln!("parse only {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = d.to_json();
    eprintln!("json only {:?}", t.elapsed());
    let page = scraper::Html::parse_document(&html);
    let t = std::time::Instant::now();
    let _ = crate::protocol::mf2::text::text_content(
        page.root_element(),
        &base,
        crate::protocol::mf2::Rules::Living,
    );
    eprintln!("text of all {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = crate::protocol::mf2::serialize::inner_html(
        page.root_element(),
        &base,
        crate::protocol::mf2::Rules::Living,
    );
    eprintln!("html of all {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let mut n = 0;
    for e in page.root_element().descendent_elements() {
        if crate::protocol::mf2::tree::has_classes(e) {
            n += 1;
        }
    }
    eprintln!("has_classes over all {:?} {n}", t.elapsed());
    drop(page);
    let t = std::time::Instant::now();
    let page = scraper::Html::parse_document(&html);
    eprintln!("parse again {:?}", t.elapsed());
    let t = std::time::Instant::now();
    drop(page);
    eprintln!("drop {:?}", t.elapsed());
    let text = format!(
        "<div class='h-entry'><div class='e-content'>{}</div></div>",
        "<p>word word <i>word</i></p>\n".repeat(30_000)
    );
    let t = std::time::Instant::now();
    let _ = living(&text);
    eprintln!("{} bytes single e-content: {:?}", text.len(), t.elapsed());
}
