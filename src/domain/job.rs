//! Background jobs: the kinds of work there are, what each carries, and the
//! rules that decide what happens after an attempt.
//!
//! Every kind of background work (verifying a received webmention,
//! delivering a webhook, refreshing a cached thread, and later sending
//! webmentions and ActivityPub deliveries) is a job on one durable queue
//! (`storage::JobStore`). A job has a kind, a payload only its kind's
//! handler reads, an optional dedupe key, a due time, a lease while a worker
//! holds it, an attempt count and an end: done (it leaves the queue) or dead
//! (kept, with its last error, until an operator retries or drops it).
//!
//! Invariant: an attempt is counted when a job is *claimed*, not when it
//! ends, so a job that kills its worker (or the whole process) every time
//! still runs out of attempts and goes dead instead of looping forever.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::PostUrl;
use super::mention::{MentionEvent, MentionId};

/// What a job does; each kind has one handler and one retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Fetch a received webmention's source and settle the mention.
    VerifyMention,
    /// Tell the operator's webhook about a new, updated or deleted mention.
    DeliverWebhook,
    /// Fetch a post's Mastodon thread again and replace the cached copy.
    RefreshThread,
    /// Discover a target's endpoint and send it one webmention.
    SendWebmention,
    /// Announce a post found in the blog's feed on Mastodon.
    AnnouncePost,
    /// Read the blog's feeds that are due, queue what changed, and come
    /// back after `publish.feed_interval`.
    PollFeeds,
    /// Act on an ActivityPub activity whose signature the inbox verified.
    ProcessActivity,
    /// Sign and POST one of our activities to one inbox.
    DeliverActivity,
}

impl JobKind {
    pub const ALL: [Self; 8] = [
        Self::VerifyMention,
        Self::DeliverWebhook,
        Self::RefreshThread,
        Self::SendWebmention,
        Self::AnnouncePost,
        Self::PollFeeds,
        Self::ProcessActivity,
        Self::DeliverActivity,
    ];

    /// The stored name (also what `--kind` and the admin API take).
    pub fn label(self) -> &'static str {
        match self {
            Self::VerifyMention => "verify-mention",
            Self::DeliverWebhook => "deliver-webhook",
            Self::RefreshThread => "refresh-thread",
            Self::SendWebmention => "send-webmention",
            Self::AnnouncePost => "announce-post",
            Self::PollFeeds => "poll-feeds",
            Self::ProcessActivity => "process-activity",
            Self::DeliverActivity => "deliver-activity",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.label() == label)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Where a job stands. A finished job is no longer in the queue at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its due time (a first attempt or a retry).
    Queued,
    /// Held by a worker until its lease runs out; then claimable again.
    Running,
    /// Out of attempts, or failed for good: kept with its last error.
    Dead,
}

impl JobState {
    pub const ALL: [Self; 3] = [Self::Queued, Self::Running, Self::Dead];

    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Dead => "dead",
        }
    }

    pub fn parse(label: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.label() == label)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A job's id: time-ordered and random, so ids sort by creation and no two
/// writers can ever hand out the same one, whatever the store guarantees.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

/// The length of every id [`JobId::compose`] makes: 12 hex digits of
/// Unix milliseconds, then 12 of randomness.
const ID_LENGTH: usize = 24;

impl JobId {
    /// The id of a job created at `now`, made unique by `random` (the
    /// store supplies the randomness; its low 48 bits are used).
    pub fn compose(now: OffsetDateTime, random: u64) -> Self {
        let millis = (now.unix_timestamp_nanos() / 1_000_000).clamp(0, 0xffff_ffff_ffff);
        let random = random & 0xffff_ffff_ffff;
        Self(format!("{millis:012x}{random:012x}"))
    }

    /// Parses an id given by an operator or read from a store.
    pub fn parse(text: &str) -> Option<Self> {
        let valid = text.len() == ID_LENGTH
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A job to put on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    pub kind: JobKind,
    /// JSON only the kind's handler reads.
    pub payload: String,
    /// Enqueueing a key that a queued job already has makes no new job.
    pub dedupe_key: Option<String>,
    pub due_at: OffsetDateTime,
}

/// The payload of [`JobKind::VerifyMention`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyMention {
    pub mention_id: i64,
}

/// The payload of [`JobKind::DeliverWebhook`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverWebhook {
    pub mention_id: i64,
    /// `new`, `updated` or `deleted`.
    pub event: String,
}

