//! Reply threads for the fake Mastodon, behaving like Mastodon 4.3.
//!
//! Tests add replies (`add_reply`), edit and delete statuses, pin counts, and
//! read threads back through `GET /api/v1/statuses/:id/context`, which works
//! like `Api::V1::Statuses::ContextsController`:
//!
//! - With `Authorization: Bearer test-token` (the owner) every visibility is
//!   included and at most 4,096 ancestors and 4,096 descendants are returned.
//!   Without a token only `public` and `unlisted` statuses are, at most 40
//!   ancestors and 60 descendants, at most 20 levels deep, and a private or
//!   direct status itself is 404. As in Mastodon the limit is applied to the
//!   tree *before* statuses the viewer may not see are dropped, so an
//!   anonymous answer can hold fewer than 60 even when more are visible.
//!   Any other bearer token is 401 `The access token is invalid`.
//! - Descendants come in Mastodon's order: depth first, siblings by id
//!   (`ORDER BY path` over the id path), then "self-replies" (a status whose
//!   `in_reply_to_account_id` is its own account's id, as when someone
//!   continues their own reply, or the owner answers under their toot) are
//!   moved to the front, keeping their relative order
//!   (`StatusThreadingConcern#promote_by!`). A self-reply can therefore come
//!   before its own parent. Ancestors come root first.
//! - Deleting a status nullifies its replies' `in_reply_to_id` (Mastodon's
//!   foreign key is `on_delete: :nullify`); `in_reply_to_account_id` stays.
//!   The replies become orphans: no longer descendants of the root, though
//!   their own replies are still theirs.
//! - `replies_count` counts the direct replies whose visibility is `public`
//!   or `unlisted`: Mastodon's `Status#increment_counter_caches` only counts
//!   `distributable?` replies, so private and direct replies, which the
//!   owner's token does show in the context, are *not* in `replies_count`.
//!   `set_counts` overrides all three counts.
//!
//! `Mastodon-Async-Refresh` (see `set_async_refresh`). Documented at
//! <https://docs.joinmastodon.org/methods/async_refreshes/> ("Experimental
//! async refreshes API methods"): an answer MAY carry
//! `Mastodon-Async-Refresh: id="<string>", retry=<int>, result_count=<int>`,
//! where `retry` is the number of seconds the client SHOULD at least wait
//! before retrying the same endpoint or polling
//! `GET /api/v1_alpha/async_refreshes/:id`, and `result_count` is optional:
//! how many results the running refresh has already fetched. Mastodon's
//! `AsyncRefreshesConcern#add_async_refresh_header` writes exactly
//! `id="#{id}", retry=#{retry_seconds}` plus `, result_count=#{n}` when the
//! refresh counts results; `ContextsController#show` adds it (retry 3) while
//! `ActivityPub::FetchAllRepliesWorker` is fetching remote replies of the
//! status. The header and endpoint appeared in Mastodon 4.4 (experimental,
//! `v1_alpha`); a real 4.3 never sends it. The fake sends it only when set,
//! on successful context answers, with or without a token, and always with
//! `result_count`; it does not serve `/api/v1_alpha/async_refreshes/:id`.
//!
//! Not modelled: blocks, mutes and filters; private replies being visible
//! only to followers or mentioned accounts (the owner sees them all, which is
//! what the design notes assume); `GET /api/v1/statuses/:id` keeps answering
//! every status whatever the token, as it did before this module existed;
//! anonymous calls share the owner's rate-limit budget (Mastodon counts them
//! per IP).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{
    FAKE_TOKEN, FAKE_USERNAME, Failure, FakeMastodon, ServerState, Shared, VISIBILITIES,
    account_json, answer_failure, error_response, invalid_token_response, iso8601_millis,
    json_response,
};

/// The account a reply comes from when `ReplySpec::acct` is empty.
pub const DEFAULT_REPLY_ACCT: &str = "alice@social.example";

/// Mastodon's `CONTEXT_LIMIT`, for a viewer with a token.
const CONTEXT_LIMIT: usize = 4_096;
/// Mastodon's limits for logged-out viewers.
const ANONYMOUS_ANCESTORS_LIMIT: usize = 40;
const ANONYMOUS_DESCENDANTS_LIMIT: usize = 60;
const ANONYMOUS_DEPTH_LIMIT: usize = 20;

const FIRST_ACCOUNT_ID: u64 = 110_000_000_000_000_000;
const FIRST_MEDIA_ID: u64 = 111_000_000_000_000_000;

/// A reply to add with [`FakeMastodon::add_reply`]. Empty fields mean:
/// `acct` → [`DEFAULT_REPLY_ACCT`], `visibility` → `public`; an empty
/// `display_name` stays empty (Mastodon allows it), `created_at: None` is now.
#[derive(Debug, Clone, Default)]
pub struct ReplySpec {
    /// The status replied to: the announcing toot or another reply.
    pub in_reply_to_id: String,
    /// `alice@social.example` for a remote account, `bob` for a local one;
    /// `testuser` ([`FAKE_USERNAME`]) is the owner. One account per `acct`:
    /// the latest spec's `display_name` and name emojis win, for all of that
    /// account's statuses (the owner's account never changes).
    pub acct: String,
    pub display_name: String,
    /// Used as is, as Mastodon serves remote HTML (already sanitised there).
    pub content_html: String,
    /// `public` | `unlisted` | `private` | `direct`.
    pub visibility: &'static str,
    /// The content warning; non-empty makes the status `sensitive`.
    pub spoiler_text: String,
    /// `(shortcode, url)`. Each goes to `account.emojis` if `:shortcode:`
    /// occurs in the display name, to the status's `emojis` if it occurs in
    /// the content or spoiler text, and to the status's `emojis` if nowhere.
    pub emojis: Vec<(String, String)>,
    /// `(type, url, description)`; type `image` | `video` | `gifv` | `audio`
    /// | `unknown`. `preview_url` is the url (with `/original/` turned into
    /// `/small/`), or null for audio.
    pub media: Vec<(String, String, Option<String>)>,
    /// As rendered, e.g. `2026-11-22T10:44:12.345Z`; `None` is now.
    pub created_at: Option<String>,
}

