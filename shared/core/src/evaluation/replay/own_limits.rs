//! With recent runs: each run's own limit, from its type's latest runs before it started and
//! the night's prepared window (the checker's computation, [`crate::limits::recent::PerRunLimits`]).

use super::{NightLimits, Replayer};
use crate::time::{Day, EpochMs};

impl Replayer {
    /// With recent runs: the durations of the latest [`RecentRuns::count`] succeeded runs of
    /// `task` that ended before `start` (the latest by end, then the longest), newest first.
    pub(super) fn recent_durations(&mut self, task: u32, start: EpochMs) -> Box<[u64]> {
        if !self.config.per_run_limits() {
            return Box::default();
        }
        let wanted = self.config.recent.count;
        let recent = &mut self.tasks[task as usize].recent;
        let mut durations = Vec::with_capacity(wanted);
        let mut oldest_needed = None;
        'newest_first: for (&key, &count) in recent.range(..(start, 0)).rev() {
            for _ in 0..count {
                if durations.len() == wanted {
                    break 'newest_first;
                }
                durations.push(key.1);
                oldest_needed = Some(key);
            }
        }
        // Starts only move forward: what is older than this run's oldest recent run ended before
        // every later start too, behind at least as many newer runs.
        if let Some(oldest) = oldest_needed.filter(|_| durations.len() == wanted) {
            *recent = recent.split_off(&oldest);
        }
        durations.into_boxed_slice()
    }

    /// Whether a run running at most `longest_elapsed_ms` within `night`'s span stays within any
    /// own limit of that night ([`crate::limits::tailored::PreparedWindow::floor_with_extra`]):
    /// then its own limit need not be computed, as no check of the span can alert.
    pub(super) fn cannot_outlive_own_limit(&self, task: u32, night: Day, longest_elapsed_ms: f64) -> bool {
        let window = self.tasks[task as usize].night_window.as_ref();
        window.is_some_and(|window| window.night == night && longest_elapsed_ms <= window.own_floor_ms)
    }

    /// The limits of a run with its own recent runs: the tailored limit of the night's window
    /// (its share 1 − weight) and the recent runs (weight between them), as the checker does.
    /// `None` when the night has no prepared window (the run keeps its type's limits).
    pub(super) fn with_recent_runs(
        &mut self,
        task: u32,
        night: Day,
        limits: &NightLimits,
        recent: &[u64],
    ) -> Option<NightLimits> {
        let detection = self.config.detection;
        let state = &mut self.tasks[task as usize];
        let (Some(per_run), Some(window)) = (&self.per_run, &state.night_window) else {
            return None;
        };
        if window.night != night {
            return None;
        }
        if let Some((cached_night, cached_recent, own)) = &state.own_cached
            && *cached_night == night
            && **cached_recent == *recent
        {
            return Some(*own);
        }
        let own =
            NightLimits::new(per_run.baseline_with(&limits.baseline, &window.prepared, recent), &detection);
        state.own_cached = Some((night, recent.into(), own));
        Some(own)
    }
}
