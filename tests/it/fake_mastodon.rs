//! A fake Mastodon server on loopback, for the integration tests.
//!
//! It answers the few API calls backfeed makes the way a real Mastodon 4.x
//! instance does: `POST /api/v1/statuses` (form or JSON body, bearer token,
//! `Idempotency-Key`, the instance's character limit, rate-limit headers),
//! `GET /api/v1/statuses/:id` and `GET /api/v2/instance`. Tests inject
//! failures (401, 422, 429, 503, hangs, …), slow answers down to widen race
//! windows, turn idempotency off, and then read back what the server received
//! and created.
//!
//! Applications, OAuth codes and tokens live in `fake_mastodon_oauth.rs`.
//!
//! Reply threads live in `fake_mastodon_replies.rs` (the `replies` module):
//! `add_reply`, `edit_status`, `delete_status`, `set_counts`, and
//! `GET /api/v1/statuses/:id/context` with its own failure injection.
//!
//! The state lives behind a `std::sync::Mutex` that is only ever locked inside
//! small synchronous functions, never across an `.await`.

// Not every test uses every helper.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The only access token the fake accepts (`Authorization: Bearer test-token`).
pub const FAKE_TOKEN: &str = "test-token";
/// The account every created status belongs to.
pub const FAKE_USERNAME: &str = "testuser";

const FAKE_ACCOUNT_ID: &str = "109876543210987654";
const RATE_LIMIT: u32 = 300;
const RATE_LIMIT_PERIOD_SECS: i64 = 300;
const HANG_FOR: Duration = Duration::from_hours(1);
const VISIBILITIES: [&str; 4] = ["public", "unlisted", "private", "direct"];

#[path = "fake_mastodon_replies.rs"]
mod replies;

#[path = "fake_mastodon_oauth.rs"]
mod oauth;

// Not every test binary module uses them yet.
#[allow(unused_imports)]
pub use replies::{DEFAULT_REPLY_ACCT, ReplySpec};

/// How the next `POST /api/v1/statuses` (or every one) goes wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// 401 `The access token is invalid`, as for a revoked token.
    Unauthorized,
    /// 403 `This action is not allowed`, as for a suspended account.
    Forbidden,
    /// 422 with this message, e.g. `Validation failed: …`.
    Unprocessable(String),
    /// 429 `Too many requests`, `X-RateLimit-Remaining: 0` and a reset this
    /// many seconds from now.
    RateLimited { reset_in_secs: i64 },
    /// 503 `Service Unavailable`, as during maintenance.
    Unavailable,
    /// 500 `We're sorry, but something went wrong`.
    ServerError,
    /// Never answers (sleeps an hour); nothing is created.
    Hang,
    /// Creates the status (storing its idempotency key), then never answers:
    /// the client times out although the toot exists.
    HangAfterCreating,
    /// Creates the status (storing its idempotency key), then answers 504 like
    /// a reverse proxy that gave up waiting.
    GatewayTimeoutAfterCreating,
}

impl Failure {
    fn happens_after_creating(&self) -> bool {
        matches!(
            self,
            Self::HangAfterCreating | Self::GatewayTimeoutAfterCreating
        )
    }
}

/// One `POST /api/v1/statuses` as the fake received it, whatever its fate.
#[derive(Debug, Clone, Default)]
pub struct ReceivedPost {
    /// Query and body parameters (form or JSON; non-string JSON values as JSON
    /// text). A repeated form key keeps its last value.
    pub fields: BTreeMap<String, String>,
    /// The raw `Authorization` header.
    pub authorization: Option<String>,
    /// The raw `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    pub content_type: Option<String>,
    pub user_agent: Option<String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    body_is_malformed: bool,
}

impl ReceivedPost {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The `status` parameter: the toot's text.
    pub fn status(&self) -> Option<&str> {
        self.field("status")
    }

    pub fn visibility(&self) -> Option<&str> {
        self.field("visibility")
    }

