//! Each source host's share of the verification workers.
//!
//! Workers run any job kind, and a verification holds its worker for as long
//! as its source takes to answer. Without a share, one sender inside the rate
//! limit could queue webmentions whose sources all hang and keep every
//! worker busy, stalling verifications, webhooks and thread refreshes alike.
//! So at most `per_host` verifications of one source host fetch at once in
//! this process; a further one is told to wait ([`Admission::Wait`]) and its
//! job goes back to the queue without spending an attempt
//! (`Outcome::Defer`), freeing the worker at once. Waiting in the worker
//! instead would hold it just the same.
//!
//! A waiting verification's turn comes when a slot of its host frees: the
//! verification that held it brings the host's next waiting one forward in
//! the queue ([`SourceSlots::next_waiting`], `JobStore::bring_forward`), so
//! a fast host's backlog flows at the pace its slots work through it. A
//! deferred verification joins its host's waiting list only once its job
//! is queued again ([`SourceSlots::deferral_queued`]); a slot freed while
//! the deferral was being written is found then, and its job brought
//! forward at once. Otherwise the freeing verification would find the job
//! still running, nothing to bring forward, and the slot would stay idle
//! until the booked time.
//!
//! As a fallback (a crash, a store error, a full waiting list, another
//! instance), each wait is also booked: one after another per host,
//! `spacing` apart (the longest a first attempt can hold a slot, divided
//! among the slots), so a backlog never comes due all at once again and
//! again.
//!
//! The key is the host name, as for the per-domain rate limit: a sender
//! with many host names gets a share for each, and the short first-attempt
//! timeout bounds how long each share is held.
//!
//! Invariant: a slot is released when its [`SlotGuard`] drops, however the
//! verification ends (a panic or a cancelled task included); the map holds
//! only hosts with a fetch in flight, a wait booked or a verification
//! waiting. Every wait booked ends by its booked time at the latest,
//! whatever becomes of the waiting list.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::mention::MentionId;

/// Hosts remembered before idle entries are swept out.
const SWEEP_ABOVE: usize = 1_024;
/// Waiting verifications remembered per host; beyond, only their booked
/// time brings them back.
const WAITING_PER_HOST: usize = 1_000;
/// Deferrals remembered until their job is queued again; beyond (their
/// settlement failed, so they are never reported), the list starts over.
const DEFERRING_AT_MOST: usize = 4_096;

pub struct SourceSlots {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Host>>,
    /// Verifications told to wait whose job is not yet queued again, and
    /// their host.
    deferring: Mutex<HashMap<MentionId, String>>,
}

#[derive(Debug, Default)]
struct Host {
    in_flight: usize,
    /// The last wait handed out ends here.
    booked_until: Option<OffsetDateTime>,
    /// Verifications told to wait, oldest first.
    waiting: VecDeque<MentionId>,
}

impl Host {
    fn is_idle(&self, now: OffsetDateTime) -> bool {
        self.in_flight == 0 && self.booked_until.is_none_or(|until| until <= now)
    }
}

/// Whether a verification may fetch its source now.
#[derive(Debug)]
pub enum Admission {
    /// Yes; the slot is held until the guard drops.
    Go(SlotGuard),
    /// Not before this much time has passed.
    Wait(Duration),
}

impl SourceSlots {
    /// `slot_time` is the longest one fetch can hold a slot (the first
    /// attempt's timeout).
    pub fn new(per_host: usize, slot_time: Duration) -> Arc<Self> {
        let per_host = per_host.max(1);
        Arc::new(Self {
            per_host,
            spacing: (slot_time / u32::try_from(per_host).unwrap_or(u32::MAX))
                .max(Duration::from_millis(100)),
            hosts: Mutex::new(HashMap::new()),
            deferring: Mutex::new(HashMap::new()),
        })
    }

