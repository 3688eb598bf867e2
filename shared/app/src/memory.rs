//! In-memory ports for fast tests of the use cases, with faults on demand: a claim applied
//! whose invocation then dies, an answer lost after the write was applied, failed releases,
//! failed delivery marks, failed publishes.

use overrun_core::time::Day;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use overrun_core::notify::delivery::{DeliveryState, Lease, MessageKey};
use overrun_core::notify::message::Notification;
use overrun_core::ports::{
    ClaimKind, Claimed, Listing, MissedIncident, Notifier, NotifyError, Outbox, StoreError, StoreErrorKind,
};
use overrun_core::recording::{self, ClaimEffect};
use overrun_core::{EpochMs, Level, TaskType};

#[derive(Debug, Clone, Default)]
struct Entry {
    state: DeliveryState,
    message: Option<Notification>,
}

#[derive(Debug, Default)]
struct Faults {
    crash_after_claim: usize,
    lose_claim_answers: usize,
    fail_releases: usize,
    fail_marks: usize,
}

/// Claims kept in a map, with the same conditions as the DynamoDB outbox.
#[derive(Debug, Default)]
pub struct MemoryOutbox {
    entries: Mutex<HashMap<MessageKey, Entry>>,
    faults: Mutex<Faults>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Takes one from a fault counter: whether the fault fires now.
pub(crate) fn fire(counter: &mut usize) -> bool {
    let fires = *counter > 0;
    *counter = counter.saturating_sub(1);
    fires
}

pub(crate) fn injected(operation: &'static str) -> StoreError {
    StoreError::service(operation, StoreErrorKind::Other, "injected fault")
}

impl MemoryOutbox {
    /// The next `n` claims are applied, then their invocation dies before publishing.
    pub fn crash_after_claim(&self, n: usize) {
        lock(&self.faults).crash_after_claim = n;
    }
    /// The next `n` claims are applied and their answer lost, so the client tries again.
    pub fn lose_claim_answers(&self, n: usize) {
        lock(&self.faults).lose_claim_answers = n;
    }
    pub fn fail_releases(&self, n: usize) {
        lock(&self.faults).fail_releases = n;
    }
    pub fn fail_marks(&self, n: usize) {
        lock(&self.faults).fail_marks = n;
    }
    pub fn state(&self, key: &MessageKey) -> DeliveryState {
        lock(&self.entries).get(key).map(|e| e.state.clone()).unwrap_or_default()
    }

    /// The claim write with its condition (the recording rule's [`recording::claim`]).
    fn apply_claim(&self, key: &MessageKey, lease: &Lease, how: ClaimKind<'_>, due: bool) -> Claimed {
        let mut entries = lock(&self.entries);
        let entry = entries.entry(key.clone()).or_default();
        let stale = match how {
            ClaimKind::Fresh(_) => None,
            ClaimKind::TakeOver(stale) => Some(stale),
        };
        match recording::claim(&entry.state, due, stale, lease) {
            ClaimEffect::Applies => {
                if let ClaimKind::Fresh(message) = how {
                    entry.message = Some((*message).clone());
                }
                entry.state = DeliveryState::Pending(lease.clone());
            }
            ClaimEffect::AlreadyOurs => {}
            ClaimEffect::Held => return Claimed::Held(entry.state.clone()),
        }
        match &entry.message {
            Some(message) => Claimed::Won(message.clone()),
            None => Claimed::Held(entry.state.clone()),
        }
    }

    /// Whether a missed-start message may be claimed first: the DynamoDB adapter's condition on
    /// the incident's item.
    pub(crate) fn incident_claim_due(&self, key: &MessageKey) -> bool {
        let (MessageKey::Missed { task_type, first_due, .. } | MessageKey::Resumed { task_type, first_due }) =
            key
        else {
            return false;
        };
        let state = |key: MessageKey| self.state(&key);
        let resumed = state(MessageKey::Resumed { task_type: task_type.clone(), first_due: *first_due });
        let alerted = [Level::Warning, Level::Critical].into_iter().any(|level| {
            state(MessageKey::Missed { task_type: task_type.clone(), first_due: *first_due, level })
                != DeliveryState::Unclaimed
        });
        recording::first_incident_claim_due(key.kind(), &resumed, alerted)
    }

