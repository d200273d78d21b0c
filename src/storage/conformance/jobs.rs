//! Conformance checks for the one durable job queue.
//!
//! Other checks leave jobs in the queue (every received mention queues a
//! verification), so each check here first runs the queue dry, claiming
//! and finishing whatever is due, and uses its own dedupe keys.
//!
//! Under [`Decisions::AtLeastOnce`] (S3 on a provider whose conditional
//! writes are not atomic) the sequential checks are the same: nothing races
//! there. The three concurrent ones ask for what such a provider can keep:
//! racing workers may both hold a job and racing enqueues of one key may
//! both make one (so "exactly once" becomes "at least once"), but every job
//! ends up done and every job an enqueue answered with runs: none is lost.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::Decisions;
use super::posts::now;
use crate::domain::job::{ClaimedJob, JobId, JobKind, JobState, NewJob, Settlement};
use crate::storage::{Enqueued, JobFilter, Store};

const LEASE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

pub async fn run(store: Arc<dyn Store>, decisions: Decisions) {
    a_job_is_claimable_when_due_and_counts_its_attempt(&*store).await;
    claims_come_in_due_order(&*store).await;
    a_held_job_comes_back_only_after_its_lease_and_a_lost_lease_settles_nothing(&*store).await;
    a_dedupe_key_makes_one_queued_job_with_the_earlier_due_time(&*store).await;
    work_asked_for_while_a_job_runs_is_queued_anew(&*store).await;
    a_retry_is_due_later_and_keeps_its_error(&*store).await;
    a_deferral_is_due_later_and_spends_no_attempt(&*store).await;
    only_a_queued_job_is_brought_forward(&*store).await;
    a_dead_job_is_listed_and_an_operator_can_retry_or_drop_it(&*store).await;
    listing_filters_and_pages_newest_first_and_counts_by_kind(&*store).await;
    concurrent_workers_never_hold_the_same_job(Arc::clone(&store), decisions).await;
    concurrent_enqueues_of_one_key_make_one_job_that_runs(Arc::clone(&store), decisions).await;
    work_asked_for_while_its_job_is_claimed_is_never_lost(Arc::clone(&store), decisions).await;
}

fn job(key: Option<&str>, due_at: OffsetDateTime) -> NewJob {
    NewJob {
        kind: JobKind::RefreshThread,
        payload: format!(
            r#"{{"url":"https://conformance.example/{}"}}"#,
            key.unwrap_or("none")
        ),
        dedupe_key: key.map(|k| format!("conformance:{k}")),
        due_at,
    }
}

/// Claims and finishes every job due up to `until` (the previous checks');
/// returns the ids claimed, in order.
async fn drain(store: &dyn Store, until: OffsetDateTime) -> Vec<JobId> {
    let mut claimed = Vec::new();
    while let Some(held) = store.claim_job(until, LEASE).await.expect("claim") {
        claimed.push(held.job.id.clone());
        store
            .settle_job(&held, &Settlement::Done, until)
            .await
            .expect("settle");
    }
    claimed
}

async fn claim(store: &dyn Store, at: OffsetDateTime) -> Option<ClaimedJob> {
    store.claim_job(at, LEASE).await.expect("claim")
}

async fn a_job_is_claimable_when_due_and_counts_its_attempt(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let id = store
        .enqueue(&job(None, t + HOUR), t)
        .await
        .unwrap()
        .id()
        .clone();
    let queued = store.find_job(&id).await.unwrap().expect("stored");
    assert_eq!(
        (queued.state, queued.attempts, queued.due_at),
        (JobState::Queued, 0, t + HOUR)
    );
    assert!(claim(store, t).await.is_none(), "not due yet");
    let claimed = claim(store, t + HOUR).await.expect("due");
    assert_eq!(claimed.job.id, id);
    assert_eq!(
        (claimed.job.state, claimed.job.attempts),
        (JobState::Running, 1)
    );
    assert_eq!(claimed.job.kind, JobKind::RefreshThread);
    assert_eq!(claimed.job.payload, job(None, t).payload, "payload kept");
    assert!(
        store
            .settle_job(&claimed, &Settlement::Done, t + HOUR)
            .await
            .unwrap()
    );
    assert!(
        store.find_job(&id).await.unwrap().is_none(),
        "a finished job leaves the queue"
    );
    assert!(
        !store
            .settle_job(&claimed, &Settlement::Done, t + HOUR)
            .await
            .unwrap(),
        "settled once"
    );
}

