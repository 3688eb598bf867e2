//! Delivery state of a message: every alert, "resolved" and too-short notice is claimed before it
//! is published, and the claim is a lease.
//!
//! A claim names its owner (one invocation) and when it was taken. Publishing, then marking the
//! message delivered, follows. A claim whose owner crashed, timed out or lost a response is never
//! delivered: once its lease has run out, any later invocation takes it over and publishes the
//! message stored with it. So every message is delivered at least once; a repeat can happen only
//! where a publish went through but its answer (or the mark that follows) was lost, and it
//! carries the same dedupe key ([`MessageKey::dedupe_key`]) so that subscribers can drop it.

pub use crate::model::claim::{DeliveryState, LEASE_MS, Lease};
use crate::model::{Level, RunId, TaskType};
use crate::time::{Day, EpochMs};

/// Which message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKey {
    /// A running run past its limit, at one level.
    Alert { task_type: TaskType, run_id: RunId, level: Level },
    /// An alerted run has finished.
    Resolved { task_type: TaskType, run_id: RunId },
    /// The day's too-short notice of a task type (`day`: the bucket of its end); `run_id` is the
    /// run it is about, known once it is claimed.
    TooShort { task_type: TaskType, day: Day },
    /// A scheduled type's missed start, at one level; `first_due` (the first due time missed)
    /// names the incident.
    Missed { task_type: TaskType, first_due: EpochMs, level: Level },
    /// A start came after a missed-start alert.
    Resumed { task_type: TaskType, first_due: EpochMs },
}

/// The dedupe key every message carries (SNS attribute and JSON field `alert_id`): task type,
/// run id, the attempt after the first (`attempt-2`), where a run from another account ran
/// (`from-123456789012.eu-west-1`) and level (`warning`, `critical`, `resolved` or
/// `too_short`), the same for every delivery of one message and different for any two. `/` and
/// `%` in names are percent-encoded, so no two keys collide whatever the names (an attempt's or
/// a foreign run's key has one part more than a first attempt's at home, and their parts start
/// differently).
pub fn dedupe_key(task_type: &TaskType, run_id: &RunId, level: &str) -> String {
    let (task, run) = (escape(task_type.as_str()), escape(run_id.as_str()));
    let mut key = format!("{task}/{run}/");
    if !run_id.attempt().is_first() {
        key.push_str(&format!("attempt-{}/", run_id.attempt()));
    }
    if let Some(origin) = run_id.origin() {
        key.push_str(&format!("from-{origin}/"));
    }
    key.push_str(level);
    key
}

fn escape(part: &str) -> String {
    part.replace('%', "%25").replace('/', "%2F")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(task: &str, run: &str) -> String {
        dedupe_key(&TaskType::new(task).unwrap(), &RunId::new(run).unwrap(), "warning")
    }

    #[test]
    fn dedupe_keys_of_names_containing_the_separator_do_not_collide() {
        assert_eq!(key("a/b", "c"), "a%2Fb/c/warning");
        assert_ne!(key("a/b", "c"), key("a", "b/c"));
        assert_ne!(key("a%2Fb", "c"), key("a/b", "c"), "a literal escape is escaped too");
    }

    #[test]
    fn a_later_attempts_key_names_it_and_differs_from_the_first_attempts() {
        let second = RunId::new("exec").unwrap().at_attempt(crate::model::Attempt::new(2).unwrap());
        let task = TaskType::new("etl").unwrap();
        assert_eq!(dedupe_key(&task, &second, "warning"), "etl/exec/attempt-2/warning");
        assert_eq!(key("etl", "exec"), "etl/exec/warning");
        assert_ne!(dedupe_key(&task, &second, "warning"), key("etl", "exec/attempt-2"));
    }

    #[test]
    fn two_accounts_same_named_runs_have_two_keys_and_differ_from_the_home_run() {
        let task = TaskType::new("etl").unwrap();
        let from = |origin: &str| RunId::new("exec").unwrap().from_origin(Some(origin.parse().unwrap()));
        let a = dedupe_key(&task, &from("111111111111.eu-west-1"), "warning");
        let b = dedupe_key(&task, &from("222222222222.eu-west-1"), "warning");
        assert_eq!(a, "etl/exec/from-111111111111.eu-west-1/warning");
        assert!(a != b && a != key("etl", "exec"));
        let second = from("111111111111.eu-west-1").at_attempt(crate::model::Attempt::new(2).unwrap());
        assert_eq!(
            dedupe_key(&task, &second, "warning"),
            "etl/exec/attempt-2/from-111111111111.eu-west-1/warning"
        );
    }

    #[test]
    fn a_lease_expires_after_its_duration_and_not_before() {
        let lease = Lease { owner: "a".into(), claimed_at: 1_000 };
        assert!(!lease.has_expired(1_000 + LEASE_MS - 1));
        assert!(lease.has_expired(1_000 + LEASE_MS));
        let pending = DeliveryState::Pending(lease.clone());
        assert_eq!(pending.expired_lease(1_000 + LEASE_MS), Some(&lease));
        assert_eq!(DeliveryState::Delivered.expired_lease(i64::MAX), None);
    }

    #[test]
    fn a_released_lease_has_expired_at_once() {
        assert!(Lease { owner: "a".into(), claimed_at: Lease::RELEASED }.has_expired(1_700_000_000_000));
    }
}
