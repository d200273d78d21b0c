//! Pure parsers of outside formats (HTML pages, microformats, Link headers,
//! feeds, webmention endpoints).
//!
//! Invariant: no I/O. Each parser takes bytes or text that an adapter already
//! fetched, and returns domain types.

pub mod feed;
pub mod jf2;
pub mod link_header;
pub mod mf2;
pub mod page_meta;
pub mod post_links;
pub mod sanitize;
pub mod source_links;
pub mod webmention_endpoint;
