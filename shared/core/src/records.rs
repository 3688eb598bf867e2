//! What operators' tools read back from the stores, as stored: a run with its messages' claims,
//! a message with where its delivery stands. Plain data for `overrun status`, `alerts` and
//! `explain`; the functions never read these.

use std::fmt;

use crate::detect::check::TaskLimits;
use crate::detect::levels::Level;
use crate::model::{CohortId, RunId, RunStatus, TaskType};
use crate::notify::delivery::Lease;
use crate::time::EpochMs;

/// A message's claim as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimRecord {
    /// The invocation that holds (or last held) it.
    pub owner: String,
    /// 0 once released after a failed publish.
    pub claimed_at: EpochMs,
    /// When it was first claimed, kept through take-overs (absent on claims from before it was
    /// kept): for an alert the check that found it, for a notice the ingest that decided it —
    /// unless the store itself was down then, which delays the first claim too.
    pub first_claimed_at: Option<EpochMs>,
    pub delivered_at: Option<EpochMs>,
    /// The rendered message's subject (absent on claims from before leases).
    pub subject: Option<String>,
    pub alert_id: Option<String>,
    /// A claim from before claims were leases: a bare invocation id, taken as delivered.
    pub legacy: bool,
}

/// Where a message's delivery stands at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Claimed and being sent: its lease runs until then.
    Sending {
        lease_ends: EpochMs,
    },
    /// Claimed, not delivered, its lease over (or released): the next check sends it again.
    Overdue,
}

impl Delivery {
    pub fn as_str(&self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Sending { .. } => "sending",
            Delivery::Overdue => "pending",
        }
    }
}

impl ClaimRecord {
    pub fn delivery(&self, now: EpochMs) -> Delivery {
        if self.legacy || self.delivered_at.is_some() {
            return Delivery::Delivered;
        }
        let lease = Lease { owner: self.owner.clone(), claimed_at: self.claimed_at };
        match lease.ends_at() {
            Some(lease_ends) if !lease.has_expired(now) => Delivery::Sending { lease_ends },
            _ => Delivery::Overdue,
        }
    }

    /// How long after it was first claimed it was delivered: how late an outage made it.
    pub fn lateness(&self) -> Option<EpochMs> {
        Some(self.delivered_at?.saturating_sub(self.first_claimed_at?).max(0))
    }

    /// The latest thing that happened to it (claimed or delivered), for "since" filters.
    pub fn last_activity(&self) -> EpochMs {
        self.delivered_at.unwrap_or(self.claimed_at).max(self.claimed_at)
    }
}

/// The kinds of message Overrun sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MessageKind {
    Alert(Level),
    Resolved,
    TooShort,
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageKind::Alert(level) => f.write_str(level.as_str()),
            MessageKind::Resolved => f.write_str("resolved"),
            MessageKind::TooShort => f.write_str("too-short"),
        }
    }
}

/// One message and its claim.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    pub kind: MessageKind,
    pub task_type: TaskType,
    /// The run it is about (alerts, "resolved"); a too-short notice names its day instead.
    pub about: String,
    pub claim: ClaimRecord,
}

/// A run's item as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub task_type: TaskType,
    pub run_id: RunId,
    /// Absent when only its finish has arrived.
    pub start: Option<EpochMs>,
    pub end: Option<EpochMs>,
    pub status: Option<RunStatus>,
    pub cohort: Option<CohortId>,
    pub recent_ms: Vec<u64>,
    /// With seasons: the recent runs of its own season.
    pub season_recent_ms: Vec<u64>,
    pub alerts: Vec<(Level, ClaimRecord)>,
    pub resolution: Option<ClaimRecord>,
    /// When the table's TTL deletes it (epoch seconds).
    pub expires_at: Option<i64>,
}

impl RunRecord {
    pub fn is_running(&self) -> bool {
        self.end.is_none() && self.start.is_some()
    }
}

/// A task type's limits item with the method that computed its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitsRecord {
    pub task_type: TaskType,
    pub limits: TaskLimits,
    /// The `method` the nightly job wrote with the baseline (absent without one).
    pub method: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::delivery::LEASE_MS;

    fn claim(claimed_at: EpochMs, delivered_at: Option<EpochMs>) -> ClaimRecord {
        ClaimRecord {
            first_claimed_at: Some(claimed_at),
            owner: "req-1".into(),
            claimed_at,
            delivered_at,
            subject: None,
            alert_id: None,
            legacy: false,
        }
    }

    #[test]
    fn a_delivered_claim_says_how_long_after_its_first_claim_it_went_out() {
        let late = ClaimRecord { claimed_at: 9_000, ..claim(1_000, Some(10_000)) };
        assert_eq!(late.lateness(), Some(9_000), "from the first claim, not the take-over");
        assert_eq!(claim(1_000, None).lateness(), None);
        assert_eq!(ClaimRecord { first_claimed_at: None, ..claim(1_000, Some(2_000)) }.lateness(), None);
    }

    #[test]
    fn a_claim_is_delivered_sending_within_its_lease_or_pending_after_it_or_once_released() {
        assert_eq!(claim(1_000, Some(1_500)).delivery(10_000_000), Delivery::Delivered);
        assert_eq!(claim(1_000, None).delivery(2_000), Delivery::Sending { lease_ends: 1_000 + LEASE_MS });
        assert_eq!(claim(1_000, None).delivery(1_000 + LEASE_MS), Delivery::Overdue);
        assert_eq!(claim(0, None).delivery(5), Delivery::Overdue);
        assert_eq!(claim(7, Some(9)).last_activity(), 9);
    }
}