    pub fn language(&self) -> Option<&str> {
        self.field("language")
    }

    fn from_request(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Self {
        let content_type = header_text(headers, header::CONTENT_TYPE);
        let mut fields = query.map(parse_form).unwrap_or_default();
        let body_fields = parse_body(content_type.as_deref(), body);
        let body_is_malformed = body_fields.is_none();
        fields.extend(body_fields.unwrap_or_default());
        Self {
            fields,
            authorization: header_text(headers, header::AUTHORIZATION),
            idempotency_key: header_text(headers, "idempotency-key"),
            content_type,
            user_agent: header_text(headers, header::USER_AGENT),
            body: String::from_utf8_lossy(body).into_owned(),
            body_is_malformed,
        }
    }

    fn bearer_token(&self) -> Option<&str> {
        let (scheme, token) = self.authorization.as_deref()?.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    }

    /// The key Mastodon honours: present and not blank.
    fn usable_idempotency_key(&self) -> Option<&str> {
        self.idempotency_key
            .as_deref()
            .filter(|key| !key.trim().is_empty())
    }
}

/// A fake Mastodon instance serving on `base_url` until dropped.
pub struct FakeMastodon {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub base_url: String,
    shared: Shared,
    server: tokio::task::AbortHandle,
}

impl FakeMastodon {
    /// Binds 127.0.0.1 on a free port and serves in a background task.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("fake Mastodon binds a loopback port");
        let address = listener.local_addr().expect("bound socket has an address");
        let base_url = format!("http://{address}");
        let shared = Shared::new(ServerState::new(base_url.clone()));
        let app = router(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base_url,
            shared,
            server: server.abort_handle(),
        }
    }

    /// Every `POST /api/v1/statuses`, including those that failed.
    pub fn posts_received(&self) -> usize {
        self.shared.lock().received.len()
    }

    /// Statuses actually created (idempotent replays are not counted).
    pub fn statuses_created(&self) -> usize {
        self.shared.lock().statuses_created
    }

    /// Every `POST /api/v1/statuses`, in arrival order.
    pub fn received(&self) -> Vec<ReceivedPost> {
        self.shared.lock().received.clone()
    }

    /// The statuses this instance knows, as the API renders them, oldest first
    /// (replies added with `add_reply` included, deleted ones not).
    pub fn statuses(&self) -> Vec<Value> {
        let state = self.shared.lock();
        state.render_all(&state.statuses)
    }

    /// Whether a repeated `Idempotency-Key` returns the original status
    /// (default) or creates another one, as some servers do.
    pub fn set_honour_idempotency(&self, on: bool) {
        self.shared.lock().honour_idempotency = on;
    }

    /// Queues a failure for the next `POST /api/v1/statuses`; each is used once.
    pub fn fail_next(&self, failure: Failure) {
        self.shared.lock().queued_failures.push_back(failure);
    }

    /// Fails every `POST /api/v1/statuses` this way until given `None`.
    /// Queued `fail_next` failures go first.
    pub fn fail_always(&self, failure: Option<Failure>) {
        self.shared.lock().standing_failure = failure;
    }

    /// Delays every answer to `POST /api/v1/statuses`. A request holds its
    /// idempotency key while it waits, so concurrent retries see it in flight.
    pub fn set_post_delay(&self, delay: Duration) {
        self.shared.lock().post_delay = delay;
    }

    /// What `GET /api/v2/instance` announces and `POST` enforces (default 500 / 23).
    pub fn set_instance_limits(&self, max_characters: usize, characters_reserved_per_url: usize) {
        self.shared.lock().limits = InstanceLimits {
            max_characters,
            characters_reserved_per_url,
        };
    }

    /// Calls to `GET /api/v2/instance`, including those answered 503.
    pub fn instance_requests(&self) -> usize {
        self.shared.lock().instance_requests
    }

