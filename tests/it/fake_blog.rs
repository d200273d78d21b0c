//! A fake blog on loopback, for the integration tests.
//!
//! Tests publish pages (`page`), error answers (`page_with_status`) and
//! redirects at paths, point backfeed at `url(path)`, and afterwards count how
//! often each path was fetched (`hits`). `post_html` writes a post page with
//! the meta tags static site generators emit. Unknown paths answer 404.

// Not every test uses every helper.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, Method, StatusCode, Uri, header};

const HTML: &str = "text/html; charset=utf-8";

/// A fake blog serving on `base_url` until dropped.
pub struct FakeBlog {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    shared: Shared,
    server: tokio::task::AbortHandle,
}

impl FakeBlog {
    /// Binds 127.0.0.1 on a free port and serves in a background task.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake blog binds a loopback port");
        let address = listener.local_addr().expect("bound socket has an address");
        let shared = Shared::default();
        let app = Router::new().fallback(answer).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url: format!("http://{address}"),
            shared,
            server: server.abort_handle(),
        }
    }

    /// Serves `html` at `path` with 200 and `text/html; charset=utf-8`.
    /// Publishes a post page at `/posts/<slug>/` (with a title, a
    /// description and a language) and returns its URL.
    pub fn publish_post(&self, slug: &str, title: &str) -> String {
        let path = format!("/posts/{slug}/");
        self.page(
            &path,
            &post_html(Some(title), Some("A description."), None, Some("en")),
        );
        self.url(&path)
    }

    pub fn page(&self, path: &str, html: &str) {
        self.page_with_status(path, 200, html);
    }

    /// Serves `body` at `path` with this status, as HTML.
    pub fn page_with_status(&self, path: &str, status: u16, body: &str) {
        self.page_with_headers(path, status, &[], body);
    }

    /// Serves `body` at `path` with this status and these extra headers
    /// (e.g. a `Link` header); `Content-Type` is HTML unless given.
    pub fn page_with_headers(&self, path: &str, status: u16, headers: &[(&str, &str)], body: &str) {
        let status = StatusCode::from_u16(status).expect("a valid HTTP status code");
        let mut all_headers = vec![(header::CONTENT_TYPE, HeaderValue::from_static(HTML))];
        for (name, value) in headers {
            let name = HeaderName::try_from(*name).expect("a valid header name");
            let value = HeaderValue::try_from(*value).expect("a valid header value");
            all_headers.retain(|(existing, _)| *existing != name);
            all_headers.push((name, value));
        }
        self.publish(
            path,
            Page {
                status,
                headers: all_headers,
                body: body.to_owned(),
            },
        );
    }

    /// Answers `from` with 301 and `Location: to` (relative or absolute).
    pub fn redirect(&self, from: &str, to: &str) {
        let location = HeaderValue::try_from(to).expect("a valid Location");
        let headers = vec![(header::LOCATION, location)];
        self.publish(
            from,
            Page {
                status: StatusCode::MOVED_PERMANENTLY,
                headers,
                body: String::new(),
            },
        );
    }

    /// Stops serving `path`: it answers 404 again.
    pub fn remove(&self, path: &str) {
        self.shared.lock().pages.remove(path);
    }

    /// How many GET requests reached `path`, whatever their query string.
    pub fn hits(&self, path: &str) -> usize {
        self.shared.lock().hits.get(path).copied().unwrap_or(0)
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    fn publish(&self, path: &str, page: Page) {
        self.shared.lock().pages.insert(path.to_owned(), page);
    }
}

impl Drop for FakeBlog {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A blog post page with the given meta tags, like real static site generators
/// emit: `<html lang>`, `og:title` and `og:description` as
/// `<meta property=…>`, `mastodon:tags` as `<meta name=…>`. Values are
/// HTML-escaped; a `None` leaves the tag out.
pub fn post_html(
    title: Option<&str>,
    description: Option<&str>,
    tags: Option<&str>,
    lang: Option<&str>,
) -> String {
    let html_tag = match lang {
        Some(lang) => format!(r#"<html lang="{}">"#, escape(lang)),
        None => "<html>".to_owned(),
    };
    let heading = title.map(escape).unwrap_or_default();
    let head = [
        Some(r#"<meta charset="utf-8">"#.to_owned()),
        Some(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#.to_owned()),
        title.map(|title| format!("<title>{}</title>", escape(title))),
        title.map(|title| meta("property", "og:title", title)),
        description.map(|description| meta("property", "og:description", description)),
        Some(meta("property", "og:type", "article")),
        tags.map(|tags| meta("name", "mastodon:tags", tags)),
    ];
    let head: String = head
        .into_iter()
        .flatten()
        .map(|line| format!("  {line}\n"))
        .collect();
    format!(
        "<!DOCTYPE html>\n{html_tag}\n<head>\n{head}</head>\n<body>\n\
         <article>\n  <h1>{heading}</h1>\n  <p>Some words worth reading.</p>\n</article>\n\
         </body>\n</html>\n"
    )
}

/// `html` with `extra` (e.g. a `<link rel="canonical">`) added at the end
/// of its `<head>`.
pub fn with_head(html: &str, extra: &str) -> String {
    html.replacen("</head>", &format!("  {extra}\n</head>"), 1)
}

fn meta(attribute: &str, name: &str, content: &str) -> String {
    format!(
        r#"<meta {attribute}="{name}" content="{}">"#,
        escape(content)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Clone)]
struct Page {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: String,
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

#[derive(Default)]
struct BlogState {
    pages: HashMap<String, Page>,
    hits: HashMap<String, usize>,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<BlogState>>);

impl Shared {
    /// Locks the state; a panicking test thread must not wedge the fake.
    fn lock(&self) -> MutexGuard<'_, BlogState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn answer(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    request_headers: http::HeaderMap,
) -> Response {
    let path = uri.path();
    let mut state = shared.lock();
    if method == Method::GET {
        *state.hits.entry(path.to_owned()).or_default() += 1;
    } else if method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    match state.pages.get(path) {
        // A page published with an `ETag` answers a matching
        // `If-None-Match` with 304, as static hosts do.
        Some(page) if not_modified(page, &request_headers) => {
            let mut response = StatusCode::NOT_MODIFIED.into_response();
            for (name, value) in &page.headers {
                if *name == header::ETAG {
                    response.headers_mut().insert(name, value.clone());
                }
            }
            response
        }
        Some(page) => page.clone().into_response(),
        None => not_found(),
    }
}

fn not_modified(page: &Page, request: &http::HeaderMap) -> bool {
    let etag = page
        .headers
        .iter()
        .find(|(name, _)| *name == header::ETAG)
        .map(|(_, value)| value);
    etag.is_some_and(|etag| request.get(header::IF_NONE_MATCH) == Some(etag))
}

fn not_found() -> Response {
    let body = "<!DOCTYPE html>\n<html><head><title>Not Found</title></head>\
                <body><h1>404 Not Found</h1></body></html>\n";
    let mut response = (StatusCode::NOT_FOUND, body).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    response
}
