//! The handle every use case enqueues background work through.
//!
//! It puts the job in the store (which keeps it durably) and wakes an idle
//! worker of this process, so work queued by a request starts at once under
//! `backfeed serve`; serverless runtimes have no workers and leave it to
//! their scheduled run.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::Clock;
use crate::domain::job::NewJob;
use crate::storage::{Enqueued, Store, StoreError};

#[derive(Clone)]
pub struct Queue {
    store: Arc<dyn Store>,
    clock: Clock,
    wake: Arc<Notify>,
}

impl Queue {
    pub fn new(store: Arc<dyn Store>, clock: Clock) -> Self {
        Self {
            store,
            clock,
            wake: Arc::new(Notify::new()),
        }
    }

    /// Stores the job, then wakes a worker.
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, StoreError> {
        let enqueued = self.store.enqueue(job, self.clock.now()).await?;
        self.wake();
        Ok(enqueued)
    }

    /// Wakes one idle worker: a job was stored some other way (a mention
    /// and its verification are stored together by the store itself).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Waits until work is queued in this process or `idle` passes on the
    /// clock (jobs due later, or queued by another process, are found by
    /// looking again).
    pub async fn wait(&self, idle: Duration) {
        tokio::select! {
            () = self.wake.notified() => {}
            () = self.clock.sleep(idle) => {}
        }
    }
}
