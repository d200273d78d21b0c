//! Acting on a verified activity (the process-activity job's handler).
//!
//! `Follow` of our actor stores the follower and queues a signed `Accept`
//! (embedding the `Follow` as received, which both of Mastodon's `Accept`
//! code paths take, research §1.5) for its personal inbox; `Undo(Follow)`
//! and the `Delete` of the follower's own actor remove it. Anything else is
//! accepted and ignored.
//!
//! Invariant: only the activity's verified actor may follow, unfollow or
//! delete itself: the inbox checked that the signer is the actor, and an
//! `Undo`'s inner activity must have the same actor.

use serde_json::{Value, json};

use super::Federation;
use super::conversation::Interaction;
use super::documents::AS_CONTEXT;
use super::remote::text;
use crate::domain::job::{Job, Outcome, ProcessActivity};
use crate::storage::Follower;

/// What processing an activity did (for tests and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Followed {
        new: bool,
    },
    Unfollowed,
    /// A reply, like or boost, or a change to one.
    Interaction(Interaction),
    Ignored(&'static str),
}

/// The `type` of an activity's embedded object.
fn inner_type(activity: &Value) -> Option<&str> {
    activity.get("object")?.get("type")?.as_str()
}

impl Federation {
    /// The handler of a process-activity job.
    pub async fn run_processing(&self, job: &Job) -> Outcome {
        let payload: ProcessActivity = match job.payload() {
            Ok(p) => p,
            Err(error) => return Outcome::Fail { error },
        };
        let Ok(activity) = serde_json::from_str::<Value>(&payload.activity) else {
            return Outcome::Fail {
                error: "the stored activity is not JSON".into(),
            };
        };
        match self.process(&payload.actor, &activity).await {
            Ok(effect) => {
                tracing::debug!(?effect, actor = %payload.actor, "activity processed");
                Outcome::Done
            }
            Err(error) => Outcome::retry(error),
        }
    }

    /// Applies one activity of `actor` (its verified signer).
    pub async fn process(&self, actor: &str, activity: &Value) -> Result<Effect, String> {
        let kind = activity.get("type").and_then(Value::as_str).unwrap_or("");
        match kind {
            "Follow" => self.follow(actor, activity).await,
            "Undo" if inner_type(activity) == Some("Follow") => self.undo(actor, activity).await,
            "Delete" if text(activity, "object").as_deref() == Some(actor) => {
                self.unfollow(actor, "an unknown actor was deleted").await
            }
            "Create" | "Update" | "Delete" | "Like" | "Announce" | "Undo" => self
                .interact(actor, activity)
                .await
                .map(Effect::Interaction),
            _ => Ok(Effect::Ignored("an activity type we do not act on")),
        }
    }

    async fn follow(&self, actor: &str, follow: &Value) -> Result<Effect, String> {
        if text(follow, "object").as_deref() != Some(self.urls.actor().as_str()) {
            return Ok(Effect::Ignored("a follow of someone else"));
        }
        let remote = self.actor(actor).await.map_err(|e| e.to_string())?;
        let follower = Follower {
            actor: remote.id.clone(),
            inbox: remote.inbox.clone(),
            shared_inbox: remote.shared_inbox.clone(),
            followed_at: self.clock.now(),
        };
        let new = self
            .store
            .add_follower(&follower)
            .await
            .map_err(|e| e.to_string())?;
        let accept = json!({
            "@context": AS_CONTEXT,
            "id": self.urls.new_activity(),
            "type": "Accept",
            "actor": self.urls.actor(),
            "object": follow,
        });
        let dedupe = text(follow, "id").map(|id| format!("accept:{id}"));
        self.queue_delivery(&remote.inbox, &accept, dedupe)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Effect::Followed { new })
    }

    /// Removes `actor` from the followers; `otherwise` says why nothing
    /// changed when it was not following.
    async fn unfollow(&self, actor: &str, otherwise: &'static str) -> Result<Effect, String> {
        let removed = self
            .store
            .remove_follower(actor)
            .await
            .map_err(|e| e.to_string())?;
        Ok(if removed {
            Effect::Unfollowed
        } else {
            Effect::Ignored(otherwise)
        })
    }

    async fn undo(&self, actor: &str, undo: &Value) -> Result<Effect, String> {
        let Some(inner) = undo.get("object") else {
            return Ok(Effect::Ignored("an undo of nothing"));
        };
        let inner_kind = inner.get("type").and_then(Value::as_str);
        let inner_actor = text(inner, "actor");
        if inner_actor.as_deref().is_some_and(|a| a != actor) {
            return Ok(Effect::Ignored("an undo of someone else's activity"));
        }
        match inner_kind {
            Some("Follow") => self.unfollow(actor, "an unfollow by a non-follower").await,
            _ => Ok(Effect::Ignored("an undo we do not act on")),
        }
    }
}