impl FakeMastodon {
    /// Adds a reply and returns its id (a string, larger than every id
    /// before). Panics if `in_reply_to_id` is unknown or the visibility is
    /// not one of Mastodon's four.
    pub fn add_reply(&self, spec: ReplySpec) -> String {
        self.shared.lock().add_reply(spec)
    }

    /// Replaces a status's `content` and sets `edited_at` to now, as an edit
    /// on Mastodon does. Panics if the id is unknown.
    pub fn edit_status(&self, id: &str, content_html: &str) {
        self.shared.lock().edit_status(id, content_html);
    }

    /// Deletes a status. Its replies stay, with `in_reply_to_id: null`
    /// (orphans, no longer descendants of the root). Panics if unknown.
    pub fn delete_status(&self, id: &str) {
        self.shared.lock().delete_status(id);
    }

    /// Sets the counts the API shows for this status, instead of the
    /// counted `replies_count` and the zero reblogs and favourites.
    /// Panics if the id is unknown.
    pub fn set_counts(&self, id: &str, replies: u64, reblogs: u64, favourites: u64) {
        self.shared.lock().set_counts(
            id,
            Counts {
                replies,
                reblogs,
                favourites,
            },
        );
    }

    /// Queues a failure for the next `GET /api/v1/statuses/:id/context`;
    /// each is used once, after the context delay. `HangAfterCreating` hangs
    /// like `Hang`; `GatewayTimeoutAfterCreating` is nginx's 504 page.
    pub fn fail_context_next(&self, failure: Failure) {
        self.shared
            .lock()
            .threads
            .context_failures
            .push_back(failure);
    }

    /// Delays every answer to `GET /api/v1/statuses/:id/context`.
    pub fn set_context_delay(&self, delay: Duration) {
        self.shared.lock().threads.context_delay = delay;
    }

    /// Holds every answer to `GET /api/v1/statuses/:id/context` (they are
    /// counted as they arrive) until [`Self::release_contexts`].
    pub fn hold_contexts(&self) {
        self.shared.lock().threads.context_held = true;
    }

    /// Lets held and later context requests be answered.
    pub fn release_contexts(&self) {
        let released = {
            let mut state = self.shared.lock();
            state.threads.context_held = false;
            Arc::clone(&state.threads.context_released)
        };
        released.notify_waiters();
    }

    /// Calls to `GET /api/v1/statuses/:id/context`, failed ones included.
    pub fn context_requests(&self) -> usize {
        self.shared.lock().threads.context_requests
    }

    /// `Some((id, retry_secs, result_count))` makes successful context
    /// answers carry `Mastodon-Async-Refresh: id="<id>", retry=<retry_secs>,
    /// result_count=<result_count>`; `None` (the default) removes it.
    pub fn set_async_refresh(&self, refresh: Option<(String, u64, u64)>) {
        self.shared.lock().threads.async_refresh = refresh;
    }
}

/// The part of the fake's state that only threads use.
#[derive(Default)]
pub(super) struct Threads {
    /// Accounts other than the owner's, by `acct`, as rendered.
    accounts: HashMap<String, Value>,
    accounts_created: u64,
    media_created: u64,
    count_overrides: HashMap<String, Counts>,
    context_failures: VecDeque<Failure>,
    context_delay: Duration,
    context_requests: usize,
    /// While set, context answers wait for `context_released`.
    context_held: bool,
    context_released: Arc<tokio::sync::Notify>,
    async_refresh: Option<(String, u64, u64)>,
}

#[derive(Debug, Clone, Copy)]
struct Counts {
    replies: u64,
    reblogs: u64,
    favourites: u64,
}

/// Who asks for a context.
enum Viewer {
    Anonymous,
    Owner,
    InvalidToken,
}

impl Viewer {
    /// As Doorkeeper reads it: a bearer token must be valid; no token (or
    /// another scheme) is a logged-out request.
    fn of(headers: &HeaderMap) -> Self {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Self::Anonymous;
        };
        let value = String::from_utf8_lossy(value.as_bytes());
        match value.trim().split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                if token.trim() == FAKE_TOKEN {
                    Self::Owner
                } else {
                    Self::InvalidToken
                }
            }
            _ => Self::Anonymous,
        }
    }
}

struct ContextLimits {
    ancestors: usize,
    descendants: usize,
    depth: Option<usize>,
}

pub(super) async fn get_context(
    State(shared): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (failure, delay) = {
        let mut state = shared.lock();
        let threads = &mut state.threads;
        threads.context_requests += 1;
        (threads.context_failures.pop_front(), threads.context_delay)
    };
    wait_while_held(&shared).await;
    tokio::time::sleep(delay).await;
    if let Some(failure) = failure {
        return answer_failure(&shared, &failure).await;
    }
    let mut state = shared.lock();
    let answer = state.answer_context(&id, &headers);
    state.rate_limit.count_call(answer)
}

