//! The HTML (and JSON, text) link finder of webmention verification
//! (`protocol::source_links`): any body and media type yields a verdict.
#![no_main]

use std::sync::LazyLock;

use backfeed::protocol::source_links::{LinkVerdict, check_source};
use libfuzzer_sys::fuzz_target;
use url::Url;

const TYPES: [Option<&str>; 6] = [
    None,
    Some("text/html"),
    Some("application/xhtml+xml"),
    Some("application/json"),
    Some("application/activity+json"),
    Some("text/plain"),
];

static PAGE: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://source.example/notes/1?x=1").unwrap());
static TARGET: LazyLock<Url> =
    LazyLock::new(|| Url::parse("https://blog.example/posts/hello/").unwrap());

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    let content_type = TYPES[usize::from(selector) % TYPES.len()];
    let verdict = check_source(content_type, body, &PAGE, &TARGET);
    if content_type == Some("text/plain") {
        assert_eq!(
            verdict == LinkVerdict::Links,
            body.contains(TARGET.as_str()),
            "plain text links exactly when it contains the target"
        );
    }
});
