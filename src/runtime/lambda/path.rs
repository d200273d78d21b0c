//! Which path the Router sees, whatever sits in front of the function.
//!
//! The Router's routes start at `/`. The public path may carry more before
//! them: an API Gateway stage (`/prod/…`) or a custom domain's base path
//! mapping (`/comments/…`), and the event says so inconsistently (a REST
//! API's `path` drops the stage but keeps a base path; an HTTP API's
//! `rawPath` keeps a named stage). So the route is rebuilt from what the API
//! itself matched: the REST resource or the HTTP API route key (`/{proxy+}`)
//! filled with its path parameters. Without a route template (a `$default`
//! route, a Function URL) it is the raw path minus a named stage.
//!
//! The public prefix (the part of the public path before the route) is kept
//! so that a relative `Location` can be made to point where the client sees
//! the service.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters a path parameter may not carry raw inside one segment. `%`
/// is left alone: it is already an escape, whether API Gateway decoded the
/// parameter or not.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'/');

/// Where a request goes inside the Router, and where the service sits publicly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutedPath {
    /// The path the Router routes on: `/`, `/webmention`, …
    pub route: String,
    /// What comes before `route` in the public path (`/prod`, `/comments`),
    /// empty at the root or when it cannot be told.
    pub public_prefix: String,
}

/// A REST API event (`resource`, `pathParameters`, `path`, and the public
/// `requestContext.path`).
pub fn rest_api(
    resource: Option<&str>,
    parameters: &HashMap<String, String>,
    path: Option<&str>,
    public_path: Option<&str>,
    stage: Option<&str>,
) -> RoutedPath {
    let route = resource
        .and_then(|template| fill(template, parameters))
        .unwrap_or_else(|| without_stage(path.unwrap_or("/"), stage));
    let public_prefix = public_path
        .or(path)
        .map(|public| prefix_before(public, &route))
        .unwrap_or_default();
    RoutedPath {
        route,
        public_prefix,
    }
}

/// An HTTP API (payload 2.0) or Function URL event (`routeKey` such as
/// `ANY /{proxy+}` or `$default`, `pathParameters`, `rawPath`).
pub fn http_api(
    route_key: Option<&str>,
    parameters: &HashMap<String, String>,
    raw_path: Option<&str>,
    stage: Option<&str>,
) -> RoutedPath {
    let raw_path = raw_path.filter(|p| !p.is_empty()).unwrap_or("/");
    let template = route_key
        .and_then(|key| key.split_once(' '))
        .map(|(_, t)| t);
    let route = template
        .and_then(|template| fill(template, parameters))
        .unwrap_or_else(|| without_stage(raw_path, stage));
    RoutedPath {
        public_prefix: prefix_before(raw_path, &route),
        route,
    }
}

/// `/{proxy+}` with `proxy=webmention/status/3` → `/webmention/status/3`;
/// `None` when a parameter is missing.
fn fill(template: &str, parameters: &HashMap<String, String>) -> Option<String> {
    let mut path = String::new();
    for segment in template.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) if name.ends_with('+') => {
                let value = parameters.get(name.trim_end_matches('+'))?;
                // The console's test events start the greedy value with a slash.
                let value = value.strip_prefix('/').unwrap_or(value);
                let encoded: Vec<String> = value
                    .split('/')
                    .map(|part| utf8_percent_encode(part, SEGMENT).to_string())
                    .collect();
                path.push('/');
                path.push_str(&encoded.join("/"));
            }
            Some(name) => {
                let value = parameters.get(name)?;
                path.push('/');
                path.extend(utf8_percent_encode(value, SEGMENT));
            }
            None => {
                path.push('/');
                path.push_str(segment);
            }
        }
    }
    if path.is_empty() || (template.ends_with('/') && !path.ends_with('/')) {
        path.push('/');
    }
    Some(path)
}

/// `/prod/webmention` on stage `prod` → `/webmention`; `$default` has none.
fn without_stage(path: &str, stage: Option<&str>) -> String {
    let named = stage.filter(|s| !s.is_empty() && *s != "$default");
    let Some(stage) = named else {
        return path.to_owned();
    };
    let Some(rest) = path.strip_prefix('/').and_then(|p| p.strip_prefix(stage)) else {
        return path.to_owned();
    };
    match rest {
        "" => "/".to_owned(),
        rest if rest.starts_with('/') => rest.to_owned(),
        // `/production/…` on stage `prod`: not the stage.
        _ => path.to_owned(),
    }
}

