//! The fake Mastodon's OAuth side: registering an application
//! (`POST /api/v1/apps`), the owner's approval in the browser (a test
//! calls [`FakeMastodon::authorize`] instead), exchanging the code
//! (`POST /oauth/token`), and checking tokens
//! (`GET /api/v1/accounts/verify_credentials`,
//! `GET /api/v1/apps/verify_credentials`), with scopes enforced as
//! Mastodon 4.3 does: reading one's own account needs `profile`,
//! `read:accounts` or `read`. `set_oauth_legacy(true)` plays a server from
//! before 4.3 (no `profile` scope, no RFC 8414 metadata, no scopes in the
//! application's credentials). The test token `FAKE_TOKEN` has
//! `read:statuses write:statuses profile`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use serde_json::json;

use super::{
    FAKE_TOKEN, FAKE_USERNAME, FakeMastodon, Shared, error_response, invalid_token_response,
    json_response, parse_form,
};

const SCOPES_4_3: &[&str] = &[
    "read",
    "write",
    "follow",
    "push",
    "profile",
    "read:accounts",
    "read:statuses",
    "write:statuses",
];

struct App {
    secret: String,
    scopes: Vec<String>,
}

#[derive(Default)]
pub(super) struct OAuth {
    apps: HashMap<String, App>,
    /// Code → (client id, scopes granted).
    codes: HashMap<String, (String, Vec<String>)>,
    /// Token → scopes.
    tokens: HashMap<String, Vec<String>>,
    issued: u64,
    legacy: bool,
}

impl OAuth {
    fn next(&mut self, what: &str) -> String {
        self.issued += 1;
        format!("{what}-{:08}", self.issued)
    }

    fn scopes_of(&self, token: &str) -> Option<Vec<String>> {
        if token == FAKE_TOKEN {
            return Some(words("read:statuses write:statuses profile"));
        }
        self.tokens.get(token).cloned()
    }

    fn known_scope(&self, scope: &str) -> bool {
        SCOPES_4_3.contains(&scope) && !(self.legacy && scope == "profile")
    }
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

impl FakeMastodon {
    /// The owner signs in and allows `client_id` these `scopes` (a subset
    /// of what it registered, or fewer, as a careless owner might untick):
    /// the code the instance then shows.
    pub fn authorize(&self, client_id: &str, scopes: &str) -> String {
        let mut state = self.shared.lock();
        assert!(
            state.oauth.apps.contains_key(client_id),
            "no application {client_id} was registered"
        );
        let code = state.oauth.next("code");
        state
            .oauth
            .codes
            .insert(code.clone(), (client_id.to_owned(), words(scopes)));
        code
    }

    /// A token with these scopes, as if an owner had made it by hand.
    pub fn issue_token(&self, scopes: &str) -> String {
        let mut state = self.shared.lock();
        let token = state.oauth.next("token");
        state.oauth.tokens.insert(token.clone(), words(scopes));
        token
    }

    /// The scopes of a token this fake issued.
    pub fn token_scopes(&self, token: &str) -> Option<Vec<String>> {
        self.shared.lock().oauth.scopes_of(token)
    }

    pub fn registered_apps(&self) -> usize {
        self.shared.lock().oauth.apps.len()
    }

    /// Plays a Mastodon from before 4.3.
    pub fn set_oauth_legacy(&self, on: bool) {
        self.shared.lock().oauth.legacy = on;
    }
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/api/v1/apps", post(register))
        .route("/api/v1/apps/verify_credentials", get(app_credentials))
        .route("/oauth/token", post(token))
        .route(
            "/api/v1/accounts/verify_credentials",
            get(account_credentials),
        )
}

async fn metadata(State(shared): State<Shared>) -> Response {
    let state = shared.lock();
    if state.oauth.legacy {
        return error_response(StatusCode::NOT_FOUND, "Not Found");
    }
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": format!("{}/", state.base_url),
            "authorization_endpoint": format!("{}/oauth/authorize", state.base_url),
            "token_endpoint": format!("{}/oauth/token", state.base_url),
            "scopes_supported": SCOPES_4_3,
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
        }),
    )
}