/// Waits until the test releases held context answers (no polling: the
/// wake-up is armed before the flag is read).
async fn wait_while_held(shared: &Shared) {
    loop {
        let released = Arc::clone(&shared.lock().threads.context_released);
        let wake = released.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        if !shared.lock().threads.context_held {
            return;
        }
        wake.await;
    }
}

impl ServerState {
    /// The status as the API renders it now, with its counts.
    pub(super) fn render(&self, status: &Value) -> Value {
        self.render_all([status]).remove(0)
    }

    /// Several statuses as the API renders them, with their counts.
    pub(super) fn render_all<'a>(
        &self,
        statuses: impl IntoIterator<Item = &'a Value>,
    ) -> Vec<Value> {
        let mut replies: HashMap<&str, u64> = HashMap::new();
        for status in self
            .statuses
            .iter()
            .filter(|status| is_distributable(status))
        {
            if let Some(parent) = status["in_reply_to_id"].as_str() {
                *replies.entry(parent).or_default() += 1;
            }
        }
        statuses
            .into_iter()
            .map(|status| {
                let id = status["id"].as_str().unwrap_or_default();
                let counts = self
                    .threads
                    .count_overrides
                    .get(id)
                    .copied()
                    .unwrap_or(Counts {
                        replies: replies.get(id).copied().unwrap_or_default(),
                        reblogs: status["reblogs_count"].as_u64().unwrap_or_default(),
                        favourites: status["favourites_count"].as_u64().unwrap_or_default(),
                    });
                let mut rendered = status.clone();
                rendered["replies_count"] = counts.replies.into();
                rendered["reblogs_count"] = counts.reblogs.into();
                rendered["favourites_count"] = counts.favourites.into();
                rendered
            })
            .collect()
    }

    fn answer_context(&self, id: &str, headers: &HeaderMap) -> Response {
        let (owner, limits) = match Viewer::of(headers) {
            Viewer::InvalidToken => return invalid_token_response(),
            Viewer::Owner => (
                true,
                ContextLimits {
                    ancestors: CONTEXT_LIMIT,
                    descendants: CONTEXT_LIMIT,
                    depth: None,
                },
            ),
            Viewer::Anonymous => (
                false,
                ContextLimits {
                    ancestors: ANONYMOUS_ANCESTORS_LIMIT,
                    descendants: ANONYMOUS_DESCENDANTS_LIMIT,
                    depth: Some(ANONYMOUS_DEPTH_LIMIT),
                },
            ),
        };
        let visible = |status: &&Value| owner || is_distributable(status);
        let Some(status) = self.status_by_id(id).filter(visible) else {
            return error_response(StatusCode::NOT_FOUND, "Record not found");
        };
        let ancestors: Vec<&Value> = self
            .ancestors(status, limits.ancestors)
            .into_iter()
            .filter(visible)
            .collect();
        let descendants: Vec<&Value> = self
            .descendants(status, limits.descendants, limits.depth)
            .into_iter()
            .filter(visible)
            .collect();
        let body = json!({
            "ancestors": self.render_all(ancestors),
            "descendants": self.render_all(promote_self_replies(descendants)),
        });
        let mut answer = json_response(StatusCode::OK, &body);
        let answer_headers = answer.headers_mut();
        answer_headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(if owner {
                "private, no-store"
            } else {
                "max-age=15, public, stale-while-revalidate=30, stale-if-error=86400"
            }),
        );
        if let Some((refresh_id, retry, result_count)) = &self.threads.async_refresh {
            let value = format!(r#"id="{refresh_id}", retry={retry}, result_count={result_count}"#);
            if let Ok(value) = HeaderValue::from_str(&value) {
                answer_headers.insert("mastodon-async-refresh", value);
            }
        }
        answer
    }

    /// The nearest `limit` ancestors, root first.
    fn ancestors(&self, status: &Value, limit: usize) -> Vec<&Value> {
        let mut chain = Vec::new();
        let mut parent_id = status["in_reply_to_id"].as_str();
        while let Some(id) = parent_id
            && chain.len() < limit
        {
            let Some(parent) = self.status_by_id(id) else {
                break;
            };
            chain.push(parent);
            parent_id = parent["in_reply_to_id"].as_str();
        }
        chain.reverse();
        chain
    }

    /// The first `limit` descendants in tree order (depth first, siblings by
    /// id), at most `depth` levels down: Mastodon's recursive query.
    fn descendants(&self, root: &Value, limit: usize, depth: Option<usize>) -> Vec<&Value> {
        let mut children: HashMap<&str, Vec<&Value>> = HashMap::new();
        for status in &self.statuses {
            if let Some(parent) = status["in_reply_to_id"].as_str() {
                children.entry(parent).or_default().push(status);
            }
        }
        for siblings in children.values_mut() {
            siblings.sort_by_key(|status| id_order(status));
        }
        let children_of = |status: &Value, level: usize| {
            let id = status["id"].as_str().unwrap_or_default();
            let siblings = children.get(id).map(Vec::as_slice).unwrap_or_default();
            siblings
                .iter()
                .rev()
                .map(move |child| (*child, level))
                .collect::<Vec<_>>()
        };
        let mut found = Vec::new();
        let mut stack = children_of(root, 1);
        while let Some((status, level)) = stack.pop() {
            if found.len() >= limit {
                break;
            }
            found.push(status);
            if depth.is_none_or(|depth| level < depth) {
                stack.extend(children_of(status, level + 1));
            }
        }
        found
    }

    fn add_reply(&mut self, spec: ReplySpec) -> String {
        let visibility = match spec.visibility {
            "" => "public",
            other => other,
        };
        assert!(
            VISIBILITIES.contains(&visibility),
            "ReplySpec::visibility must be one of {VISIBILITIES:?}, not {visibility:?}"
        );
        let parent_account = self
            .status_by_id(&spec.in_reply_to_id)
            .unwrap_or_else(|| panic!("add_reply: no status {:?}", spec.in_reply_to_id))["account"]
            .clone();
        let acct = match spec.acct.trim_start_matches('@') {
            "" => DEFAULT_REPLY_ACCT,
            acct => acct,
        };
        let uses = |code: &str, text: &str| text.contains(&format!(":{code}:"));
        let (name_emojis, status_emojis): (Vec<Value>, Vec<Value>) = {
            let in_name = |code: &str| uses(code, &spec.display_name);
            let in_text =
                |code: &str| uses(code, &spec.content_html) || uses(code, &spec.spoiler_text);
            let name = spec.emojis.iter().filter(|(code, _)| in_name(code));
            let text = spec
                .emojis
                .iter()
                .filter(|(code, _)| in_text(code) || !in_name(code));
            (
                name.map(emoji_json).collect(),
                text.map(emoji_json).collect(),
            )
        };
        let account = self.account(acct, &spec.display_name, name_emojis);
        let id = self.next_status_id();
        let remote = acct.contains('@');
        let (url, uri) = {
            let username = account["username"].as_str().unwrap_or_default();
            let origin = match acct.split_once('@') {
                Some((_, domain)) => format!("https://{domain}"),
                None => self.base_url.clone(),
            };
            (
                format!("{origin}/@{username}/{id}"),
                format!("{origin}/users/{username}/statuses/{id}"),
            )
        };
        let media: Vec<Value> = spec
            .media
            .iter()
            .map(|(kind, url, description)| {
                self.threads.media_created += 1;
                let media_id = FIRST_MEDIA_ID + self.threads.media_created;
                media_json(media_id, kind, url, description.as_deref(), remote)
            })
            .collect();
        let mentions = if parent_account["id"] == account["id"] {
            json!([])
        } else {
            json!([{
                "id": parent_account["id"],
                "username": parent_account["username"],
                "url": parent_account["url"],
                "acct": parent_account["acct"],
            }])
        };
        let status = json!({
            "id": id,
            "created_at": spec
                .created_at
                .unwrap_or_else(|| iso8601_millis(OffsetDateTime::now_utc())),
            "in_reply_to_id": spec.in_reply_to_id,
            "in_reply_to_account_id": parent_account["id"],
            "sensitive": !spec.spoiler_text.is_empty(),
            "spoiler_text": spec.spoiler_text,
            "visibility": visibility,
            "language": "en",
            "uri": uri,
            "url": url,
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": null,
            "content": spec.content_html,
            "reblog": null,
            "account": account,
            "media_attachments": media,
            "mentions": mentions,
            "tags": [],
            "emojis": status_emojis,
            "card": null,
            "poll": null,
        });
        self.statuses.push(status);
        id
    }

    /// The account for `acct`, created on first use; a new display name or
    /// set of name emojis is applied to all its statuses.
    fn account(&mut self, acct: &str, display_name: &str, emojis: Vec<Value>) -> Value {
        if acct == FAKE_USERNAME {
            return account_json(&self.base_url);
        }
        let account = match self.threads.accounts.get(acct) {
            Some(known) => {
                let mut account = known.clone();
                account["display_name"] = display_name.into();
                account["emojis"] = emojis.into();
                account
            }
            None => {
                self.threads.accounts_created += 1;
                let id = FIRST_ACCOUNT_ID + self.threads.accounts_created;
                remote_or_local_account(&self.base_url, id, acct, display_name, emojis)
            }
        };
        if self.threads.accounts.get(acct) != Some(&account) {
            for status in &mut self.statuses {
                if status["account"]["id"] == account["id"] {
                    status["account"] = account.clone();
                }
            }
            self.threads
                .accounts
                .insert(acct.to_owned(), account.clone());
        }
        account
    }

    fn edit_status(&mut self, id: &str, content_html: &str) {
        let status = self
            .statuses
            .iter_mut()
            .find(|status| status["id"] == id)
            .unwrap_or_else(|| panic!("edit_status: no status {id:?}"));
        status["content"] = content_html.into();
        status["edited_at"] = iso8601_millis(OffsetDateTime::now_utc()).into();
    }

    fn delete_status(&mut self, id: &str) {
        let index = self
            .statuses
            .iter()
            .position(|status| status["id"] == id)
            .unwrap_or_else(|| panic!("delete_status: no status {id:?}"));
        self.statuses.remove(index);
        for status in &mut self.statuses {
            if status["in_reply_to_id"] == id {
                status["in_reply_to_id"] = Value::Null;
            }
        }
        self.threads.count_overrides.remove(id);
    }

    fn set_counts(&mut self, id: &str, counts: Counts) {
        assert!(
            self.status_by_id(id).is_some(),
            "set_counts: no status {id:?}"
        );
        self.threads.count_overrides.insert(id.to_owned(), counts);
    }
}