    /// Makes `GET /api/v2/instance` answer 503 while on.
    pub fn set_instance_unavailable(&self, on: bool) {
        self.shared.lock().instance_unavailable = on;
    }

    /// While on, every request (statuses, threads, the instance, OAuth)
    /// hangs, as an instance that stopped answering; each is counted in
    /// [`Self::hung_requests`].
    pub fn set_hang_everything(&self, on: bool) {
        self.shared.lock().hang_everything = on;
    }

    /// Requests that arrived while [`Self::set_hang_everything`] was on.
    pub fn hung_requests(&self) -> usize {
        self.shared.lock().hung_requests
    }
}

impl Drop for FakeMastodon {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/api/v1/statuses", post(post_status))
        .route("/api/v1/statuses/{id}", get(get_status))
        .route("/api/v1/statuses/{id}/context", get(replies::get_context))
        .route("/api/v2/instance", get(get_instance))
        .merge(oauth::routes())
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "Record not found") })
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            hang_when_asked,
        ))
        .with_state(shared)
}

/// The whole instance hangs while `hang_everything` is on.
async fn hang_when_asked(
    State(shared): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let hang = {
        let mut state = shared.lock();
        state.hung_requests += usize::from(state.hang_everything);
        state.hang_everything
    };
    if hang {
        tokio::time::sleep(HANG_FOR).await;
    }
    next.run(request).await
}

// ---------------------------------------------------------------------------
// Handlers

async fn post_status(
    State(shared): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let post = ReceivedPost::from_request(&headers, query.as_deref(), &body);
    let (decision, delay) = shared.lock().receive(post.clone());
    let claim = decision.claimed_key().map(|key| KeyClaim {
        shared: shared.clone(),
        key,
    });
    tokio::time::sleep(delay).await;
    let answer = match decision {
        Decision::Fail(failure) => return answer_failure(&shared, &failure).await,
        Decision::Refuse(status, message) => error_response(status, &message),
        Decision::KeyInProgress => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "Another request with the same idempotency key is in progress",
        ),
        Decision::ReplayOriginal(status) => json_response(StatusCode::OK, &status),
        Decision::Create {
            claimed_key,
            then_fail,
        } => {
            let created = shared.lock().create_status(&post, claimed_key);
            drop(claim);
            match (created, then_fail) {
                (Ok(_), Some(failure)) => return answer_failure(&shared, &failure).await,
                (Ok(status), None) => json_response(StatusCode::OK, &status),
                (Err(message), _) => error_response(StatusCode::UNPROCESSABLE_ENTITY, &message),
            }
        }
    };
    shared.lock().rate_limit.count_call(answer)
}

