//! Signing in with the admin token, and out.
//!
//! The token is compared in constant time; failures are counted per client
//! address and slowed down (`throttle.rs`) before the comparison is even
//! made. A good token gets a fresh session cookie (`session.rs`) and a 303
//! to the page that was asked for.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Html;
use axum::response::{IntoResponse, Response};
use maud::html;
use subtle::ConstantTimeEq;

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn, over_https, safe_next, same_origin};
use super::layout::{self, Frame, Notice};
use super::session::{self, Session};
use super::{PagesState, see_other};
use crate::http::extract::Query;
use crate::http::rate_limit::{ClientKey, client_key};

pub async fn form(
    State(pages): State<PagesState>,
    headers: HeaderMap,
    Query(params): Query,
) -> Response {
    if pages.keys.is_none() {
        return PageError::from(AdminPageError::Off).into_response();
    }
    let next = safe_next(params.get("next"));
    if signed_in(&pages, &headers).is_some() {
        return see_other(&next);
    }
    let notice = (params.get("signed-out") == Some("1")).then(|| Notice {
        text: "Signed out.".to_owned(),
        error: false,
    });
    sign_in_page(&next, notice).into_response()
}

fn signed_in(pages: &PagesState, headers: &HeaderMap) -> Option<Session> {
    let keys = pages.keys.as_ref()?;
    session::cookie_value(headers)
        .and_then(|cookie| keys.verify(cookie, pages.app.clock.now()))
        .filter(|session| !pages.revoked.contains(session))
}

fn sign_in_page(next: &str, notice: Option<Notice>) -> Html<String> {
    layout::page(
        &Frame {
            title: "Sign in",
            section: None,
            csrf: None,
            notice,
        },
        html! {
            form.sign-in method="post" action="sign-in" {
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="token" { "Admin token" }
                    input #token type="password" name="token" required
                        autocomplete="current-password" aria-describedby="token-hint";
                    span #token-hint .hint { "The value of BACKFEED_ADMIN_TOKEN." }
                }
                button.primary type="submit" { "Sign in" }
            }
        },
    )
}

/// The client's address for the throttle (the socket peer, or the trusted
/// proxy's `X-Forwarded-For`).
pub struct Client(ClientKey);

impl FromRequestParts<PagesState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        pages: &PagesState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(client_key(
            &parts.headers,
            &parts.extensions,
            pages.app.config.trust_x_forwarded_for,
        )))
    }
}

pub async fn sign_in(
    State(pages): State<PagesState>,
    Client(client): Client,
    headers: HeaderMap,
    PageForm(fields): PageForm,
) -> Result<Response, PageError> {
    let keys = pages.keys.as_ref().ok_or(AdminPageError::Off)?;
    same_origin(&headers, &pages)?;
    let now = pages.app.clock.now();
    let next = safe_next(fields.get("next"));
    if let Err(retry_after) = pages.throttle.check(client, now) {
        return Err(AdminPageError::Throttled { retry_after }.into());
    }
    let expected = pages
        .app
        .config
        .admin_token
        .as_ref()
        .ok_or(AdminPageError::Off)?;
    let given = fields.get("token").unwrap_or_default();
    if !bool::from(given.as_bytes().ct_eq(expected.expose().as_bytes())) {
        pages.throttle.failed(client, now);
        tracing::warn!(?client, "failed admin sign-in");
        let error = PageError::from(AdminPageError::WrongToken);
        let notice = Notice {
            text: error.0.message().to_owned(),
            error: true,
        };
        return Ok((error.0.status(), sign_in_page(&next, Some(notice))).into_response());
    }
    pages.throttle.succeeded(client);
    let (_, cookie) = keys.issue(now);
    let mut response = see_other(&next);
    set_cookie(
        &mut response,
        &session::set_cookie(&cookie, over_https(&headers, &pages)),
    );
    tracing::info!(?client, "admin signed in");
    Ok(response)
}

pub async fn sign_out(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
    headers: HeaderMap,
) -> Response {
    pages
        .revoked
        .revoke(&signed_in.session, pages.app.clock.now());
    let mut response = see_other("sign-in?signed-out=1");
    set_cookie(
        &mut response,
        &session::clear_cookie(over_https(&headers, &pages)),
    );
    response
}

fn set_cookie(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}
