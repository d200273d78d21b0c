//! Delivering our activities: a signed POST to one inbox per job.
//!
//! Signed afresh at each attempt (Mastodon refuses a `Date` over about an
//! hour old), with `(request-target) host date digest content-type`, as
//! Mastodon signs. 2xx is done; 410 and the other 4xx but 401/408/429 are
//! permanent (Mastodon's own rule, research §1.6); the rest are retried on
//! [`RETRIES`], about seven days in all, after which the job is dead and
//! the server's followers are dropped, as after a 410. At most
//! [`PER_SERVER`] deliveries to one server run at once (in this process);
//! a delivery over that waits its turn without spending an attempt.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, DATE, HeaderValue};
use serde_json::Value;
use url::Url;

use super::Federation;
use super::documents::ACTIVITY_JSON;
use super::remote::{host_of, target_of};
use crate::domain::job::{DeliverActivity, Job, NewJob, Outcome};
use crate::protocol::http_signature;
use crate::storage::StoreError;

/// The retry schedule of a delivery: quickly at first, then daily, about
/// seven days in all.
pub const RETRIES: [Duration; 11] = [
    Duration::from_secs(60),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(24 * 3600),
    Duration::from_secs(48 * 3600),
];

/// Concurrent deliveries to one server.
pub const PER_SERVER: usize = 4;
/// How long a delivery over the limit waits before it asks again.
const TURN: Duration = Duration::from_millis(250);

/// Deliveries running now, per server (`host[:port]`).
#[derive(Debug, Default, Clone)]
pub struct DeliverySlots(Arc<Mutex<HashMap<String, usize>>>);

/// A running delivery's place; freed when dropped.
pub struct Slot {
    slots: DeliverySlots,
    server: String,
}

impl DeliverySlots {
    /// A place for one more delivery to `server`, unless it has [`PER_SERVER`].
    pub fn take(&self, server: &str) -> Option<Slot> {
        let mut running = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = running.entry(server.to_owned()).or_default();
        if *count >= PER_SERVER {
            return None;
        }
        *count += 1;
        Some(Slot {
            slots: self.clone(),
            server: server.to_owned(),
        })
    }

    pub fn running(&self, server: &str) -> usize {
        let running = self.0.lock().unwrap_or_else(|e| e.into_inner());
        running.get(server).copied().unwrap_or_default()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = self.slots.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = running.get_mut(&self.server) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                running.remove(&self.server);
            }
        }
    }
}

/// What an inbox's answer means for the delivery.
pub fn classify(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Done,
        401 | 408 | 429 => Outcome::retry(format!("the inbox answered {status}")),
        400..=499 => Outcome::Fail {
            error: format!("the inbox answered {status}, which is permanent"),
        },
        _ => Outcome::retry(format!("the inbox answered {status}")),
    }
}

impl Federation {
    /// Queues `activity` for `inbox`.
    pub async fn queue_delivery(
        &self,
        inbox: &str,
        activity: &Value,
        dedupe_key: Option<String>,
    ) -> Result<(), StoreError> {
        let job =
            NewJob::deliver_activity(inbox, &activity.to_string(), dedupe_key, self.clock.now());
        self.queue.enqueue(&job).await.map(|_| ())
    }

    /// The handler of a deliver-activity job: one signed POST; `last` says
    /// the retry schedule allows no further attempt.
    pub async fn run_delivery(&self, job: &Job, last: bool) -> Outcome {
        let delivery: DeliverActivity = match job.payload() {
            Ok(d) => d,
            Err(error) => return Outcome::Fail { error },
        };
        let Ok(inbox) = Url::parse(&delivery.inbox) else {
            return Outcome::Fail {
                error: format!("`{}` is not a URL", delivery.inbox),
            };
        };
        let Some(slot) = self.deliveries.take(&host_of(&inbox)) else {
            return Outcome::Defer { after: TURN };
        };
        let sent = self
            .post_signed(&inbox, delivery.activity.into_bytes())
            .await;
        drop(slot);
        let answered_gone = sent == Ok(410);
        let outcome = match sent {
            Ok(status) => classify(status),
            Err(error) => Outcome::retry(error),
        };
        // Gone (410), or failing for the whole schedule (about seven days):
        // so are its followers (Mastodon's rule).
        let gone = answered_gone || (last && matches!(outcome, Outcome::Retry { .. }));
        if gone && let Err(error) = self.drop_inbox(&delivery.inbox).await {
            return Outcome::retry(error.to_string());
        }
        metrics::counter!("backfeed_activitypub_deliveries_total", "outcome" => outcome.label())
            .increment(1);
        outcome
    }

    /// Removes every follower delivered to at `inbox` (it answered 410).
    async fn drop_inbox(&self, inbox: &str) -> Result<usize, StoreError> {
        let mut dropped = 0;
        for follower in self.store.list_followers().await? {
            if follower.delivery_inbox() == inbox || follower.inbox == inbox {
                self.store.remove_follower(&follower.actor).await?;
                dropped += 1;
            }
        }
        tracing::warn!(
            inbox,
            dropped,
            "an inbox is gone (410, or failing for seven days): its followers are removed"
        );
        Ok(dropped)
    }

    /// POSTs `body` to `inbox`, signed now; the status, or why no answer came.
    pub async fn post_signed(&self, inbox: &Url, body: Vec<u8>) -> Result<u16, String> {
        let key = self.key().await.map_err(|e| e.to_string())?;
        let date = httpdate::fmt_http_date(self.clock.now().into());
        let digest = http_signature::digest_header(&body);
        let host = host_of(inbox);
        let signed = [
            ("host", host.as_str()),
            ("date", date.as_str()),
            ("digest", digest.as_str()),
            ("content-type", ACTIVITY_JSON),
        ];
        let string = http_signature::outgoing_signing_string("POST", &target_of(inbox), &signed);
        let signature = http_signature::signature_header(
            &self.urls.key_id(),
            &signed,
            &key.sign_off_thread(string).await,
        );
        let signature = HeaderValue::from_str(&signature).map_err(|e| e.to_string())?;
        let request = self
            .client
            .request(reqwest::Method::POST, inbox.clone())
            .header(CONTENT_TYPE, ACTIVITY_JSON)
            .header(DATE, date)
            .header("digest", digest)
            .header("signature", signature)
            .body(body);
        let answer = self
            .client
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer.status.as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_classified_as_mastodon_does() {
        assert_eq!(classify(202), Outcome::Done);
        for retried in [401, 408, 429, 500, 502, 503] {
            assert!(
                matches!(classify(retried), Outcome::Retry { .. }),
                "{retried}"
            );
        }
        for permanent in [400, 403, 404, 410, 422] {
            assert!(
                matches!(classify(permanent), Outcome::Fail { .. }),
                "{permanent}"
            );
        }
    }

    #[test]
    fn the_retries_add_up_to_about_seven_days() {
        let total: Duration = RETRIES.iter().sum();
        let days = total.as_secs_f64() / 86_400.0;
        assert!((6.5..=7.5).contains(&days), "{days}");
    }

    #[test]
    fn at_most_four_deliveries_run_at_once_per_server() {
        let slots = DeliverySlots::default();
        let held: Vec<Slot> = (0..PER_SERVER)
            .map(|_| slots.take("a.example").expect("a place"))
            .collect();
        assert!(slots.take("a.example").is_none(), "the fifth waits");
        assert!(slots.take("b.example").is_some(), "other servers do not");
        drop(held);
        assert_eq!(slots.running("a.example"), 0);
        assert!(slots.take("a.example").is_some(), "freed");
    }
}