/// `public` or `unlisted`: what anyone may see, and what `replies_count`
/// counts (`Status#distributable?`).
fn is_distributable(status: &Value) -> bool {
    matches!(status["visibility"].as_str(), Some("public" | "unlisted"))
}

/// Numeric order of Mastodon's decimal string ids.
fn id_order(status: &Value) -> (usize, String) {
    let id = status["id"].as_str().unwrap_or_default();
    (id.len(), id.to_owned())
}

/// Mastodon's `promote_by!`: self-replies first, each group in tree order.
fn promote_self_replies(statuses: Vec<&Value>) -> Vec<&Value> {
    let (mut promoted, rest): (Vec<&Value>, Vec<&Value>) = statuses
        .into_iter()
        .partition(|status| status["in_reply_to_account_id"] == status["account"]["id"]);
    promoted.extend(rest);
    promoted
}

fn remote_or_local_account(
    base_url: &str,
    id: u64,
    acct: &str,
    display_name: &str,
    emojis: Vec<Value>,
) -> Value {
    let (username, domain) = match acct.split_once('@') {
        Some((username, domain)) => (username, Some(domain)),
        None => (acct, None),
    };
    let (origin, avatar) = match domain {
        Some(domain) => (
            format!("https://{domain}"),
            format!("{base_url}/system/cache/accounts/avatars/{id}/original/{username}.png"),
        ),
        None => (
            base_url.to_owned(),
            format!("{base_url}/system/accounts/avatars/{id}/original/{username}.png"),
        ),
    };
    json!({
        "id": id.to_string(),
        "username": username,
        "acct": acct,
        "display_name": display_name,
        "locked": false,
        "bot": false,
        "url": format!("{origin}/@{username}"),
        "uri": format!("{origin}/users/{username}"),
        "avatar": avatar,
        "avatar_static": avatar,
        "note": "",
        "emojis": emojis,
        "fields": [],
    })
}

