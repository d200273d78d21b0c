//! Webhook notifications of new, updated and deleted mentions.
//!
//! Deliveries are queued in the store in the same transaction that settles a
//! verification, so no event is lost; [`Receiver::deliver_next`] is one unit
//! of background work that sends one of them. The body is JSON with the
//! event and the mention as a JF2 entry, signed with
//! `X-Backfeed-Signature: sha256=<hex HMAC-SHA256(secret, body)>` so the
//! receiving end can check it came from us.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use sha2::Sha256;
use time::OffsetDateTime;

use super::Receiver;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::config::WebhookConfig;
use crate::protocol::jf2;
use crate::storage::{Delivery, StoreError};

pub const SIGNATURE_HEADER: &str = "X-Backfeed-Signature";

/// Sends deliveries to the operator's webhook URL.
pub struct Webhook {
    config: WebhookConfig,
    client: HttpClient,
}

impl Webhook {
    /// The URL is the operator's own choice, so private addresses are allowed.
    pub fn new(config: WebhookConfig, fetch: &FetchPolicy) -> Result<Self, FetchError> {
        let client = HttpClient::new(FetchPolicy {
            allow_private_addresses: true,
            max_redirects: 0,
            ..fetch.clone()
        })?;
        Ok(Self { config, client })
    }

    async fn send(&self, delivery: &Delivery, body: Vec<u8>) -> Result<(), String> {
        let request = self
            .client
            .request(Method::POST, self.config.url.clone())
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(self.config.secret.expose(), &body),
            )
            .header("X-Backfeed-Event", delivery.event.label())
            .header("X-Backfeed-Delivery", delivery.id.to_string())
            .body(body);
        let answer = self
            .client
            .execute(request)
            .await
            .map_err(|e| e.to_string())?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(format!(
                "the webhook answered HTTP {}",
                answer.status.as_u16()
            ))
        }
    }
}

/// `sha256=<lower-case hex HMAC-SHA256 of body keyed with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// What one delivery attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    RetryAfter(Duration),
    GaveUp(String),
    /// The mention was removed meanwhile; nothing to tell.
    Dropped,
}

impl Receiver {
    /// Sends one due webhook delivery, if webhooks are on and one is due.
    pub async fn deliver_next(&self) -> Result<Option<Delivered>, StoreError> {
        let Some(webhook) = &self.webhook else {
            return Ok(None);
        };
        let now = OffsetDateTime::now_utc();
        let Some(delivery) = self.store.claim_delivery(now, self.lease).await? else {
            return Ok(None);
        };
        let outcome = match self.store.find_mention(delivery.mention_id).await? {
            None => Delivered::Dropped,
            Some(mention) => {
                let body = serde_json::json!({
                    "event": delivery.event.label(),
                    "id": mention.id.0,
                    "source": mention.source.as_str(),
                    "target": mention.target.as_str(),
                    "status": mention.verification.label(),
                    "moderation": mention.moderation.label(),
                    "mention": jf2::entry(&mention),
                });
                match webhook.send(&delivery, body.to_string().into_bytes()).await {
                    Ok(()) => Delivered::Sent,
                    Err(reason) => match self.config.retry.0.get(delivery.attempts as usize) {
                        Some(delay) => Delivered::RetryAfter(*delay),
                        None => Delivered::GaveUp(reason),
                    },
                }
            }
        };
        let retry = match &outcome {
            Delivered::RetryAfter(delay) => Some(*delay),
            Delivered::Sent | Delivered::GaveUp(_) | Delivered::Dropped => None,
        };
        if let Delivered::GaveUp(reason) = &outcome {
            tracing::warn!(delivery = delivery.id, %reason, "webhook delivery given up after its retries");
        }
        metrics::counter!("backfeed_webhook_deliveries_total", "outcome" => outcome_label(&outcome)).increment(1);
        self.store
            .settle_delivery(&delivery, retry, OffsetDateTime::now_utc())
            .await?;
        Ok(Some(outcome))
    }
}

fn outcome_label(outcome: &Delivered) -> &'static str {
    match outcome {
        Delivered::Sent => "sent",
        Delivered::RetryAfter(_) => "retry",
        Delivered::GaveUp(_) => "gave_up",
        Delivered::Dropped => "dropped",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
