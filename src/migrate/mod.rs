//! Copying between stores and importing from the seed and webmention.io (being written).
