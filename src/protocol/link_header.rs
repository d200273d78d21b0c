//! HTTP `Link` header fields (RFC 8288 §3) and the first webmention
//! endpoint they advertise (Webmention §3.1.2).
//!
//! The grammar is `#link-value`, `link-value = "<" URI-Reference ">" *( OWS
//! ";" OWS link-param )`, `link-param = token BWS [ "=" BWS ( token /
//! quoted-string ) ]`. Real servers send every variation of it: several
//! fields or one comma-separated field (webmention.rocks 18, 19), `rel`
//! quoted or not (1, 8), several relation types in one `rel` (10),
//! parameters before `rel`, no space after `;`. Relation types compare
//! ASCII case-insensitively (RFC 8288 §2.1.1); only the first `rel`
//! parameter of a link counts (§3.3).
//!
//! Invariant: pure and total; a malformed link-value is skipped up to the
//! next comma outside quotes and never hides the ones after it.

/// One link-value: its target as written (not resolved) and its relation
/// types, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkValue {
    pub target: String,
    pub rels: Vec<String>,
}

/// Every link-value of the given `Link` field values, in order.
pub fn parse<'a>(fields: impl IntoIterator<Item = &'a str>) -> Vec<LinkValue> {
    let mut links = Vec::new();
    for field in fields {
        let mut cursor = Cursor::new(field);
        while !cursor.at_end() {
            if let Some(link) = cursor.link_value() {
                links.push(link);
            }
            cursor.skip_past_comma();
        }
    }
    links
}

