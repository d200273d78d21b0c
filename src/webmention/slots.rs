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
//! The waits are booked one after another per host, `spacing` apart (the
//! longest a first attempt can hold a slot, divided among the slots), so a
//! host's backlog comes due at the pace its slots can take it, not all at
//! once again and again.
//!
//! The key is the host name, as for the per-domain rate limit: a sender
//! with many host names gets a share for each, and the short first-attempt
//! timeout bounds how long each share is held.
//!
//! Invariant: a slot is released when its [`SlotGuard`] drops, however the
//! verification ends (a panic or a cancelled task included); the map holds
//! only hosts with a fetch in flight or a wait booked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use time::OffsetDateTime;

/// Hosts remembered before idle entries are swept out.
const SWEEP_ABOVE: usize = 1_024;

pub struct SourceSlots {
    per_host: usize,
    spacing: Duration,
    hosts: Mutex<HashMap<String, Host>>,
}

#[derive(Debug, Default)]
struct Host {
    in_flight: usize,
    /// The last wait handed out ends here.
    booked_until: Option<OffsetDateTime>,
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
        })
    }

    /// Takes one of `host`'s slots, or says how long to wait for one.
    pub fn admit(self: &Arc<Self>, host: &str, now: OffsetDateTime) -> Admission {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if hosts.len() > SWEEP_ABOVE {
            hosts.retain(|_, entry| !entry.is_idle(now));
        }
        let entry = hosts.entry(host.clone()).or_default();
        if entry.in_flight < self.per_host {
            entry.in_flight += 1;
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
        Admission::Wait((until - now).unsigned_abs())
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
            if entry.in_flight == 0 && entry.booked_until.is_none() {
                hosts.remove(host);
            }
        }
    }
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
        let first = go(slots.admit("slow.example", NOW));
        let _second = go(slots.admit("SLOW.example.", NOW));
        assert_eq!(slots.in_flight("slow.example"), 2);
        wait(slots.admit("slow.example", NOW));
        let _other = go(slots.admit("fast.example", NOW));
        drop(first);
        let _third = go(slots.admit("slow.example", NOW));
    }

    #[test]
    fn waits_are_booked_one_after_another() {
        let slots = SourceSlots::new(2, Duration::from_secs(4));
        let _held = [go(slots.admit("h", NOW)), go(slots.admit("h", NOW))];
        assert_eq!(wait(slots.admit("h", NOW)), Duration::from_secs(2));
        assert_eq!(wait(slots.admit("h", NOW)), Duration::from_secs(4));
        let later = NOW + Duration::from_secs(3);
        assert_eq!(wait(slots.admit("h", later)), Duration::from_secs(3));
        // Once the bookings have passed, waits start from now again.
        let much_later = NOW + Duration::from_secs(60);
        assert_eq!(wait(slots.admit("h", much_later)), Duration::from_secs(2));
    }

    #[test]
    fn a_released_host_is_forgotten_and_idle_ones_are_swept() {
        let slots = SourceSlots::new(1, Duration::from_secs(1));
        drop(go(slots.admit("once.example", NOW)));
        assert!(slots.hosts.lock().unwrap().is_empty());
        for i in 0..=SWEEP_ABOVE {
            let host = format!("h{i}.example");
            let _held = go(slots.admit(&host, NOW));
            wait(slots.admit(&host, NOW));
        }
        let later = NOW + Duration::from_secs(60);
        let _held = go(slots.admit("new.example", later));
        assert_eq!(slots.hosts.lock().unwrap().len(), 1, "idle hosts swept");
    }
}
