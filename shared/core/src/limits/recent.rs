//! Recent runs: the latest succeeded runs of a task type that had ended when a run started join
//! the night's window in that run's own tailored limit, so a type whose durations come in streaks
//! is judged by its current streak (docs/DETECTION.md). One function serves the replay engine and
//! the checker, so both compute the same limit from the same inputs.

use thiserror::Error;

use crate::limits::baseline::{Baseline, BaselinePolicy, Method};
use crate::limits::tailored::{PreparedWindow, SPREAD};

/// How many recent runs count, and the share of the weight they get between them (the night's
/// window keeps the rest). `count` 0 turns it off.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RecentRuns {
    pub count: usize,
    pub weight: f64,
}

#[derive(Debug, Error, PartialEq)]
pub enum RecentRunsError {
    #[error("the number of recent runs must be 0 to {max}, got {0}", max = RecentRuns::MAX_COUNT)]
    Count(usize),
    #[error("the weight of recent runs must be above 0 and below 1, got {0}")]
    Weight(f64),
    #[error("recent runs work with the tailored method, not {0}")]
    Method(&'static str),
}

impl RecentRuns {
    /// More would only cost time: a handful of runs is a streak, a thousand is a window.
    pub const MAX_COUNT: usize = 1_000;
    /// The tailored method's default: its three latest runs, 30 % of the weight between them
    /// (docs/DETECTION.md, "Recent runs").
    pub const DEFAULT_COUNT: usize = crate::defaults::RECENT_RUNS;
    pub const DEFAULT_WEIGHT: f64 = crate::defaults::RECENT_WEIGHT;

    /// What `method` runs with unless told otherwise: tailored weighs its recent runs, the
    /// methods built on moments cannot.
    pub fn default_for(method: Method) -> Self {
        if method.needs_histogram() {
            Self { count: Self::DEFAULT_COUNT, weight: Self::DEFAULT_WEIGHT }
        } else {
            Self::default()
        }
    }

    /// The settings asked for, each unset one the method's default, checked for `policy`.
    pub fn chosen(
        count: Option<usize>,
        weight: Option<f64>,
        policy: &BaselinePolicy,
    ) -> Result<Self, RecentRunsError> {
        let count = count.unwrap_or(Self::default_for(policy.method()).count);
        let recent = Self::new(count, weight.unwrap_or(Self::DEFAULT_WEIGHT))?;
        recent.for_policy(policy)?;
        Ok(recent)
    }

    /// Checked settings; `count` 0 is "off" whatever the weight.
    pub fn new(count: usize, weight: f64) -> Result<Self, RecentRunsError> {
        if count == 0 {
            return Ok(Self::default());
        }
        if count > Self::MAX_COUNT {
            return Err(RecentRunsError::Count(count));
        }
        if !(weight > 0.0 && weight < 1.0) {
            return Err(RecentRunsError::Weight(weight));
        }
        Ok(Self { count, weight })
    }

    pub fn is_enabled(&self) -> bool {
        self.count > 0 && self.weight > 0.0
    }

    /// The per-run limits these settings give under `policy`: `None` when off; an error when
    /// the policy's method cannot weigh runs (only tailored limits are built from durations).
    pub fn for_policy(self, policy: &BaselinePolicy) -> Result<Option<PerRunLimits>, RecentRunsError> {
        if !self.is_enabled() {
            return Ok(None);
        }
        let method = policy.method();
        if !method.needs_histogram() {
            return Err(RecentRunsError::Method(method.name()));
        }
        Ok(Some(PerRunLimits {
            recent: self,
            price: method.k(),
            interval_ms: policy.check_interval().as_ms() as f64,
        }))
    }
}

/// Everything a run's own limit depends on besides its window and its recent runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerRunLimits {
    pub recent: RecentRuns,
    /// The tailored method's k.
    pub price: f64,
    pub interval_ms: f64,
}

impl PerRunLimits {
    /// The window's side of every run's limit for one night: `None` for an empty window.
    pub fn prepare(
        &self,
        baseline: &Baseline,
        window: impl IntoIterator<Item = (f64, u64)>,
    ) -> Option<PreparedWindow> {
        let weighted = window.into_iter().map(|(value, count)| (value, count as f64));
        PreparedWindow::new(weighted, baseline.expected_ms, self.price, self.interval_ms, SPREAD)
    }

    /// The baseline a run is checked against: its type's `baseline` with the upper limit of the
    /// night's window (`prepared`, weight 1 − W) together with the run's `recent_ms` (weight W
    /// between them). The type's own baseline when the run has no recent runs.
    pub fn baseline_with(
        &self,
        baseline: &Baseline,
        prepared: &PreparedWindow,
        recent_ms: &[u64],
    ) -> Baseline {
        if recent_ms.is_empty() {
            return *baseline;
        }
        let weight = self.recent.weight;
        let share = weight / recent_ms.len() as f64;
        let recent: Vec<(f64, f64)> = recent_ms.iter().map(|&duration| (duration as f64, share)).collect();
        match prepared.limit_with(1.0 - weight, &recent) {
            Some(upper_ms) => Baseline { upper_ms, ..*baseline },
            None => *baseline,
        }
    }

