//! Pure parsers of outside formats (HTML pages, later microformats, Link
//! headers, webmention forms).
//!
//! Invariant: no I/O. Each parser takes bytes or text that an adapter already
//! fetched, and returns domain types.

pub mod jf2;
pub mod mf2;
pub mod page_meta;
pub mod sanitize;
pub mod source_links;
