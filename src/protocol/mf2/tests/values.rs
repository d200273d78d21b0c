//! Property values: p-, u-, dt-, e- parsing, value-class pattern, text.

use serde_json::json;

use super::{legacy, living, props};

#[test]
fn p_values_prefer_title_value_and_alt_attributes_over_text() {
    let html = r#"<div class="h-card">
        <abbr class="p-a" title="Abbr">x</abbr><data class="p-b" value="Data">x</data>
        <img class="p-c" alt="Alt" src="x"><span class="p-d"> Text </span></div>"#;
    let p = props(&living(html)).clone();
    assert_eq!(
        [&p["a"], &p["b"], &p["c"], &p["d"]],
        [
            &json!(["Abbr"]),
            &json!(["Data"]),
            &json!(["Alt"]),
            &json!(["Text"])
        ]
    );
}

#[test]
fn value_class_pieces_join_with_a_space_for_text_and_nothing_for_urls() {
    let html = r#"<div class="h-card"><p class="p-name"><span class="value">John</span> ignored
        <span class="value">Doe</span></p><p class="u-url"><span class="value">http://a.example/</span>
        - <span class="value-title" title="b"></span></p></div>"#;
    let p = props(&living(html)).clone();
    assert_eq!(p["name"], json!(["John Doe"]));
    assert_eq!(p["url"], json!(["http://a.example/b"]));
}

#[test]
fn value_class_date_and_time_pieces_combine_with_a_space() {
    let html = r#"<div class="h-event"><span class="dt-start"><span class="value">2009-06-26</span>
        at <span class="value">7pm</span><span class="value">-0800</span></span></div>"#;
    assert_eq!(
        props(&living(html))["start"],
        json!(["2009-06-26 19:00-08:00"])
    );
}

#[test]
fn a_lone_end_time_borrows_the_date_of_the_start() {
    let html = r#"<div class="h-event"><time class="dt-start" datetime="2009-06-26 19:00">x</time>
        <time class="dt-end" datetime="22:30">y</time></div>"#;
    assert_eq!(props(&living(html))["end"], json!(["2009-06-26 22:30"]));
}

#[test]
fn datetime_attributes_are_kept_as_authored_under_living_rules_and_normalised_under_2015() {
    let html = r#"<div class="h-entry"><time class="dt-published" datetime="2012-06-25T17:08:26+0100">x</time></div>"#;
    assert_eq!(
        props(&living(html))["published"],
        json!(["2012-06-25T17:08:26+0100"])
    );
    assert_eq!(
        props(&legacy(html))["published"],
        json!(["2012-06-25 17:08:26+01:00"])
    );
}

#[test]
fn u_values_resolve_against_base_href_and_keep_absolute_urls_as_written() {
    let html = r#"<base href="/other/"><div class="h-entry"><a class="u-url" href="post">x</a>
        <a class="u-syndication" href="https://social.example">y</a>
        <p class="u-uid">not resolved</p></div>"#;
    let p = props(&living(html)).clone();
    assert_eq!(p["url"], json!(["http://example.com/other/post"]));
    assert_eq!(p["syndication"], json!(["https://social.example"]));
    assert_eq!(p["uid"], json!(["not resolved"]));
}

#[test]
fn an_image_url_property_carries_its_alt_under_living_rules_only() {
    let html = r#"<div class="h-card"><img class="u-photo" src="me.jpg" alt="Me"></div>"#;
    let alt = json!([{"value": "http://example.com/blog/me.jpg", "alt": "Me"}]);
    assert_eq!(props(&living(html))["photo"], alt);
    assert_eq!(
        props(&legacy(html))["photo"],
        json!(["http://example.com/blog/me.jpg"])
    );
}

#[test]
fn e_content_keeps_markup_with_resolved_urls_and_without_scripts() {
    let html = r#"<div class="h-entry" lang="fr"><div class="e-content">
        <p>Salut <a href="/x">là</a><script>steal()</script><img src="i.png" alt="!"></p> </div></div>"#;
    assert_eq!(
        props(&living(html))["content"],
        json!([{
            "html": r#"<p>Salut <a href="http://example.com/x">là</a><img alt="!" src="http://example.com/blog/i.png"></p>"#,
            "value": "Salut là!",
            "lang": "fr",
        }])
    );
}

#[test]
fn empty_text_values_are_dropped() {
    let html = r#"<div class="h-card"><br class="p-honorific-suffix"><span class="p-honorific-suffix">BSc</span></div>"#;
    assert_eq!(props(&living(html))["honorific-suffix"], json!(["BSc"]));
}
