//! Rule-by-rule tests of the parser through its public API, beside the code.
//! The public corpus (tests/it/mf2_suite.rs) covers the 2015 rules; these
//! pin the living rules and the cases the corpus does not reach.

mod implied;
mod robustness;
mod structure;
mod values;

use serde_json::Value;
use url::Url;

use super::{Rules, parse_with};

const BASE: &str = "http://example.com/blog/";

/// The canonical JSON of `html` under the living rules.
fn living(html: &str) -> Value {
    json_with(html, Rules::Living)
}

/// The canonical JSON of `html` under the 2015 rules.
fn legacy(html: &str) -> Value {
    json_with(html, Rules::Legacy2015)
}

fn json_with(html: &str, rules: Rules) -> Value {
    parse_with(html, &Url::parse(BASE).expect("valid base"), rules).to_json()
}

/// The first top-level item's properties.
fn props(doc: &Value) -> &Value {
    &doc["items"][0]["properties"]
}
