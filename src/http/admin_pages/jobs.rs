//! `/admin/jobs` (a browser's `GET` of the JSON API's path): the queue's
//! counts per kind, and dead or retrying jobs with their last error; retry
//! one now or drop it (the same use cases as `backfeed jobs`,
//! `jobs::operator`).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::form::PageForm;
use super::guard::{AdminPageError, PageError, SignedIn};
use super::layout::{self, Frame, Section, csrf_field};
use super::{PagesState, see_other};
use crate::domain::job::{Job, JobState};
use crate::http::extract::Query;
use crate::jobs::operator;
use crate::storage::JobFilter;

const LIMIT: usize = 100;

const STATES: [(&str, &str); 4] = [
    ("dead", "Dead"),
    ("retrying", "Retrying"),
    ("queued", "Waiting"),
    ("running", "Running"),
];

const NOTICES: &[(&str, &str)] = &[
    ("retry", "The job is queued to run now."),
    ("drop", "The job is dropped."),
];

/// The jobs a tab lists: "retrying" is a waiting job that failed before.
async fn listed(pages: &PagesState, tab: &str) -> Result<Vec<Job>, PageError> {
    let state = match tab {
        "queued" | "retrying" => JobState::Queued,
        "running" => JobState::Running,
        _ => JobState::Dead,
    };
    let filter = JobFilter {
        state: Some(state),
        limit: operator::MAX_LIST,
        ..JobFilter::default()
    };
    let mut jobs = operator::list(&pages.app, &filter).await?;
    if tab == "retrying" {
        jobs.retain(|job| job.attempts > 0 && job.last_error.is_some());
    }
    jobs.truncate(LIMIT);
    Ok(jobs)
}

pub async fn page(
    State(pages): State<PagesState>,
    signed_in: SignedIn,
    Query(params): Query,
) -> Result<Response, PageError> {
    let tab = params
        .get("state")
        .filter(|s| STATES.iter().any(|(key, _)| key == s))
        .unwrap_or("dead");
    let jobs = listed(&pages, tab).await?;
    let counts = operator::counts(&pages.app).await?;
    let csrf = &signed_in.csrf;
    let body = html! {
        table {
            caption { "Jobs in the queue" }
            thead { tr { th scope="col" { "Kind" } th.num scope="col" { "Waiting" } th.num scope="col" { "Running" } th.num scope="col" { "Dead" } } }
            tbody {
                @if counts.is_empty() {
                    tr { td colspan="4" { "The queue is empty." } }
                }
                @for (kind, count) in &counts {
                    tr { th scope="row" { (kind) } td.num { (count.queued) } td.num { (count.running) } td.num { (count.dead) } }
                }
            }
        }
        h2 { "Jobs" }
        (layout::tabs("Which jobs", &STATES.map(|(key, title)| (format!("jobs?state={key}"), title, key == tab))))
        @if jobs.is_empty() {
            p.muted { "No jobs here." }
        } @else {
            form method="post" action="jobs" {
                (csrf_field(csrf))
                input type="hidden" name="state" value=(tab);
                table.stack {
                    caption.visually-hidden { "Jobs" }
                    thead {
                        tr {
                            th scope="col" { "Job" }
                            th scope="col" { "Attempts" }
                            th scope="col" { "Due" }
                            th scope="col" { "Last error" }
                            th scope="col" { "Actions" }
                        }
                    }
                    tbody {
                        @for job in &jobs {
                            tr data-id=(job.id) {
                                td data-label="Job" {
                                    strong { (job.kind) } " " span.state.bad[job.state == JobState::Dead] { (job.state) }
                                    br; code.muted { (layout::excerpt(&job.payload, 160)) }
                                    br; span.muted { (job.id) }
                                }
                                td.num data-label="Attempts" { (job.attempts) }
                                td data-label="Due" { (layout::time(job.due_at)) }
                                td data-label="Last error" {
                                    @if let Some(error) = &job.last_error { span.reason { (layout::excerpt(error, 400)) } }
                                }
                                td data-label="Actions" {
                                    div.actions {
                                        @if job.state != JobState::Running {
                                            button type="submit" name="retry" value=(job.id) {
                                                "Retry" span.visually-hidden { " job " (job.id) }
                                            }
                                        }
                                        button.danger type="submit" name="drop" value=(job.id) {
                                            "Drop" span.visually-hidden { " job " (job.id) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(
        &Frame {
            title: "Jobs",
            section: Some(Section::Jobs),
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
    let tab = fields
        .get("state")
        .filter(|s| STATES.iter().any(|(key, _)| key == s))
        .unwrap_or("dead");
    let done = if let Some(id) = fields.get("retry") {
        operator::retry(&pages.app, &operator::parse_id(id)?).await?;
        "retry"
    } else if let Some(id) = fields.get("drop") {
        operator::drop(&pages.app, &operator::parse_id(id)?).await?;
        "drop"
    } else {
        return Err(AdminPageError::Invalid("choose retry or drop".to_owned()).into());
    };
    Ok(see_other(&format!("jobs?state={tab}&done={done}")))
}