async fn answer_failure(shared: &Shared, failure: &Failure) -> Response {
    let answer = match failure {
        Failure::Hang | Failure::HangAfterCreating => {
            tokio::time::sleep(HANG_FOR).await;
            error_response(StatusCode::GATEWAY_TIMEOUT, "Gateway Timeout")
        }
        Failure::RateLimited { reset_in_secs } => {
            let now = OffsetDateTime::now_utc();
            let reset_at = now
                .checked_add(time::Duration::seconds(*reset_in_secs))
                .unwrap_or(now);
            let answer = error_response(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
            return with_rate_limit_headers(answer, 0, reset_at);
        }
        Failure::Unauthorized => invalid_token_response(),
        Failure::Forbidden => error_response(StatusCode::FORBIDDEN, "This action is not allowed"),
        Failure::Unprocessable(message) => {
            error_response(StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        Failure::Unavailable => {
            error_response(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
        }
        Failure::ServerError => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "We're sorry, but something went wrong",
        ),
        Failure::GatewayTimeoutAfterCreating => gateway_timeout_page(),
    };
    shared.lock().rate_limit.count_call(answer)
}

async fn get_status(State(shared): State<Shared>, Path(id): Path<String>) -> Response {
    let mut state = shared.lock();
    let answer = match state
        .statuses
        .iter()
        .find(|status| status["id"] == id.as_str())
    {
        Some(status) => json_response(StatusCode::OK, &state.render(status)),
        None => error_response(StatusCode::NOT_FOUND, "Record not found"),
    };
    state.rate_limit.count_call(answer)
}

async fn get_instance(State(shared): State<Shared>) -> Response {
    let mut state = shared.lock();
    state.instance_requests += 1;
    if state.instance_unavailable {
        return error_response(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    json_response(StatusCode::OK, &instance_json(&state.limits))
}

// ---------------------------------------------------------------------------
// State

#[derive(Clone)]
struct Shared(Arc<Mutex<ServerState>>);

impl Shared {
    fn new(state: ServerState) -> Self {
        Self(Arc::new(Mutex::new(state)))
    }

    /// Locks the state; a panicking test thread must not wedge the fake.
    fn lock(&self) -> MutexGuard<'_, ServerState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

struct ServerState {
    base_url: String,
    received: Vec<ReceivedPost>,
    statuses: Vec<Value>,
    statuses_created: usize,
    last_status_id: u64,
    honour_idempotency: bool,
    idempotency_keys: HashMap<IdempotencyKey, KeyState>,
    queued_failures: VecDeque<Failure>,
    standing_failure: Option<Failure>,
    post_delay: Duration,
    limits: InstanceLimits,
    instance_requests: usize,
    instance_unavailable: bool,
    hang_everything: bool,
    hung_requests: usize,
    rate_limit: RateLimit,
    /// Reply threads: accounts, count overrides, the context endpoint's knobs.
    threads: replies::Threads,
    /// Applications, codes and tokens (`fake_mastodon_oauth.rs`).
    oauth: oauth::OAuth,
}

/// Idempotency keys are per account, hence per token.
type IdempotencyKey = (String, String);

enum KeyState {
    InFlight,
    Used { status_id: String },
}

/// What to do with a received `POST`, decided under one lock.
enum Decision {
    Fail(Failure),
    Refuse(StatusCode, String),
    KeyInProgress,
    ReplayOriginal(Value),
    Create {
        claimed_key: Option<IdempotencyKey>,
        then_fail: Option<Failure>,
    },
}

impl Decision {
    fn claimed_key(&self) -> Option<IdempotencyKey> {
        match self {
            Self::Create { claimed_key, .. } => claimed_key.clone(),
            _ => None,
        }
    }
}

impl ServerState {
    fn new(base_url: String) -> Self {
        Self {
            base_url,
            received: Vec::new(),
            statuses: Vec::new(),
            statuses_created: 0,
            last_status_id: 0,
            honour_idempotency: true,
            idempotency_keys: HashMap::new(),
            queued_failures: VecDeque::new(),
            standing_failure: None,
            post_delay: Duration::ZERO,
            limits: InstanceLimits::default(),
            instance_requests: 0,
            instance_unavailable: false,
            hang_everything: false,
            hung_requests: 0,
            rate_limit: RateLimit::default(),
            threads: replies::Threads::default(),
            oauth: oauth::OAuth::default(),
        }
    }

    /// Records the request and decides its fate, in Mastodon's order:
    /// failure injected "in front", token, body, idempotency key.
    fn receive(&mut self, post: ReceivedPost) -> (Decision, Duration) {
        let decision = match self.take_failure() {
            Some(failure) if !failure.happens_after_creating() => Decision::Fail(failure),
            then_fail => self.decide_on_request(&post, then_fail),
        };
        self.received.push(post);
        (decision, self.post_delay)
    }

    fn take_failure(&mut self) -> Option<Failure> {
        self.queued_failures
            .pop_front()
            .or_else(|| self.standing_failure.clone())
    }

    fn decide_on_request(&mut self, post: &ReceivedPost, then_fail: Option<Failure>) -> Decision {
        let Some(token) = post.bearer_token().filter(|token| *token == FAKE_TOKEN) else {
            return Decision::Fail(Failure::Unauthorized);
        };
        if post.body_is_malformed {
            let message = "Error occurred while parsing request parameters".to_owned();
            return Decision::Refuse(StatusCode::BAD_REQUEST, message);
        }
        let key = post
            .usable_idempotency_key()
            .filter(|_| self.honour_idempotency)
            .map(|key| (token.to_owned(), key.to_owned()));
        match key {
            Some(key) => self.claim_key(key, then_fail),
            None => Decision::Create {
                claimed_key: None,
                then_fail,
            },
        }
    }

    fn claim_key(&mut self, key: IdempotencyKey, then_fail: Option<Failure>) -> Decision {
        match self.idempotency_keys.get(&key) {
            Some(KeyState::InFlight) => Decision::KeyInProgress,
            Some(KeyState::Used { status_id }) => match self.status_by_id(status_id) {
                Some(original) => Decision::ReplayOriginal(original.clone()),
                None => Decision::Refuse(StatusCode::NOT_FOUND, "Record not found".to_owned()),
            },
            None => {
                self.idempotency_keys
                    .insert(key.clone(), KeyState::InFlight);
                Decision::Create {
                    claimed_key: Some(key),
                    then_fail,
                }
            }
        }
    }

    /// Validates like Mastodon and, if valid, creates and returns the status,
    /// remembering it under the claimed idempotency key.
    fn create_status(
        &mut self,
        post: &ReceivedPost,
        claimed_key: Option<IdempotencyKey>,
    ) -> Result<Value, String> {
        let fields = validate(post, &self.limits)?;
        let id = self.next_status_id();
        let status = status_json(&self.base_url, &id, &fields);
        self.statuses.push(status.clone());
        self.statuses_created += 1;
        if let Some(key) = claimed_key {
            self.idempotency_keys
                .insert(key, KeyState::Used { status_id: id });
        }
        Ok(status)
    }

    fn status_by_id(&self, id: &str) -> Option<&Value> {
        self.statuses.iter().find(|status| status["id"] == id)
    }

    /// Snowflake-like, as Mastodon's: milliseconds since the epoch shifted
    /// left 16 bits, strictly increasing; rendered as a string.
    fn next_status_id(&mut self) -> String {
        let millis = u64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
            .unwrap_or_default();
        self.last_status_id = (millis << 16).max(self.last_status_id + 1);
        self.last_status_id.to_string()
    }
}

/// An idempotency key held "in flight" by one request. If that request ends
/// without creating a status (validation error, client gone), the key is
/// released so a retry may try again.
struct KeyClaim {
    shared: Shared,
    key: IdempotencyKey,
}

impl Drop for KeyClaim {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if matches!(
            state.idempotency_keys.get(&self.key),
            Some(KeyState::InFlight)
        ) {
            state.idempotency_keys.remove(&self.key);
        }
    }
}

// ---------------------------------------------------------------------------
// Validation and rendering of statuses

#[derive(Debug, Clone, Copy)]
struct InstanceLimits {
    max_characters: usize,
    characters_reserved_per_url: usize,
}

impl Default for InstanceLimits {
    fn default() -> Self {
        Self {
            max_characters: 500,
            characters_reserved_per_url: 23,
        }
    }
}

impl InstanceLimits {
    /// Mastodon's count, approximated: chars, each URL as a fixed length.
    fn count(&self, text: &str) -> usize {
        text.split_inclusive(char::is_whitespace)
            .map(|token| {
                let word = token.trim_end_matches(char::is_whitespace);
                let spaces = token[word.len()..].chars().count();
                if is_url(word) {
                    self.characters_reserved_per_url + spaces
                } else {
                    token.chars().count()
                }
            })
            .sum()
    }
}

fn is_url(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len())
}

/// The fields of a status that passed validation.
struct StatusFields {
    text: String,
    visibility: String,
    language: String,
    spoiler_text: String,
    sensitive: bool,
}

fn validate(post: &ReceivedPost, limits: &InstanceLimits) -> Result<StatusFields, String> {
    let text = post.status().unwrap_or_default();
    let spoiler_text = post.field("spoiler_text").unwrap_or_default();
    let visibility = post
        .visibility()
        .filter(|v| !v.is_empty())
        .unwrap_or("public");
    if !VISIBILITIES.contains(&visibility) {
        return Err("Validation failed: Visibility is not included in the list".to_owned());
    }
    if text.trim().is_empty() {
        return Err("Validation failed: Text can't be blank".to_owned());
    }
    if limits.count(text) + spoiler_text.chars().count() > limits.max_characters {
        return Err(format!(
            "Validation failed: Text character limit of {} exceeded",
            limits.max_characters
        ));
    }
    Ok(StatusFields {
        text: text.to_owned(),
        visibility: visibility.to_owned(),
        language: language_or_default(post.language()),
        spoiler_text: spoiler_text.to_owned(),
        sensitive: matches!(post.field("sensitive"), Some("true" | "1"))
            || !spoiler_text.is_empty(),
    })
}

/// Mastodon keeps a valid ISO 639 code and otherwise falls back to the
/// server's default, `en`: a region tag such as `en-GB` is not kept.
fn language_or_default(language: Option<&str>) -> String {
    match language {
        Some(code)
            if (2..=3).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphabetic()) =>
        {
            code.to_ascii_lowercase()
        }
        _ => "en".to_owned(),
    }
}

fn status_json(base_url: &str, id: &str, fields: &StatusFields) -> Value {
    json!({
        "id": id,
        "created_at": iso8601_millis(OffsetDateTime::now_utc()),
        "in_reply_to_id": null,
        "in_reply_to_account_id": null,
        "sensitive": fields.sensitive,
        "spoiler_text": fields.spoiler_text,
        "visibility": fields.visibility,
        "language": fields.language,
        "uri": format!("{base_url}/users/{FAKE_USERNAME}/statuses/{id}"),
        "url": format!("{base_url}/@{FAKE_USERNAME}/{id}"),
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": null,
        "content": content_html(&fields.text),
        "reblog": null,
        "account": account_json(base_url),
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": null,
        "poll": null,
    })
}

fn account_json(base_url: &str) -> Value {
    json!({
        "id": FAKE_ACCOUNT_ID,
        "username": FAKE_USERNAME,
        "acct": FAKE_USERNAME,
        "display_name": "Test User",
        "locked": false,
        "bot": false,
        "url": format!("{base_url}/@{FAKE_USERNAME}"),
        "uri": format!("{base_url}/users/{FAKE_USERNAME}"),
        "avatar": format!("{base_url}/avatars/original/missing.png"),
        "avatar_static": format!("{base_url}/avatars/original/missing.png"),
        "note": "",
        "emojis": [],
        "fields": [],
    })
}

/// The text as Mastodon renders plain text: escaped, paragraphs on blank
/// lines, `<br />` on single newlines (links are left unlinked).
fn content_html(text: &str) -> String {
    let normalized = text.replace("\r\n", "\n");
    normalized
        .split("\n\n")
        .map(|paragraph| paragraph.trim_matches('\n'))
        .filter(|paragraph| !paragraph.is_empty())
        .map(|paragraph| format!("<p>{}</p>", html_escape(paragraph).replace('\n', "<br />")))
        .collect()
}

fn html_escape(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                other => out.push(other),
            }
            out
        })
}

