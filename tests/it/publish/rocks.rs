//! webmention.rocks, rebuilt on loopback from the research notes (§2.1–2.4):
//! discovery tests 1–23 with their decoy endpoints (`/webmention/error`
//! and `POST /test/20` answer 400), test 23's redirect to a page that can
//! be fetched once and an endpoint that takes one POST, the update tests
//! 1–2 and the delete test 1 with one-time endpoint keys and endpoints that
//! fetch the source and check it as the site does, plus the cases the site
//! lacks (`rocks_pages::EXTRAS`). Test 7's header name (`LinK`) is served
//! by a raw TCP server, since hyper writes header names in lower case.
//!
//! Every POST is recorded (path, query, content type, form fields); tests
//! then say which endpoint each test's webmention must have reached.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, Uri, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::rocks_pages::{self, Page, layout};

#[derive(Debug, Clone)]
pub struct Posted {
    pub path: String,
    pub query: Option<String>,
    pub content_type: String,
    pub fields: Vec<(String, String)>,
    pub status: u16,
}

impl Posted {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Site {
    base: String,
    raw_base: String,
    posted: Vec<Posted>,
    gets: HashMap<String, usize>,
    /// One-time endpoint keys of the update and delete tests → used.
    keys: HashMap<String, bool>,
    /// Test 23: page key → (endpoint key, page served already).
    pages23: HashMap<String, (String, bool)>,
    /// Test 23: endpoint key → used.
    endpoints23: HashMap<String, bool>,
    checkmarks: BTreeSet<String>,
    notes: Vec<String>,
    busy_answers: usize,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Site>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Site> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

pub struct Rocks {
    pub base: String,
    /// The raw server of test 7.
    pub raw_base: String,
    shared: Shared,
    servers: Vec<tokio::task::AbortHandle>,
}

impl Drop for Rocks {
    fn drop(&mut self) {
        for server in &self.servers {
            server.abort();
        }
    }
}

fn key() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..20].to_owned()
}

impl Rocks {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let raw_base = format!("http://{}", raw.local_addr().unwrap());
        let shared = Shared::default();
        {
            let mut site = shared.lock();
            site.base = base.clone();
            site.raw_base = raw_base.clone();
        }
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let raw_server = tokio::spawn(serve_test_7(raw, shared.clone()));
        Self {
            base,
            raw_base,
            shared,
            servers: vec![server.abort_handle(), raw_server.abort_handle()],
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The target URL of discovery test `n`.
    pub fn target(&self, n: u32) -> String {
        match n {
            7 => format!("{}/test/7", self.raw_base),
            23 => self.url("/test/23/page"),
            n => self.url(&format!("/test/{n}")),
        }
    }

    pub fn posted(&self) -> Vec<Posted> {
        self.shared.lock().posted.clone()
    }

    pub fn checkmarks(&self) -> BTreeSet<String> {
        self.shared.lock().checkmarks.clone()
    }

    pub fn notes(&self) -> Vec<String> {
        self.shared.lock().notes.clone()
    }

    /// GET requests that reached `path`.
    pub fn gets(&self, path: &str) -> usize {
        self.shared.lock().gets.get(path).copied().unwrap_or(0)
    }
}

fn html(status: StatusCode, links: &[String], content_type: &str, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type.parse().unwrap());
    for link in links {
        headers.append(header::LINK, link.parse().unwrap());
    }
    response
}