async fn claims_come_in_due_order(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let mut ids = Vec::new();
    for hours in [3u32, 1, 2] {
        let due = t + HOUR * hours;
        ids.push(
            store
                .enqueue(&job(None, due), t)
                .await
                .unwrap()
                .id()
                .clone(),
        );
    }
    let mut order = Vec::new();
    while let Some(claimed) = claim(store, t + 10 * HOUR).await {
        order.push(claimed.job.id.clone());
        store
            .settle_job(&claimed, &Settlement::Done, t)
            .await
            .unwrap();
    }
    assert_eq!(order, vec![ids[1].clone(), ids[2].clone(), ids[0].clone()]);
}

async fn a_held_job_comes_back_only_after_its_lease_and_a_lost_lease_settles_nothing(
    store: &dyn Store,
) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    store.enqueue(&job(None, t), t).await.unwrap();
    let first = claim(store, t).await.expect("due");
    assert!(
        claim(store, t + LEASE - Duration::from_secs(1))
            .await
            .is_none(),
        "held until its lease runs out"
    );
    let second = claim(store, t + LEASE + Duration::from_secs(1))
        .await
        .expect("a dead worker's job comes back");
    assert_eq!(second.job.id, first.job.id);
    assert_eq!(second.job.attempts, 2, "the lost attempt counts");
    assert_ne!(second.lease, first.lease);
    assert!(
        !store
            .settle_job(&first, &Settlement::Done, t)
            .await
            .unwrap(),
        "the first worker lost its lease"
    );
    assert!(
        store
            .find_job(&first.job.id)
            .await
            .unwrap()
            .is_some_and(|j| j.state == JobState::Running),
        "and changed nothing"
    );
    assert!(
        store
            .settle_job(&second, &Settlement::Done, t)
            .await
            .unwrap()
    );
}

async fn a_dedupe_key_makes_one_queued_job_with_the_earlier_due_time(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let first = store
        .enqueue(&job(Some("once"), t + 2 * HOUR), t)
        .await
        .unwrap();
    let Enqueued::Created(id) = first else {
        panic!("a new key makes a job: {first:?}");
    };
    assert_eq!(
        store
            .enqueue(&job(Some("once"), t + 3 * HOUR), t)
            .await
            .unwrap(),
        Enqueued::Merged(id.clone())
    );
    assert_eq!(
        store
            .enqueue(&job(Some("once"), t + HOUR), t)
            .await
            .unwrap(),
        Enqueued::Merged(id.clone()),
        "one job"
    );
    assert_eq!(
        store.find_job(&id).await.unwrap().map(|j| j.due_at),
        Some(t + HOUR),
        "the earlier due time wins"
    );
    let other = store
        .enqueue(&job(Some("other"), t + HOUR), t)
        .await
        .unwrap();
    assert!(matches!(other, Enqueued::Created(ref o) if *o != id));
    let without_key = [
        store.enqueue(&job(None, t), t).await.unwrap(),
        store.enqueue(&job(None, t), t).await.unwrap(),
    ];
    assert_ne!(
        without_key[0].id(),
        without_key[1].id(),
        "no key, no merging"
    );
    drain(store, t + 100 * HOUR).await;
}

