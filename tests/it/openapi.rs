//! The OpenAPI document (`GET /openapi.json`) against the Router, both
//! ways: every path the Router serves (`http::routes`, the list the Router
//! is built from) is documented with exactly the methods the Router
//! answers, and every documented path and method is served. The methods
//! come from the Router itself: a request with a method no route has gets
//! 405 with `Allow` listing the path's methods.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tower::ServiceExt;

use crate::helpers::spawn_app_with;

/// Methods as the document names them; HEAD is implied by GET.
type Methods = BTreeSet<String>;

#[tokio::test]
async fn openapi_document_matches_the_router() {
    let app = spawn_app_with(|env| {
        env.insert("BACKFEED_ADMIN_TOKEN".into(), "a-test-admin-token".into());
    })
    .await;
    let routes = backfeed::http::routes(Arc::clone(&app.app));
    let paths = routes.paths().to_vec();
    let router = routes.into_router();

    let mut served = BTreeMap::new();
    for path in &paths {
        served.insert(path.clone(), methods_of(&router, path).await);
    }
    let documented = documented(&app.get_json(&format!("{}/openapi.json", app.address)).await);

    let missing: Vec<_> = served
        .iter()
        .filter(|(path, methods)| documented.get(*path) != Some(methods))
        .map(|(path, methods)| {
            format!(
                "{path} {methods:?} (documented: {:?})",
                documented.get(path)
            )
        })
        .collect();
    assert!(
        missing.is_empty(),
        "served but not documented as served: {missing:#?}"
    );
    let extra: Vec<_> = documented
        .keys()
        .filter(|path| !served.contains_key(*path))
        .collect();
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
}

#[tokio::test]
async fn the_document_is_served_as_json_with_cors() {
    let app = crate::helpers::spawn_app().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    let document: serde_json::Value = response.json().await.unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}

/// The methods the Router answers on `path` (its `{parameters}` filled in).
async fn methods_of(router: &axum::Router, path: &str) -> Methods {
    let concrete = fill_parameters(path);
    let probe = Method::from_bytes(b"PROBE").unwrap();
    let response = router
        .clone()
        .oneshot(
            Request::builder()
                .method(probe)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::METHOD_NOT_ALLOWED,
        "{path} ({concrete})"
    );
    let allow = response
        .headers()
        .get(header::ALLOW)
        .unwrap_or_else(|| panic!("{path}: a 405 without Allow"))
        .to_str()
        .unwrap();
    allow
        .split(',')
        .map(|m| m.trim().to_ascii_lowercase())
        .filter(|m| !m.is_empty() && m != "head")
        .collect()
}

fn fill_parameters(path: &str) -> String {
    let mut out = String::new();
    let mut in_parameter = false;
    for c in path.chars() {
        match c {
            '{' => in_parameter = true,
            '}' => {
                in_parameter = false;
                out.push('1');
            }
            _ if !in_parameter => out.push(c),
            _ => {}
        }
    }
    out
}

fn documented(document: &serde_json::Value) -> BTreeMap<String, Methods> {
    const OPERATIONS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item")
                .keys()
                .filter(|key| OPERATIONS.contains(&key.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect()
}
