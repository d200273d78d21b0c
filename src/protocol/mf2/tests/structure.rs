//! Items, nesting, types, rels and classic roots.

use serde_json::json;

use super::{legacy, living, props};

#[test]
fn a_nested_p_property_item_takes_its_name_as_value() {
    let html = r#"<div class="h-entry"><a class="p-author h-card" href="/ann">Ann</a></div>"#;
    assert_eq!(
        props(&living(html))["author"],
        json!([{
            "type": ["h-card"],
            "properties": {"name": ["Ann"], "url": ["http://example.com/ann"]},
            "value": "Ann",
        }])
    );
}

#[test]
fn a_nested_u_property_item_takes_its_url_as_value() {
    let html = r#"<div class="h-entry"><div class="u-in-reply-to h-cite">
        <a class="u-url" href="https://x.example/1">a post</a></div></div>"#;
    let reply = props(&living(html))["in-reply-to"][0].clone();
    assert_eq!(reply["value"], json!("https://x.example/1"));
    assert_eq!(reply["type"], json!(["h-cite"]));
}

#[test]
fn a_nested_e_property_item_carries_html_and_value() {
    let html = r#"<div class="h-entry"><div class="e-content h-card"> <b>Bo</b> </div></div>"#;
    let content = props(&living(html))["content"][0].clone();
    assert_eq!(content["html"], json!("<b>Bo</b>"));
    assert_eq!(content["value"], json!("Bo"));
}

#[test]
fn a_nested_microformat_that_is_not_a_property_is_a_child() {
    let html = r#"<div class="h-feed"><p class="p-name">Feed</p>
        <article class="h-entry"><p class="p-name">One</p></article></div>"#;
    let feed = &living(html)["items"][0];
    assert_eq!(feed["properties"], json!({"name": ["Feed"]}));
    assert_eq!(feed["children"][0]["properties"]["name"], json!(["One"]));
    assert_eq!(feed["children"][0].get("value"), None);
}

#[test]
fn an_element_with_two_properties_and_a_root_gives_the_item_to_both() {
    let html =
        r#"<div class="h-entry"><a class="p-author u-in-reply-to h-card" href="/a">A</a></div>"#;
    let p = props(&living(html)).clone();
    assert_eq!(p["author"][0]["value"], json!("A"));
    assert_eq!(p["in-reply-to"][0]["value"], json!("http://example.com/a"));
}

#[test]
fn types_are_unique_valid_names_sorted_under_living_rules() {
    let html = r#"<p class="h-org h-card h-org h- h-Card h-x_y h-2 h-v2-thing">X</p>"#;
    assert_eq!(
        living(html)["items"][0]["type"],
        json!(["h-card", "h-org", "h-v2-thing"])
    );
    assert_eq!(
        legacy(html)["items"][0]["type"],
        json!(["h-org", "h-card", "h-v2-thing"])
    );
}

#[test]
fn properties_with_invalid_names_are_ignored() {
    let html = r#"<div class="h-card"><span class="p-Name p- p-name_x p-nick-">x</span></div>"#;
    assert_eq!(props(&living(html)), &json!({"name": ["x"]}));
}

#[test]
fn an_id_on_the_root_is_kept() {
    assert_eq!(
        living(r#"<p class="h-card" id="me">X</p>"#)["items"][0]["id"],
        json!("me")
    );
}

#[test]
fn microformats_inside_templates_are_ignored() {
    let doc = living(r#"<template><p class="h-card">X</p></template>"#);
    assert_eq!(doc["items"], json!([]));
}

#[test]
fn rels_list_each_url_once_and_rel_urls_keep_the_first_text() {
    let html = r#"<head><link rel="webmention" href="/wm"></head>
        <a rel="me authn" href="https://m.example/@a" title="Fedi">first</a>
        <a rel="me" href="https://m.example/@a" hreflang="en">second</a>
        <a rel="" href="/nothing">none</a><a rel="tag">no href</a>"#;
    let doc = living(html);
    assert_eq!(
        doc["rels"],
        json!({
            "webmention": ["http://example.com/wm"],
            "me": ["https://m.example/@a"],
            "authn": ["https://m.example/@a"],
        })
    );
    assert_eq!(
        doc["rel-urls"]["https://m.example/@a"],
        json!({"rels": ["me", "authn"], "text": "first", "title": "Fedi", "hreflang": "en"})
    );
    assert_eq!(
        doc["rel-urls"]["http://example.com/wm"],
        json!({"rels": ["webmention"]})
    );
    assert_eq!(doc.get("alternates"), None);
}

#[test]
fn a_classic_hentry_with_a_vcard_author_reads_as_h_entry() {
    let html = r#"<div class="hentry"><h2 class="entry-title">Hi</h2>
        <span class="author vcard"><a class="url fn" href="/me">Me</a></span>
        <a rel="bookmark" href="/p/1">link</a><div class="entry-content"><p>Body</p></div>
        <span class="p-ignored">mf2 classes do not count in classic roots</span></div>"#;
    let doc = living(html);
    assert_eq!(doc["items"][0]["type"], json!(["h-entry"]));
    let p = props(&doc);
    assert_eq!(p["name"], json!(["Hi"]));
    assert_eq!(p["url"], json!(["http://example.com/p/1"]));
    assert_eq!(p["content"][0]["value"], json!("Body"));
    assert_eq!(
        p["author"][0]["properties"]["url"],
        json!(["http://example.com/me"])
    );
    assert_eq!(p["author"][0]["value"], json!("Me"));
    assert_eq!(p.get("ignored"), None);
}

#[test]
fn an_h_class_overrides_classic_root_names_on_the_same_element() {
    let html = r#"<div class="h-entry hentry"><p class="p-summary">S</p><p class="entry-title">T</p></div>"#;
    let doc = living(html);
    assert_eq!(doc["items"][0]["type"], json!(["h-entry"]));
    assert_eq!(
        props(&doc),
        &json!({"summary": ["S"]}),
        "classic properties are ignored"
    );
}