fn instance_json(limits: &InstanceLimits) -> Value {
    json!({
        "domain": "127.0.0.1",
        "title": "Fake",
        "version": "4.3.0",
        "configuration": {
            "statuses": {
                "max_characters": limits.max_characters,
                "max_media_attachments": 4,
                "characters_reserved_per_url": limits.characters_reserved_per_url,
            },
            "urls": {},
        },
    })
}

// ---------------------------------------------------------------------------
// Rate limit headers

/// Mastodon's per-account budget: 300 calls per 5-minute window.
struct RateLimit {
    remaining: u32,
    window_end: OffsetDateTime,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self {
            remaining: RATE_LIMIT,
            window_end: OffsetDateTime::UNIX_EPOCH,
        }
    }
}

impl RateLimit {
    /// Spends one call of the budget and says so in the answer's headers.
    fn count_call(&mut self, answer: Response) -> Response {
        let now = OffsetDateTime::now_utc();
        if now >= self.window_end {
            self.remaining = RATE_LIMIT;
            self.window_end = end_of_window(now);
        }
        self.remaining = self.remaining.saturating_sub(1);
        with_rate_limit_headers(answer, self.remaining, self.window_end)
    }
}

fn end_of_window(now: OffsetDateTime) -> OffsetDateTime {
    let start = now.unix_timestamp() - now.unix_timestamp().rem_euclid(RATE_LIMIT_PERIOD_SECS);
    OffsetDateTime::from_unix_timestamp(start + RATE_LIMIT_PERIOD_SECS).unwrap_or(now)
}

