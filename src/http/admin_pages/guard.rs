//! Who may see or change a page: the session check, the CSRF and
//! same-origin checks on every state-changing request, the headers every
//! page is sent with, and errors as readable pages.
//!
//! Invariant: [`require_session`] lets a request through only with a
//! genuine, current, unrevoked session; a request with a method other than
//! GET/HEAD also has to come from our own origin and carry the session's
//! CSRF token in its form body. Status codes come from `http/error.rs`.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::{self, Frame};
use super::session::{self, Session};
use super::{PagesState, see_other};
use crate::http::error::ApiError;
use crate::http::extract::{MAX_FORM_BYTES, Params};

/// What can go wrong on the pages themselves (not in the use cases they
/// call); mapped to status codes in `http/error.rs`.
#[derive(Debug, thiserror::Error)]
pub enum AdminPageError {
    #[error("the admin pages are off: set BACKFEED_ADMIN_TOKEN to turn them on")]
    Off,
    #[error("that is not the admin token")]
    WrongToken,
    #[error("too many failed sign-ins; try again in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error("your session has ended; sign in again")]
    SignedOut,
    #[error(
        "this form is out of date or did not come from the admin pages (its CSRF token is missing or wrong); reload the page and try again"
    )]
    BadCsrf,
    #[error(
        "this form was sent from another site; forms are only accepted from the admin pages themselves"
    )]
    CrossOrigin,
    #[error("{0}")]
    Invalid(String),
}

/// Any error, as a page: the status and safe message `http/error.rs` gives
/// it, in the admin frame.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl<E> From<E> for PageError
where
    ApiError: From<E>,
{
    fn from(error: E) -> Self {
        Self(ApiError::from(error))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.0.status();
        let signed_out = status == StatusCode::UNAUTHORIZED;
        let body = layout::page(
            &Frame {
                title: status.canonical_reason().unwrap_or("Error"),
                section: None,
                csrf: None,
                notice: None,
            },
            html! {
                p.notice.error role="alert" { (self.0.message()) }
                p {
                    @if signed_out {
                        a href="sign-in" { "Sign in" }
                    } @else {
                        a href="./" { "Back to the overview" }
                    }
                }
            },
        );
        let mut response = (status, body).into_response();
        if let Some(after) = self.0.retry_after_header() {
            response.headers_mut().insert(header::RETRY_AFTER, after);
        }
        response
    }
}

/// The signed-in session of a page request (put there by
/// [`require_session`]), with its CSRF token for the page's forms.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub csrf: String,
}

impl<S: Send + Sync> FromRequestParts<S> for SignedIn {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| AdminPageError::SignedOut.into())
    }
}

/// The route layer of every page but the sign-in form.
pub async fn require_session(
    State(pages): State<PagesState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(keys) = &pages.keys else {
        return PageError::from(AdminPageError::Off).into_response();
    };
    let now = pages.app.clock.now();
    let session = session::cookie_value(request.headers())
        .and_then(|cookie| keys.verify(cookie, now))
        .filter(|session| !pages.revoked.contains(session));
    let safe = matches!(*request.method(), Method::GET | Method::HEAD);
    let Some(session) = session else {
        if !safe {
            return PageError::from(AdminPageError::SignedOut).into_response();
        }
        return see_other(&format!(
            "sign-in?next={}",
            layout::query_value(&return_to(&request))
        ));
    };
    let mut request = if safe {
        request
    } else {
        match checked_form(request, &pages, &session).await {
            Ok(request) => request,
            Err(error) => return error.into_response(),
        }
    };
    let csrf = keys.csrf_token(&session);
    request.extensions_mut().insert(SignedIn { session, csrf });
    next.run(request).await
}

/// The request with its form body read, once its origin and CSRF token
/// have been checked.
async fn checked_form(
    request: Request,
    pages: &PagesState,
    session: &Session,
) -> Result<Request, PageError> {
    same_origin(request.headers(), pages)?;
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|error| ApiError::from(crate::http::limits::body_error(&error)))?;
    let fields = Params::parse(&bytes);
    let keys = pages.keys.as_ref().ok_or(AdminPageError::Off)?;
    if !keys.csrf_matches(session, fields.get("csrf")) {
        return Err(AdminPageError::BadCsrf.into());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// Refuses a request a browser says came from another origin.
/// `Sec-Fetch-Site` (every current browser) is decisive; without it, an
/// `Origin` header must name this host (as the request or
/// `BACKFEED_PUBLIC_URL` names it). A request with neither is not a
/// browser's cross-site form (browsers send `Origin` with every
/// cross-origin POST); the CSRF token still has to match.
pub fn same_origin(headers: &HeaderMap, pages: &PagesState) -> Result<(), AdminPageError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return (site == "same-origin")
            .then_some(())
            .ok_or(AdminPageError::CrossOrigin);
    }
    let Some(origin) = text("origin") else {
        return Ok(());
    };
    let origin = url::Url::parse(origin).map_err(|_| AdminPageError::CrossOrigin)?;
    let authority = |url: &url::Url| match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => Some(format!("{host}:{port}")),
        (Some(host), None) => Some(host.to_owned()),
        _ => None,
    };
    let ours = text("host").map(str::to_ascii_lowercase);
    let public = pages.app.config.public_url.as_ref().and_then(authority);
    let theirs = authority(&origin);
    if theirs.is_some() && (theirs == ours || theirs == public) {
        Ok(())
    } else {
        Err(AdminPageError::CrossOrigin)
    }
}

/// Whether the browser reached us over https (so the cookie gets `Secure`):
/// `BACKFEED_PUBLIC_URL` says so, or the proxy in front does
/// (`X-Forwarded-Proto`), or the browser's own `Origin` does.
pub fn over_https(headers: &HeaderMap, pages: &PagesState) -> bool {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    pages
        .app
        .config
        .public_url
        .as_ref()
        .is_some_and(|url| url.scheme() == "https")
        || text("x-forwarded-proto").is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        || text("origin").is_some_and(|o| o.starts_with("https://"))
}

/// Where to come back to after signing in: the page asked for (its path
/// below `/admin/` and query), never another site.
fn return_to(request: &Request) -> String {
    let uri = request.uri();
    // The last segment: `/admin/` (the overview) is seen whole, a nested
    // page as `/mentions`.
    let page = uri.path().rsplit('/').next().unwrap_or_default();
    match uri.query() {
        Some(query) => format!("{page}?{query}"),
        None => page.to_owned(),
    }
}

/// A `next` value that is safe to redirect to: a page name (and query)
/// relative to `/admin/`, nothing that could leave it.
pub fn safe_next(next: Option<&str>) -> String {
    let next = next.unwrap_or_default().trim();
    let page = next.split('?').next().unwrap_or_default();
    let safe = !next.is_empty()
        && page
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !next.contains(['\\', '#', '\r', '\n', '@'])
        && !next.contains("//");
    if safe {
        next.to_owned()
    } else {
        "./".to_owned()
    }
}

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The headers every page (and its errors) is sent with.
pub async fn page_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::VARY, "Accept, Cookie"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_page_names_are_followed_after_signing_in() {
        assert_eq!(
            safe_next(Some("mentions?tab=pending")),
            "mentions?tab=pending"
        );
        assert_eq!(safe_next(Some("")), "./");
        assert_eq!(safe_next(None), "./");
        for hostile in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "javascript:alert(1)",
            "mentions?x=//evil",
            "a@b",
            "../../etc",
        ] {
            assert_eq!(safe_next(Some(hostile)), "./", "{hostile}");
        }
    }
}
