//! Cohorts: a run's limits stretch by the median pace of its succeeded siblings.

use super::{Replayer, Sibling};
use crate::detect::cohort;
use crate::time::{Day, EpochMs};

impl Replayer {
    /// From when, within `[span_start, span_end)`, which stretch applies to a run's limits: its
    /// succeeded siblings' median pace against their types' baselines of `night`, once
    /// [`cohort::MIN_COHORT_FINISHED`] of them have finished, never below 1. Starts at `span_start`.
    pub(super) fn cohort_paces(
        &mut self,
        siblings: &[Sibling],
        night: Day,
        span_start: EpochMs,
        span_end: EpochMs,
    ) -> Vec<(EpochMs, f64)> {
        let mut finished: Vec<(EpochMs, f64)> = Vec::with_capacity(siblings.len());
        for sibling in siblings.iter().filter(|s| s.end < span_end) {
            let Some(limits) = self.limits(sibling.task, night) else { continue };
            if let Some(pace) = cohort::pace(sibling.duration_ms, limits.baseline.expected_ms) {
                finished.push((sibling.end, pace));
            }
        }
        finished.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut paces = vec![(span_start, 1.0)];
        // Kept sorted: each finish inserts one pace, and the median is read off the middle.
        let mut known: Vec<f64> = Vec::with_capacity(finished.len());
        for (index, &(at, pace)) in finished.iter().enumerate() {
            known.insert(known.partition_point(|&k| k < pace), pace);
            // Siblings finishing together change the pace once.
            if finished.get(index + 1).is_some_and(|next| next.0 == at) {
                continue;
            }
            let stretch = cohort::stretch_of_sorted_paces(&known);
            let from = at.max(span_start);
            match paces.last_mut() {
                Some(last) if last.0 == from => last.1 = stretch,
                _ => paces.push((from, stretch)),
            }
        }
        paces
    }
}
