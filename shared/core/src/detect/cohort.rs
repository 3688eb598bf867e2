//! Cohorts: runs that belong together (one build's jobs, one workflow run's tasks) and share
//! their fate. When a cohort is slow as a whole, its running members are judged at its pace: once
//! [`MIN_COHORT_FINISHED`] members have succeeded, limits stretch by the median of their paces
//! (duration over their task type's expected duration), never by less than 1.

use std::collections::HashMap;

use crate::detect::check::TaskLimits;
use crate::model::TaskType;

/// Finished cohort members needed before a cohort's pace stretches its running members' limits.
pub const MIN_COHORT_FINISHED: usize = 3;

/// A member of a cohort that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedMember {
    pub task_type: TaskType,
    pub duration_ms: u64,
}

/// The stretch given by finished members' paces, sorted ascending: their median (the mean of the
/// middle two for an even count), never below 1, and 1 until [`MIN_COHORT_FINISHED`] have
/// finished.
pub fn stretch_of_sorted_paces(paces: &[f64]) -> f64 {
    if paces.len() < MIN_COHORT_FINISHED {
        return 1.0;
    }
    let middle = paces.len() / 2;
    let median = if paces.len() % 2 == 1 { paces[middle] } else { (paces[middle - 1] + paces[middle]) / 2.0 };
    median.max(1.0)
}

/// A member's pace against its type's baseline; `None` without a baseline to compare with.
pub fn pace(duration_ms: u64, expected_ms: f64) -> Option<f64> {
    (expected_ms > 0.0).then(|| duration_ms as f64 / expected_ms)
}

/// The stretch for a cohort's running members, from its finished members and the baselines in
/// force now. Members whose type has no baseline do not count.
pub fn stretch(members: &[FinishedMember], limits: &HashMap<TaskType, TaskLimits>) -> f64 {
    let mut paces: Vec<f64> = members
        .iter()
        .filter_map(|member| {
            let baseline = limits.get(&member.task_type)?.baseline.as_ref()?;
            pace(member.duration_ms, baseline.expected_ms)
        })
        .collect();
    paces.sort_by(f64::total_cmp);
    stretch_of_sorted_paces(&paces)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::baseline::Baseline;

    fn limits(task: &str, expected_ms: f64) -> (TaskType, TaskLimits) {
        let baseline = Baseline {
            n: 10,
            expected_ms,
            sigma_ms: 1.0,
            upper_ms: expected_ms + 2.0,
            computed_at: 0,
            outlier: None,
        };
        (TaskType::new(task).unwrap(), TaskLimits { baseline: Some(baseline), ..TaskLimits::default() })
    }

    fn member(task: &str, duration_ms: u64) -> FinishedMember {
        FinishedMember { task_type: TaskType::new(task).unwrap(), duration_ms }
    }

    #[test]
    fn three_members_twice_as_slow_as_usual_double_the_limits_and_two_do_not() {
        let known = HashMap::from([limits("build", 600_000.0), limits("test", 1_200_000.0)]);
        let slow = [member("build", 1_200_000), member("test", 2_400_000), member("build", 1_100_000)];
        assert_eq!(stretch(&slow, &known), 2.0);
        assert_eq!(stretch(&slow[..2], &known), 1.0, "two finished members are not a pace yet");
    }

    #[test]
    fn a_fast_cohort_never_tightens_limits_and_members_without_a_baseline_do_not_count() {
        let known = HashMap::from([limits("build", 600_000.0)]);
        let fast = [member("build", 300_000), member("build", 300_000), member("build", 300_000)];
        assert_eq!(stretch(&fast, &known), 1.0);
        let unknown =
            [member("build", 1_800_000), member("new", 1), member("new", 1), member("build", 1_800_000)];
        assert_eq!(stretch(&unknown, &known), 1.0, "only two members have a baseline");
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(stretch_of_sorted_paces(&[1.0, 1.5, 2.5, 9.0]), 2.0);
        assert_eq!(stretch_of_sorted_paces(&[0.5, 0.6, 0.7]), 1.0);
    }
}