/// The payload of [`JobKind::RefreshThread`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshThread {
    pub url: String,
}

/// The payload of [`JobKind::SendWebmention`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendWebmention {
    pub source: String,
    pub target: String,
    /// The source's content version this send is for.
    pub version: String,
}

/// The payload of [`JobKind::AnnouncePost`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnouncePost {
    pub url: String,
}

/// The payload of [`JobKind::ProcessActivity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessActivity {
    /// The verified signer (the activity's actor).
    pub actor: String,
    /// The activity as received.
    pub activity: String,
}

/// The payload of [`JobKind::DeliverActivity`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverActivity {
    pub inbox: String,
    /// The activity, signed afresh at each attempt.
    pub activity: String,
}

impl NewJob {
    /// Act on a verified activity (a redelivery of an activity whose
    /// processing is still queued makes no second job).
    pub fn process_activity(
        actor: &str,
        activity: &str,
        activity_id: Option<&str>,
        due_at: OffsetDateTime,
    ) -> Self {
        Self {
            kind: JobKind::ProcessActivity,
            payload: json(&ProcessActivity {
                actor: actor.to_owned(),
                activity: activity.to_owned(),
            }),
            dedupe_key: activity_id.map(|id| format!("process-activity:{id}")),
            due_at,
        }
    }

    /// Deliver `activity` to `inbox` (the dedupe key, when given, makes one
    /// queued delivery of the same activity per inbox).
    pub fn deliver_activity(
        inbox: &str,
        activity: &str,
        dedupe_key: Option<String>,
        due_at: OffsetDateTime,
    ) -> Self {
        Self {
            kind: JobKind::DeliverActivity,
            payload: json(&DeliverActivity {
                inbox: inbox.to_owned(),
                activity: activity.to_owned(),
            }),
            dedupe_key,
            due_at,
        }
    }
}

/// The one queued feed poll's dedupe key.
pub const POLL_FEEDS_KEY: &str = "poll-feeds";

impl NewJob {
    /// Send `source` → `target` for content `version` (one queued send per
    /// source, target and version, see `sent::send_key`).
    pub fn send_webmention(
        source: &url::Url,
        target: &url::Url,
        version: &str,
        due_at: OffsetDateTime,
    ) -> Self {
        Self {
            kind: JobKind::SendWebmention,
            payload: json(&SendWebmention {
                source: source.to_string(),
                target: target.to_string(),
                version: version.to_owned(),
            }),
            dedupe_key: Some(super::sent::send_key(source, target, version)),
            due_at,
        }
    }

    /// Announce `url` (one queued announcement per post).
    pub fn announce_post(url: &PostUrl, due_at: OffsetDateTime) -> Self {
        Self {
            kind: JobKind::AnnouncePost,
            payload: json(&AnnouncePost {
                url: url.as_str().to_owned(),
            }),
            dedupe_key: Some(format!("announce-post:{url}")),
            due_at,
        }
    }

    /// Poll the feeds at `due_at` (one queued poll: the earlier due wins).
    pub fn poll_feeds(due_at: OffsetDateTime) -> Self {
        Self {
            kind: JobKind::PollFeeds,
            payload: "{}".to_owned(),
            dedupe_key: Some(POLL_FEEDS_KEY.to_owned()),
            due_at,
        }
    }

    /// Verify mention `id` (one queued verification per mention: a re-sent
    /// webmention while one waits makes no second job).
    pub fn verify_mention(id: MentionId, due_at: OffsetDateTime) -> Self {
        Self {
            kind: JobKind::VerifyMention,
            payload: json(&VerifyMention { mention_id: id.0 }),
            dedupe_key: Some(format!("verify-mention:{id}")),
            due_at,
        }
    }

    /// Tell the webhook about `event` (every event is its own delivery).
    pub fn deliver_webhook(id: MentionId, event: MentionEvent, due_at: OffsetDateTime) -> Self {
        Self {
            kind: JobKind::DeliverWebhook,
            payload: json(&DeliverWebhook {
                mention_id: id.0,
                event: event.label().to_owned(),
            }),
            dedupe_key: None,
            due_at,
        }
    }

    /// Refresh the cached thread of `url` (one queued refresh per post).
    pub fn refresh_thread(url: &PostUrl, due_at: OffsetDateTime) -> Self {
        Self {
            kind: JobKind::RefreshThread,
            payload: json(&RefreshThread {
                url: url.as_str().to_owned(),
            }),
            dedupe_key: Some(format!("refresh-thread:{url}")),
            due_at,
        }
    }
}

