//! Webhook notifications of new, updated and deleted mentions.
//!
//! A settled verification queues a delivery job on the one job queue;
//! [`Receiver::run_webhook_delivery`] is that job's handler, and the
//! queue's retry policy retries a failed delivery and, after the last
//! attempt, keeps it as dead with the webhook's answer. The body is JSON with the
//! event and the mention as a JF2 entry, signed with
//! `X-Backfeed-Signature: sha256=<hex HMAC-SHA256(secret, body)>` so the
//! receiving end can check it came from us. With `BACKFEED_WEBHOOK_FORMAT=
//! webmention.io` the body is webmention.io's callback instead (its
//! `helpers/web_hooks.rb`): `{secret, source, target, private, post}` when a
//! mention is verified (new or updated), `{secret, source, target, private,
//! deleted: true}` when it is deleted; the secret travels in the body, as
//! there, and the signature header is still sent.

use super::Receiver;
use crate::clients::http::{FetchError, FetchPolicy, HttpClient};
use crate::config::{WebhookConfig, WebhookFormat};
use crate::domain::job::{DeliverWebhook, Job, Outcome};
use crate::domain::mention::{Mention, MentionEvent, MentionId};
use crate::protocol::jf2;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use sha2::Sha256;

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

    async fn send(&self, event: &str, delivery: &str, body: Vec<u8>) -> Result<(), String> {
        let request = self
            .client
            .request(Method::POST, self.config.url.clone())
            .header("content-type", "application/json")
            .header(
                SIGNATURE_HEADER,
                signature(self.config.secret.expose(), &body),
            )
            .header("X-Backfeed-Event", event)
            .header("X-Backfeed-Delivery", delivery)
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

impl Receiver {
    /// The handler of a [`JobKind::DeliverWebhook`] job: sends one event.
    ///
    /// [`JobKind::DeliverWebhook`]: crate::domain::job::JobKind::DeliverWebhook
    pub async fn run_webhook_delivery(&self, job: &Job) -> Outcome {
        let Some(webhook) = &self.webhook else {
            return Outcome::Fail {
                error: "no webhook is configured (BACKFEED_WEBHOOK_URL)".into(),
            };
        };
        let payload: DeliverWebhook = match job.payload() {
            Ok(payload) => payload,
            Err(error) => return Outcome::Fail { error },
        };
        let Some(event) = MentionEvent::parse(&payload.event) else {
            return Outcome::Fail {
                error: format!("unknown event `{}`", payload.event),
            };
        };
        let mention = match self.store.find_mention(MentionId(payload.mention_id)).await {
            Ok(Some(mention)) => mention,
            // Removed meanwhile: nothing to tell.
            Ok(None) => return Outcome::Done,
            Err(error) => return Outcome::retry(error.to_string()),
        };
        let body = match webhook.config.format {
            WebhookFormat::Backfeed => backfeed_body(event, &mention),
            WebhookFormat::WebmentionIo => {
                webmention_io_body(event, &mention, webhook.config.secret.expose())
            }
        };
        let sent = webhook
            .send(
                event.label(),
                job.id.as_str(),
                body.to_string().into_bytes(),
            )
            .await;
        let outcome = match sent {
            Ok(()) => Outcome::Done,
            Err(reason) => Outcome::retry(reason),
        };
        metrics::counter!("backfeed_webhook_deliveries_total", "outcome" => outcome.label())
            .increment(1);
        outcome
    }
}

/// Our event: what happened, the mention's states, and its JF2 entry.
fn backfeed_body(event: MentionEvent, mention: &Mention) -> serde_json::Value {
    serde_json::json!({
        "event": event.label(),
        "id": mention.id.0,
        "source": mention.source.as_str(),
        "target": mention.target.as_str(),
        "status": mention.verification.label(),
        "moderation": mention.moderation.label(),
        "mention": jf2::entry(mention),
    })
}

/// webmention.io's callback body (`WebHooks.notify` and `.deleted`).
fn webmention_io_body(event: MentionEvent, mention: &Mention, secret: &str) -> serde_json::Value {
    let mut body = serde_json::json!({
        "secret": secret,
        "source": mention.source.as_str(),
        "target": mention.target.as_str(),
        "private": false,
    });
    match event {
        MentionEvent::Deleted => body["deleted"] = true.into(),
        MentionEvent::New | MentionEvent::Updated => body["post"] = jf2::entry(mention),
    }
    body
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
