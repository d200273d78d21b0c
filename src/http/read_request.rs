//! The read API's parameters, parsed once, with the meanings webmention.io
//! gives them (its `controllers/api.rb`; research notes §3.5):
//!
//! - `target` / `target[]`: exact target URLs; a protocol-relative
//!   `//host/path` stands for both its `https:` and `http:` forms. At most
//!   [`MAX_TARGETS`] (after that expansion): each is a bound variable.
//! - without a target, `token` (or `access_token`) lists every mention, and
//!   `domain` (a host name) narrows that to one site's pages.
//! - `per-page` / `perPage` (default 20; `perPage` wins), `page` (from 0).
//! - `sort-by`: `created` (the default, and what any other value means),
//!   `updated`, `published` (then created), `rsvp`; `sort-dir`: descending
//!   only for `down`, any other value ascending, descending when absent.
//! - `since` (ISO 8601, against the received time), `since_id`.
//! - `wm-property` (repeatable): `in-reply-to`, `like-of`, `repost-of`,
//!   `bookmark-of`, `mention-of`, `rsvp` (all four RSVP values); any other
//!   value matches nothing, as there.
//! - `jsonp`: a callback name, which must be a plain (dotted) identifier.
//!
//! Invariant: [`ReadRequest::cache_key`] depends on the meaning only: two
//! spellings of one request (parameter order, unread parameters, `token`)
//! have one key.

use std::fmt::Write;

use time::OffsetDateTime;
use url::Url;

use super::error::ReadApiError;
use super::extract::Params;
use crate::domain::mention::MentionId;
use crate::protocol::iso8601;
use crate::storage::{MentionQuery, SortDirection, SortField};

pub const DEFAULT_PER_PAGE: u32 = 20;
/// The most mentions one answer lists (webmention.io has no maximum): a
/// larger `per-page` is accepted only when no more than this remain.
pub const MAX_PER_PAGE: u32 = 1000;
/// The most `target` values one request may name.
pub const MAX_TARGETS: usize = 500;
/// webmention.io's `wm-property` values.
const PROPERTIES: [&str; 6] = [
    "in-reply-to",
    "like-of",
    "repost-of",
    "bookmark-of",
    "mention-of",
    "rsvp",
];
const MAX_CALLBACK: usize = 128;

/// The answer's format, from the route's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jf2,
    /// The legacy `{"links": […]}`; also `/api/mentions` with no extension.
    Json,
    Atom,
    Html,
}

impl Format {
    fn label(self) -> &'static str {
        match self {
            Self::Jf2 => "jf2",
            Self::Json => "json",
            Self::Atom => "atom",
            Self::Html => "html",
        }
    }
}

/// Whose mentions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// These pages' (public: no token needed).
    Targets(Vec<Url>),
    /// Every page's, or one host's: needs a read token.
    Site { domain: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Created,
    Updated,
    Published,
    /// By received time, then within the page by RSVP value.
    Rsvp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    pub format: Format,
    pub scope: Scope,
    /// Known `wm-property` values asked for, sorted and unique.
    pub properties: Vec<&'static str>,
    /// Only unknown `wm-property` values were given: nothing matches.
    pub matches_nothing: bool,
    pub sort: SortBy,
    pub direction: SortDirection,
    pub since: Option<OffsetDateTime>,
    pub since_id: Option<MentionId>,
    pub page: u32,
    /// As asked; may exceed [`MAX_PER_PAGE`] (see there).
    pub per_page: u32,
    pub jsonp: Option<String>,
}

impl ReadRequest {
    pub fn parse(params: &Params, format: Format) -> Result<Self, ReadApiError> {
        let targets = targets(params)?;
        let scope = if targets.is_empty() {
            Scope::Site {
                domain: params.get("domain").map(domain).transpose()?,
            }
        } else {
            Scope::Targets(targets)
        };
        let given: Vec<&str> = params.all("wm-property").collect();
        let mut properties: Vec<&'static str> = PROPERTIES
            .into_iter()
            .filter(|known| given.contains(known))
            .collect();
        properties.sort_unstable();
        let per_page = match params.get("perPage") {
            Some(_) => number(params, "perPage", DEFAULT_PER_PAGE)?,
            None => number(params, "per-page", DEFAULT_PER_PAGE)?,
        };
        if per_page == 0 {
            return Err(ReadApiError::Invalid(
                "`per-page` must be at least 1".to_owned(),
            ));
        }
        Ok(Self {
            format,
            scope,
            matches_nothing: !given.is_empty() && properties.is_empty(),
            properties,
            sort: match params.get("sort-by") {
                Some("updated") => SortBy::Updated,
                Some("published") => SortBy::Published,
                Some("rsvp") => SortBy::Rsvp,
                _ => SortBy::Created,
            },
            direction: match params.get("sort-dir") {
                None | Some("down") => SortDirection::Descending,
                Some(_) => SortDirection::Ascending,
            },
            since: params.get("since").map(since).transpose()?,
            since_id: params
                .get("since_id")
                .map(|v| {
                    v.parse().map(MentionId).map_err(|_| {
                        ReadApiError::Invalid(format!("`since_id` must be a mention id, not `{v}`"))
                    })
                })
                .transpose()?,
            page: number(params, "page", 0)?,
            per_page,
            jsonp: params.get("jsonp").map(callback).transpose()?,
        })
    }