    /// Takes one of `host`'s slots for the verification of `mention`, or
    /// says how long it waits at the most (report its job queued again with
    /// [`Self::deferral_queued`], to be brought forward when a slot frees).
    pub fn admit(
        self: &Arc<Self>,
        host: &str,
        mention: MentionId,
        now: OffsetDateTime,
    ) -> Admission {
        let host = normal(host);
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if hosts.len() > SWEEP_ABOVE {
            hosts.retain(|_, entry| !entry.is_idle(now));
        }
        let entry = hosts.entry(host.clone()).or_default();
        if entry.in_flight < self.per_host {
            entry.in_flight += 1;
            entry.waiting.retain(|waiting| *waiting != mention);
            return Admission::Go(SlotGuard {
                slots: Arc::clone(self),
                host,
            });
        }
        let from = entry
            .booked_until
            .filter(|until| *until > now)
            .unwrap_or(now);
        let until = from + self.spacing;
        entry.booked_until = Some(until);
        drop(hosts);
        let mut deferring = self
            .deferring
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if deferring.len() >= DEFERRING_AT_MOST {
            deferring.clear();
        }
        deferring.insert(mention, host);
        Admission::Wait((until - now).unsigned_abs())
    }

    /// The verification of `mention` was told to wait and its job is queued
    /// again: it joins its host's waiting list, or, when the host has a free
    /// slot (one was released while the job was being put back), `true`:
    /// its turn has come already, bring its job forward. `false` too for a
    /// verification not told to wait (or forgotten): its booked time stands.
    pub fn deferral_queued(&self, mention: MentionId) -> bool {
        let host = self
            .deferring
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&mention);
        let Some(host) = host else {
            return false;
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        match hosts.get_mut(&host) {
            Some(entry) if entry.in_flight >= self.per_host => {
                if entry.waiting.len() < WAITING_PER_HOST && !entry.waiting.contains(&mention) {
                    entry.waiting.push_back(mention);
                }
                false
            }
            _ => true,
        }
    }

    /// The verification of `host` that has waited longest, taken off the
    /// list: its turn has come (a slot was just released).
    pub fn next_waiting(&self, host: &str) -> Option<MentionId> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts.get_mut(&normal(host))?.waiting.pop_front()
    }

    /// Fetches of `host` in flight.
    #[cfg(test)]
    fn in_flight(&self, host: &str) -> usize {
        let hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts.get(host).map_or(0, |entry| entry.in_flight)
    }

    fn release(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = hosts.get_mut(host) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
            if entry.in_flight == 0 && entry.booked_until.is_none() && entry.waiting.is_empty() {
                hosts.remove(host);
            }
        }
    }
}

