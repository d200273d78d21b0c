//! The HTML webmention-endpoint finder (`protocol::webmention_endpoint`):
//! any page yields an `href` or nothing, never a panic; and a page that
//! starts with an endpoint link advertises that endpoint, whatever follows.
#![no_main]

use backfeed::protocol::webmention_endpoint::find_in_html;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|html: &str| {
    let _ = find_in_html(html);
    let page = format!(r#"<link rel="webmention" href="/endpoint">{html}"#);
    assert_eq!(find_in_html(&page).as_deref(), Some("/endpoint"));
});
