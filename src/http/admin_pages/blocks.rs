//! `/admin/blocks` (a browser's `GET` and form `POST` of the JSON API's
//! path): the domains blocked here, with remove, and a form to add one.
//! Blocking refuses the domain's future webmentions and hides what it
//! already sent (`webmention::moderation`). Domains blocked in the
//! configuration (`BACKFEED_BLOCKED_DOMAINS`) are listed, read-only.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn};
use super::layout::{self, Frame, Section, csrf_field};
use super::{PagesState, see_other};
use crate::http::extract::Query;
use crate::webmention::{ReceiveError, Receiver};

const NOTICES: &[(&str, &str)] = &[
    ("block", "Blocked; {n} mention(s) from it hidden."),
    (
        "unblock",
        "Unblocked. Hidden mentions stay hidden until approved.",
    ),
];

fn receiver(pages: &PagesState) -> Result<&Receiver, PageError> {
    pages
        .app
        .receiver
        .as_deref()
        .ok_or_else(|| ReceiveError::NotConfigured.into())
}

pub async fn page(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
    Query(params): Query,
) -> Result<Response, PageError> {
    let domains = receiver(&pages)?.blocked_domains().await?;
    let configured = pages
        .app
        .config
        .webmention
        .as_ref()
        .map(|w| w.blocked_domains.domains().to_vec())
        .unwrap_or_default();
    let csrf = &signed_in.csrf;
    let body = html! {
        form.row method="post" action="blocks" {
            (csrf_field(csrf))
            div.field {
                label for="domain" { "Block a domain" }
                input #domain type="text" name="domain" required placeholder="spam.example"
                    autocomplete="off" aria-describedby="domain-hint";
                span #domain-hint .hint { "Its subdomains are blocked too." }
            }
            button.primary type="submit" { "Block" }
        }
        h2 #blocked-h { "Blocked here" }
        @if domains.is_empty() {
            p.muted { "None." }
        } @else {
            form method="post" action="blocks" {
                (csrf_field(csrf))
                ul aria-labelledby="blocked-h" {
                    @for domain in &domains {
                        li {
                            code { (domain) } " "
                            button type="submit" name="remove" value=(domain) {
                                "Remove" span.visually-hidden { " " (domain) }
                            }
                        }
                    }
                }
            }
        }
        @if !configured.is_empty() {
            h2 #configured-h { "Blocked in the configuration" }
            p.hint { "Set with BACKFEED_BLOCKED_DOMAINS; change it there." }
            ul aria-labelledby="configured-h" {
                @for domain in &configured { li { code { (domain) } } }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Blocked domains",
            section: Some(Section::Blocks),
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
    let receiver = receiver(&pages)?;
    if let Some(domain) = fields.get("remove").filter(|d| !d.is_empty()) {
        receiver.unblock(domain).await?;
        return Ok(see_other("blocks?done=unblock"));
    }
    let domain = fields
        .get("domain")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| AdminPageError::Invalid("type the domain to block".to_owned()))?;
    let hidden = receiver.block(domain).await?;
    Ok(see_other(&format!("blocks?done=block&n={hidden}")))
}
