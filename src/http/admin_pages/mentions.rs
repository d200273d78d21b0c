//! `/admin/mentions`: received webmentions by state (awaiting approval,
//! verified, rejected, hidden, all), searchable by source or target, paged;
//! approve, hide, delete or block the source's domain, one or several at
//! once. The same use cases as the JSON API (`webmention::moderation`).
//!
//! Mentions carry third-party text: authors, content and URLs are shown as
//! escaped text (the content as its plain-text form), links only for
//! http(s) URLs.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn};
use super::layout::{self, Frame, Notice, Section, csrf_field, query_value};
use super::{PagesState, see_other};
use crate::config::ModerationMode;
use crate::domain::mention::{Mention, MentionId, Moderation, VerificationState};
use crate::http::extract::{Params, Query};
use crate::storage::MentionQuery;
use crate::webmention::{ReceiveError, Receiver};

const PER_PAGE: u32 = 25;

/// The lists, as `?tab=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tab {
    Pending,
    Verified,
    Rejected,
    Hidden,
    All,
}

impl Tab {
    const ALL: [Self; 5] = [
        Self::Pending,
        Self::Verified,
        Self::Rejected,
        Self::Hidden,
        Self::All,
    ];

    fn key(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Verified => "verified",
            Self::Rejected => "rejected",
            Self::Hidden => "hidden",
            Self::All => "all",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Pending => "Awaiting approval",
            Self::Verified => "Verified",
            Self::Rejected => "Rejected",
            Self::Hidden => "Hidden",
            Self::All => "All",
        }
    }

    fn parse(key: Option<&str>, manual: bool) -> Self {
        Self::ALL
            .into_iter()
            .find(|tab| Some(tab.key()) == key)
            .unwrap_or(if manual {
                Self::Pending
            } else {
                Self::Verified
            })
    }

    fn query(self) -> MentionQuery {
        let mut query = MentionQuery {
            visible_only: false,
            per_page: PER_PAGE,
            ..MentionQuery::default()
        };
        match self {
            Self::Pending => query.moderation = Some(Moderation::Pending),
            Self::Verified => query.verification = Some(VerificationState::Verified),
            Self::Rejected => query.verification = Some(VerificationState::Rejected),
            Self::Hidden => query.moderation = Some(Moderation::Hidden),
            Self::All => {}
        }
        query
    }
}

/// Where the list was (tab, search, page): kept across an action.
struct View {
    tab: Tab,
    search: Option<String>,
    page: u32,
}

impl View {
    fn read(params: &Params, pages: &PagesState) -> Self {
        let manual = pages
            .app
            .config
            .webmention
            .as_ref()
            .is_some_and(|w| w.moderation == ModerationMode::Manual);
        Self {
            tab: Tab::parse(params.get("tab"), manual),
            search: params.get("q").filter(|q| !q.is_empty()).map(str::to_owned),
            page: params.number("page", 0).unwrap_or(0),
        }
    }

    /// This view's URL without the page number.
    fn base(&self, tab: Tab) -> String {
        match &self.search {
            Some(q) => format!("mentions?tab={}&q={}", tab.key(), query_value(q)),
            None => format!("mentions?tab={}", tab.key()),
        }
    }
}

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
    let receiver = receiver(&pages)?;
    let view = View::read(&params, &pages);
    let query = MentionQuery {
        search: view.search.clone(),
        page: view.page,
        ..view.tab.query()
    };
    let mentions = receiver.list(&query).await?;
    let total = pages.app.store.count_mentions(&query).await?;
    let body = html! {
        (layout::tabs("Which mentions", &Tab::ALL.map(|tab| (view.base(tab), tab.title(), tab == view.tab))))
        form.row method="get" action="mentions" role="search" {
            input type="hidden" name="tab" value=(view.tab.key());
            div.field {
                label for="q" { "Search source or target" }
                input #q type="search" name="q" value=[view.search.as_deref()] placeholder="example.com";
            }
            button type="submit" { "Search" }
        }
        @if mentions.is_empty() {
            p.muted { "No mentions here." }
        } @else {
            (list(&signed_in.csrf, &view, &mentions))
        }
        (layout::pager(&view.base(view.tab), view.page, PER_PAGE, mentions.len(), Some(total)))
    };
    Ok(layout::page(
        &Frame {
            title: "Mentions",
            section: Some(Section::Mentions),
            csrf: Some(&signed_in.csrf),
            notice: notice(&params),
        },
        body,
    )
    .into_response())
}