    /// A duration no run's own limit from `prepared` lies at or below, whatever its recent runs
    /// ([`PreparedWindow::floor_with_extra`] at the window's weight in [`Self::baseline_with`]).
    pub fn own_limit_floor(&self, prepared: &PreparedWindow) -> f64 {
        prepared.floor_with_extra(1.0 - self.recent.weight)
    }

    /// [`Self::prepare`] and [`Self::baseline_with`] in one, for a single run.
    pub fn baseline_of_run(
        &self,
        baseline: &Baseline,
        window: impl IntoIterator<Item = (f64, u64)>,
        recent_ms: &[u64],
    ) -> Baseline {
        match self.prepare(baseline, window) {
            Some(prepared) => self.baseline_with(baseline, &prepared, recent_ms),
            None => *baseline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: u64 = 60_000;

    fn per_run() -> PerRunLimits {
        let policy = BaselinePolicy::new(Method::Tailored { k: 5.0 }, 14, 5, 0).unwrap();
        RecentRuns::new(3, 0.3).unwrap().for_policy(&policy).unwrap().unwrap()
    }

    /// A type that ran about 60 minutes for two weeks.
    fn hour_long_type() -> (Baseline, Vec<(f64, u64)>) {
        let window: Vec<(f64, u64)> =
            [55, 58, 60, 62, 65].iter().map(|&m| ((m * MINUTE) as f64, 4)).collect();
        let baseline = Baseline {
            n: 20,
            expected_ms: (60 * MINUTE) as f64,
            sigma_ms: (3 * MINUTE) as f64,
            upper_ms: (75 * MINUTE) as f64,
            computed_at: 0,
            outlier: None,
        };
        (baseline, window)
    }

    #[test]
    fn a_run_after_a_streak_of_long_runs_gets_a_wider_limit_than_one_after_short_runs() {
        let (baseline, window) = hour_long_type();
        let after_long = per_run().baseline_of_run(&baseline, window.iter().copied(), &[90 * MINUTE; 3]);
        let after_short = per_run().baseline_of_run(&baseline, window.iter().copied(), &[56 * MINUTE; 3]);
        assert!(
            after_long.upper_ms > after_short.upper_ms,
            "after long runs {}, after short runs {}",
            after_long.upper_ms,
            after_short.upper_ms
        );
        assert_eq!(after_long.expected_ms, baseline.expected_ms, "only the limit is the run's own");
    }

    #[test]
    fn a_run_without_recent_runs_keeps_its_types_baseline() {
        let (baseline, window) = hour_long_type();
        assert_eq!(per_run().baseline_of_run(&baseline, window.iter().copied(), &[]), baseline);
        assert_eq!(per_run().baseline_of_run(&baseline, std::iter::empty(), &[MINUTE]), baseline);
    }

    #[test]
    fn settings_out_of_range_or_for_another_method_are_refused_naming_what_is_wrong() {
        assert_eq!(RecentRuns::new(1_001, 0.3), Err(RecentRunsError::Count(1_001)));
        assert_eq!(RecentRuns::new(3, 1.0), Err(RecentRunsError::Weight(1.0)));
        assert_eq!(RecentRuns::new(3, 0.0), Err(RecentRunsError::Weight(0.0)));
        assert_eq!(RecentRuns::new(0, 7.0), Ok(RecentRuns::default()), "0 is off, whatever the weight");
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).unwrap();
        let error = RecentRuns::new(3, 0.3).unwrap().for_policy(&seed).unwrap_err();
        assert_eq!(error.to_string(), "recent runs work with the tailored method, not seed");
        assert_eq!(RecentRuns::default().for_policy(&seed), Ok(None));
    }

    #[test]
    fn unset_settings_take_the_methods_default_and_only_tailored_has_recent_runs_by_default() {
        let tailored = BaselinePolicy::new(Method::Tailored { k: 6.0 }, 14, 5, 0).unwrap();
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).unwrap();
        assert_eq!(RecentRuns::chosen(None, None, &tailored), Ok(RecentRuns { count: 3, weight: 0.3 }));
        assert_eq!(RecentRuns::chosen(Some(0), None, &tailored), Ok(RecentRuns::default()), "asked off");
        assert_eq!(RecentRuns::chosen(None, Some(0.6), &tailored), Ok(RecentRuns { count: 3, weight: 0.6 }));
        assert_eq!(RecentRuns::chosen(None, None, &seed), Ok(RecentRuns::default()));
        assert_eq!(RecentRuns::chosen(Some(3), None, &seed), Err(RecentRunsError::Method("seed")));
    }
}