async fn work_asked_for_while_a_job_runs_is_queued_anew(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let Enqueued::Created(running) = store.enqueue(&job(Some("busy"), t), t).await.unwrap() else {
        panic!("created");
    };
    let held = claim(store, t).await.expect("due");
    assert_eq!(held.job.id, running);
    let again = store.enqueue(&job(Some("busy"), t), t).await.unwrap();
    let Enqueued::Created(queued) = again else {
        panic!("a running job does not hold its key: {again:?}");
    };
    assert_ne!(queued, running);
    // The running one fails and would retry in an hour: the queued one,
    // due now, stands for it.
    let retry = Settlement::Retry {
        due_at: t + HOUR,
        error: "busy".into(),
    };
    assert!(store.settle_job(&held, &retry, t).await.unwrap());
    let waiting = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Queued),
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    let busy: Vec<_> = waiting
        .iter()
        .filter(|j| j.dedupe_key.as_deref() == Some("conformance:busy"))
        .collect();
    assert_eq!(busy.len(), 1, "still one queued job per key: {busy:?}");
    assert_eq!(busy[0].due_at, t, "due at the earlier time");
    drain(store, t + 100 * HOUR).await;
}

async fn a_retry_is_due_later_and_keeps_its_error(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let id = store.enqueue(&job(None, t), t).await.unwrap().id().clone();
    let held = claim(store, t).await.expect("due");
    let retry = Settlement::Retry {
        due_at: t + HOUR,
        error: "503 from the remote".into(),
    };
    assert!(store.settle_job(&held, &retry, t).await.unwrap());
    let queued = store.find_job(&id).await.unwrap().expect("kept");
    assert_eq!(
        (queued.state, queued.attempts, queued.due_at),
        (JobState::Queued, 1, t + HOUR)
    );
    assert_eq!(queued.last_error.as_deref(), Some("503 from the remote"));
    assert!(
        claim(store, t + HOUR - Duration::from_secs(1))
            .await
            .is_none()
    );
    let again = claim(store, t + HOUR).await.expect("due after the delay");
    assert_eq!((&again.job.id, again.job.attempts), (&id, 2));
    store
        .settle_job(&again, &Settlement::Done, t)
        .await
        .unwrap();
}

async fn a_deferral_is_due_later_and_spends_no_attempt(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let id = store
        .enqueue(&job(Some("deferred"), t), t)
        .await
        .unwrap()
        .id()
        .clone();
    // A failed attempt first, so there is an error to keep.
    let held = claim(store, t).await.expect("due");
    let retry = Settlement::Retry {
        due_at: t,
        error: "timed out".into(),
    };
    assert!(store.settle_job(&held, &retry, t).await.unwrap());
    let held = claim(store, t).await.expect("due again");
    assert_eq!(held.job.attempts, 2);
    let defer = Settlement::Defer { due_at: t + HOUR };
    assert!(store.settle_job(&held, &defer, t).await.unwrap());
    let queued = store.find_job(&id).await.unwrap().expect("kept");
    assert_eq!(
        (queued.state, queued.attempts, queued.due_at),
        (JobState::Queued, 1, t + HOUR),
        "the deferred claim is not counted"
    );
    assert_eq!(queued.last_error.as_deref(), Some("timed out"));
    assert!(
        claim(store, t + HOUR - Duration::from_secs(1))
            .await
            .is_none()
    );
    let again = claim(store, t + HOUR).await.expect("due after the wait");
    assert_eq!((&again.job.id, again.job.attempts), (&id, 2));
    // A lost lease defers nothing.
    assert!(!store.settle_job(&held, &defer, t).await.unwrap());
    store
        .settle_job(&again, &Settlement::Done, t)
        .await
        .unwrap();
}

async fn only_a_queued_job_is_brought_forward(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let key = "conformance:forward";
    assert!(
        !store.bring_forward(key, t, t).await.unwrap(),
        "no job has the key"
    );
    let id = store
        .enqueue(&job(Some("forward"), t + HOUR), t)
        .await
        .unwrap()
        .id()
        .clone();
    assert!(claim(store, t).await.is_none(), "not due yet");
    assert!(store.bring_forward(key, t + 2 * HOUR, t).await.unwrap());
    assert_eq!(
        store.find_job(&id).await.unwrap().unwrap().due_at,
        t + HOUR,
        "never later than it was"
    );
    assert!(store.bring_forward(key, t, t).await.unwrap());
    let held = claim(store, t).await.expect("due now");
    assert_eq!(held.job.id, id);
    assert!(
        !store.bring_forward(key, t, t).await.unwrap(),
        "a running job is left alone"
    );
    store.settle_job(&held, &Settlement::Done, t).await.unwrap();
    assert!(
        !store.bring_forward(key, t, t).await.unwrap(),
        "nor is a finished one brought back"
    );
    assert!(store.find_job(&id).await.unwrap().is_none());
}