fn json<T: Serialize>(payload: &T) -> String {
    serde_json::to_string(payload).unwrap_or_else(|_| "{}".to_owned())
}

/// A job as the queue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub payload: String,
    pub dedupe_key: Option<String>,
    pub state: JobState,
    /// Attempts started so far (the one running included).
    pub attempts: u32,
    /// When it is due; while running, when its lease runs out.
    pub due_at: OffsetDateTime,
    pub last_error: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl Job {
    /// Reads the payload as its kind's type.
    pub fn payload<T: for<'de> Deserialize<'de>>(&self) -> Result<T, String> {
        serde_json::from_str(&self.payload)
            .map_err(|e| format!("unreadable {} payload: {e}", self.kind))
    }
}

/// Proof of holding a job: a store settles a job only for the holder of its
/// current lease, so a worker whose lease ran out changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease(String);

impl Lease {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A job a worker holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// As claimed: `Running`, with this attempt counted.
    pub job: Job,
    pub lease: Lease,
}

/// How a held job ends, as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Finished: it leaves the queue.
    Done,
    /// Another attempt at `due_at`.
    Retry {
        due_at: OffsetDateTime,
        error: String,
    },
    /// Back in the queue until `due_at` with the claim's attempt not
    /// counted (and the last error kept): the handler did not try.
    Defer { due_at: OffsetDateTime },
    /// No more attempts: kept as dead with the error.
    Dead { error: String },
}

/// What a handler reports of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// A failure that may pass; `after` is what the remote asked for
    /// (`Retry-After`), if anything.
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// A failure that will not pass by trying again.
    Fail {
        error: String,
    },
    /// Not attempted now (the work's turn has not come, e.g. its remote
    /// already has its share of workers): run again `after` this, without
    /// spending an attempt.
    Defer {
        after: Duration,
    },
}

impl Outcome {
    pub fn retry(error: impl Into<String>) -> Self {
        Self::Retry {
            error: error.into(),
            after: None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Retry { .. } => "retry",
            Self::Fail { .. } => "failed",
            Self::Defer { .. } => "deferred",
        }
    }
}

/// A kind's schedule of retries: the delay before each further attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub delays: Vec<Duration>,
}

/// The longest a remote's `Retry-After` may push a retry back: beyond it,
/// the remote is asking for more patience than a blog's queue should give.
pub const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

impl RetryPolicy {
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// 1 min, 5 min, 30 min, 2 h, 12 h: a remote down for half a day still
    /// gets its message (the default for webmention verification and
    /// webhooks).
    pub fn patient() -> Self {
        Self::new(
            [60, 300, 1_800, 7_200, 43_200]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
        )
    }

