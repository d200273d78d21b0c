//! `backfeed jobs`: the background job queue from the command line, the
//! same use cases as the admin API's `/admin/jobs`.

use clap::Subcommand;

use crate::App;
use crate::jobs::operator::{self, JobView, ListRequest};

#[derive(Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first: queued, running, and dead ones with their
    /// last error.
    List {
        /// Only jobs of this kind (verify-mention, deliver-webhook,
        /// refresh-thread).
        #[arg(long)]
        kind: Option<String>,
        /// Only jobs in this state (queued, running, dead).
        #[arg(long)]
        state: Option<String>,
        /// How many to show (1 to 1000).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run a dead or waiting job again now, with a fresh attempt count.
    Retry {
        /// The job's id, as `backfeed jobs list` shows it.
        id: String,
    },
    /// Remove a job for good (it will not run again).
    Drop {
        /// The job's id, as `backfeed jobs list` shows it.
        id: String,
    },
}

pub async fn run(app: &App, command: JobsCommand) -> Result<(), String> {
    match command {
        JobsCommand::List {
            kind,
            state,
            limit,
            json,
        } => {
            let limit = limit.to_string();
            let filter = ListRequest {
                kind: kind.as_deref(),
                state: state.as_deref(),
                limit: Some(&limit),
                before: None,
            }
            .parse()
            .map_err(|e| e.to_string())?;
            let jobs = operator::list(app, &filter)
                .await
                .map_err(|e| e.to_string())?;
            print_jobs(&jobs.iter().map(JobView::from).collect::<Vec<_>>(), json);
            Ok(())
        }
        JobsCommand::Retry { id } => {
            let id = operator::parse_id(&id).map_err(|e| e.to_string())?;
            let job = operator::retry(app, &id).await.map_err(|e| e.to_string())?;
            println!(
                "job {id} ({}) is queued again, due now; a running `backfeed serve` takes it at \
                 once, a function on its next scheduled run",
                job.kind
            );
            Ok(())
        }
        JobsCommand::Drop { id } => {
            let id = operator::parse_id(&id).map_err(|e| e.to_string())?;
            operator::drop(app, &id).await.map_err(|e| e.to_string())?;
            println!("job {id} dropped");
            Ok(())
        }
    }
}

fn print_jobs(jobs: &[JobView], json: bool) {
    if json {
        for job in jobs {
            println!("{}", serde_json::to_string(job).unwrap_or_default());
        }
        return;
    }
    println!(
        "{:<24} {:<15} {:<7} {:>8}  {:<24} LAST ERROR / PAYLOAD",
        "ID", "KIND", "STATE", "ATTEMPTS", "DUE"
    );
    for job in jobs {
        let detail = job
            .last_error
            .clone()
            .unwrap_or_else(|| job.payload.to_string());
        println!(
            "{:<24} {:<15} {:<7} {:>8}  {:<24} {detail}",
            job.id, job.kind, job.state, job.attempts, job.due_at
        );
    }
}
