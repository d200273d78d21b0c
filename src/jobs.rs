//! Background work: loops around the units of work the use cases expose.
//!
//! Each unit ("verify one mention") is idempotent and durable in the store;
//! these loops only decide *when* to run them. The socket server runs them
//! beside the Router; serverless runtimes will call the units on a schedule;
//! tests call the units directly.

use std::sync::Arc;
use std::time::Duration;

use crate::App;
use crate::webmention::Receiver;

/// Verification workers per process: verification waits on remote sources,
/// so a few run side by side.
const VERIFICATION_WORKERS: usize = 4;
/// How often one idle worker looks for due retries. The other idle workers
/// sleep until a new request or a busy worker wakes them, so an idle
/// process makes about one store query a second (one LIST on S3), not four.
const IDLE_WAIT: Duration = Duration::from_secs(1);
const RESERVE_WAIT: Duration = Duration::from_secs(30);
const ERROR_PAUSE: Duration = Duration::from_secs(5);

/// Starts the background loops of every enabled feature.
pub fn spawn_workers(app: &Arc<App>) {
    if let Some(receiver) = &app.receiver {
        for worker in 0..VERIFICATION_WORKERS {
            let idle = if worker == 0 { IDLE_WAIT } else { RESERVE_WAIT };
            tokio::spawn(verification_loop(Arc::clone(receiver), idle));
        }
        if receiver.has_webhook() {
            tokio::spawn(delivery_loop(Arc::clone(receiver)));
        }
    }
}

async fn verification_loop(receiver: Arc<Receiver>, idle: Duration) {
    loop {
        match receiver.verify_next().await {
            // There may be more: bring another worker in.
            Ok(Some(_)) => receiver.wake_a_worker(),
            Ok(None) => receiver.wait_for_work(idle).await,
            Err(error) => {
                tracing::warn!(%error, "verification worker: store error; pausing");
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}

async fn delivery_loop(receiver: Arc<Receiver>) {
    loop {
        match receiver.deliver_next().await {
            Ok(Some(_)) => {}
            Ok(None) => receiver.wait_for_deliveries(IDLE_WAIT).await,
            Err(error) => {
                tracing::warn!(%error, "webhook worker: store error; pausing");
                tokio::time::sleep(ERROR_PAUSE).await;
            }
        }
    }
}