async fn register(State(shared): State<Shared>, body: Bytes) -> Response {
    let form = parse_form(&String::from_utf8_lossy(&body));
    let mut state = shared.lock();
    let scopes = words(form.get("scopes").map_or("read", String::as_str));
    if form.get("client_name").is_none_or(String::is_empty) {
        return error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Application name can't be blank",
        );
    }
    if scopes.iter().any(|s| !state.oauth.known_scope(s)) {
        return error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Validation failed: Scopes must be valid",
        );
    }
    let client_id = state.oauth.next("client");
    let secret = state.oauth.next("secret");
    state.oauth.apps.insert(
        client_id.clone(),
        App {
            secret: secret.clone(),
            scopes: scopes.clone(),
        },
    );
    json_response(
        StatusCode::OK,
        &json!({
            "id": state.oauth.issued.to_string(),
            "name": form.get("client_name"),
            "website": form.get("website"),
            "scopes": scopes,
            "redirect_uri": form.get("redirect_uris"),
            "redirect_uris": [form.get("redirect_uris")],
            "client_id": client_id,
            "client_secret": secret,
            "vapid_key": "fake-vapid-key",
        }),
    )
}

async fn token(State(shared): State<Shared>, body: Bytes) -> Response {
    let form = parse_form(&String::from_utf8_lossy(&body));
    let field = |name: &str| form.get(name).map(String::as_str).unwrap_or_default();
    let mut state = shared.lock();
    let invalid_grant = || {
        json_response(
            StatusCode::BAD_REQUEST,
            &json!({
                "error": "invalid_grant",
                "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
            }),
        )
    };
    let app_ok = state
        .oauth
        .apps
        .get(field("client_id"))
        .is_some_and(|app| app.secret == field("client_secret"));
    if !app_ok {
        return json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"error": "invalid_client", "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}),
        );
    }
    if field("grant_type") != "authorization_code"
        || field("redirect_uri") != "urn:ietf:wg:oauth:2.0:oob"
    {
        return invalid_grant();
    }
    // A code is used once.
    let Some((client_id, granted)) = state.oauth.codes.remove(field("code")) else {
        return invalid_grant();
    };
    if client_id != field("client_id") {
        return invalid_grant();
    }
    let registered = &state.oauth.apps[&client_id].scopes;
    let granted: Vec<String> = granted
        .into_iter()
        .filter(|s| registered.contains(s))
        .collect();
    let token = state.oauth.next("token");
    state.oauth.tokens.insert(token.clone(), granted.clone());
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": token,
            "token_type": "Bearer",
            "scope": granted.join(" "),
            "created_at": 1_780_000_000,
        }),
    )
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

async fn account_credentials(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let Some(scopes) = bearer(&headers).and_then(|t| state.oauth.scopes_of(&t)) else {
        return invalid_token_response();
    };
    let may = scopes
        .iter()
        .any(|s| matches!(s.as_str(), "profile" | "read:accounts" | "read"));
    if !may {
        return error_response(
            StatusCode::FORBIDDEN,
            "This action is outside the authorized scopes",
        );
    }
    json_response(
        StatusCode::OK,
        &json!({
            "id": "109876543210987654",
            "username": FAKE_USERNAME,
            "acct": FAKE_USERNAME,
            "display_name": "Test User",
            "url": format!("{}/@{FAKE_USERNAME}", state.base_url),
        }),
    )
}

/// Mastodon answers with the application's scopes; this fake, with the
/// token's own (the same for a token from `/oauth/token`, and what a test
/// wants for a hand-made one).
async fn app_credentials(State(shared): State<Shared>, headers: HeaderMap) -> Response {
    let state = shared.lock();
    let Some(scopes) = bearer(&headers).and_then(|t| state.oauth.scopes_of(&t)) else {
        return invalid_token_response();
    };
    let mut app = json!({ "name": "backfeed", "website": null, "vapid_key": "fake-vapid-key" });
    if !state.oauth.legacy {
        app["scopes"] = json!(scopes);
    }
    json_response(StatusCode::OK, &app)
}
