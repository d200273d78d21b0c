//! URL canonicalisation (`domain::PostUrl`): never panics, and the
//! canonical form is its own canonical form, under the same key.
#![no_main]

use backfeed::domain::PostUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &str| {
    let Ok(url) = PostUrl::parse(input) else {
        return;
    };
    let again = PostUrl::parse(url.as_str())
        .unwrap_or_else(|e| panic!("canonical form {:?} refused: {e}", url.as_str()));
    assert_eq!(again.as_str(), url.as_str(), "canon(canon(x)) == canon(x)");
    assert_eq!(again.idempotency_key(), url.idempotency_key());
    // A stored canonical key reads back as itself.
    let stored = PostUrl::from_stored(url.as_str()).expect("a canonical key reads back");
    assert_eq!(stored.as_str(), url.as_str());
    if let Some(earlier) = url.earlier_spelling() {
        // The earlier spelling canonicalises back to this post.
        let back = PostUrl::parse(earlier.as_str()).expect("the earlier spelling parses");
        assert_eq!(back.as_str(), url.as_str(), "earlier spelling of {url}");
    }
    let _ = url.path_without_leading_slash();
});