/// The target of the first link-value whose `rel` has the token `rel`
/// (case-insensitive), as written: resolving it is the caller's business.
pub fn first_with_rel<'a>(fields: impl IntoIterator<Item = &'a str>, rel: &str) -> Option<String> {
    parse(fields)
        .into_iter()
        .find(|link| link.rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|link| link.target)
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn at_end(&self) -> bool {
        self.at >= self.text.len()
    }

    fn peek(&self) -> Option<char> {
        self.text[self.at..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
    }

    /// Moves past the next comma that is not inside a quoted string or the
    /// `<…>` of a target (or to the end).
    fn skip_past_comma(&mut self) {
        let mut quoted = false;
        let mut bracketed = false;
        while let Some(c) = self.bump() {
            match c {
                '\\' if quoted => {
                    self.bump();
                }
                '"' if !bracketed => quoted = !quoted,
                '<' if !quoted => bracketed = true,
                '>' if !quoted => bracketed = false,
                ',' if !quoted && !bracketed => return,
                _ => {}
            }
        }
    }

    /// One link-value, leaving the cursor at the comma (or end) after it;
    /// `None` when it is malformed.
    fn link_value(&mut self) -> Option<LinkValue> {
        self.skip_ws();
        if self.bump()? != '<' {
            return None;
        }
        let start = self.at;
        let end = start + self.text[start..].find('>')?;
        let target = self.text[start..end].trim().to_owned();
        self.at = end + 1;
        let mut rels = None;
        loop {
            self.skip_ws();
            match self.peek() {
                None | Some(',') => break,
                Some(';') => {
                    self.bump();
                }
                Some(_) => return None,
            }
            let Some((name, value)) = self.param() else {
                continue;
            };
            if rels.is_none() && name.eq_ignore_ascii_case("rel") {
                rels = Some(
                    value
                        .split_ascii_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect(),
                );
            }
        }
        Some(LinkValue {
            target,
            rels: rels.unwrap_or_default(),
        })
    }

    /// `name [= value]` after a `;`; `None` for an empty parameter (`;;`).
    fn param(&mut self) -> Option<(String, String)> {
        self.skip_ws();
        let name = self.token();
        self.skip_ws();
        let value = if self.peek() == Some('=') {
            self.bump();
            self.skip_ws();
            if self.peek() == Some('"') {
                self.quoted()
            } else {
                self.token()
            }
        } else {
            String::new()
        };
        (!name.is_empty()).then_some((name, value))
    }

    /// Characters up to whitespace, `;`, `,` or `=`.
    fn token(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| !matches!(c, ' ' | '\t' | ';' | ',' | '='))
        {
            self.bump();
        }
        self.text[start..self.at].to_owned()
    }

    /// A quoted-string, unescaped (an unterminated one runs to the end).
    fn quoted(&mut self) -> String {
        self.bump();
        let mut value = String::new();
        while let Some(c) = self.bump() {
            match c {
                '"' => break,
                '\\' => value.extend(self.bump()),
                other => value.push(other),
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what, fields, expected endpoint)
    const CASES: &[(&str, &[&str], Option<&str>)] = &[
        (
            "rocks 1: unquoted rel, relative URL",
            &["</test/1/webmention>; rel=webmention"],
            Some("/test/1/webmention"),
        ),
        (
            "rocks 8: quoted rel",
            &[r#"<https://webmention.rocks/test/8/webmention>; rel="webmention""#],
            Some("https://webmention.rocks/test/8/webmention"),
        ),
        (
            "rocks 10: several relation types",
            &[r#"<https://webmention.rocks/test/10/webmention>; rel="webmention somethingelse""#],
            Some("https://webmention.rocks/test/10/webmention"),
        ),
        (
            "rocks 18: several fields, the first another rel",
            &[
                r#"<https://webmention.rocks/test/18/webmention/error>; rel="other""#,
                r#"<https://webmention.rocks/test/18/webmention>; rel="webmention""#,
            ],
            Some("https://webmention.rocks/test/18/webmention"),
        ),
        (
            "rocks 19: one field, comma-separated values",
            &[
                r#"<https://webmention.rocks/test/19/webmention/error>; rel="other", <https://webmention.rocks/test/19/webmention>; rel="webmention""#,
            ],
            Some("https://webmention.rocks/test/19/webmention"),
        ),
        (
            "parameters before rel",
            &[r#"<https://e.example/wm>; type="text/html"; rel=webmention"#],
            Some("https://e.example/wm"),
        ),
        (
            "no space after the semicolon",
            &["<https://e.example/wm>;rel=webmention"],
            Some("https://e.example/wm"),
        ),
        (
            "spaces around the equals sign",
            &["<https://e.example/wm> ; rel = \"webmention\""],
            Some("https://e.example/wm"),
        ),
        (
            "a relation type in capitals",
            &[r#"<https://e.example/wm>; rel="Webmention""#],
            Some("https://e.example/wm"),
        ),
        (
            "only another relation type",
            &[r#"<https://e.example/style.css>; rel="stylesheet""#],
            None,
        ),
        (
            "a relation type that merely contains the word",
            &[r#"<https://e.example/x>; rel="not-webmention""#],
            None,
        ),
        (
            "a comma inside a quoted parameter does not split the value",
            &[r#"<https://e.example/a>; title="a, b"; rel=webmention"#],
            Some("https://e.example/a"),
        ),
        (
            "a comma inside the target does not split the value",
            &["<https://e.example/a,b>; rel=webmention"],
            Some("https://e.example/a,b"),
        ),
        (
            "a malformed value is skipped, the next one read",
            &[r#"garbage; rel=webmention, <https://e.example/ok>; rel=webmention"#],
            Some("https://e.example/ok"),
        ),
        (
            "only the first rel parameter of a link counts",
            &[
                "<https://e.example/a>; rel=other; rel=webmention, <https://e.example/b>; rel=webmention",
            ],
            Some("https://e.example/b"),
        ),
        (
            "an empty target is kept (it means the page itself)",
            &[r#"<>; rel="webmention""#],
            Some(""),
        ),
        ("nothing at all", &[""], None),
        (
            "an unterminated target",
            &["<https://e.example/a; rel=webmention"],
            None,
        ),
    ];

    #[test]
    fn finds_the_first_webmention_endpoint_in_every_spelling() {
        for (what, fields, expected) in CASES {
            assert_eq!(
                first_with_rel(fields.iter().copied(), "webmention").as_deref(),
                *expected,
                "{what}"
            );
        }
    }

    #[test]
    fn parses_every_value_with_its_relation_types() {
        let links = parse([r##"<a>; rel="Next Prev", <b>;rel=x;anchor="#c""##]);
        assert_eq!(
            links,
            vec![
                LinkValue {
                    target: "a".into(),
                    rels: vec!["next".into(), "prev".into()]
                },
                LinkValue {
                    target: "b".into(),
                    rels: vec!["x".into()]
                },
            ]
        );
    }

    #[test]
    fn hostile_input_never_panics() {
        for input in [
            "<",
            ">",
            ";;;;",
            "<>;=",
            "<é>; rel=\"\\",
            ",,,<x>;rel",
            "\"<a>\"",
        ] {
            let _ = parse([input]);
        }
    }
}
