//! The admin pages over HTTP: the JSON API and the pages on the same
//! paths, sign-in and its cookie, expiry on the app's clock, CSRF and
//! same-origin checks, the sign-in throttle, sign-out, and escaping.
//! (`admin_browser.rs` drives the same pages in Chromium.)

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

use crate::fake_blog::FakeBlog;
use crate::helpers::{TestApp, spawn_app_with_clock};

pub const TOKEN: &str = "admin-token-0123456789";
const BROWSER_ACCEPT: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

pub async fn admin_app() -> TestApp {
    spawn_app_with_clock(
        |env| {
            env.insert("BACKFEED_ADMIN_TOKEN".into(), TOKEN.into());
            env.insert("BACKFEED_MODERATION".into(), "manual".into());
        },
        true,
    )
    .await
}

/// A browser-like client: no redirects followed, cookies by hand.
pub struct Browser<'a> {
    app: &'a TestApp,
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.app.address))
            .header(ACCEPT, BROWSER_ACCEPT);
        if let Some(cookie) = &self.cookie {
            request = request.header(COOKIE, cookie);
        }
        request
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// A same-origin form post, as a browser sends it.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(path, form, &[("sec-fetch-site", "same-origin")])
            .await
    }

    pub async fn post_with(
        &self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut request = self.request(Method::POST, path).form(form);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// Signs in; keeps the session cookie.
    pub async fn sign_in(&mut self) {
        let response = self
            .post("/admin/sign-in", &[("token", TOKEN), ("next", "")])
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        self.cookie = Some(session_cookie(&response));
    }

    /// The page's body, after checking it is a 200 page.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers()[CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        response.text().await.unwrap()
    }

    /// The CSRF token of the signed-in session (from a page's form).
    pub async fn csrf(&self) -> String {
        let page = self.page("/admin/blocks").await;
        let at = page
            .find(r#"name="csrf" value=""#)
            .expect("a form with a CSRF token")
            + r#"name="csrf" value=""#.len();
        page[at..].split('"').next().unwrap().to_owned()
    }
}

fn session_cookie(response: &reqwest::Response) -> String {
    let set = response.headers()[SET_COOKIE].to_str().unwrap();
    set.split(';').next().unwrap().to_owned()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()[LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn the_json_api_and_the_pages_share_their_paths() {
    let app = admin_app().await;
    let browser = Browser::new(&app);
    // A browser without a session is sent to sign in, and back afterwards.
    let response = browser.get("/admin/mentions?tab=all").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "sign-in?next=mentions%3Ftab%3Dall");
    let response = browser.get("/admin/").await;
    assert_eq!(location(&response), "sign-in?next=");
    let response = browser.get("/admin").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(location(&response), "admin/");
    // API clients get JSON, as always: with the token…
    let json: serde_json::Value = app
        .http
        .get(format!("{}/admin/mentions", app.address))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(ACCEPT, BROWSER_ACCEPT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(json["mentions"].is_array(), "{json}");
    // …and without it, the API's 401, not a page.
    for accept in ["*/*", "application/json"] {
        let response = app
            .http
            .get(format!("{}/admin/jobs", app.address))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["code"], 401);
    }
    // A form-encoded block through the API still answers JSON.
    let response = app
        .http
        .post(format!("{}/admin/blocks", app.address))
        .bearer_auth(TOKEN)
        .form(&[("domain", "api.example")])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["blocked"], "api.example");
}

