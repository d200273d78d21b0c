//! What a request costs in DynamoDB's on-demand units, computed from the
//! items it wrote or read, by the rules of DynamoDB's pricing page: a write
//! is one write unit per 1 KB of the item (rounded up); a strongly
//! consistent read is one read unit per 4 KB, a query's items summed
//! before rounding, and at least one unit even when nothing is found.
//! (moto, the local server, reports a flat figure per request, so the
//! bench counts with these rules instead; on AWS they agree with
//! `ConsumedCapacity` up to the size of a deleted item, which the request
//! does not show and which is counted as one unit.)

use serde_json::Value;

/// (read units, write units) of one answered request.
pub fn units(operation: &str, request: &Value, answer: &Value) -> (f64, f64) {
    match operation {
        "PutItem" => (0.0, write_units(item_size(&request["Item"]))),
        "DeleteItem" => (0.0, 1.0),
        "GetItem" => (read_units(item_size(&answer["Item"])), 0.0),
        "Query" | "Scan" => {
            let bytes = answer["Items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(item_size)
                .sum();
            (read_units(bytes), 0.0)
        }
        _ => (0.0, 0.0),
    }
}

fn write_units(bytes: usize) -> f64 {
    bytes.div_ceil(1024).max(1) as f64
}

fn read_units(bytes: usize) -> f64 {
    bytes.div_ceil(4096).max(1) as f64
}

/// An item's size as DynamoDB counts it: each attribute's name plus its
/// value (strings in UTF-8 bytes, numbers about one byte per two digits
/// plus one).
fn item_size(item: &Value) -> usize {
    let Some(attributes) = item.as_object() else {
        return 0;
    };
    attributes
        .iter()
        .map(|(name, value)| {
            let value = if let Some(s) = value["S"].as_str() {
                s.len()
            } else if let Some(n) = value["N"].as_str() {
                n.len().div_ceil(2) + 1
            } else {
                value.to_string().len()
            };
            name.len() + value
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_count_kilobytes_and_reads_four_kilobytes_at_least_one() {
        let small = json!({ "pk": {"S": "a"}, "sk": {"S": "b"} });
        let large = json!({ "pk": {"S": "a"}, "b": {"S": "x".repeat(5000)} });
        assert_eq!(
            units("PutItem", &json!({ "Item": small }), &json!({})),
            (0.0, 1.0)
        );
        assert_eq!(
            units("PutItem", &json!({ "Item": large }), &json!({})),
            (0.0, 5.0)
        );
        assert_eq!(units("GetItem", &json!({}), &json!({})), (1.0, 0.0));
        let items = json!({ "Items": [large.clone(), large] });
        assert_eq!(units("Query", &json!({}), &items), (3.0, 0.0));
        assert_eq!(
            units("Query", &json!({}), &json!({ "Items": [] })),
            (1.0, 0.0)
        );
    }
}