/// The public path's part before `route`, without a trailing slash.
fn prefix_before(public: &str, route: &str) -> String {
    let prefix = if route == "/" {
        Some(public)
    } else {
        public.strip_suffix(route)
    };
    prefix
        .map(|p| p.trim_end_matches('/').to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn routed(route: &str, public_prefix: &str) -> RoutedPath {
        RoutedPath {
            route: route.to_owned(),
            public_prefix: public_prefix.to_owned(),
        }
    }

    #[test]
    fn a_rest_api_on_its_stage_url_routes_without_the_stage() {
        let proxy = params(&[("proxy", "webmention/status/7")]);
        assert_eq!(
            rest_api(
                Some("/{proxy+}"),
                &proxy,
                Some("/webmention/status/7"),
                Some("/prod/webmention/status/7"),
                Some("prod"),
            ),
            routed("/webmention/status/7", "/prod")
        );
        assert_eq!(
            rest_api(
                Some("/"),
                &params(&[]),
                Some("/"),
                Some("/prod/"),
                Some("prod")
            ),
            routed("/", "/prod")
        );
    }

    #[test]
    fn a_rest_api_behind_a_base_path_mapping_routes_without_the_base_path() {
        let proxy = params(&[("proxy", "webmention")]);
        assert_eq!(
            rest_api(
                Some("/{proxy+}"),
                &proxy,
                Some("/comments/webmention"),
                Some("/comments/webmention"),
                Some("prod"),
            ),
            routed("/webmention", "/comments")
        );
        assert_eq!(
            rest_api(
                Some("/"),
                &params(&[]),
                Some("/comments"),
                Some("/comments"),
                Some("prod")
            ),
            routed("/", "/comments")
        );
    }

    #[test]
    fn path_parameters_are_filled_in_and_escaped_once() {
        let values = params(&[("domain", "spam example"), ("proxy", "/a b/c%20d/")]);
        assert_eq!(
            fill("/admin/blocks/{domain}", &values).unwrap(),
            "/admin/blocks/spam%20example"
        );
        assert_eq!(fill("/x/{proxy+}", &values).unwrap(), "/x/a%20b/c%20d/");
        assert_eq!(fill("/{missing}", &values), None);
        assert_eq!(fill("/", &values).unwrap(), "/");
    }

    #[test]
    fn a_rest_event_without_a_resource_falls_back_to_its_path_without_the_stage() {
        assert_eq!(
            rest_api(None, &params(&[]), Some("/prod/status"), None, Some("prod")),
            routed("/status", "/prod")
        );
        assert_eq!(
            rest_api(
                None,
                &params(&[]),
                Some("/production/x"),
                None,
                Some("prod")
            ),
            routed("/production/x", "")
        );
    }

    #[test]
    fn an_http_api_on_a_named_stage_routes_without_the_stage() {
        let proxy = params(&[("proxy", "api/comments")]);
        assert_eq!(
            http_api(
                Some("ANY /{proxy+}"),
                &proxy,
                Some("/prod/api/comments"),
                Some("prod")
            ),
            routed("/api/comments", "/prod")
        );
        assert_eq!(
            http_api(
                Some("$default"),
                &params(&[]),
                Some("/prod/api/comments"),
                Some("prod")
            ),
            routed("/api/comments", "/prod")
        );
        assert_eq!(
            http_api(Some("$default"), &params(&[]), Some("/prod"), Some("prod")),
            routed("/", "/prod")
        );
    }

    #[test]
    fn a_default_stage_and_a_function_url_route_on_the_raw_path() {
        for key in [Some("$default"), None] {
            assert_eq!(
                http_api(key, &params(&[]), Some("/webmention"), Some("$default")),
                routed("/webmention", "")
            );
        }
        assert_eq!(
            http_api(Some("$default"), &params(&[]), Some(""), Some("$default")),
            routed("/", "")
        );
        assert_eq!(
            http_api(
                Some("GET /status"),
                &params(&[]),
                Some("/status"),
                Some("$default")
            ),
            routed("/status", "")
        );
    }
}