fn list(csrf: &str, view: &View, mentions: &[Mention]) -> Markup {
    html! {
        form method="post" action="mentions" {
            (csrf_field(csrf))
            input type="hidden" name="tab" value=(view.tab.key());
            input type="hidden" name="q" value=(view.search.as_deref().unwrap_or_default());
            input type="hidden" name="page" value=(view.page);
            div.actions {
                span { "With the selected mentions:" }
                button type="submit" name="action" value="approve" { "Approve" }
                button type="submit" name="action" value="hide" { "Hide" }
                button.danger type="submit" name="action" value="delete" { "Delete" }
                button.danger type="submit" name="action" value="block" { "Block their domains" }
                span #selected-count role="status" {}
            }
            table.stack data-select="selected-count" {
                caption.visually-hidden { "Mentions" }
                thead {
                    tr {
                        th.select scope="col" { span.visually-hidden { "Select" } }
                        th scope="col" { "From" }
                        th scope="col" { "Source → target" }
                        th scope="col" { "Received" }
                        th scope="col" { "State" }
                        th scope="col" { "Actions" }
                    }
                }
                tbody {
                    @for mention in mentions { (row(mention)) }
                }
            }
        }
    }
}

fn row(mention: &Mention) -> Markup {
    let data = mention.data.as_ref();
    let author = data
        .and_then(|d| d.author.as_ref())
        .and_then(|a| a.name.as_deref())
        .unwrap_or("(no author)");
    let text = data
        .and_then(|d| d.content_text.as_deref().or(d.name.as_deref()))
        .unwrap_or_default();
    let property = data.map_or("", |d| d.relation.property());
    let host = mention.source.host_str().unwrap_or_default();
    let id = mention.id;
    html! {
        tr data-id=(id) {
            td {
                input type="checkbox" name="id" value=(id)
                    aria-label={ "Select mention " (id) " from " (host) };
            }
            td data-label="From" {
                strong { (layout::excerpt(author, 80)) }
                @if !property.is_empty() { " " span.state { (property) } }
                @if !text.is_empty() { br; span.muted { (layout::excerpt(text, 200)) } }
            }
            td data-label="Source → target" {
                (layout::external_link(mention.source.as_str(), &layout::excerpt(mention.source.as_str(), 90)))
                " → "
                (layout::external_link(mention.target.as_str(), &layout::excerpt(mention.target.path(), 60)))
            }
            td data-label="Received" { (layout::time(mention.received_at)) }
            td data-label="State" {
                span.state.ok[mention.verification.label() == "verified"]
                    .bad[matches!(mention.verification.label(), "rejected" | "deleted")] {
                    (mention.verification.label())
                }
                " "
                span.state.warn[mention.moderation == Moderation::Pending] { (mention.moderation.label()) }
                @if let Some(reason) = mention.verification.reason() {
                    br; span.reason { (layout::excerpt(reason, 200)) }
                }
            }
            td data-label="Actions" {
                div.actions {
                    @if mention.moderation != Moderation::Approved {
                        button type="submit" name="row" value={ "approve:" (id) } { "Approve" }
                    }
                    @if mention.moderation != Moderation::Hidden {
                        button type="submit" name="row" value={ "hide:" (id) } { "Hide" }
                    }
                    button.danger type="submit" name="row" value={ "delete:" (id) } { "Delete" }
                    button.danger type="submit" name="row" value={ "block:" (id) } { "Block " (host) }
                }
            }
        }
    }
}

