//! The one axum Router that every runtime serves.
//!
//! Handlers are thin: extract, call one use case, map the result. Layers, from
//! the outside in: CORS (so every answer, errors and panics included, carries
//! `Access-Control-Allow-Origin`), panic catching (a JSON 500, never a dropped
//! connection), metrics, the request and body time limits (`limits.rs`).

mod activitypub;
mod admin;
mod admin_followers;
mod admin_jobs;
mod admin_pages;
mod admin_publish;
mod comments;
pub mod error;
pub(crate) mod extract;
mod images;
mod limits;
mod lookup;
mod mentions_api;
mod metrics;
mod openapi;
mod ops;
mod rate_limit;
pub(crate) mod read_request;
mod read_token;
mod response_cache;
mod routes;
mod webmention;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::App;
use crate::config::CorsOrigins;
use error::{ApiError, RequestProblem};

pub use metrics::Metrics;
pub use rate_limit::RateLimits;
pub use response_cache::ResponseCache;
pub use routes::Routes;

pub type AppState = Arc<App>;

pub fn router(app: AppState) -> Router {
    routes(app).into_router()
}

/// The Router with every path it serves (see `routes.rs`).
pub fn routes(app: AppState) -> Routes {
    let pages = admin_pages::build(&app);
    let routes = Routes::new()
        .route("/", get(lookup::lookup))
        .route("/status", get(ops::status))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::document))
        .route("/webmention", post(webmention::receive))
        .route("/webmention/status/{id}", get(webmention::status))
        .route("/web-mentions", post(webmention::receive))
        .route("/web-mentions/status/{id}", get(webmention::status))
        .route("/web-mentions/query", post(mentions_api::seed_query))
        .merge(read_api_routes())
        .route("/api/comments", get(comments::comments))
        .route("/widget.js", get(comments::widget))
        .route("/img", get(images::image))
        .nest("/admin", admin_routes(&app, pages.routes, pages.negotiated))
        .merge(pages.root)
        .merge(activitypub_routes())
        .map(|router| {
            router
                .fallback(not_found)
                .method_not_allowed_fallback(method_not_allowed)
        });
    let limits = Limits {
        request: app.config.request_timeout,
        body: app.config.body_timeout,
    };
    routes.map(|router| {
        let cors = (!app.config.platform_cors).then_some(&app.config.cors_origins);
        let layered = with_layers(router, cors, limits);
        layered.with_state(app)
    })
}

/// webmention.io's read API: `/api/mentions` and its alias `/api/links`,
/// in each format (no extension is the legacy JSON), and `/api/count`.
fn read_api_routes() -> Routes<AppState> {
    let mut routes = Routes::new()
        .route("/api/count", get(mentions_api::count))
        .route("/api/count.json", get(mentions_api::count));
    for name in ["mentions", "links"] {
        routes = routes
            .route(&format!("/api/{name}"), get(mentions_api::json))
            .route(&format!("/api/{name}.json"), get(mentions_api::json))
            .route(&format!("/api/{name}.jf2"), get(mentions_api::jf2))
            .route(&format!("/api/{name}.atom"), get(mentions_api::atom))
            .route(&format!("/api/{name}.html"), get(mentions_api::html));
    }
    routes
}

/// The blog actor's routes (answering 404 while ActivityPub is off).
fn activitypub_routes() -> Routes<AppState> {
    use crate::activitypub::urls::paths;
    Routes::new()
        .route("/.well-known/webfinger", get(activitypub::webfinger))
        .route("/.well-known/nodeinfo", get(activitypub::nodeinfo_links))
        .route(paths::NODEINFO, get(activitypub::nodeinfo))
        .route(paths::ACTOR, get(activitypub::actor))
        .route(paths::OUTBOX, get(activitypub::outbox))
        .route(paths::POST, get(activitypub::post))
        .route(paths::FOLLOWERS, get(activitypub::followers))
        .route(paths::FOLLOWING, get(activitypub::following))
        .route(paths::INBOX, post(activitypub::inbox))
        .route(paths::SHARED_INBOX, post(activitypub::inbox))
}

/// The time limits of `limits.rs`.
#[derive(Clone, Copy)]
struct Limits {
    request: Duration,
    body: Duration,
}

/// The JSON admin API (bearer token) and, beside it, the admin pages
/// (session cookie): a browser asking for one of the API's lists gets its
/// page (`admin_pages::divert`); the pages' own paths are merged in.
fn admin_routes(app: &AppState, pages: Routes<AppState>, negotiated: Router) -> Routes<AppState> {
    Routes::new()
        .route("/mentions", get(admin::list))
        .route("/mentions/{id}/approve", post(admin::approve))
        .route("/mentions/{id}/hide", post(admin::hide))
        .route("/mentions/{id}", delete(admin::delete))
        .route("/blocks", get(admin::blocks).post(admin::block))
        .route("/blocks/{domain}", delete(admin::unblock))
        .route(
            "/followers",
            get(admin_followers::list).delete(admin_followers::remove),
        )
        .route("/jobs", get(admin_jobs::list))
        .route("/jobs/{id}/retry", post(admin_jobs::retry))
        .route("/jobs/{id}", delete(admin_jobs::drop))
        .route("/publish", post(admin_publish::publish))
        .route(
            "/replies/{id}/hide",
            post(admin::hide_reply).delete(admin::unhide_reply),
        )
        .route(
            "/accounts/{acct}/hide",
            post(admin::hide_account).delete(admin::unhide_account),
        )
        .map(|router| {
            router
                .route_layer(axum::middleware::from_fn_with_state(
                    Arc::clone(app),
                    admin::require_token,
                ))
                .route_layer(axum::middleware::from_fn_with_state(
                    negotiated,
                    admin_pages::divert,
                ))
        })
        .merge(pages)
}

/// The layers every route gets; CORS outermost so nothing escapes it
/// (none when the platform in front adds the CORS headers), metrics outside
/// the time limits so that requests cut short are counted too.
fn with_layers<S: Clone + Send + Sync + 'static>(
    routes: Router<S>,
    cors: Option<&CorsOrigins>,
    limits: Limits,
) -> Router<S> {
    let routes = routes
        .layer(RequestBodyDeadlineLayer::new(limits.body))
        .layer(axum::middleware::from_fn_with_state(
            limits.request,
            limits::answer_within,
        ))
        .layer(axum::middleware::from_fn(metrics::record))
        .layer(CatchPanicLayer::custom(panic_response));
    match cors {
        Some(origins) => routes.layer(cors_layer(origins)),
        None => routes,
    }
}

fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => {
            AllowOrigin::list(list.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
        }
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
        ])
        .max_age(Duration::from_secs(86_400))
}

async fn not_found() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    RequestProblem::MethodNotAllowed.into()
}

fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::from(RequestProblem::Internal).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_still_answers_json_with_cors() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let routes: Router = Router::new().route("/boom", get(boom));
        let limits = Limits {
            request: Duration::from_secs(60),
            body: Duration::from_secs(30),
        };
        let response = with_layers(routes, Some(&CorsOrigins::Any), limits)
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            axum::http::StatusCode::INTERNAL_SERVER_ERROR
        );
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], br#"{"code":500,"error":"internal error"}"#);
    }
}
