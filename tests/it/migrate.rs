//! `backfeed migrate`, run as the real binary: a round trip through every
//! backend, re-runs, the seed's PostgreSQL table and S3 bucket, a
//! webmention.io export, conflicts, and the errors an operator meets.

mod errors;
mod jf2;
mod round_trip;
mod seed;
mod web_mentions;

use std::collections::HashMap;
use std::path::Path;

use time::OffsetDateTime;

use crate::process::run;
use crate::support_s3::{ACCESS_KEY_ID, SECRET_ACCESS_KEY};

/// The environment the binary runs with: only what S3 needs.
fn env() -> HashMap<String, String> {
    HashMap::from([
        ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY_ID.to_owned()),
        (
            "AWS_SECRET_ACCESS_KEY".to_owned(),
            SECRET_ACCESS_KEY.to_owned(),
        ),
    ])
}

/// Runs `backfeed migrate` with `args`; returns (exit code, stdout, stderr).
async fn migrate(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["migrate"];
    all.extend_from_slice(args);
    run(&env(), &all).await
}

/// Runs `backfeed migrate --from from --to to` and insists that it works.
async fn migrated(from: &str, to: &str, extra: &[&str]) -> String {
    let mut args = vec!["--from", from, "--to", to];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = migrate(&args).await;
    assert_eq!(code, 0, "migrate {from} → {to} failed:\n{stderr}\n{stdout}");
    stdout
}

/// A kind's counts in the summary table: read, copied, present,
/// conflicts, invalid.
fn counts(summary: &str, kind: &str) -> [u64; 5] {
    let line = summary
        .lines()
        .find(|line| {
            line.starts_with(kind)
                && line[kind.len()..]
                    .trim_start()
                    .starts_with(|c: char| c.is_ascii_digit())
        })
        .unwrap_or_else(|| panic!("no `{kind}` row in:\n{summary}"));
    let numbers: Vec<u64> = line[kind.len()..]
        .split_whitespace()
        .map(|n| n.parse().expect("a count"))
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("five counts in `{line}`"))
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Now, at millisecond precision (what every store keeps).
fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap()
}