fn serve_page(path: &str, page: Page) -> Response {
    html(
        StatusCode::OK,
        &page.links,
        page.content_type,
        layout(path, &page.head, &page.body),
    )
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    if method == Method::POST {
        return receive(&shared, &path, uri.query(), &headers, &body).await;
    }
    let mut site = shared.lock();
    *site.gets.entry(path.clone()).or_default() += 1;
    let base = site.base.clone();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["test", "23", "page"] => {
            let (k1, k2) = (key(), key());
            site.pages23.insert(k1.clone(), (k2, false));
            (
                StatusCode::FOUND,
                [(header::LOCATION, format!("page/{k1}"))],
            )
                .into_response()
        }
        ["test", "23", "page", k1] => match site.pages23.get_mut(*k1) {
            Some((k2, served @ false)) => {
                *served = true;
                let k2 = k2.clone();
                site.endpoints23.insert(k2.clone(), false);
                let link = format!("<webmention-endpoint/{k2}>; rel=webmention");
                let body = format!(
                    "<div class=\"h-entry\"><p class=\"e-content\">The endpoint is relative to this page: \
                     <a rel=\"webmention\" href=\"webmention-endpoint/{k2}\">endpoint</a></p></div>"
                );
                html(StatusCode::OK, &[link], "text/html", body)
            }
            _ => (StatusCode::GONE, "Code expired").into_response(),
        },
        ["test", n] => match n.parse::<u32>() {
            Ok(n @ 1..=22) => serve_page(&path, rocks_pages::discovery(n, &base)),
            _ => StatusCode::NOT_FOUND.into_response(),
        },
        ["update", t] | ["update", t, "part", "2"] if ["1", "2"].contains(t) => {
            let k = key();
            site.keys.insert(k.clone(), false);
            let part = if parts.len() == 2 { "1" } else { "2" };
            let tag = format!(
                r#"<link rel="webmention" href="/update/{t}/part/{part}/webmention?key={k}">"#
            );
            html(
                StatusCode::OK,
                &[],
                "text/html",
                layout(&path, "", &format!("<p>Update test</p>{tag}")),
            )
        }
        ["delete", "1"] => {
            let k = key();
            site.keys.insert(k.clone(), false);
            let tag = format!(r#"<link rel="webmention" href="/delete/1/webmention?key={k}">"#);
            html(
                StatusCode::OK,
                &[],
                "text/html",
                layout(&path, &tag, "<p>Delete test</p>"),
            )
        }
        ["extra", name] if rocks_pages::EXTRAS.contains(name) => {
            serve_page(&path, rocks_pages::extra(name))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

async fn receive(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let fields = form_fields(body);
    let (status, text) = decide(shared, path, query, &content_type, &fields).await;
    let mut site = shared.lock();
    site.posted.push(Posted {
        path: path.to_owned(),
        query: query.map(str::to_owned),
        content_type,
        fields,
        status: status.as_u16(),
    });
    let mut response = (status, text).into_response();
    if status == StatusCode::CREATED {
        response
            .headers_mut()
            .insert(header::LOCATION, "/status/1".parse().unwrap());
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, "120".parse().unwrap());
    }
    response
}

/// The endpoints' answers (§2.1: form content type required, a target the
/// endpoint handles, decoys refuse).
async fn decide(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    content_type: &str,
    fields: &[(String, String)],
) -> (StatusCode, String) {
    if !content_type.contains("application/x-www-form-urlencoded") {
        return (StatusCode::BAD_REQUEST, "invalid_content_type".into());
    }
    let only_source_and_target = fields.len() == 2
        && fields.iter().any(|(k, _)| k == "source")
        && fields.iter().any(|(k, _)| k == "target");
    if !only_source_and_target {
        return (StatusCode::BAD_REQUEST, "unexpected fields".into());
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (source, target) = (field("source"), field("target"));
    let (base, raw_base) = {
        let site = shared.lock();
        (site.base.clone(), site.raw_base.clone())
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        [_, _, "webmention", "error"] | ["test", "20"] => (
            StatusCode::BAD_REQUEST,
            "error\n\nThis is a decoy endpoint".into(),
        ),
        ["test", n, "webmention"] | ["test", n @ "15"] => {
            let expected = if *n == "7" {
                format!("{raw_base}/test/7")
            } else {
                format!("{base}/test/{n}")
            };
            if target != expected {
                return (StatusCode::BAD_REQUEST, format!("invalid_target {target}"));
            }
            match *n {
                "1" => (
                    StatusCode::OK,
                    "Got it! Your response should be visible on the website now!".into(),
                ),
                "2" => (StatusCode::CREATED, String::new()),
                _ => (StatusCode::ACCEPTED, "queued".into()),
            }
        }
        ["test", "23", "page", "webmention-endpoint", k2] => {
            let mut site = shared.lock();
            match site.endpoints23.get_mut(*k2) {
                Some(used @ false) if target == format!("{base}/test/23/page") => {
                    *used = true;
                    (StatusCode::ACCEPTED, "queued".into())
                }
                _ => (StatusCode::BAD_REQUEST, "Code expired".into()),
            }
        }
        ["update", ..] | ["delete", ..] => {
            one_time(shared, path, query, &source, &target, &base).await
        }
        ["extra", name, "webmention"] => match *name {
            "answers-204" => (StatusCode::NO_CONTENT, String::new()),
            "refuses" => (
                StatusCode::BAD_REQUEST,
                "no_link_found\n\nThe source document does not have a link to the target URL"
                    .into(),
            ),
            "503-then-202" => {
                let mut site = shared.lock();
                site.busy_answers += 1;
                if site.busy_answers == 1 {
                    (StatusCode::SERVICE_UNAVAILABLE, "busy".into())
                } else {
                    (StatusCode::ACCEPTED, "queued".into())
                }
            }
            _ => (StatusCode::ACCEPTED, "queued".into()),
        },
        _ => (StatusCode::NOT_FOUND, "no such endpoint".into()),
    }
}

/// The update and delete endpoints (§2.3, §2.4): a one-time `key` in the
/// query, then the source fetched and checked; "test failed" answers are
/// 200 with a note, as on the site.
async fn one_time(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    source: &str,
    target: &str,
    base: &str,
) -> (StatusCode, String) {
    let key = query
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "key"))
        .map(|(_, v)| v.into_owned());
    {
        let mut site = shared.lock();
        match key.as_ref().and_then(|k| site.keys.get_mut(k)) {
            Some(used @ false) => *used = true,
            Some(true) => return (StatusCode::BAD_REQUEST, "key already used".into()),
            None => {
                return (
                    StatusCode::BAD_REQUEST,
                    "missing key: most likely you dropped the query string".into(),
                );
            }
        }
    }
    let page = reqwest::get(source).await.expect("the source is reachable");
    let status = page.status().as_u16();
    let body = page.text().await.unwrap_or_default();
    let links = |path: &str| body.contains(&format!("href=\"{base}{path}\""));
    let gone =
        status == 410 || (body.contains("http-equiv=\"Status\"") && body.contains("content=\"410"));
    let mut site = shared.lock();
    let has = |site: &Site, mark: &str| site.checkmarks.contains(mark);
    let mark = match path {
        "/update/1/part/1/webmention" if target == format!("{base}/update/1") => {
            match (links("/update/1/part/2"), has(&site, "update1:1")) {
                (false, _) => Some("update1:1"),
                (true, true) => Some("update1:2"),
                (true, false) => None,
            }
        }
        "/update/1/part/2/webmention" if target == format!("{base}/update/1/part/2") => {
            (has(&site, "update1:1") && links("/update/1")).then_some("update1:3")
        }
        "/update/2/part/1/webmention" if target == format!("{base}/update/2") => {
            match (links("/update/2"), links("/update/2/part/2")) {
                (true, true) => Some("update2:1"),
                (true, false) if has(&site, "update2:1") => Some("update2:3"),
                _ => None,
            }
        }
        "/update/2/part/2/webmention" if target == format!("{base}/update/2/part/2") => {
            match (links("/update/2"), links("/update/2/part/2")) {
                (true, true) => Some("update2:2"),
                (_, false) if has(&site, "update2:2") => Some("update2:4"),
                _ => None,
            }
        }
        "/delete/1/webmention" if target == format!("{base}/delete/1") => {
            match (gone, links("/delete/1"), has(&site, "delete1:1")) {
                (false, true, _) => Some("delete1:1"),
                (true, false, true) => Some("delete1:2"),
                (true, _, false) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        "no_link_found: the source returned 410 Gone already".into(),
                    );
                }
                _ => None,
            }
        }
        _ => return (StatusCode::BAD_REQUEST, "invalid_target".into()),
    };
    match mark {
        Some(mark) => {
            site.checkmarks.insert(mark.to_owned());
            (StatusCode::OK, format!("checkmark {mark}"))
        }
        None => {
            site.notes
                .push(format!("{path}: the test failed for {target}"));
            (
                StatusCode::OK,
                "the webmention is valid but the test failed".into(),
            )
        }
    }
}

/// Test 7: `LinK:` written exactly so, by hand.
async fn serve_test_7(listener: tokio::net::TcpListener, shared: Shared) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut byte = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut byte).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&byte[..n]),
                }
            }
            let text = String::from_utf8_lossy(&head);
            let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let base = {
                let mut site = shared.lock();
                *site.gets.entry(format!("raw:{path}")).or_default() += 1;
                site.base.clone()
            };
            let response = if path == "/test/7" {
                let body = layout("/test/7", "", "");
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     LinK: <{base}/test/7/webmention>; rel=webmention\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    .to_owned()
            };
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        });
    }
}