    /// Whether the request needs a read token (a listing without target).
    pub fn needs_token(&self) -> bool {
        matches!(self.scope, Scope::Site { .. })
    }

    /// What the store is asked (the `rsvp` order is applied to the page
    /// afterwards, see [`SortBy::Rsvp`]).
    pub fn query(&self) -> MentionQuery {
        let (targets, domain) = match &self.scope {
            Scope::Targets(targets) => (targets.clone(), None),
            Scope::Site { domain } => (Vec::new(), domain.clone()),
        };
        MentionQuery {
            targets,
            domain,
            properties: self.properties.iter().map(|p| (*p).to_owned()).collect(),
            sort: match self.sort {
                SortBy::Created | SortBy::Rsvp => SortField::Received,
                SortBy::Updated => SortField::Updated,
                SortBy::Published => SortField::Published,
            },
            direction: self.direction,
            since: self.since,
            since_id: self.since_id,
            page: self.page,
            per_page: self.per_page,
            ..MentionQuery::default()
        }
    }

    /// One key per meaning (see the module's invariant).
    pub fn cache_key(&self) -> String {
        let mut key = format!("mentions.{}?", self.format.label());
        match &self.scope {
            Scope::Targets(targets) => {
                let mut targets: Vec<&str> = targets.iter().map(Url::as_str).collect();
                targets.sort_unstable();
                targets.dedup();
                for target in targets {
                    let _ = write!(key, "target={target}&");
                }
            }
            Scope::Site { domain } => {
                let _ = write!(key, "domain={}&", domain.as_deref().unwrap_or("*"));
            }
        }
        let _ = write!(
            key,
            "p={:?}&none={}&sort={:?}&dir={:?}&since={:?}&since_id={:?}&page={}&per={}&jsonp={:?}",
            self.properties,
            self.matches_nothing,
            self.sort,
            self.direction,
            self.since.map(|t| t.unix_timestamp_nanos()),
            self.since_id.map(|id| id.0),
            self.page,
            self.per_page,
            self.jsonp,
        );
        key
    }
}

fn number(params: &Params, name: &str, default: u32) -> Result<u32, ReadApiError> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(text) => text.parse().map_err(|_| {
            ReadApiError::Invalid(format!("`{name}` must be a whole number, not `{text}`"))
        }),
    }
}

/// `GET /api/count`: `target` (and `target[]`), `jsonp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountRequest {
    pub targets: Vec<Url>,
    pub jsonp: Option<String>,
}

impl CountRequest {
    pub fn parse(params: &Params) -> Result<Self, ReadApiError> {
        let targets = targets(params)?;
        if targets.is_empty() {
            return Err(ReadApiError::MissingTarget);
        }
        Ok(Self {
            targets,
            jsonp: params.get("jsonp").map(callback).transpose()?,
        })
    }

    pub fn cache_key(&self) -> String {
        let mut targets: Vec<&str> = self.targets.iter().map(Url::as_str).collect();
        targets.sort_unstable();
        targets.dedup();
        format!("count?{targets:?}&jsonp={:?}", self.jsonp)
    }
}

/// `target` and `target[]` values, protocol-relative ones expanded.
pub fn targets(params: &Params) -> Result<Vec<Url>, ReadApiError> {
    let mut urls = Vec::new();
    for given in params.all("target").filter(|t| !t.is_empty()) {
        let forms = match given.strip_prefix("//") {
            Some(_) => vec![format!("https:{given}"), format!("http:{given}")],
            None => vec![given.to_owned()],
        };
        for form in forms {
            let url = Url::parse(&form).map_err(|e| {
                ReadApiError::Invalid(format!("`target` `{given}` is not a valid URL: {e}"))
            })?;
            urls.push(url);
        }
        if urls.len() > MAX_TARGETS {
            let given = params.all("target").count();
            return Err(ReadApiError::TooManyTargets {
                given,
                max: MAX_TARGETS,
            });
        }
    }
    Ok(urls)
}

/// A host name as webmention.io's `domain` takes it (`blog.example`); a
/// URL (`https://blog.example/`) is read for its host.
fn domain(given: &str) -> Result<String, ReadApiError> {
    let invalid = || {
        ReadApiError::Invalid(format!(
            "`domain` must be a host name like blog.example, not `{given}`"
        ))
    };
    let url = if given.contains("://") {
        Url::parse(given).map_err(|_| invalid())?
    } else if given.contains([':', '/', '?', '#', '@', ' ']) {
        return Err(invalid());
    } else {
        Url::parse(&format!("http://{given}/")).map_err(|_| invalid())?
    };
    url.host_str()
        .filter(|host| !host.is_empty() && url.username().is_empty())
        .map(|host| host.trim_end_matches('.').to_owned())
        .ok_or_else(invalid)
}