async fn a_dead_job_is_listed_and_an_operator_can_retry_or_drop_it(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let id = store
        .enqueue(&job(Some("doomed"), t), t)
        .await
        .unwrap()
        .id()
        .clone();
    let held = claim(store, t).await.expect("due");
    let dead = Settlement::Dead {
        error: "410 Gone".into(),
    };
    assert!(store.settle_job(&held, &dead, t).await.unwrap());
    assert!(
        claim(store, t + 100 * HOUR).await.is_none(),
        "a dead job is never claimed"
    );
    let listed = store
        .list_jobs(&JobFilter {
            state: Some(JobState::Dead),
            limit: 100,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    let found = listed.iter().find(|j| j.id == id).expect("listed as dead");
    assert_eq!(found.last_error.as_deref(), Some("410 Gone"));
    assert_eq!(found.attempts, 1);

    assert!(store.retry_job(&id, t + HOUR).await.unwrap());
    let revived = store.find_job(&id).await.unwrap().expect("kept");
    assert_eq!(
        (revived.state, revived.attempts, revived.due_at),
        (JobState::Queued, 0, t + HOUR)
    );
    assert_eq!(
        store
            .enqueue(&job(Some("doomed"), t + 5 * HOUR), t)
            .await
            .unwrap(),
        Enqueued::Merged(id.clone()),
        "a retried job holds its key again"
    );
    let held = claim(store, t + HOUR).await.expect("due again");
    assert_eq!(held.job.id, id);
    assert!(
        !store.retry_job(&id, t).await.unwrap(),
        "a running job is not retried by hand"
    );
    store.settle_job(&held, &dead, t).await.unwrap();

    assert!(store.drop_job(&id).await.unwrap());
    assert!(store.find_job(&id).await.unwrap().is_none());
    assert!(!store.drop_job(&id).await.unwrap());
    assert!(!store.retry_job(&id, t).await.unwrap());
    let unknown = JobId::parse("000000000000000000000000").unwrap();
    assert!(!store.retry_job(&unknown, t).await.unwrap());
}

async fn listing_filters_and_pages_newest_first_and_counts_by_kind(store: &dyn Store) {
    let t = now();
    drain(store, t + 100 * HOUR).await;
    let mut ids = Vec::new();
    for i in 0..5u32 {
        let created = t + Duration::from_millis(u64::from(i) * 10);
        let kind = if i % 2 == 0 {
            JobKind::RefreshThread
        } else {
            JobKind::DeliverWebhook
        };
        let new = NewJob {
            kind,
            ..job(None, t + 200 * HOUR)
        };
        ids.push(store.enqueue(&new, created).await.unwrap().id().clone());
    }
    let all = JobFilter {
        limit: 100,
        ..JobFilter::default()
    };
    let listed: Vec<_> = store
        .list_jobs(&all)
        .await
        .unwrap()
        .into_iter()
        .map(|j| j.id)
        .filter(|id| ids.contains(id))
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let webhooks = store
        .list_jobs(&JobFilter {
            kind: Some(JobKind::DeliverWebhook),
            ..all.clone()
        })
        .await
        .unwrap();
    assert!(webhooks.iter().all(|j| j.kind == JobKind::DeliverWebhook));
    assert_eq!(webhooks.iter().filter(|j| ids.contains(&j.id)).count(), 2);
    let page = store
        .list_jobs(&JobFilter {
            before: Some(ids[3].clone()),
            limit: 2,
            ..JobFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|j| j.id.clone()).collect::<Vec<_>>(),
        vec![ids[2].clone(), ids[1].clone()]
    );
    let counts = store.count_jobs().await.unwrap();
    let queued = |kind| {
        counts
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, c)| c.queued)
    };
    assert!(queued(JobKind::RefreshThread) >= 3);
    assert!(queued(JobKind::DeliverWebhook) >= 2);
    for id in &ids {
        assert!(store.drop_job(id).await.unwrap());
    }
}