fn with_rate_limit_headers(
    mut answer: Response,
    remaining: u32,
    reset_at: OffsetDateTime,
) -> Response {
    let headers = answer.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(RATE_LIMIT));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    if let Ok(reset) = HeaderValue::from_str(&iso8601_micros(reset_at)) {
        headers.insert("x-ratelimit-reset", reset);
    }
    answer
}

// ---------------------------------------------------------------------------
// Small helpers

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut answer = (status, body.to_string()).into_response();
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    answer
}

fn error_response(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn invalid_token_response() -> Response {
    let mut answer = error_response(StatusCode::UNAUTHORIZED, "The access token is invalid");
    answer.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            r#"Bearer realm="Doorkeeper", error="invalid_token", error_description="The access token is invalid""#,
        ),
    );
    answer
}

/// What nginx in front of Mastodon says when the app was too slow.
fn gateway_timeout_page() -> Response {
    let page = "<html>\r\n<head><title>504 Gateway Time-out</title></head>\r\n<body>\r\n\
                <center><h1>504 Gateway Time-out</h1></center>\r\n<hr><center>nginx</center>\r\n\
                </body>\r\n</html>\r\n";
    let mut answer = (StatusCode::GATEWAY_TIMEOUT, page).into_response();
    answer
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    answer
}