#[tokio::test]
async fn signing_in_gives_a_strict_expiring_cookie_and_pages_a_strict_policy() {
    let app = admin_app().await;
    let mut browser = Browser::new(&app);
    let page = browser.page("/admin/sign-in?next=jobs").await;
    assert!(
        page.contains(r#"<label for="token">Admin token</label>"#),
        "{page}"
    );
    let response = browser
        .post("/admin/sign-in", &[("token", TOKEN), ("next", "jobs")])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "jobs");
    let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Max-Age=43200"] {
        assert!(set.contains(attribute), "{set}");
    }
    assert!(!set.contains("Secure"), "plain http: {set}");
    assert!(!set.contains("Path="), "scoped to /admin by default: {set}");
    browser.cookie = Some(session_cookie(&response));

    let response = browser.get("/admin/jobs").await;
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>"), "no inline script");
    assert!(!page.contains("style="), "no inline style");
    for path in [
        "/admin/",
        "/admin/mentions",
        "/admin/posts",
        "/admin/comments",
        "/admin/blocks",
    ] {
        browser.page(path).await;
    }

    // Over https (a proxy says so), the cookie is Secure.
    let response = browser
        .post_with(
            "/admin/sign-in",
            &[("token", TOKEN)],
            &[
                ("sec-fetch-site", "same-origin"),
                ("x-forwarded-proto", "https"),
            ],
        )
        .await;
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("; Secure")
    );

    // Sessions end after twelve hours on the app's clock.
    app.advance(Duration::from_secs(12 * 3600 - 60));
    assert_eq!(browser.get("/admin/").await.status(), StatusCode::OK);
    app.advance(Duration::from_secs(60));
    let response = browser.get("/admin/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with("sign-in"));
}