fn emoji_json((shortcode, url): &(String, String)) -> Value {
    json!({
        "shortcode": shortcode,
        "url": url,
        "static_url": url,
        "visible_in_picker": true,
    })
}

fn media_json(id: u64, kind: &str, url: &str, description: Option<&str>, remote: bool) -> Value {
    let preview_url = match kind {
        "audio" => Value::Null,
        _ => url.replacen("/original/", "/small/", 1).into(),
    };
    json!({
        "id": id.to_string(),
        "type": kind,
        "url": url,
        "preview_url": preview_url,
        "remote_url": if remote { Value::from(url) } else { Value::Null },
        "preview_remote_url": null,
        "text_url": null,
        "meta": {},
        "description": description,
        "blurhash": null,
    })
}

// ---------------------------------------------------------------------------
// Self-tests: reqwest against the fake.

mod self_tests {
    use std::time::{Duration, Instant};

    use reqwest::StatusCode;
    use serde_json::Value;

    use super::{DEFAULT_REPLY_ACCT, ReplySpec};
    use crate::fake_mastodon::{FAKE_ACCOUNT_ID, FAKE_TOKEN, FAKE_USERNAME, Failure, FakeMastodon};

    /// Posts the announcing toot as the owner; returns its id.
    async fn toot(fake: &FakeMastodon) -> String {
        let status: Value = reqwest::Client::new()
            .post(format!("{}/api/v1/statuses", fake.base_url))
            .bearer_auth(FAKE_TOKEN)
            .form(&[("status", "New post: https://blog.example/posts/hello/")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status["id"].as_str().unwrap().to_owned()
    }

    fn reply(fake: &FakeMastodon, parent: &str, acct: &str, visibility: &'static str) -> String {
        fake.add_reply(ReplySpec {
            in_reply_to_id: parent.to_owned(),
            acct: acct.to_owned(),
            display_name: acct.to_owned(),
            content_html: format!("<p>{acct} says hi</p>"),
            visibility,
            ..ReplySpec::default()
        })
    }

    struct Answer {
        status: StatusCode,
        headers: reqwest::header::HeaderMap,
        body: Value,
    }

    impl Answer {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.get(name).map(|value| value.to_str().unwrap())
        }

        fn descendant_ids(&self) -> Vec<String> {
            ids(&self.body["descendants"])
        }
    }

    fn owned(ids: &[&String]) -> Vec<String> {
        ids.iter().map(|id| (*id).clone()).collect()
    }

    fn ids(list: &Value) -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|status| status["id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn get(fake: &FakeMastodon, path: &str, token: Option<&str>) -> Answer {
        let mut request = reqwest::Client::new().get(format!("{}{path}", fake.base_url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    async fn context(fake: &FakeMastodon, id: &str, token: Option<&str>) -> Answer {
        get(fake, &format!("/api/v1/statuses/{id}/context"), token).await
    }

    #[tokio::test]
    async fn fake_mastodon_reply_renders_like_mastodon() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let id = fake.add_reply(ReplySpec {
            in_reply_to_id: root.clone(),
            acct: "alice@social.example".to_owned(),
            display_name: "Alice :blobcat:".to_owned(),
            content_html: "<p>Nice :wave: post!</p>".to_owned(),
            visibility: "unlisted",
            spoiler_text: "spoilers".to_owned(),
            emojis: vec![
                (
                    "blobcat".to_owned(),
                    "https://social.example/e/blobcat.png".to_owned(),
                ),
                (
                    "wave".to_owned(),
                    "https://social.example/e/wave.png".to_owned(),
                ),
                (
                    "unused".to_owned(),
                    "https://social.example/e/unused.png".to_owned(),
                ),
            ],
            media: vec![
                (
                    "image".to_owned(),
                    "https://social.example/media/original/cat.png".to_owned(),
                    Some("A cat".to_owned()),
                ),
                (
                    "audio".to_owned(),
                    "https://social.example/a.mp3".to_owned(),
                    None,
                ),
            ],
            created_at: Some("2026-11-22T10:00:00.000Z".to_owned()),
        });
        assert!(id.parse::<u64>().unwrap() > root.parse::<u64>().unwrap());

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body["ancestors"], serde_json::json!([]));
        let status = &answer.body["descendants"][0];
        assert_eq!(status["id"], id.as_str());
        assert_eq!(status["created_at"], "2026-11-22T10:00:00.000Z");
        assert_eq!(status["edited_at"], Value::Null);
        assert_eq!(status["in_reply_to_id"], root.as_str());
        assert_eq!(status["in_reply_to_account_id"], FAKE_ACCOUNT_ID);
        assert_eq!(status["visibility"], "unlisted");
        assert_eq!(status["spoiler_text"], "spoilers");
        assert_eq!(status["sensitive"], true);
        assert_eq!(status["content"], "<p>Nice :wave: post!</p>");
        assert_eq!(status["url"], format!("https://social.example/@alice/{id}"));
        assert_eq!(
            status["uri"],
            format!("https://social.example/users/alice/statuses/{id}")
        );
        assert_eq!(status["replies_count"], 0);
        assert_eq!(status["mentions"][0]["acct"], FAKE_USERNAME);
        let emojis: Vec<&str> = status["emojis"]
            .as_array()
            .unwrap()
            .iter()
            .map(|emoji| emoji["shortcode"].as_str().unwrap())
            .collect();
        assert_eq!(emojis, ["wave", "unused"]);
        assert_eq!(
            status["emojis"][0]["static_url"],
            "https://social.example/e/wave.png"
        );
        assert_eq!(status["emojis"][0]["visible_in_picker"], true);

        let media = &status["media_attachments"];
        assert_eq!(media[0]["type"], "image");
        assert_eq!(
            media[0]["url"],
            "https://social.example/media/original/cat.png"
        );
        assert_eq!(
            media[0]["preview_url"],
            "https://social.example/media/small/cat.png"
        );
        assert_eq!(media[0]["description"], "A cat");
        assert!(media[0]["id"].is_string());
        assert_eq!(media[1]["type"], "audio");
        assert_eq!(media[1]["preview_url"], Value::Null);
        assert_eq!(media[1]["description"], Value::Null);

        let account = &status["account"];
        assert!(account["id"].is_string());
        assert_eq!(account["username"], "alice");
        assert_eq!(account["acct"], "alice@social.example");
        assert_eq!(account["display_name"], "Alice :blobcat:");
        assert_eq!(account["url"], "https://social.example/@alice");
        assert!(
            account["avatar"]
                .as_str()
                .unwrap()
                .starts_with("http://127.0.0.1:")
        );
        assert_eq!(account["avatar_static"], account["avatar"]);
        assert_eq!(account["emojis"][0]["shortcode"], "blobcat");
        assert_eq!(account["emojis"].as_array().unwrap().len(), 1);

        // A local account, defaults, and the same account reused.
        let bob = fake.add_reply(ReplySpec {
            in_reply_to_id: id.clone(),
            acct: "bob".to_owned(),
            ..ReplySpec::default()
        });
        let default = fake.add_reply(ReplySpec {
            in_reply_to_id: bob.clone(),
            ..ReplySpec::default()
        });
        let statuses = fake.statuses();
        let find = |wanted: &str| {
            statuses
                .iter()
                .find(|status| status["id"] == wanted)
                .unwrap()
                .clone()
        };
        let bob_status = find(&bob);
        assert_eq!(bob_status["visibility"], "public");
        assert_eq!(bob_status["account"]["acct"], "bob");
        assert_eq!(bob_status["account"]["display_name"], "");
        assert_eq!(
            bob_status["account"]["url"],
            format!("{}/@bob", fake.base_url)
        );
        assert_eq!(bob_status["url"], format!("{}/@bob/{bob}", fake.base_url));
        let default_status = find(&default);
        assert_eq!(default_status["account"]["acct"], DEFAULT_REPLY_ACCT);
        assert_eq!(default_status["account"]["id"], account["id"]);
        // The latest display name wins for all of alice's statuses.
        assert_eq!(find(&id)["account"]["display_name"], "");
        assert_eq!(
            fake.statuses_created(),
            1,
            "replies are not POSTed statuses"
        );
    }

    #[tokio::test]
    async fn fake_mastodon_context_is_depth_first_by_id() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let a = reply(&fake, &root, "a@x.example", "public");
        let b = reply(&fake, &root, "b@x.example", "public");
        let a1 = reply(&fake, &a, "c@x.example", "public");
        let b1 = reply(&fake, &b, "d@x.example", "public");
        let a2 = reply(&fake, &a, "e@x.example", "public");
        let a1x = reply(&fake, &a1, "f@x.example", "public");

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(
            answer.descendant_ids(),
            owned(&[&a, &a1, &a1x, &a2, &b, &b1])
        );

        let answer = context(&fake, &a1x, None).await;
        assert_eq!(ids(&answer.body["ancestors"]), owned(&[&root, &a, &a1]));
        assert_eq!(answer.descendant_ids(), Vec::<String>::new());
        let answer = context(&fake, &a, None).await;
        assert_eq!(ids(&answer.body["ancestors"]), owned(&[&root]));
        assert_eq!(answer.descendant_ids(), owned(&[&a1, &a1x, &a2]));
    }

    #[tokio::test]
    async fn fake_mastodon_context_promotes_self_replies() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let a = reply(&fake, &root, "a@x.example", "public");
        let b = reply(&fake, &root, "b@x.example", "public");
        // Alice continues her own reply; the owner answers under the toot.
        let a_self = reply(&fake, &a, "a@x.example", "public");
        let owner = reply(&fake, &root, FAKE_USERNAME, "public");
        let b1 = reply(&fake, &b, "a@x.example", "public");

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(
            answer.descendant_ids(),
            owned(&[&a_self, &owner, &a, &b, &b1])
        );
        let descendants = &answer.body["descendants"];
        assert_eq!(descendants[1]["account"]["id"], FAKE_ACCOUNT_ID);
        assert_eq!(descendants[1]["mentions"], serde_json::json!([]));
    }

