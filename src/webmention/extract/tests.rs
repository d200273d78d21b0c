use super::*;

fn target() -> Url {
    Url::parse("https://blog.example/post/").unwrap()
}

fn extract(html: &str) -> MentionData {
    mention_data(
        Some("text/html"),
        html,
        &Url::parse("https://alice.example/notes/1").unwrap(),
        &target(),
    )
}

#[test]
fn a_reply_with_an_author_card_and_content_is_read_whole() {
    let data = extract(
        r#"<article class="h-entry">
          <div class="p-author h-card"><img class="u-photo" src="/me.jpg" alt=""><a class="p-name u-url" href="https://alice.example/">Alice</a></div>
          <a class="u-in-reply-to" href="https://blog.example/post/">in reply to</a>
          <div class="e-content"><p>Great <b>post</b>!</p></div>
          <time class="dt-published" datetime="2026-11-01T10:00:00Z">1 Nov</time>
          <a class="u-url" href="/notes/1">link</a>
        </article>"#,
    );
    assert_eq!(data.relation, Relation::Reply);
    let author = data.author.expect("author");
    assert_eq!(author.name.as_deref(), Some("Alice"));
    assert_eq!(
        author.photo.as_deref(),
        Some("https://alice.example/me.jpg")
    );
    assert_eq!(author.url.as_deref(), Some("https://alice.example/"));
    assert_eq!(
        data.content_html.as_deref(),
        Some("<p>Great <b>post</b>!</p>")
    );
    assert_eq!(data.content_text.as_deref(), Some("Great post!"));
    assert_eq!(data.published.as_deref(), Some("2026-11-01T10:00:00Z"));
    assert_eq!(data.url.as_deref(), Some("https://alice.example/notes/1"));
    assert_eq!(
        data.name, None,
        "an implied name repeating the content is no title"
    );
}

#[test]
fn each_relation_property_is_recognised() {
    for (class, expected) in [
        ("u-like-of", Relation::Like),
        ("u-repost-of", Relation::Repost),
        ("u-bookmark-of", Relation::Bookmark),
        ("u-mention-of", Relation::Mention),
    ] {
        let html = format!(
            r#"<div class="h-entry"><a class="{class}" href="https://blog.example/post/#x">t</a></div>"#
        );
        assert_eq!(extract(&html).relation, expected, "{class}");
    }
}

#[test]
fn an_rsvp_in_reply_to_the_target_is_an_rsvp() {
    let data = extract(
        r#"<div class="h-entry"><data class="p-rsvp" value="Maybe">maybe</data>
           <a class="u-in-reply-to" href="https://blog.example/post/">event</a></div>"#,
    );
    assert_eq!(data.relation, Relation::Rsvp("maybe".into()));
}

#[test]
fn a_nested_cite_counts_when_its_url_is_the_target() {
    let data = extract(
        r#"<div class="h-entry"><div class="u-in-reply-to h-cite"><a class="u-url" href="https://blog.example/post/">Post</a></div></div>"#,
    );
    assert_eq!(data.relation, Relation::Reply);
}

#[test]
fn the_entry_that_refers_to_the_target_is_chosen_among_several() {
    let data = extract(
        r#"<div class="h-feed">
           <div class="h-entry"><p class="e-content">other</p><a class="u-like-of" href="https://else.example/">x</a></div>
           <div class="h-entry"><p class="e-content">mine</p><a class="u-like-of" href="https://blog.example/post/">x</a></div>
        </div>"#,
    );
    assert_eq!(data.relation, Relation::Like);
    assert_eq!(data.content_text.as_deref(), Some("mine"));
}

#[test]
fn without_an_entry_author_the_pages_h_card_is_the_author() {
    let data = extract(
        r#"<div class="h-card"><a class="p-name u-url" href="https://bob.example/">Bob</a></div>
           <div class="h-entry"><p class="e-content">hi <a href="https://blog.example/post/">you</a></p></div>"#,
    );
    assert_eq!(data.author.unwrap().name.as_deref(), Some("Bob"));
    assert_eq!(data.relation, Relation::Mention);
}

#[test]
fn hostile_content_and_author_fields_are_made_safe() {
    let data = extract(
        r#"<div class="h-entry">
          <div class="p-author h-card"><span class="p-name">Eve<script>alert(1)</script></span>
            <a class="u-url" href="javascript:alert(2)">me</a><img class="u-photo" src="javascript:alert(3)"></div>
          <div class="e-content"><img src=x onerror="alert(4)"><a href="javascript:alert(5)">click</a><script>alert(6)</script></div>
          <a class="u-in-reply-to" href="https://blog.example/post/">re</a>
        </div>"#,
    );
    let author = data.author.unwrap();
    assert_eq!(author.url, None);
    assert_eq!(author.photo, None);
    assert!(!author.name.unwrap_or_default().contains('<'));
    let html = data.content_html.unwrap();
    for forbidden in ["onerror", "javascript:", "<script", "alert(6)"] {
        assert!(!html.contains(forbidden), "{forbidden} in {html}");
    }
}

#[test]
fn a_page_without_microformats_is_a_plain_mention_of_its_url() {
    let data = extract(r#"<p>I liked <a href="https://blog.example/post/">this</a></p>"#);
    assert_eq!(data.relation, Relation::Mention);
    assert_eq!(data.url.as_deref(), Some("https://alice.example/notes/1"));
    assert_eq!(data.content_html, None);
}

#[test]
fn json_and_text_sources_are_plain_mentions() {
    let page = Url::parse("https://alice.example/1.txt").unwrap();
    let data = mention_data(
        Some("text/plain"),
        "https://blog.example/post/",
        &page,
        &target(),
    );
    assert_eq!(data.relation, Relation::Mention);
    assert_eq!(data.url.as_deref(), Some("https://alice.example/1.txt"));
}