async fn concurrent_workers_never_hold_the_same_job(store: Arc<dyn Store>, decisions: Decisions) {
    let t = now();
    drain(&*store, t + 100 * HOUR).await;
    for _ in 0..20 {
        store.enqueue(&job(None, t), t).await.unwrap();
    }
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let mut claimed = Vec::new();
                while let Some(held) = store.claim_job(t, LEASE).await.unwrap() {
                    claimed.push(held.job.id.clone());
                    store.settle_job(&held, &Settlement::Done, t).await.unwrap();
                }
                claimed
            })
        })
        .collect();
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    let count = all.len();
    all.sort();
    all.dedup();
    match decisions {
        Decisions::Exclusive => assert_eq!((count, all.len()), (20, 20), "each job exactly once"),
        Decisions::AtLeastOnce => assert_eq!(all.len(), 20, "each job at least once"),
    }
    assert_eq!(store.claim_job(t, LEASE).await.unwrap(), None, "none left");
}

/// Eight enqueues of one dedupe key at once: one job (at least one where
/// racing enqueues may each make one), and every job an enqueue answered
/// with is then claimed.
async fn concurrent_enqueues_of_one_key_make_one_job_that_runs(
    store: Arc<dyn Store>,
    decisions: Decisions,
) {
    let t = now();
    drain(&*store, t + 100 * HOUR).await;
    let enqueues: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.enqueue(&job(Some("racing"), t), t).await.unwrap() })
        })
        .collect();
    let mut answers = Vec::new();
    for enqueue in enqueues {
        answers.push(enqueue.await.expect("enqueue"));
    }
    let answered: BTreeSet<JobId> = answers.iter().map(|a| a.id().clone()).collect();
    let created = answers
        .iter()
        .filter(|a| matches!(a, Enqueued::Created(_)))
        .count();
    let claimed = drain(&*store, t).await;
    for id in &answered {
        assert!(claimed.contains(id), "job {id:?} answered but never run");
    }
    if decisions == Decisions::Exclusive {
        assert_eq!((created, answered.len()), (1, 1), "one job: {answers:?}");
        assert_eq!(claimed.len(), 1, "run once: {claimed:?}");
    }
}

/// A job is asked for again (due earlier, so the queued job is changed)
/// while a worker claims it, ten times over: whichever way each race goes,
/// the job the enqueue answered with is claimed afterwards, by that worker
/// or by the next. Where decisions are exclusive the worker also keeps its
/// claim: a merge never changes a running job.
async fn work_asked_for_while_its_job_is_claimed_is_never_lost(
    store: Arc<dyn Store>,
    decisions: Decisions,
) {
    let t = now();
    drain(&*store, t + 100 * HOUR).await;
    for round in 0..10 {
        let key = format!("claimed-{round}");
        store.enqueue(&job(Some(&key), t + HOUR), t).await.unwrap();
        let worker = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let held = store.claim_job(t + 2 * HOUR, LEASE).await.unwrap()?;
                let kept = store
                    .settle_job(&held, &Settlement::Done, t + 2 * HOUR)
                    .await
                    .unwrap();
                Some((held.job.id, kept))
            })
        };
        let asked = store.enqueue(&job(Some(&key), t), t).await.unwrap();
        let mut claimed = Vec::new();
        if let Some((id, kept)) = worker.await.expect("worker") {
            if decisions == Decisions::Exclusive {
                assert!(kept, "round {round}: the worker kept its claim");
            }
            claimed.push(id);
        }
        claimed.extend(drain(&*store, t + 100 * HOUR).await);
        assert!(
            claimed.contains(asked.id()),
            "round {round}: {asked:?} was never run (claimed: {claimed:?})"
        );
    }
}