fn normal(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct SlotGuard {
    slots: Arc<SourceSlots>,
    host: String,
}

impl std::fmt::Debug for SourceSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSlots")
            .field("per_host", &self.per_host)
            .field("spacing", &self.spacing)
            .finish_non_exhaustive()
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.release(&self.host);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 10:00 UTC);
    const M: MentionId = MentionId(1);

    fn go(admission: Admission) -> SlotGuard {
        match admission {
            Admission::Go(guard) => guard,
            Admission::Wait(wait) => panic!("told to wait {wait:?}"),
        }
    }

    fn wait(admission: Admission) -> Duration {
        match admission {
            Admission::Wait(wait) => wait,
            Admission::Go(_) => panic!("admitted"),
        }
    }

    #[test]
    fn a_host_gets_its_share_and_other_hosts_are_not_affected() {
        let slots = SourceSlots::new(2, Duration::from_secs(4));
        let first = go(slots.admit("slow.example", M, NOW));
        let _second = go(slots.admit("SLOW.example.", M, NOW));
        assert_eq!(slots.in_flight("slow.example"), 2);
        wait(slots.admit("slow.example", M, NOW));
        let _other = go(slots.admit("fast.example", M, NOW));
        drop(first);
        let _third = go(slots.admit("slow.example", M, NOW));
    }

    #[test]
    fn waits_are_booked_one_after_another() {
        let slots = SourceSlots::new(2, Duration::from_secs(4));
        let _held = [go(slots.admit("h", M, NOW)), go(slots.admit("h", M, NOW))];
        assert_eq!(wait(slots.admit("h", M, NOW)), Duration::from_secs(2));
        assert_eq!(wait(slots.admit("h", M, NOW)), Duration::from_secs(4));
        let later = NOW + Duration::from_secs(3);
        assert_eq!(wait(slots.admit("h", M, later)), Duration::from_secs(3));
        // Once the bookings have passed, waits start from now again.
        let much_later = NOW + Duration::from_secs(60);
        assert_eq!(
            wait(slots.admit("h", M, much_later)),
            Duration::from_secs(2)
        );
    }

    /// Told to wait, and its job queued again while the host is busy.
    fn defer(slots: &Arc<SourceSlots>, host: &str, mention: MentionId) -> bool {
        let Admission::Wait(_) = slots.admit(host, mention, NOW) else {
            panic!("admitted");
        };
        slots.deferral_queued(mention)
    }

    #[test]
    fn waiting_verifications_are_handed_on_oldest_first_once_each() {
        let slots = SourceSlots::new(1, Duration::from_secs(5));
        let held = go(slots.admit("h", MentionId(1), NOW));
        for id in [2, 3, 2, 4] {
            assert!(!defer(&slots, "h", MentionId(id)), "the host is busy");
        }
        drop(held);
        assert_eq!(slots.next_waiting("h"), Some(MentionId(2)));
        // 3 got the slot on its own (its booked time came): not handed on.
        let _third = go(slots.admit("h", MentionId(3), NOW));
        assert_eq!(slots.next_waiting("H."), Some(MentionId(4)));
        assert_eq!(slots.next_waiting("h"), None);
        assert_eq!(slots.next_waiting("elsewhere"), None);
    }

    #[test]
    fn a_deferral_queued_after_its_host_freed_a_slot_has_its_turn_at_once() {
        let slots = SourceSlots::new(1, Duration::from_secs(5));
        let held = go(slots.admit("h", MentionId(1), NOW));
        wait(slots.admit("h", MentionId(2), NOW));
        // The slot frees before the deferral is written: nothing waits yet.
        drop(held);
        assert_eq!(slots.next_waiting("h"), None);
        assert!(slots.deferral_queued(MentionId(2)), "its turn has come");
        assert_eq!(slots.next_waiting("h"), None, "and it is not listed");
        // Reported once only; one never told to wait keeps its time.
        assert!(!slots.deferral_queued(MentionId(2)));
        assert!(!slots.deferral_queued(MentionId(9)));
    }

    #[test]
    fn deferrals_never_reported_are_forgotten_past_a_bound() {
        let slots = SourceSlots::new(1, Duration::from_secs(5));
        let _held = go(slots.admit("h", MentionId(0), NOW));
        for id in 1..=DEFERRING_AT_MOST {
            wait(slots.admit("h", MentionId(i64::try_from(id).unwrap()), NOW));
        }
        assert_eq!(slots.deferring.lock().unwrap().len(), DEFERRING_AT_MOST);
        wait(slots.admit("h", MentionId(-1), NOW));
        assert_eq!(slots.deferring.lock().unwrap().len(), 1);
        assert!(!slots.deferral_queued(MentionId(1)), "forgotten");
        assert!(!slots.deferral_queued(MentionId(-1)), "listed, host busy");
        assert_eq!(slots.next_waiting("h"), Some(MentionId(-1)));
    }

    #[test]
    fn a_released_host_is_forgotten_and_idle_ones_are_swept() {
        let slots = SourceSlots::new(1, Duration::from_secs(1));
        drop(go(slots.admit("once.example", M, NOW)));
        assert!(slots.hosts.lock().unwrap().is_empty());
        for i in 0..=SWEEP_ABOVE {
            let host = format!("h{i}.example");
            let _held = go(slots.admit(&host, M, NOW));
            wait(slots.admit(&host, M, NOW));
        }
        let later = NOW + Duration::from_secs(60);
        let _held = go(slots.admit("new.example", M, later));
        assert_eq!(slots.hosts.lock().unwrap().len(), 1, "idle hosts swept");
    }
}
