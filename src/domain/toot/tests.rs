use super::*;

fn url() -> PostUrl {
    PostUrl::parse("https://blog.example/2026/11/a-post/").unwrap()
}

fn meta(title: &str, description: &str) -> PageMeta {
    PageMeta {
        page_title: Some(title.into()),
        description: Some(description.into()),
        ..PageMeta::default()
    }
}

#[test]
fn text_is_title_blank_line_description_postfix_tags_url() {
    let meta = PageMeta {
        tags: Some("#rust #indieweb".into()),
        lang: Some("en".into()),
        ..meta("A post", "What it is about.")
    };
    let status = compose(
        &meta,
        None,
        Some("(comments below)"),
        &url(),
        InstanceLimits::default(),
    )
    .unwrap();
    assert_eq!(
        status.text,
        "A post\n\nWhat it is about.\n(comments below)\n#rust #indieweb\nhttps://blog.example/2026/11/a-post/"
    );
    assert_eq!(status.language.as_deref(), Some("en"));
}

#[test]
fn missing_parts_are_skipped() {
    let status = compose(
        &PageMeta::default(),
        None,
        None,
        &url(),
        InstanceLimits::default(),
    )
    .unwrap();
    assert_eq!(status.text, "https://blog.example/2026/11/a-post/");
    let title_only = PageMeta {
        page_title: Some("Only a title".into()),
        ..PageMeta::default()
    };
    let status = compose(&title_only, None, None, &url(), InstanceLimits::default()).unwrap();
    assert_eq!(
        status.text,
        "Only a title\n\nhttps://blog.example/2026/11/a-post/"
    );
}

#[test]
fn title_pattern_reduces_the_page_title_but_not_the_mastodon_title() {
    let pattern = TitlePattern::new(r"(?P<title>.*) \| My Blog$").unwrap();
    let page = meta("A post | My Blog", "d");
    let status = compose(
        &page,
        Some(&pattern),
        None,
        &url(),
        InstanceLimits::default(),
    )
    .unwrap();
    assert!(status.text.starts_with("A post\n\n"), "{}", status.text);

    let explicit = PageMeta {
        mastodon_title: Some("Chosen | My Blog".into()),
        ..page
    };
    let status = compose(
        &explicit,
        Some(&pattern),
        None,
        &url(),
        InstanceLimits::default(),
    )
    .unwrap();
    assert!(
        status.text.starts_with("Chosen | My Blog\n\n"),
        "{}",
        status.text
    );
}

#[test]
fn title_pattern_must_match_at_the_start_like_python_re_match() {
    let pattern = TitlePattern::new(r"Blog: (?P<title>.*)").unwrap();
    assert_eq!(pattern.reduce("Blog: Hello"), "Hello");
    assert_eq!(pattern.reduce("My Blog: Hello"), "My Blog: Hello");
}

#[test]
fn title_pattern_without_a_title_group_is_refused() {
    assert_eq!(
        TitlePattern::new("(.*) x").unwrap_err(),
        TitlePatternError::MissingTitleGroup
    );
    assert!(matches!(
        TitlePattern::new("(").unwrap_err(),
        TitlePatternError::Invalid(_)
    ));
}

#[test]
fn every_url_counts_as_the_reserved_length() {
    let limits = InstanceLimits::default();
    assert_eq!(
        limits.count("https://example.com/a/very/long/path/that/goes/on/and/on"),
        23
    );
    assert_eq!(limits.count("ab https://x.example/ cd"), 2 + 1 + 23 + 1 + 2);
    assert_eq!(limits.count("héllo"), 5);
    assert_eq!(limits.count("👩‍👩‍👧"), 1, "one grapheme cluster");
}

#[test]
fn a_long_description_is_shortened_with_an_ellipsis_and_the_url_kept() {
    let limits = InstanceLimits {
        max_characters: 100,
        characters_reserved_per_url: 23,
    };
    let long = "word ".repeat(100);
    let status = compose(&meta("Title", &long), None, Some("#blog"), &url(), limits).unwrap();
    let length = limits.count(&status.text);
    assert!(
        (90..=100).contains(&length),
        "length {length}: {}",
        status.text
    );
    assert!(
        status
            .text
            .ends_with("…\n#blog\nhttps://blog.example/2026/11/a-post/"),
        "{}",
        status.text
    );
    assert!(status.text.starts_with("Title\n\nword word"));
}

#[test]
fn a_text_that_fits_is_not_touched() {
    let limits = InstanceLimits::default();
    let description = "x".repeat(400);
    let status = compose(&meta("T", &description), None, None, &url(), limits).unwrap();
    assert!(status.text.contains(&description));
}

#[test]
fn the_title_is_shortened_when_the_description_alone_is_not_enough() {
    let limits = InstanceLimits {
        max_characters: 60,
        characters_reserved_per_url: 23,
    };
    let status = compose(&meta(&"T".repeat(80), "desc"), None, None, &url(), limits).unwrap();
    assert!(limits.count(&status.text) <= 60, "{}", status.text);
    assert!(
        status
            .text
            .ends_with("https://blog.example/2026/11/a-post/")
    );
    assert!(!status.text.contains("desc"));
}

#[test]
fn a_text_that_cannot_fit_is_an_error_not_a_cut_url() {
    let limits = InstanceLimits {
        max_characters: 30,
        characters_reserved_per_url: 23,
    };
    let err = compose(
        &meta("Title", "d"),
        None,
        Some("a postfix that is too long"),
        &url(),
        limits,
    )
    .unwrap_err();
    assert_eq!(err.max_characters, 30);
}

#[test]
fn visibility_parses_case_insensitively_and_names_the_choices() {
    assert_eq!("Unlisted".parse::<Visibility>(), Ok(Visibility::Unlisted));
    assert!(
        "everyone"
            .parse::<Visibility>()
            .unwrap_err()
            .contains("public, unlisted")
    );
}
