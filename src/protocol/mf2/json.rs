//! The canonical microformats2 JSON of a parsed document
//! (<https://microformats.org/wiki/microformats2-parsing#parse_a_document_for_microformats>):
//! `{"items": […], "rels": {…}, "rel-urls": {…}}`.
//!
//! Invariant: optional members (`id`, `value`, `html`, `lang`, `children`,
//! rel-url fields, `alternates`) are written only when they hold something,
//! so the output compares equal to the corpus's expected JSON.

use serde_json::{Map, Value, json};

use super::types::{Alternate, Document, Item, PropertyValue, RelUrl};

impl Document {
    /// The canonical JSON shape used by the microformats test suites.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert(
            "items".into(),
            self.items.iter().map(Item::to_json).collect(),
        );
        out.insert("rels".into(), json!(self.rels));
        let rel_urls = self
            .rel_urls
            .iter()
            .map(|(url, rel)| (url.clone(), rel_url(rel)));
        out.insert("rel-urls".into(), Value::Object(rel_urls.collect()));
        if !self.alternates.is_empty() {
            out.insert(
                "alternates".into(),
                self.alternates.iter().map(alternate).collect(),
            );
        }
        Value::Object(out)
    }
}

impl Item {
    /// This item as canonical microformats2 JSON.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), json!(self.r#type));
        let properties = self.properties.iter().map(|(name, values)| {
            (
                name.clone(),
                values.iter().map(PropertyValue::to_json).collect(),
            )
        });
        out.insert("properties".into(), Value::Object(properties.collect()));
        optional(&mut out, "id", &self.id);
        optional(&mut out, "value", &self.value);
        optional(&mut out, "html", &self.html);
        if !self.children.is_empty() {
            out.insert(
                "children".into(),
                self.children.iter().map(Item::to_json).collect(),
            );
        }
        Value::Object(out)
    }
}

impl PropertyValue {
    /// This value as canonical microformats2 JSON.
    pub fn to_json(&self) -> Value {
        match self {
            PropertyValue::Text(text) => json!(text),
            PropertyValue::Url { value, alt: None } => json!(value),
            PropertyValue::Url {
                value,
                alt: Some(alt),
            } => json!({"value": value, "alt": alt}),
            PropertyValue::Embedded { html, value, lang } => {
                let mut out = Map::new();
                out.insert("html".into(), json!(html));
                out.insert("value".into(), json!(value));
                optional(&mut out, "lang", lang);
                Value::Object(out)
            }
            PropertyValue::Item(item) => item.to_json(),
        }
    }
}

fn rel_url(rel: &RelUrl) -> Value {
    let mut out = Map::new();
    out.insert("rels".into(), json!(rel.rels));
    optional(&mut out, "text", &rel.text);
    optional(&mut out, "title", &rel.title);
    optional(&mut out, "media", &rel.media);
    optional(&mut out, "hreflang", &rel.hreflang);
    optional(&mut out, "type", &rel.r#type);
    Value::Object(out)
}

fn alternate(alt: &Alternate) -> Value {
    let mut out = Map::new();
    out.insert("url".into(), json!(alt.url));
    optional(&mut out, "rel", &alt.rel);
    optional(&mut out, "media", &alt.media);
    optional(&mut out, "hreflang", &alt.hreflang);
    optional(&mut out, "type", &alt.r#type);
    optional(&mut out, "title", &alt.title);
    optional(&mut out, "text", &alt.text);
    Value::Object(out)
}

fn optional(out: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        out.insert(key.into(), json!(value));
    }
}