#[tokio::test]
async fn forms_need_the_sessions_csrf_token_and_our_origin() {
    let app = admin_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in().await;
    let csrf = browser.csrf().await;
    let block = |domain: &'static str, token: &str| {
        vec![("domain", domain), ("csrf", token)]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect::<Vec<_>>()
    };
    fn as_refs<'f>(form: &'f [(&'static str, String)]) -> Vec<(&'static str, &'f str)> {
        form.iter().map(|(k, v)| (*k, v.as_str())).collect()
    }
    for (form, headers, why) in [
        (
            block("a.example", ""),
            vec![("sec-fetch-site", "same-origin")],
            "no token",
        ),
        (
            block("b.example", "forged"),
            vec![("sec-fetch-site", "same-origin")],
            "a wrong token",
        ),
        (
            block("c.example", &csrf),
            vec![("sec-fetch-site", "cross-site")],
            "another site",
        ),
        (
            block("d.example", &csrf),
            vec![("sec-fetch-site", "same-site")],
            "another origin of this site",
        ),
        (
            block("e.example", &csrf),
            vec![("origin", "http://evil.example")],
            "another origin (Origin only)",
        ),
    ] {
        let response = browser
            .post_with("/admin/blocks", &as_refs(&form), &headers)
            .await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{why}");
        let page = response.text().await.unwrap();
        assert!(page.contains("role=\"alert\""), "{why}: {page}");
    }
    assert!(
        app.app.store.blocked_domains().await.unwrap().is_empty(),
        "nothing refused was done"
    );
    let own_origin = app.address.clone();
    let response = browser
        .post_with(
            "/admin/blocks",
            &as_refs(&block("ok.example", &csrf)),
            &[("origin", &own_origin)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "blocks?done=block&n=0");
    assert_eq!(
        app.app.store.blocked_domains().await.unwrap(),
        vec!["ok.example"]
    );
    // A signed-out form is refused too, even with an old token.
    let mut stranger = Browser::new(&app);
    stranger.cookie = None;
    let response = stranger
        .post("/admin/blocks", &as_refs(&block("f.example", &csrf)))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_slowed_down() {
    let app = admin_app().await;
    let browser = Browser::new(&app);
    let attempt = |token: &'static str| {
        let browser = &browser;
        async move {
            browser
                .post("/admin/sign-in", &[("token", token), ("next", "")])
                .await
        }
    };
    for _ in 0..5 {
        let response = attempt("wrong-token-0123456789").await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let page = response.text().await.unwrap();
        assert!(page.contains("that is not the admin token"), "{page}");
    }
    // Now even the right token has to wait.
    let response = attempt(TOKEN).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "1");
    app.advance(Duration::from_secs(1));
    let response = attempt("wrong-token-0123456789").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = attempt(TOKEN).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(response.headers()["retry-after"], "2", "the wait doubles");
    app.advance(Duration::from_secs(2));
    assert_eq!(attempt(TOKEN).await.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_this_server() {
    let app = admin_app().await;
    let mut browser = Browser::new(&app);
    browser.sign_in().await;
    let csrf = browser.csrf().await;
    let response = browser.post("/admin/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "sign-in?signed-out=1");
    assert!(
        response.headers()[SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    // The old cookie, replayed, no longer opens a page.
    let response = browser.get("/admin/").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_pages_are_off_without_an_admin_token() {
    let app = spawn_app_with_clock(|_| {}, false).await;
    let browser = Browser::new(&app);
    let response = browser.get("/admin/sign-in").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("BACKFEED_ADMIN_TOKEN")
    );
}

#[tokio::test]
async fn third_party_text_is_escaped_and_several_mentions_are_moderated_at_once() {
    let app = admin_app().await;
    let sources = FakeBlog::start().await;
    let target = app.publish("escaped", "Escaped");
    let mut ids = Vec::new();
    for (path, name) in [
        ("/a/", "<img src=x onerror=alert(1)>Mallory"),
        ("/b/", "Bob & <b>friends</b>"),
    ] {
        sources.page(
            path,
            &format!(
                r#"<div class="h-entry"><div class="p-author h-card"><span class="p-name">{}</span></div>
                <p class="e-content">hello <script>alert(2)</script></p><a class="u-in-reply-to" href="{target}">r</a></div>"#,
                name.replace('&', "&amp;").replace('<', "&lt;")
            ),
        );
        let status = app.accepted_webmention(&sources.url(path), &target).await;
        ids.push(
            app.wait_for_status(&status, "verified").await["id"]
                .as_i64()
                .unwrap(),
        );
    }
    let mut browser = Browser::new(&app);
    browser.sign_in().await;
    let page = browser.page("/admin/mentions?tab=pending").await;
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt;Mallory"),
        "{page}"
    );
    assert!(
        page.contains("Bob &amp; &lt;b&gt;friends&lt;/b&gt;"),
        "{page}"
    );
    assert!(!page.contains("<img src=x"));
    assert!(!page.contains("<script>alert"));

    let csrf = browser.csrf().await;
    let (first, second) = (ids[0].to_string(), ids[1].to_string());
    let response = browser
        .post(
            "/admin/mentions",
            &[
                ("csrf", &csrf),
                ("tab", "pending"),
                ("q", ""),
                ("page", "0"),
                ("action", "approve"),
                ("id", &first),
                ("id", &second),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "mentions?tab=pending&page=0&done=approve&n=2"
    );
    let next = format!("/admin/{}", location(&response));
    let page = browser.page(&next).await;
    assert!(page.contains("Approved 2 mentions."), "{page}");
    assert!(page.contains("No mentions here."), "{page}");

    // Search by source, in every state.
    let found = browser.page("/admin/mentions?tab=all&q=127.0.0.1").await;
    assert_eq!(found.matches(r#"name="id""#).count(), 2, "{found}");
    let none = browser
        .page("/admin/mentions?tab=all&q=nowhere.example")
        .await;
    assert!(none.contains("No mentions here."));
}

/// Found by schemathesis: a page's form posted without a form body was
/// answered with the webmention endpoint's JSON error.
#[tokio::test]
async fn a_page_form_without_a_form_body_is_answered_with_a_page() {
    let app = admin_app().await;
    let mut browser = Browser::new(&app);
    let csrf_free = |path: &'static str| {
        browser
            .request(Method::POST, path)
            .header("sec-fetch-site", "same-origin")
            .header(CONTENT_TYPE, "application/json")
            .body("{}")
    };
    let response = csrf_free("/admin/sign-in").send().await.unwrap();
    assert_page_error(response, StatusCode::BAD_REQUEST).await;
    let response = browser
        .request(Method::POST, "/admin/sign-in")
        .send()
        .await
        .unwrap();
    assert_page_error(response, StatusCode::BAD_REQUEST).await;

    browser.sign_in().await;
    let csrf = browser.csrf().await;
    // The CSRF token is in the body, but the body is not labelled a form.
    let response = browser
        .request(Method::POST, "/admin/posts")
        .header("sec-fetch-site", "same-origin")
        .header(CONTENT_TYPE, "text/plain")
        .body(format!("csrf={csrf}&retry=x"))
        .send()
        .await
        .unwrap();
    assert_page_error(response, StatusCode::BAD_REQUEST).await;
}

async fn assert_page_error(response: reqwest::Response, status: StatusCode) {
    assert_eq!(response.status(), status);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = response.text().await.unwrap();
    assert!(page.contains("role=\"alert\""), "{page}");
    assert!(!page.contains("webmention"), "{page}");
}
