//! What an operator can see and do with the queue: list jobs (dead ones
//! with their last error), retry one now, or drop one. The CLI (`backfeed
//! jobs`) and the admin API (`/admin/jobs`) are thin layers over these.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::App;
use crate::domain::job::{Job, JobId, JobKind, JobState};
use crate::storage::{JobFilter, StoreError};

/// The most jobs one listing returns.
pub const MAX_LIST: usize = 1_000;
/// What a listing returns unless told otherwise.
pub const DEFAULT_LIST: usize = 50;

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    #[error("`{0}` is not a job kind; the kinds are {kinds}", kinds = kind_labels())]
    UnknownKind(String),
    #[error("`{0}` is not a job state; the states are queued, running, dead")]
    UnknownState(String),
    #[error("`{0}` is not a job id (24 lower-case hex digits, as `backfeed jobs list` shows)")]
    InvalidId(String),
    #[error("`{0}` is not a number of jobs from 1 to {MAX_LIST}")]
    InvalidLimit(String),
    #[error("there is no job {0}")]
    NotFound(JobId),
    #[error("job {0} is running now; it can be retried once its attempt has ended")]
    Running(JobId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn kind_labels() -> String {
    JobKind::ALL.map(JobKind::label).join(", ")
}

/// A listing's filter as an operator writes it (CLI flags, query string).
#[derive(Debug, Clone, Default)]
pub struct ListRequest<'a> {
    pub kind: Option<&'a str>,
    pub state: Option<&'a str>,
    pub before: Option<&'a str>,
    pub limit: Option<&'a str>,
}

impl ListRequest<'_> {
    pub fn parse(&self) -> Result<JobFilter, JobsError> {
        let kind = self
            .kind
            .map(|k| JobKind::parse(k).ok_or_else(|| JobsError::UnknownKind(k.to_owned())))
            .transpose()?;
        let state = self
            .state
            .map(|s| JobState::parse(s).ok_or_else(|| JobsError::UnknownState(s.to_owned())))
            .transpose()?;
        let before = self.before.map(parse_id).transpose()?;
        let limit = match self.limit {
            None => DEFAULT_LIST,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_LIST).contains(n))
                .ok_or_else(|| JobsError::InvalidLimit(text.to_owned()))?,
        };
        Ok(JobFilter {
            kind,
            state,
            before,
            limit,
        })
    }
}

pub fn parse_id(text: &str) -> Result<JobId, JobsError> {
    JobId::parse(text.trim()).ok_or_else(|| JobsError::InvalidId(text.to_owned()))
}

/// A job as operators see it (the admin API's JSON and `jobs list --json`).
#[derive(Debug, Serialize)]
pub struct JobView {
    pub id: String,
    pub kind: &'static str,
    pub state: &'static str,
    pub attempts: u32,
    /// When it is due; while running, when its lease runs out.
    pub due_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// What the job works on (its payload).
    pub payload: serde_json::Value,
}

impl From<&Job> for JobView {
    fn from(job: &Job) -> Self {
        Self {
            id: job.id.to_string(),
            kind: job.kind.label(),
            state: job.state.label(),
            attempts: job.attempts,
            due_at: rfc3339(job.due_at),
            last_error: job.last_error.clone(),
            created_at: rfc3339(job.created_at),
            updated_at: rfc3339(job.updated_at),
            payload: serde_json::from_str(&job.payload).unwrap_or(serde_json::Value::Null),
        }
    }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

/// Jobs in each state, per kind: what the queue holds.
#[derive(Debug, Default, Serialize)]
pub struct CountView {
    pub queued: u64,
    pub running: u64,
    pub dead: u64,
}

pub async fn list(app: &App, filter: &JobFilter) -> Result<Vec<Job>, JobsError> {
    Ok(app.store.list_jobs(filter).await?)
}

pub async fn counts(
    app: &App,
) -> Result<std::collections::BTreeMap<&'static str, CountView>, JobsError> {
    Ok(app
        .store
        .count_jobs()
        .await?
        .into_iter()
        .map(|(kind, count)| {
            (
                kind.label(),
                CountView {
                    queued: count.queued,
                    running: count.running,
                    dead: count.dead,
                },
            )
        })
        .collect())
}

/// Runs a dead (or waiting) job again now, with a fresh attempt count.
pub async fn retry(app: &App, id: &JobId) -> Result<Job, JobsError> {
    let job = app
        .store
        .find_job(id)
        .await?
        .ok_or_else(|| JobsError::NotFound(id.clone()))?;
    if job.state == JobState::Running {
        return Err(JobsError::Running(id.clone()));
    }
    if !app.store.retry_job(id, app.clock.now()).await? {
        // Claimed or dropped between the look and the retry.
        return Err(JobsError::Running(id.clone()));
    }
    app.queue.wake();
    tracing::info!(%id, kind = %job.kind, "job retried by the operator");
    let retried = app.store.find_job(id).await?;
    Ok(retried.unwrap_or(job))
}

/// Drops a job for good, whatever its state.
pub async fn drop(app: &App, id: &JobId) -> Result<(), JobsError> {
    if app.store.drop_job(id).await? {
        tracing::info!(%id, "job dropped by the operator");
        Ok(())
    } else {
        Err(JobsError::NotFound(id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_request_is_checked_field_by_field() {
        let filter = ListRequest {
            kind: Some("verify-mention"),
            state: Some("dead"),
            limit: Some("10"),
            before: None,
        }
        .parse()
        .unwrap();
        assert_eq!(filter.kind, Some(JobKind::VerifyMention));
        assert_eq!(filter.state, Some(JobState::Dead));
        assert_eq!(filter.limit, 10);
        assert_eq!(ListRequest::default().parse().unwrap().limit, DEFAULT_LIST);
        for (request, expected) in [
            (
                ListRequest {
                    kind: Some("verify"),
                    ..ListRequest::default()
                },
                "is not a job kind; the kinds are verify-mention, deliver-webhook, refresh-thread",
            ),
            (
                ListRequest {
                    state: Some("done"),
                    ..ListRequest::default()
                },
                "is not a job state",
            ),
            (
                ListRequest {
                    limit: Some("0"),
                    ..ListRequest::default()
                },
                "is not a number of jobs from 1 to 1000",
            ),
            (
                ListRequest {
                    before: Some("17"),
                    ..ListRequest::default()
                },
                "is not a job id",
            ),
        ] {
            let error = request.parse().unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }
}