    #[tokio::test]
    async fn fake_mastodon_context_visibility_depends_on_token() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let public = reply(&fake, &root, "a@x.example", "public");
        let unlisted = reply(&fake, &root, "b@x.example", "unlisted");
        let private = reply(&fake, &root, "c@x.example", "private");
        let direct = reply(&fake, &root, "d@x.example", "direct");
        let under_private = reply(&fake, &private, "e@x.example", "public");

        let owner = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(owner.status, StatusCode::OK);
        assert_eq!(
            owner.descendant_ids(),
            owned(&[&public, &unlisted, &private, &under_private, &direct])
        );
        assert_eq!(owner.header("cache-control"), Some("private, no-store"));
        assert!(owner.header("mastodon-async-refresh").is_none());

        let anonymous = context(&fake, &root, None).await;
        assert_eq!(anonymous.status, StatusCode::OK);
        assert_eq!(
            anonymous.descendant_ids(),
            owned(&[&public, &unlisted, &under_private])
        );
        assert!(
            anonymous
                .header("cache-control")
                .unwrap()
                .contains("public")
        );

        // The public reply under a private one: anonymous sees no ancestor
        // but the root; the owner sees both.
        let anonymous = context(&fake, &under_private, None).await;
        assert_eq!(ids(&anonymous.body["ancestors"]), owned(&[&root]));
        let owner = context(&fake, &under_private, Some(FAKE_TOKEN)).await;
        assert_eq!(ids(&owner.body["ancestors"]), owned(&[&root, &private]));

