use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn html(body: &str) -> LinkVerdict {
    check_source(
        Some("text/html"),
        body,
        &url("https://source.example/notes/1"),
        &url("https://blog.example/post/"),
    )
}

#[test]
fn html_links_count_in_the_elements_the_spec_names() {
    let cases = [
        (
            r#"<a href="https://blog.example/post/">x</a>"#,
            LinkVerdict::Links,
        ),
        (
            r#"<img src="https://blog.example/post/">"#,
            LinkVerdict::Links,
        ),
        (
            r#"<video src="https://blog.example/post/"></video>"#,
            LinkVerdict::Links,
        ),
        (
            r#"<audio src="https://blog.example/post/"></audio>"#,
            LinkVerdict::Links,
        ),
        (
            r#"<video><source src="https://blog.example/post/"></video>"#,
            LinkVerdict::Links,
        ),
        (
            r#"<link rel="x" href="https://blog.example/post/">"#,
            LinkVerdict::NoLink,
        ),
        (r#"<p>https://blog.example/post/</p>"#, LinkVerdict::NoLink),
        (
            r#"<a data-href="https://blog.example/post/">x</a>"#,
            LinkVerdict::NoLink,
        ),
        (
            r#"<a href="https://blog.example/post">x</a>"#,
            LinkVerdict::NoLink,
        ),
    ];
    for (body, expected) in cases {
        assert_eq!(html(body), expected, "{body}");
    }
}

#[test]
fn relative_links_resolve_against_the_final_url_and_base_href() {
    let target = url("https://source.example/post/");
    let relative = check_source(
        None,
        r#"<a href="../post/">x</a>"#,
        &url("https://source.example/notes/1"),
        &target,
    );
    assert_eq!(relative, LinkVerdict::Links);
    let with_base = check_source(
        None,
        r#"<base href="https://blog.example/"><a href="post/">x</a>"#,
        &url("https://source.example/notes/1"),
        &url("https://blog.example/post/"),
    );
    assert_eq!(with_base, LinkVerdict::Links);
}

#[test]
fn fragments_are_ignored_on_both_sides() {
    assert_eq!(
        html(r#"<a href="https://blog.example/post/#comments">x</a>"#),
        LinkVerdict::Links
    );
    let target_with_fragment = check_source(
        Some("text/html"),
        r#"<a href="https://blog.example/post/">x</a>"#,
        &url("https://source.example/"),
        &url("https://blog.example/post/#c1"),
    );
    assert_eq!(target_with_fragment, LinkVerdict::Links);
}

#[test]
fn a_status_410_meta_tag_means_gone() {
    assert_eq!(
        html(
            r#"<meta http-equiv="Status" content="410 Gone"><a href="https://blog.example/post/">x</a>"#
        ),
        LinkVerdict::Gone
    );
    assert_eq!(
        html(r#"<meta http-equiv="status" content=" 410">"#),
        LinkVerdict::Gone
    );
    assert_eq!(
        html(r#"<meta http-equiv="Status" content="200 OK">"#),
        LinkVerdict::NoLink
    );
}

#[test]
fn json_counts_an_exact_string_value_anywhere() {
    let target = url("https://blog.example/post/");
    let source = url("https://source.example/1.json");
    let check = |body: &str| check_source(Some("application/json"), body, &source, &target);
    assert_eq!(
        check(r#"{"a":{"b":["x","https://blog.example/post/"]}}"#),
        LinkVerdict::Links
    );
    assert_eq!(
        check(r#"{"text":"see https://blog.example/post/ here"}"#),
        LinkVerdict::NoLink
    );
    assert_eq!(
        check(r#"{"https://blog.example/post/":1}"#),
        LinkVerdict::NoLink,
        "keys are not values"
    );
    assert_eq!(check("not json"), LinkVerdict::NoLink);
    let deep = format!(
        "{}\"https://blog.example/post/\"{}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(check(&deep), LinkVerdict::Links);
}

#[test]
fn plain_text_counts_a_substring_and_other_types_are_unsupported() {
    let target = url("https://blog.example/post/");
    let source = url("https://source.example/1.txt");
    assert_eq!(
        check_source(
            Some("text/plain"),
            "I liked https://blog.example/post/ a lot",
            &source,
            &target
        ),
        LinkVerdict::Links
    );
    assert_eq!(
        check_source(Some("text/plain"), "nothing", &source, &target),
        LinkVerdict::NoLink
    );
    assert_eq!(
        check_source(Some("image/png"), "", &source, &target),
        LinkVerdict::Unsupported("image/png".into())
    );
}
