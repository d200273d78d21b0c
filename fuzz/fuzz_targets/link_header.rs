//! The HTTP `Link` header parser (`protocol::link_header`): never panics,
//! every link it reads has a relation type, lower-cased, and the first
//! webmention link is the one `first_with_rel` returns.
#![no_main]

use backfeed::protocol::link_header::{first_with_rel, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    // Several header fields, as a response may carry them.
    let fields: Vec<&str> = data.split('\n').collect();
    let links = parse(fields.iter().copied());
    for link in &links {
        for rel in &link.rels {
            assert_eq!(
                *rel,
                rel.to_ascii_lowercase(),
                "relation types are lower-cased"
            );
        }
    }
    let expected = links
        .iter()
        .find(|link| link.rels.iter().any(|r| r == "webmention"))
        .map(|link| link.target.clone());
    assert_eq!(
        first_with_rel(fields.iter().copied(), "webmention"),
        expected
    );
    assert_eq!(
        first_with_rel(fields.iter().copied(), "WebMention"),
        expected
    );
});