fn header_text(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
}

/// Body parameters, or `None` for a body Rails could not parse.
/// Other content types contribute no parameters, as in Rails.
fn parse_body(content_type: Option<&str>, body: &[u8]) -> Option<BTreeMap<String, String>> {
    let media_type = content_type
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    match media_type.to_ascii_lowercase().as_str() {
        "application/x-www-form-urlencoded" => Some(parse_form(&String::from_utf8_lossy(body))),
        "application/json" if body.iter().all(u8::is_ascii_whitespace) => Some(BTreeMap::new()),
        "application/json" => parse_json_object(body),
        _ => Some(BTreeMap::new()),
    }
}

fn parse_form(encoded: &str) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect()
}

fn parse_json_object(body: &[u8]) -> Option<BTreeMap<String, String>> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let as_text = |value: Value| match value {
        Value::String(text) => text,
        other => other.to_string(),
    };
    Some(
        object
            .into_iter()
            .map(|(name, value)| (name, as_text(value)))
            .collect(),
    )
}

/// `2026-11-22T10:44:12.345Z`, as Mastodon renders `created_at`.
fn iso8601_millis(at: OffsetDateTime) -> String {
    format!("{}.{:03}Z", iso8601_seconds(at), at.millisecond())
}

/// `2026-11-22T10:50:00.000000Z`, as Mastodon renders `X-RateLimit-Reset`.
fn iso8601_micros(at: OffsetDateTime) -> String {
    format!("{}.{:06}Z", iso8601_seconds(at), at.microsecond())
}

fn iso8601_seconds(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
