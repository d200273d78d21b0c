//! `/admin/posts`: every post with its toot (linked on the instance), its
//! state and its failure; a failed post can be retried (the same use case
//! as `backfeed posts retry`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn};
use super::layout::{self, Frame, Section, csrf_field};
use super::{PagesState, see_other};
use crate::announce::AnnounceError;
use crate::domain::{PostRecord, PostState};
use crate::http::extract::Query;

const PER_PAGE: u32 = 50;

const STATES: [(&str, &str); 4] = [
    ("all", "All"),
    ("announced", "Announced"),
    ("failed", "Failed"),
    ("claimed", "Being announced"),
];

pub async fn page(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
    Query(params): Query,
) -> Result<Response, PageError> {
    let state = params
        .get("state")
        .filter(|s| STATES.iter().any(|(key, _)| key == s))
        .unwrap_or("all");
    let page = params.number("page", 0u32).unwrap_or(0);
    let mut posts: Vec<PostRecord> = pages
        .app
        .store
        .list_posts()
        .await?
        .into_iter()
        .filter(|p| state == "all" || p.state.label() == state)
        .collect();
    posts.sort_by_key(|p| std::cmp::Reverse(p.updated_at));
    let total = posts.len() as u64;
    let shown: Vec<&PostRecord> = posts
        .iter()
        .skip(page.saturating_mul(PER_PAGE) as usize)
        .take(PER_PAGE as usize)
        .collect();
    let toot_base = pages.app.announcer.as_ref().map(|a| {
        let mastodon = &a.config().mastodon;
        format!("{}@{}/", mastodon.base.api_base, mastodon.user)
    });
    let base = format!("posts?state={state}");
    let body = html! {
        (layout::tabs("Which posts", &STATES.map(|(key, title)| (format!("posts?state={key}"), title, key == state))))
        @if pages.app.announcer.is_none() {
            p.notice.error { "Announcing is off: set MASTODON_HOST, MASTODON_USER, MASTODON_OAUTH_TOKEN and BLOG_POST_PATTERN (or run `backfeed mastodon login`)." }
        }
        @if shown.is_empty() {
            p.muted { "No posts here." }
        } @else {
            table.stack {
                caption.visually-hidden { "Posts" }
                thead {
                    tr {
                        th scope="col" { "Post" }
                        th scope="col" { "State" }
                        th scope="col" { "Toot" }
                        th scope="col" { "Updated" }
                        th scope="col" { "Actions" }
                    }
                }
                tbody {
                    @for post in &shown {
                        tr {
                            td data-label="Post" { (layout::external_link(post.url.as_str(), post.url.as_str())) }
                            td data-label="State" {
                                span.state.ok[matches!(post.state, PostState::Announced { .. })]
                                    .bad[matches!(post.state, PostState::Failed { .. })] { (post.state.label()) }
                                @if let PostState::Failed { reason } = &post.state {
                                    br; span.reason { (layout::excerpt(reason, 300)) }
                                }
                            }
                            td data-label="Toot" {
                                @if let PostState::Announced { toot_id } = &post.state {
                                    @match &toot_base {
                                        Some(base) => (layout::external_link(&format!("{base}{toot_id}"), toot_id.as_str())),
                                        None => (toot_id.as_str()),
                                    }
                                }
                            }
                            td data-label="Updated" { (layout::time(post.updated_at)) }
                            td data-label="Actions" {
                                @if matches!(post.state, PostState::Failed { .. }) {
                                    form method="post" action="posts" {
                                        (csrf_field(&signed_in.csrf))
                                        input type="hidden" name="state" value=(state);
                                        button type="submit" name="retry" value=(post.url.as_str()) {
                                            "Retry" span.visually-hidden { " " (post.url.as_str()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (layout::pager(&base, page, PER_PAGE, shown.len(), Some(total)))
    };
    Ok(layout::page(
        &Frame {
            title: "Posts",
            section: Some(Section::Posts),
            csrf: Some(&signed_in.csrf),
            notice: layout::notice(&params, &[("retry", "Announced the post again.")]),
        },
        body,
    )
    .into_response())
}

pub async fn act(
    State(pages): State<PagesState>,
    _: SignedIn,
    PageForm(fields): PageForm,
) -> Result<Response, PageError> {
    let announcer = pages
        .app
        .announcer
        .as_ref()
        .ok_or(AnnounceError::NotConfigured)?;
    let url = fields
        .get("retry")
        .ok_or_else(|| AdminPageError::Invalid("say which post to retry".to_owned()))?;
    let url = announcer.accept_url(Some(url))?;
    announcer.retry(url).await?;
    let state = fields.get("state").unwrap_or("all");
    let state = if STATES.iter().any(|(key, _)| *key == state) {
        state
    } else {
        "all"
    };
    Ok(see_other(&format!("posts?state={state}&done=retry")))
}
