//! The admin pages: server-rendered HTML under `/admin/`, beside the JSON
//! admin API on the same paths.
//!
//! **Which answer a request gets.** The JSON API's routes stay exactly as
//! they were (bearer token, JSON). A `GET` of one of its lists
//! (`/admin/mentions`, `/admin/blocks`, `/admin/jobs`), or a form `POST` to
//! `/admin/blocks`, from a client that ranks HTML above JSON in `Accept`
//! and sends no `Authorization` header, is a browser: it is handed to the
//! page of the same name ([`divert`], [`NEGOTIATED`]). Every other page
//! has a path of its own (`/admin/`, `/admin/posts`, `/admin/comments`,
//! `/admin/sign-in`, and `POST` on the page paths for their forms).
//!
//! **Who may see a page.** Signing in with the admin token gives a signed
//! session cookie (`session.rs`; no storage). Every page but the sign-in
//! form and the assets passes [`guard::require_session`], which also
//! refuses any state-changing request that is not from our own origin or
//! lacks the session's CSRF token. Failed sign-ins are slowed down
//! (`throttle.rs`). Every page is sent with a strict
//! `Content-Security-Policy` (no inline script or style, no framing).
//!
//! **What a page shows.** Third-party text (authors, content, URLs) goes
//! through maud's escaping, and links only for http(s) URLs
//! (`layout::external_link`); no third-party HTML is ever inserted.
//!
//! Invariant: a page request is either signed in (valid, unrevoked session)
//! or answered with the sign-in form; a state-changing page request is
//! also same-origin and carries the session's CSRF token. The JSON API's
//! requests never reach this module's handlers unless they asked for HTML
//! without a bearer token.

mod assets;
mod blocks;
mod chart;
mod comments;
mod form;
mod guard;
mod jobs;
mod layout;
mod mentions;
mod negotiate;
mod overview;
mod posts;
mod session;
mod sign_in;
mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use tower::ServiceExt;

use super::{AppState, Routes};
pub use guard::AdminPageError;
use session::{Revoked, SessionKeys};
use throttle::Throttle;

/// What every page handler shares.
pub struct Pages {
    pub app: AppState,
    /// `None` when `BACKFEED_ADMIN_TOKEN` is unset: the pages are off.
    keys: Option<SessionKeys>,
    throttle: Throttle,
    revoked: Revoked,
}

pub type PagesState = Arc<Pages>;

/// The JSON API routes (full matched path, method) that answer browsers
/// with the page of the same name.
const NEGOTIATED: &[(&str, Method)] = &[
    ("/admin/mentions", Method::GET),
    ("/admin/blocks", Method::GET),
    ("/admin/blocks", Method::POST),
    ("/admin/jobs", Method::GET),
];

/// The pages, and the [`divert`] layer the JSON API routes take.
pub struct AdminPages {
    /// `/admin/` (the overview) and `/admin` (a redirect to it), for the
    /// top level: a nested router cannot tell `/admin/` from `/admin`.
    pub root: Routes<AppState>,
    /// Page-only routes, to nest at `/admin`.
    pub routes: Routes<AppState>,
    /// The pages behind [`NEGOTIATED`] API routes, reached through [`divert`].
    pub negotiated: Router,
}

pub fn build(app: &AppState) -> AdminPages {
    let pages = Arc::new(Pages {
        app: Arc::clone(app),
        keys: app
            .config
            .admin_token
            .as_ref()
            .map(|token| SessionKeys::derive(token.expose())),
        throttle: Throttle::default(),
        revoked: Revoked::default(),
    });
    let signed_in = |router: Router<PagesState>| {
        router.route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&pages),
            guard::require_session,
        ))
    };
    let framed = |routes: Routes<PagesState>| {
        routes.map(|router| {
            router
                .layer(axum::middleware::map_response(guard::page_headers))
                .with_state(Arc::clone(&pages))
        })
    };
    let root = framed(
        Routes::new()
            .route("/admin/", get(overview::page))
            .map(signed_in)
            .route("/admin", get(to_overview)),
    );
    let routes = framed(
        Routes::new()
            .route("/posts", get(posts::page).post(posts::act))
            .route("/comments", get(comments::page).post(comments::act))
            .route("/mentions", axum::routing::post(mentions::act))
            .route("/jobs", axum::routing::post(jobs::act))
            .route("/sign-out", axum::routing::post(sign_in::sign_out))
            .map(signed_in)
            // Reachable signed out: the form itself and what it is drawn with.
            .route("/sign-in", get(sign_in::form).post(sign_in::sign_in))
            .route("/assets/{name}", get(assets::asset)),
    );
    let negotiated = signed_in(
        Router::new()
            .route("/mentions", get(mentions::page))
            .route("/blocks", get(blocks::page).post(blocks::act))
            .route("/jobs", get(jobs::page)),
    )
    .layer(axum::middleware::map_response(guard::page_headers))
    .with_state(pages);
    AdminPages {
        root,
        routes,
        negotiated,
    }
}

/// A route layer for the JSON API: hands a browser's request for a
/// [`NEGOTIATED`] route to its page, and lets everything else through to
/// the API unchanged.
pub async fn divert(State(pages): State<Router>, request: Request, next: Next) -> Response {
    let negotiated = request
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|path| {
            let method = request.method();
            NEGOTIATED.iter().any(|(route, wanted)| {
                route == &path.as_str()
                    && (method == wanted || (wanted == Method::GET && method == Method::HEAD))
            })
        });
    let browser = !request.headers().contains_key(header::AUTHORIZATION)
        && negotiate::prefers_html(request.headers());
    if !(negotiated && browser) {
        return next.run(request).await;
    }
    match pages.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// `GET /admin` → `/admin/`, where the pages' relative links resolve.
async fn to_overview() -> Redirect {
    Redirect::permanent("admin/")
}

/// A 303 to a page, relative to the page that was posted to (every page
/// lives one level under `/admin/`, so the name alone is enough, behind
/// any path prefix).
fn see_other(target: &str) -> Response {
    Redirect::to(target).into_response()
}
