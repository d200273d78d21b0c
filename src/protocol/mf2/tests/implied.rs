//! Implied name, photo and url.

use serde_json::json;

use super::{legacy, living, props};

#[test]
fn an_item_without_properties_takes_its_trimmed_text_as_name() {
    let doc = living("<p class=\"h-card\">\n  Frances  Berriman \n</p>");
    assert_eq!(props(&doc), &json!({"name": ["Frances  Berriman"]}));
}

#[test]
fn an_image_root_implies_its_name_from_alt_and_its_photo_with_alt() {
    let doc = living(r#"<img class="h-card" src="jane.jpg" alt="Jane Doe">"#);
    assert_eq!(
        props(&doc),
        &json!({
            "name": ["Jane Doe"],
            "photo": [{"value": "http://example.com/blog/jane.jpg", "alt": "Jane Doe"}],
        })
    );
}

#[test]
fn a_hyperlink_root_implies_its_url_resolved_against_the_page() {
    let doc = living(r#"<a class="h-card" href="/about">Ben Ward</a>"#);
    assert_eq!(
        props(&doc),
        &json!({"name": ["Ben Ward"], "url": ["http://example.com/about"]})
    );
}

#[test]
fn an_only_child_image_inside_an_only_child_implies_name_and_photo() {
    let doc = living(r#"<div class="h-card"><span><img src="p.png" alt="Rohit"></span></div>"#);
    assert_eq!(props(&doc)["name"], json!(["Rohit"]));
    assert_eq!(
        props(&doc)["photo"][0]["value"],
        json!("http://example.com/blog/p.png")
    );
}

#[test]
fn implied_name_replaces_images_in_text_by_their_alt_under_living_rules() {
    let html = r#"<div class="h-card"><b>Jane</b> <img src="x.png" alt="♥"> <i>Doe</i></div>"#;
    assert_eq!(props(&living(html))["name"], json!(["Jane ♥ Doe"]));
    assert_eq!(props(&legacy(html))["name"], json!(["Jane  Doe"]));
}

#[test]
fn a_nested_microformat_suppresses_implied_properties_under_living_rules_only() {
    let html =
        r#"<a class="h-entry" href="/post"><span class="p-author h-card">Ann</span> wrote</a>"#;
    let doc = living(html);
    assert_eq!(props(&doc).get("name"), None);
    assert_eq!(props(&doc).get("url"), None);
    let doc = legacy(html);
    assert_eq!(props(&doc)["name"], json!(["Ann wrote"]));
    assert_eq!(props(&doc)["url"], json!(["http://example.com/post"]));
}

#[test]
fn other_explicit_properties_suppress_the_matching_implied_ones() {
    let html = r#"<a class="h-card" href="/me"><img src="me.png"><span class="p-nickname">jd</span><span class="u-email">a@b.c</span></a>"#;
    let doc = living(html);
    assert_eq!(
        props(&doc).get("name"),
        None,
        "a p-* property blocks the implied name"
    );
    assert_eq!(
        props(&doc).get("photo"),
        None,
        "a u-* property blocks the implied photo"
    );
    assert_eq!(
        props(&doc).get("url"),
        None,
        "a u-* property blocks the implied url"
    );
}

#[test]
fn an_explicit_but_empty_name_is_not_replaced_by_an_implied_one() {
    let doc = legacy(r#"<div class="h-card"><span class="p-name"></span>Text</div>"#);
    assert_eq!(props(&doc).get("name"), None);
}

#[test]
fn children_that_are_microformats_are_never_used_for_implied_photo_or_url() {
    let html = r#"<div class="h-card"><a class="h-card" href="/x"><img src="y.png"></a></div>"#;
    let outer = &legacy(html)["items"][0];
    assert_eq!(outer["properties"].get("url"), None);
    assert_eq!(outer["properties"].get("photo"), None);
    assert_eq!(
        outer["children"][0]["properties"]["url"],
        json!(["http://example.com/x"])
    );
}

#[test]
fn classic_roots_get_no_implied_properties() {
    let doc = living(r#"<a class="vcard" href="/x">Someone</a>"#);
    assert_eq!(doc["items"][0]["type"], json!(["h-card"]));
    assert_eq!(props(&doc), &json!({}));
}