    /// A claim whose first claim is due or not (`due`: what the run's record says, which the
    /// store holding the runs knows; alone, the outbox takes every message as due).
    pub(crate) async fn claim_if_due(
        &self,
        key: &MessageKey,
        lease: &Lease,
        how: ClaimKind<'_>,
        due: bool,
    ) -> Result<Claimed, StoreError> {
        let (crash, lose_answer) = {
            let mut faults = lock(&self.faults);
            (fire(&mut faults.crash_after_claim), fire(&mut faults.lose_claim_answers))
        };
        let claimed = self.apply_claim(key, lease, how, due);
        if crash {
            return Err(injected("claim (then crashed)"));
        }
        if lose_answer {
            // The client's retry of the same write.
            return Ok(self.apply_claim(key, lease, how, due));
        }
        Ok(claimed)
    }
}

impl Outbox for MemoryOutbox {
    async fn claim(
        &self,
        key: &MessageKey,
        lease: &Lease,
        how: ClaimKind<'_>,
    ) -> Result<Claimed, StoreError> {
        let due = match key {
            MessageKey::Missed { .. } | MessageKey::Resumed { .. } => self.incident_claim_due(key),
            _ => true,
        };
        self.claim_if_due(key, lease, how, due).await
    }

    async fn missed_incidents(&self) -> Result<Listing<MissedIncident>, StoreError> {
        let incidents: BTreeSet<(TaskType, EpochMs)> = lock(&self.entries)
            .keys()
            .filter_map(|key| match key {
                MessageKey::Missed { task_type, first_due, .. } => Some((task_type.clone(), *first_due)),
                _ => None,
            })
            .collect();
        let mut listing = Listing::default();
        for (task_type, first_due) in incidents {
            let missed = |level| MessageKey::Missed { task_type: task_type.clone(), first_due, level };
            let incident = MissedIncident {
                warning: self.state(&missed(Level::Warning)),
                critical: self.state(&missed(Level::Critical)),
                resumed: self.state(&MessageKey::Resumed { task_type: task_type.clone(), first_due }),
                task_type,
                first_due,
            };
            if incident.resumed != DeliveryState::Delivered {
                listing.items.push(incident);
            }
        }
        Ok(listing)
    }

    async fn mark_delivered(&self, key: &MessageKey, _now: EpochMs) -> Result<(), StoreError> {
        if fire(&mut lock(&self.faults).fail_marks) {
            return Err(injected("mark delivered"));
        }
        if let Some(entry) = lock(&self.entries).get_mut(key)
            && let Some(delivered) = recording::deliver(&entry.state)
        {
            entry.state = delivered;
        }
        Ok(())
    }

    async fn release(&self, key: &MessageKey, owner: &str) -> Result<(), StoreError> {
        if fire(&mut lock(&self.faults).fail_releases) {
            return Err(injected("release"));
        }
        if let Some(entry) = lock(&self.entries).get_mut(key)
            && let Some(released) = recording::release(&entry.state, owner)
        {
            entry.state = released;
        }
        Ok(())
    }

    async fn undelivered_notices(&self, days: &[Day]) -> Result<Listing<(MessageKey, Lease)>, StoreError> {
        let mut listing = Listing::default();
        for (key, entry) in lock(&self.entries).iter() {
            if let (MessageKey::TooShort { day, .. }, DeliveryState::Pending(lease)) = (key, &entry.state)
                && days.contains(day)
            {
                listing.items.push((key.clone(), lease.clone()));
            }
        }
        listing.items.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(listing)
    }
}

/// Keeps what it publishes; fails on demand.
#[derive(Debug, Default)]
pub struct MemoryNotifier {
    published: Mutex<Vec<Notification>>,
    failures: Mutex<usize>,
}

impl MemoryNotifier {
    /// The next `n` publishes fail.
    pub fn fail_next(&self, n: usize) {
        *lock(&self.failures) = n;
    }
    pub fn published(&self) -> Vec<Notification> {
        lock(&self.published).clone()
    }
    pub fn subjects(&self) -> Vec<String> {
        self.published().into_iter().map(|n| n.subject).collect()
    }
    pub fn alert_ids(&self) -> Vec<String> {
        self.published().into_iter().map(|n| n.alert_id).collect()
    }
}

impl Notifier for MemoryNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        if fire(&mut lock(&self.failures)) {
            return Err(NotifyError("injected fault".into()));
        }
        lock(&self.published).push(notification.clone());
        Ok(())
    }
}
