//! The nightly job's decisions, pure: which days to roll up, the baselines of the night, and what
//! to write so that a second run of the same night writes nothing.

use std::collections::{BTreeMap, HashMap};

use crate::baseline::{Baseline, BaselinePolicy};
use crate::model::TaskType;
use crate::moments::Moments;

/// What the store knows of one day (a bucket of end times): how many succeeded runs have finished
/// in it, and how many the last roll-up of that day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayStatus {
    pub day: i64,
    pub finished: u64,
    pub rolled_up: Option<u64>,
}

impl DayStatus {
    /// A day needs (re)rolling when runs finished in it since its last roll-up: late or
    /// out-of-order events, a backfill, a missed night, or a roll-up that ran before an index
    /// caught up.
    pub fn needs_roll_up(&self) -> bool {
        match self.rolled_up {
            None => self.finished > 0,
            Some(rolled) => rolled != self.finished,
        }
    }
}

/// The days of the night's window that need a roll-up, oldest first.
pub fn days_to_roll_up(statuses: &[DayStatus]) -> Vec<i64> {
    let mut days: Vec<i64> = statuses.iter().filter(|s| s.needs_roll_up()).map(|s| s.day).collect();
    days.sort_unstable();
    days
}

/// Per-task moments of one day's succeeded runs.
pub fn aggregate_day(durations: impl IntoIterator<Item = (TaskType, u64)>) -> BTreeMap<TaskType, Moments> {
    let mut per_task: BTreeMap<TaskType, Moments> = BTreeMap::new();
    for (task, duration_ms) in durations {
        per_task.entry(task).or_default().push(duration_ms);
    }
    per_task
}

/// Merges the window's daily aggregates and computes each task type's baseline for `night`.
/// Task types with too few runs get none.
pub fn baselines_for_night<'a>(
    policy: &BaselinePolicy,
    night: i64,
    days: impl IntoIterator<Item = &'a BTreeMap<TaskType, Moments>>,
) -> BTreeMap<TaskType, Baseline> {
    let mut window: HashMap<&TaskType, Moments> = HashMap::new();
    for day in days {
        for (task, moments) in day {
            *window.entry(task).or_default() += *moments;
        }
    }
    let computed_at = policy.night_start(night);
    window
        .into_iter()
        .filter_map(|(task, moments)| policy.baseline(&moments, computed_at).map(|b| (task.clone(), b)))
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum BaselineChange {
    Set(TaskType, Baseline),
    /// The task type had a baseline and no longer has enough runs for one.
    Remove(TaskType),
}

/// The writes that take the stored baselines to the new ones; none when they already match.
pub fn baseline_changes(
    new: &BTreeMap<TaskType, Baseline>,
    stored: &BTreeMap<TaskType, Baseline>,
) -> Vec<BaselineChange> {
    let sets = new
        .iter()
        .filter(|(task, baseline)| stored.get(*task) != Some(*baseline))
        .map(|(task, baseline)| BaselineChange::Set(task.clone(), *baseline));
    let removals = stored
        .keys()
        .filter(|task| !new.contains_key(*task))
        .map(|task| BaselineChange::Remove(task.clone()));
    sets.chain(removals).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Method;

    fn task(name: &str) -> TaskType {
        TaskType::new(name).unwrap()
    }

    #[test]
    fn days_are_rolled_up_when_new_runs_finished_in_them() {
        let statuses = [
            DayStatus { day: 3, finished: 5, rolled_up: Some(5) },
            DayStatus { day: 1, finished: 2, rolled_up: None },
            DayStatus { day: 2, finished: 0, rolled_up: None },
            DayStatus { day: 4, finished: 7, rolled_up: Some(6) },
        ];
        assert_eq!(days_to_roll_up(&statuses), vec![1, 4]);
    }

    #[test]
    fn window_baselines_equal_a_baseline_over_all_the_runs() {
        let policy = BaselinePolicy::new(Method::default(), 14, 3, 0).unwrap();
        let day1 = aggregate_day([(task("a"), 1_000), (task("a"), 2_000), (task("b"), 5)]);
        let day2 = aggregate_day([(task("a"), 3_000), (task("b"), 6)]);
        let baselines = baselines_for_night(&policy, 10, [&day1, &day2]);
        let direct = policy.baseline(&Moments::of([1_000, 2_000, 3_000]), policy.night_start(10)).unwrap();
        assert_eq!(baselines.get(&task("a")), Some(&direct));
        assert!(!baselines.contains_key(&task("b")), "two runs are below min_samples");
    }

    #[test]
    fn unchanged_baselines_produce_no_writes_and_vanished_ones_a_removal() {
        let b = Baseline { n: 5, expected_ms: 1.0, sigma_ms: 0.0, upper_ms: 1.0, computed_at: 0 };
        let newer = Baseline { computed_at: 86_400_000, ..b };
        let stored = BTreeMap::from([(task("same"), b), (task("gone"), b), (task("moved"), b)]);
        let new = BTreeMap::from([(task("same"), b), (task("moved"), newer), (task("fresh"), b)]);
        let changes = baseline_changes(&new, &stored);
        assert_eq!(
            changes,
            vec![
                BaselineChange::Set(task("fresh"), b),
                BaselineChange::Set(task("moved"), newer),
                BaselineChange::Remove(task("gone")),
            ]
        );
        assert!(baseline_changes(&new, &new).is_empty());
    }
}
