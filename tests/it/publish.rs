//! Publishing: `backfeed publish` and the poller against a local rebuild of
//! webmention.rocks (discovery 1–23, update 1–2, delete 1, and the cases
//! the site lacks), re-runs, announcing, the serve/admin/scheduled paths,
//! the real binary, and a real receiver from PyPI (django-webmention).

mod cli;
mod discovery;
mod harness;
mod poller;
mod real_receiver;
mod rocks;
mod rocks_pages;
mod runs;
mod updates;