        // A private status itself is not found without a token.
        let hidden = context(&fake, &private, None).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND);
        assert_eq!(hidden.body["error"], "Record not found");
        let shown = context(&fake, &private, Some(FAKE_TOKEN)).await;
        assert_eq!(shown.descendant_ids(), owned(&[&under_private]));

        // A wrong token is refused, not treated as anonymous.
        let refused = context(&fake, &root, Some("revoked")).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.body["error"], "The access token is invalid");
        assert!(refused.header("www-authenticate").is_some());

        let unknown = context(&fake, "999", Some(FAKE_TOKEN)).await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        assert_eq!(
            unknown.body,
            serde_json::json!({ "error": "Record not found" })
        );
        assert!(unknown.header("x-ratelimit-remaining").is_some());
        assert_eq!(fake.context_requests(), 8);
    }

    #[tokio::test]
    async fn fake_mastodon_context_caps_anonymous_at_60_and_20_levels() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        // The limit is applied before filtering: a private reply among the
        // first 60 costs the anonymous answer one place.
        let private = reply(&fake, &root, "p@x.example", "private");
        let public: Vec<String> = (0..65)
            .map(|_| reply(&fake, &root, "a@x.example", "public"))
            .collect();

        let anonymous = context(&fake, &root, None).await;
        assert_eq!(anonymous.descendant_ids(), public[..59]);
        let owner = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(owner.descendant_ids().len(), 66);
        assert_eq!(owner.descendant_ids()[0], private);

        // Depth: 45 levels below a fresh toot.
        let deep_root = toot(&fake).await;
        let mut parent = deep_root.clone();
        let mut chain = Vec::new();
        // Alternating authors: no self-replies to promote.
        for level in 0..45 {
            let acct = format!("u{}@x.example", level % 2);
            parent = reply(&fake, &parent, &acct, "public");
            chain.push(parent.clone());
        }
        let anonymous = context(&fake, &deep_root, None).await;
        assert_eq!(anonymous.descendant_ids(), chain[..20]);
        let owner = context(&fake, &deep_root, Some(FAKE_TOKEN)).await;
        assert_eq!(owner.descendant_ids(), chain);
        // Ancestors: the 40 nearest without a token, root first; all with one.
        let last = chain.last().unwrap();
        let anonymous = context(&fake, last, None).await;
        assert_eq!(ids(&anonymous.body["ancestors"]), chain[4..44]);
        let owner = context(&fake, last, Some(FAKE_TOKEN)).await;
        let ancestors = ids(&owner.body["ancestors"]);
        assert_eq!((ancestors.len(), &ancestors[0]), (45, &deep_root));
    }

    #[tokio::test]
    async fn fake_mastodon_context_caps_owner_at_4096() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let replies: Vec<String> = (0..4_097)
            .map(|_| reply(&fake, &root, "a@x.example", "public"))
            .collect();
        let owner = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(owner.descendant_ids(), replies[..4_096]);
        let anonymous = context(&fake, &root, None).await;
        assert_eq!(anonymous.descendant_ids(), replies[..60]);
        let status = get(&fake, &format!("/api/v1/statuses/{root}"), None).await;
        assert_eq!(status.body["replies_count"], 4_097);
    }

    #[tokio::test]
    async fn fake_mastodon_counts_edits_and_deletes() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        let parent = reply(&fake, &root, "a@x.example", "public");
        let child = reply(&fake, &parent, "b@x.example", "public");
        let grandchild = reply(&fake, &child, "c@x.example", "public");
        let _private = reply(&fake, &root, "d@x.example", "private");
        let _direct = reply(&fake, &root, "e@x.example", "direct");
        let _unlisted = reply(&fake, &root, "f@x.example", "unlisted");

        let status = get(&fake, &format!("/api/v1/statuses/{root}"), Some(FAKE_TOKEN)).await;
        assert_eq!(status.status, StatusCode::OK);
        // Direct replies that are public or unlisted, as Mastodon counts.
        assert_eq!(status.body["replies_count"], 2);
        assert_eq!(status.body["reblogs_count"], 0);
        assert!(status.header("x-ratelimit-remaining").is_some());
        let listed = fake.statuses();
        assert_eq!(listed[0]["replies_count"], 2);
        assert_eq!(listed.len(), 7);

        fake.set_counts(&root, 12, 3, 7);
        let status = get(&fake, &format!("/api/v1/statuses/{root}"), None).await;
        assert_eq!(
            (
                &status.body["replies_count"],
                &status.body["reblogs_count"],
                &status.body["favourites_count"]
            ),
            (&12.into(), &3.into(), &7.into())
        );

        fake.edit_status(&child, "<p>edited</p>");
        let edited = get(&fake, &format!("/api/v1/statuses/{child}"), None).await;
        assert_eq!(edited.body["content"], "<p>edited</p>");
        assert!(edited.body["edited_at"].as_str().unwrap().ends_with('Z'));

        fake.delete_status(&parent);
        let gone = get(&fake, &format!("/api/v1/statuses/{parent}"), None).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        let thread = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert!(!thread.descendant_ids().contains(&child));
        assert!(!thread.descendant_ids().contains(&grandchild));
        assert_eq!(thread.descendant_ids().len(), 3);
        let orphan = context(&fake, &child, Some(FAKE_TOKEN)).await;
        assert_eq!(ids(&orphan.body["ancestors"]), Vec::<String>::new());
        assert_eq!(orphan.descendant_ids(), owned(&[&grandchild]));
        let orphan = get(&fake, &format!("/api/v1/statuses/{child}"), None).await;
        assert_eq!(orphan.body["in_reply_to_id"], Value::Null);
        assert!(orphan.body["in_reply_to_account_id"].is_string());
        assert_eq!(orphan.body["replies_count"], 1);

        // Deleting the toot itself: its context is gone.
        fake.delete_status(&root);
        let gone = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn fake_mastodon_context_failures() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        reply(&fake, &root, "a@x.example", "public");

        fake.fail_context_next(Failure::Unauthorized);
        fake.fail_context_next(Failure::RateLimited { reset_in_secs: 120 });
        fake.fail_context_next(Failure::Unavailable);

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.body["error"], "The access token is invalid");

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(answer.header("x-ratelimit-remaining"), Some("0"));
        assert_eq!(answer.header("x-ratelimit-limit"), Some("300"));
        let reset = time::OffsetDateTime::parse(
            answer.header("x-ratelimit-reset").unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let in_secs = (reset - time::OffsetDateTime::now_utc()).whole_seconds();
        assert!((115..=120).contains(&in_secs), "{in_secs}");

        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);

        // Each failure is used once; the POST endpoint is unaffected.
        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.header("x-ratelimit-limit"), Some("300"));
        assert!(answer.header("x-ratelimit-reset").is_some());

        fake.fail_context_next(Failure::Hang);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(300))
            .build()
            .unwrap();
        let url = format!("{}/api/v1/statuses/{root}/context", fake.base_url);
        let error = client.get(&url).send().await.unwrap_err();
        assert!(error.is_timeout(), "{error}");

        fake.set_context_delay(Duration::from_millis(400));
        let started = Instant::now();
        let answer = context(&fake, &root, None).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(400));
        let error = client.get(&url).send().await.unwrap_err();
        assert!(error.is_timeout(), "{error}");
        assert_eq!(fake.context_requests(), 7);
        assert_eq!(fake.posts_received(), 1);
    }

    #[tokio::test]
    async fn fake_mastodon_async_refresh_header() {
        let fake = FakeMastodon::start().await;
        let root = toot(&fake).await;
        fake.set_async_refresh(Some(("ctx-1".to_owned(), 3, 2)));
        for token in [Some(FAKE_TOKEN), None] {
            let answer = context(&fake, &root, token).await;
            assert_eq!(
                answer.header("mastodon-async-refresh"),
                Some(r#"id="ctx-1", retry=3, result_count=2"#)
            );
        }
        let missing = context(&fake, "1", Some(FAKE_TOKEN)).await;
        assert!(missing.header("mastodon-async-refresh").is_none());
        fake.set_async_refresh(None);
        let answer = context(&fake, &root, Some(FAKE_TOKEN)).await;
        assert!(answer.header("mastodon-async-refresh").is_none());
    }
}