fn since(given: &str) -> Result<OffsetDateTime, ReadApiError> {
    iso8601::parse(given).ok_or_else(|| {
        ReadApiError::Invalid(format!(
            "`since` must be an ISO 8601 time like 2026-11-01T10:00:00Z, not `{given}`"
        ))
    })
}

/// A JSONP callback: dotted identifiers only, so the answer can never run
/// anything but a call of that name.
fn callback(given: &str) -> Result<String, ReadApiError> {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    if given.len() <= MAX_CALLBACK && given.split('.').all(identifier) {
        Ok(given.to_owned())
    } else {
        Err(ReadApiError::Invalid(format!(
            "`jsonp` must be a JavaScript function name (letters, digits, `_`, `$`, dots), not `{given}`"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> Result<ReadRequest, ReadApiError> {
        ReadRequest::parse(&Params::parse(query.as_bytes()), Format::Jf2)
    }

    #[test]
    fn sort_dir_is_descending_only_for_down_or_when_absent() {
        for (query, expected) in [
            ("", SortDirection::Descending),
            ("sort-dir=down", SortDirection::Descending),
            ("sort-dir=up", SortDirection::Ascending),
            ("sort-dir=desc", SortDirection::Ascending),
            ("sort-dir=", SortDirection::Ascending),
        ] {
            assert_eq!(parse(query).unwrap().direction, expected, "{query}");
        }
    }

    #[test]
    fn sort_by_falls_back_to_created() {
        for (query, expected) in [
            ("", SortBy::Created),
            ("sort-by=rank", SortBy::Created),
            ("sort-by=updated", SortBy::Updated),
            ("sort-by=published", SortBy::Published),
            ("sort-by=rsvp", SortBy::Rsvp),
        ] {
            assert_eq!(parse(query).unwrap().sort, expected, "{query}");
        }
    }

    #[test]
    fn a_protocol_relative_target_stands_for_https_and_http() {
        let request = parse("target=//blog.example/p/").unwrap();
        assert_eq!(
            request.scope,
            Scope::Targets(vec![
                Url::parse("https://blog.example/p/").unwrap(),
                Url::parse("http://blog.example/p/").unwrap(),
            ])
        );
    }

    #[test]
    fn per_page_camel_case_wins_and_zero_is_refused() {
        assert_eq!(parse("per-page=5&perPage=7").unwrap().per_page, 7);
        assert_eq!(parse("per-page=5").unwrap().per_page, 5);
        assert_eq!(parse("").unwrap().per_page, DEFAULT_PER_PAGE);
        assert!(parse("per-page=0").is_err());
    }

    #[test]
    fn domain_is_a_host_name() {
        let domain = |q: &str| match parse(q).unwrap().scope {
            Scope::Site { domain } => domain,
            other => panic!("{other:?}"),
        };
        assert_eq!(domain("domain=Blog.Example"), Some("blog.example".into()));
        assert_eq!(
            domain("domain=https://blog.example/"),
            Some("blog.example".into())
        );
        assert_eq!(domain(""), None);
        for bad in [
            "domain=blog.example/x",
            "domain=a b",
            "domain=blog.example:80",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wm_property_keeps_known_values_and_unknown_ones_match_nothing() {
        let request = parse("wm-property[]=rsvp&wm-property[]=in-reply-to&wm-property=x").unwrap();
        assert_eq!(request.properties, ["in-reply-to", "rsvp"]);
        assert!(!request.matches_nothing);
        assert!(parse("wm-property=likes").unwrap().matches_nothing);
    }

    #[test]
    fn jsonp_takes_only_a_function_name() {
        assert_eq!(
            parse("jsonp=a.b_c$1").unwrap().jsonp.as_deref(),
            Some("a.b_c$1")
        );
        for bad in ["jsonp=alert(1)", "jsonp=1a", "jsonp=a..b", "jsonp=a;b"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_meaning_has_one_cache_key() {
        let a = parse("target=https://b.example/&a=1&per-page=5&token=secret").unwrap();
        let b = parse("per-page=5&junk=2&target=https://b.example/").unwrap();
        assert_eq!(a.cache_key(), b.cache_key());
        let c = parse("per-page=6&target=https://b.example/").unwrap();
        assert_ne!(a.cache_key(), c.cache_key());
    }

    #[test]
    fn too_many_targets_are_refused() {
        let query: Vec<String> = (0..=MAX_TARGETS)
            .map(|n| format!("target[]=https://a.example/{n}"))
            .collect();
        assert!(matches!(
            parse(&query.join("&")),
            Err(ReadApiError::TooManyTargets { .. })
        ));
    }
}