    /// Attempts in all: the first and one per delay.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays.len())
            .unwrap_or(u32::MAX - 1)
            .saturating_add(1)
    }

    /// Whether attempt number `attempt` (1-based) is the last one.
    pub fn is_last(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts()
    }

    /// How a job settles after attempt number `attempt` (1-based) ended
    /// with `outcome` at `now`. A remote's `Retry-After` is honoured when it
    /// asks for more than the schedule (up to [`LONGEST_RETRY_AFTER`]).
    pub fn settle(&self, attempt: u32, outcome: Outcome, now: OffsetDateTime) -> Settlement {
        match outcome {
            Outcome::Done => Settlement::Done,
            Outcome::Fail { error } => Settlement::Dead { error },
            Outcome::Defer { after } => Settlement::Defer {
                due_at: now + after.min(LONGEST_RETRY_AFTER),
            },
            Outcome::Retry { error, after } => {
                let scheduled = usize::try_from(attempt.saturating_sub(1))
                    .ok()
                    .and_then(|i| self.delays.get(i));
                match scheduled {
                    None => Settlement::Dead {
                        error: format!("gave up after {attempt} attempts: {error}"),
                    },
                    Some(delay) => {
                        let asked = after.unwrap_or_default().min(LONGEST_RETRY_AFTER);
                        Settlement::Retry {
                            due_at: now + (*delay).max(asked),
                            error,
                        }
                    }
                }
            }
        }
    }

    /// How a job settles when it is claimed with more attempts started than
    /// the policy allows: every earlier attempt ended without settling (its
    /// worker or process died), so it is not run again.
    pub fn abandoned(&self, attempts: u32, last_error: Option<&str>) -> Option<Settlement> {
        (attempts > self.max_attempts()).then(|| Settlement::Dead {
            error: format!(
                "abandoned after {} attempts that never finished (the worker stopped each time){}",
                attempts - 1,
                last_error
                    .map(|e| format!("; last error: {e}"))
                    .unwrap_or_default()
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);

    fn policy() -> RetryPolicy {
        RetryPolicy::new(vec![Duration::from_secs(60), Duration::from_secs(300)])
    }

    #[test]
    fn a_failure_retries_on_the_schedule_then_the_job_dies() {
        let p = policy();
        assert_eq!(p.max_attempts(), 3);
        assert_eq!(
            p.settle(1, Outcome::retry("503"), NOW),
            Settlement::Retry {
                due_at: NOW + Duration::from_secs(60),
                error: "503".into()
            }
        );
        assert_eq!(
            p.settle(2, Outcome::retry("503"), NOW),
            Settlement::Retry {
                due_at: NOW + Duration::from_secs(300),
                error: "503".into()
            }
        );
        assert_eq!(
            p.settle(3, Outcome::retry("503"), NOW),
            Settlement::Dead {
                error: "gave up after 3 attempts: 503".into()
            }
        );
        assert!(p.is_last(3) && !p.is_last(2));
    }

    #[test]
    fn a_deferral_is_due_after_its_wait_even_on_the_last_attempt() {
        let p = policy();
        for attempt in [1, 3] {
            assert_eq!(
                p.settle(
                    attempt,
                    Outcome::Defer {
                        after: Duration::from_secs(2)
                    },
                    NOW
                ),
                Settlement::Defer {
                    due_at: NOW + Duration::from_secs(2)
                }
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_schedule_and_capped() {
        let p = policy();
        let asked = |after| Outcome::Retry {
            error: "429".into(),
            after: Some(after),
        };
        let due = |s| match s {
            Settlement::Retry { due_at, .. } => due_at,
            other => panic!("not a retry: {other:?}"),
        };
        assert_eq!(
            due(p.settle(1, asked(Duration::from_secs(3600)), NOW)),
            NOW + Duration::from_secs(3600)
        );
        assert_eq!(
            due(p.settle(1, asked(Duration::from_secs(5)), NOW)),
            NOW + Duration::from_secs(60)
        );
        assert_eq!(
            due(p.settle(1, asked(Duration::from_secs(90 * 24 * 3600)), NOW)),
            NOW + LONGEST_RETRY_AFTER
        );
    }

    #[test]
    fn a_permanent_failure_dies_at_once_and_success_is_done() {
        let p = policy();
        assert_eq!(
            p.settle(
                1,
                Outcome::Fail {
                    error: "410".into()
                },
                NOW
            ),
            Settlement::Dead {
                error: "410".into()
            }
        );
        assert_eq!(p.settle(1, Outcome::Done, NOW), Settlement::Done);
    }

    #[test]
    fn a_job_whose_workers_keep_dying_is_abandoned_not_run_again() {
        let p = policy();
        assert_eq!(p.abandoned(3, None), None);
        assert!(matches!(
            p.abandoned(4, Some("boom")),
            Some(Settlement::Dead { error }) if error.contains("3 attempts") && error.contains("boom")
        ));
    }

    #[test]
    fn ids_sort_by_creation_and_parse_back() {
        let first = JobId::compose(NOW, u64::MAX);
        let later = JobId::compose(NOW + Duration::from_millis(1), 0);
        assert!(first < later);
        assert_eq!(first.as_str().len(), ID_LENGTH);
        assert_eq!(JobId::parse(first.as_str()), Some(first.clone()));
        assert_eq!(JobId::parse("42"), None);
        assert_eq!(JobId::parse("../../etc/passwd0000000000"), None);
    }

    #[test]
    fn kinds_and_states_round_trip_through_their_labels() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.label()), Some(kind));
        }
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.label()), Some(state));
        }
    }

    #[test]
    fn constructors_key_what_must_not_queue_twice() {
        let id = MentionId(7);
        let job = NewJob::verify_mention(id, NOW);
        assert_eq!(job.dedupe_key.as_deref(), Some("verify-mention:7"));
        assert_eq!(job.payload, r#"{"mention_id":7}"#);
        assert_eq!(
            NewJob::deliver_webhook(id, MentionEvent::New, NOW).dedupe_key,
            None
        );
    }
}
