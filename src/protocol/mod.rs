//! Pure parsers of outside formats (HTML pages, microformats, Link headers,
//! feeds, webmention endpoints, date-times clients send) and renderers of the
//! formats we answer in (JF2, webmention.io's legacy JSON, Atom, an h-feed
//! page).
//!
//! Invariant: no I/O. Each parser takes bytes or text that an adapter already
//! fetched, and returns domain types.

pub mod atom;
pub mod feed;
pub mod h_feed;
pub mod http_signature;
pub mod iso8601;
pub mod jf2;
pub mod link_header;
pub mod links_json;
pub mod mf2;
pub mod page_meta;
pub mod post_links;
pub mod rfc9421;
pub mod sanitize;
pub mod source_links;
pub mod webmention_endpoint;
