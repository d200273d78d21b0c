//! The public microformats2 test corpus (`microformat-tests` 0.1.23 on npm,
//! public domain) run against our parser: every `<case>.html` of a suite is
//! parsed with base URL `http://example.com/` and its JSON compared with
//! `<case>.json`.
//!
//! The corpus encodes the parsing rules of 2015, so it runs under
//! `Rules::Legacy2015`; the living rules are covered by the unit tests in
//! `src/protocol/mf2/tests/`. Comparison is plain JSON equality (object keys
//! unordered, arrays ordered, as the corpus intends); a failure lists every
//! failing case with the paths where it differs.

use std::fs;
use std::path::{Path, PathBuf};

use backfeed::protocol::mf2::{Rules, parse_with};
use serde_json::Value;
use url::Url;

use crate::support_npm::ensure_npm_package;

const PACKAGE: &str = "microformat-tests";
const VERSION: &str = "0.1.23";
/// The corpus's documents are fragments served from the example domain.
const BASE_URL: &str = "http://example.com/";

#[test]
fn h_entry_suite_passes() {
    check_suite("h-entry");
}

#[test]
fn h_card_suite_passes() {
    check_suite("h-card");
}

#[test]
fn rel_suite_passes() {
    check_suite("rel");
}

fn check_suite(suite: &str) {
    let dir = ensure_npm_package(PACKAGE, VERSION)
        .join("tests/microformats-v2")
        .join(suite);
    let cases = cases_in(&dir);
    let base = Url::parse(BASE_URL).expect("valid base URL");
    let mut failures = Vec::new();
    for (html_path, json_path) in &cases {
        let html = read(html_path);
        let expected: Value = serde_json::from_str(read(json_path).trim_start_matches('\u{feff}'))
            .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", json_path.display()));
        let actual = parse_with(&html, &base, Rules::Legacy2015).to_json();
        if actual != expected {
            let mut lines = Vec::new();
            diff("$", &expected, &actual, &mut lines);
            let name = html_path.file_stem().unwrap_or_default().to_string_lossy();
            failures.push(format!("{suite}/{name}:\n    {}", lines.join("\n    ")));
        }
    }
    println!(
        "mf2 corpus {PACKAGE}@{VERSION} {suite}: {} cases checked, {} matched",
        cases.len(),
        cases.len() - failures.len()
    );
    assert!(
        !cases.is_empty(),
        "no test cases found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {} {suite} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every `<case>.html` with a `<case>.json` beside it, sorted by name.
fn cases_in(dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut cases: Vec<(PathBuf, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "html"))
        .map(|html| {
            let json = html.with_extension("json");
            (html, json)
        })
        .filter(|(_, json)| json.is_file())
        .collect();
    cases.sort();
    cases
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Lists where `actual` differs from `expected`, one line per difference.
fn diff(path: &str, expected: &Value, actual: &Value, out: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(got)) => {
            for (key, want_value) in want {
                match got.get(key) {
                    Some(got_value) => diff(&format!("{path}.{key}"), want_value, got_value, out),
                    None => out.push(format!("{path}.{key}: missing, expected {want_value}")),
                }
            }
            for (key, got_value) in got.iter().filter(|(key, _)| !want.contains_key(*key)) {
                out.push(format!("{path}.{key}: unexpected {got_value}"));
            }
        }
        (Value::Array(want), Value::Array(got)) => {
            for (index, (w, g)) in want.iter().zip(got).enumerate() {
                diff(&format!("{path}[{index}]"), w, g, out);
            }
            if want.len() != got.len() {
                out.push(format!(
                    "{path}: expected {} values, got {}",
                    want.len(),
                    got.len()
                ));
                for (index, extra) in want.iter().enumerate().skip(got.len()) {
                    out.push(format!("{path}[{index}]: missing, expected {extra}"));
                }
                for (index, extra) in got.iter().enumerate().skip(want.len()) {
                    out.push(format!("{path}[{index}]: unexpected {extra}"));
                }
            }
        }
        _ if expected != actual => out.push(format!("{path}: expected {expected}, got {actual}")),
        _ => {}
    }
}