const NOTICES: &[(&str, &str)] = &[
    ("approve", "Approved {n} mention(s)."),
    ("hide", "Hid {n} mention(s)."),
    ("delete", "Deleted {n} mention(s)."),
    ("block", "Blocked {n} domain(s); their mentions are hidden."),
];

fn notice(params: &Params) -> Option<Notice> {
    layout::notice(params, NOTICES)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Approve,
    Hide,
    Delete,
    Block,
}

impl Action {
    fn parse(text: &str) -> Option<Self> {
        match text {
            "approve" => Some(Self::Approve),
            "hide" => Some(Self::Hide),
            "delete" => Some(Self::Delete),
            "block" => Some(Self::Block),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Approve => "approve",
            Self::Hide => "hide",
            Self::Delete => "delete",
            Self::Block => "block",
        }
    }
}

/// What a submitted form asks for: a row's own button (`row=approve:12`),
/// else the bulk `action` on every checked `id`.
fn requested(fields: &Params) -> Result<(Action, Vec<MentionId>), AdminPageError> {
    let invalid = |what: &str| AdminPageError::Invalid(what.to_owned());
    if let Some((action, id)) = fields.get("row").and_then(|row| row.split_once(':')) {
        let action = Action::parse(action).ok_or_else(|| invalid("unknown action"))?;
        let id = id.parse().map_err(|_| invalid("not a mention id"))?;
        return Ok((action, vec![MentionId(id)]));
    }
    let action = fields
        .get("action")
        .and_then(Action::parse)
        .ok_or_else(|| invalid("choose an action"))?;
    let ids = fields
        .all("id")
        .map(|id| id.parse().map(MentionId))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| invalid("not a mention id"))?;
    if ids.is_empty() {
        return Err(invalid("select at least one mention first"));
    }
    Ok((action, ids))
}

pub async fn act(
    State(pages): State<PagesState>,
    _: SignedIn,
    PageForm(fields): PageForm,
) -> Result<Response, PageError> {
    let receiver = receiver(&pages)?;
    let view = View::read(&fields, &pages);
    let (action, ids) = requested(&fields)?;
    let done = match action {
        Action::Approve => {
            for id in &ids {
                receiver.approve(*id).await?;
            }
            ids.len()
        }
        Action::Hide => {
            for id in &ids {
                receiver.hide(*id).await?;
            }
            ids.len()
        }
        Action::Delete => {
            for id in &ids {
                receiver.delete(*id).await?;
            }
            ids.len()
        }
        Action::Block => {
            let mut domains = BTreeSet::new();
            for id in &ids {
                let mention = pages
                    .app
                    .store
                    .find_mention(*id)
                    .await?
                    .ok_or(crate::webmention::ModerationError::NotFound(*id))?;
                domains.extend(mention.source.host_str().map(str::to_owned));
            }
            for domain in &domains {
                receiver.block(domain).await?;
            }
            domains.len()
        }
    };
    Ok(see_other(&format!(
        "{}&page={}&done={}&n={done}",
        view.base(view.tab),
        view.page,
        action.key()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rows_own_button_wins_over_the_checked_boxes() {
        let fields = Params::parse(b"action=delete&id=1&id=2&row=approve%3A7");
        assert_eq!(
            requested(&fields).unwrap(),
            (Action::Approve, vec![MentionId(7)])
        );
        let bulk = Params::parse(b"action=hide&id=1&id=2");
        assert_eq!(
            requested(&bulk).unwrap(),
            (Action::Hide, vec![MentionId(1), MentionId(2)])
        );
        assert!(requested(&Params::parse(b"action=hide")).is_err());
        assert!(requested(&Params::parse(b"action=burn&id=1")).is_err());
        assert!(requested(&Params::parse(b"row=approve:x")).is_err());
    }
}
