//! `/admin/comments`: the Mastodon replies and accounts hidden from every
//! thread, with unhide; and forms to hide one more (the same use cases as
//! `backfeed replies` and the JSON API's `/admin/replies`, `/admin/accounts`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn};
use super::layout::{self, Frame, Section, csrf_field};
use super::{PagesState, see_other};
use crate::http::extract::Query;

const NOTICES: &[(&str, &str)] = &[
    ("reply-shown", "The reply is shown again."),
    ("account-shown", "The account's replies are shown again."),
    ("reply-hidden", "The reply is hidden."),
    ("account-hidden", "The account's replies are hidden."),
];

pub async fn page(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
    Query(params): Query,
) -> Result<Response, PageError> {
    let hidden = pages.app.store.hidden_replies().await?;
    let mut statuses: Vec<&String> = hidden.statuses.iter().collect();
    statuses.sort();
    let mut accounts: Vec<&String> = hidden.accounts.iter().collect();
    accounts.sort();
    let csrf = &signed_in.csrf;
    let body = html! {
        p.hint { "Hidden replies and accounts never appear in a comment thread. Hiding a reply also hides the replies under it." }
        h2 #replies-h { "Hidden replies" }
        @if statuses.is_empty() {
            p.muted { "None." }
        } @else {
            form method="post" action="comments" {
                (csrf_field(csrf))
                ul aria-labelledby="replies-h" {
                    @for id in &statuses {
                        li {
                            code { (id) } " "
                            button type="submit" name="unhide-reply" value=(id) {
                                "Unhide" span.visually-hidden { " reply " (id) }
                            }
                        }
                    }
                }
            }
        }
        h2 #accounts-h { "Hidden accounts" }
        @if accounts.is_empty() {
            p.muted { "None." }
        } @else {
            form method="post" action="comments" {
                (csrf_field(csrf))
                ul aria-labelledby="accounts-h" {
                    @for acct in &accounts {
                        li {
                            code { "@" (acct) } " "
                            button type="submit" name="unhide-account" value=(acct) {
                                "Unhide" span.visually-hidden { " @" (acct) }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Hide" }
        form.row method="post" action="comments" {
            (csrf_field(csrf))
            div.field {
                label for="hide-reply" { "A reply (Mastodon status id)" }
                input #hide-reply type="text" name="hide-reply" inputmode="numeric" autocomplete="off";
            }
            button type="submit" { "Hide reply" }
        }
        form.row method="post" action="comments" {
            (csrf_field(csrf))
            div.field {
                label for="hide-account" { "Every reply from an account (user@domain)" }
                input #hide-account type="text" name="hide-account" autocomplete="off";
            }
            button type="submit" { "Hide account" }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Comments",
            section: Some(Section::Comments),
            csrf: Some(csrf),
            notice: layout::notice(&params, NOTICES),
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
    let threads = &pages.app.threads;
    let filled = |name: &str| fields.get(name).filter(|v| !v.is_empty());
    let done = if let Some(id) = filled("unhide-reply") {
        threads.unhide_reply(id).await?;
        "reply-shown"
    } else if let Some(acct) = filled("unhide-account") {
        threads.unhide_account(acct).await?;
        "account-shown"
    } else if let Some(id) = filled("hide-reply") {
        threads.hide_reply(id).await?;
        "reply-hidden"
    } else if let Some(acct) = filled("hide-account") {
        if !acct.trim_start_matches('@').contains('@') {
            return Err(AdminPageError::Invalid(format!(
                "`{acct}` is not an account like user@domain"
            ))
            .into());
        }
        threads.hide_account(acct).await?;
        "account-hidden"
    } else {
        return Err(AdminPageError::Invalid("fill in a reply id or an account".to_owned()).into());
    };
    Ok(see_other(&format!("comments?done={done}")))
}
