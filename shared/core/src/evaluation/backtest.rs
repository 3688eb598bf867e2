//! Backtests: how many real slowdowns a method catches, and how many pages it sends for nothing.
//!
//! Real traces carry no labels, so slowdowns are injected: with a fixed seed, about 3 % of the
//! eligible runs are stretched by ×1.5, ×2 or ×3 (chosen uniformly). Eligible: a succeeded run of
//! a task type with at least 20 earlier succeeded runs (in start order), whose normal duration is
//! at least the check interval (a shorter run cannot be seen running by a 10-minute checker, the
//! seed's own point). A stretched run keeps its start and status; its end moves. It then enters
//! later baselines like any slow run would. Every other run is "healthy": a warning on it is a
//! false alert. See docs/DETECTION.md for the protocol and figures.

use std::collections::HashMap;

use crate::detect::levels::Level;
use crate::evaluation::replay::ReplayOutcome;
use crate::evaluation::rng::SplitMix64;
use crate::model::{Run, RunId, RunStatus};
use crate::time::{EpochMs, MS_PER_DAY};

#[derive(Debug, Clone, PartialEq)]
pub struct InjectionPlan {
    pub factors: Vec<f64>,
    pub fraction: f64,
    pub seed: u64,
    pub min_prior_successes: usize,
    pub min_duration_ms: i64,
}

impl Default for InjectionPlan {
    fn default() -> Self {
        Self {
            factors: vec![1.5, 2.0, 3.0],
            fraction: 0.03,
            seed: 42,
            min_prior_successes: 20,
            min_duration_ms: 600_000,
        }
    }
}

/// One stretched run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stretch {
    pub factor: f64,
    /// When it would have ended had it not been slowed down.
    pub normal_end: EpochMs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    /// The trace with the stretched runs, in start order.
    pub runs: Vec<Run>,
    pub stretched: HashMap<RunId, Stretch>,
    pub eligible: usize,
}

/// Stretches about `fraction` of the eligible runs, deterministically for a seed.
pub fn inject(runs: &[Run], plan: &InjectionPlan) -> Injected {
    let mut ordered: Vec<Run> = runs.to_vec();
    ordered.sort_by_key(Run::start);
    let mut rng = SplitMix64::new(plan.seed);
    let mut successes: HashMap<&str, usize> = HashMap::new();
    let mut stretched = HashMap::new();
    let mut eligible = 0;
    let mut output = Vec::with_capacity(ordered.len());
    for run in &ordered {
        let mut run_out = run.clone();
        if let (RunStatus::Succeeded, Some(end)) = (run.status(), run.end()) {
            let prior = successes.entry(run.task_type().as_str()).or_default();
            let duration = end - run.start();
            if *prior >= plan.min_prior_successes && duration >= plan.min_duration_ms {
                eligible += 1;
                // Two draws per eligible run whatever the outcome, so the choice of one run does
                // not depend on the factors drawn for others.
                let pick = rng.unit();
                let factor = plan.factors[rng.below(plan.factors.len() as u64) as usize];
                if pick < plan.fraction {
                    let new_end = run.start() + (duration as f64 * factor).round() as i64;
                    if let Ok(slow) = Run::new(
                        run.task_type().clone(),
                        run.run_id().clone(),
                        run.start(),
                        Some(new_end),
                        RunStatus::Succeeded,
                    ) {
                        run_out = slow;
                        stretched.insert(run.run_id().clone(), Stretch { factor, normal_end: end });
                    }
                }
            }
            *prior += 1;
        }
        output.push(run_out);
    }
    Injected { runs: output, stretched, eligible }
}

/// Recall for one stretch factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recall {
    pub factor: f64,
    pub detected: usize,
    pub injected: usize,
}

impl Recall {
    pub fn rate(&self) -> f64 {
        if self.injected == 0 { 0.0 } else { self.detected as f64 / self.injected as f64 }
    }
}

/// The figures users judge an alerting method by.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub healthy_runs: usize,
    pub false_alerts: usize,
    pub false_alerts_per_1000_healthy: f64,
    pub false_alerts_per_day: f64,
    pub recall: Vec<Recall>,
    pub injected: usize,
    pub detected: usize,
    /// Median of (alert time − the run's normal end) over detected slowdowns: how long after
    /// the run should have finished someone hears of it. Negative when the limit sits below the
    /// run's normal duration.
    pub median_delay_ms: Option<i64>,
    pub alerts_per_day: f64,
    /// Too-short notices (informational) on the trace: no run is shortened by the injection, so
    /// each is a notice a user would have read on the real history.
    pub short_notices: usize,
    pub short_notices_per_1000_succeeded: f64,
    pub short_notices_per_day: f64,
    pub days: f64,
}

impl Score {
    pub fn overall_recall(&self) -> f64 {
        if self.injected == 0 { 0.0 } else { self.detected as f64 / self.injected as f64 }
    }
}

/// The raw counts of one or more backtest replays; [`Tally::merge`] pools replays of the same
/// trace with different injection seeds, so figures rest on more slowdowns than one seed gives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub healthy_runs: usize,
    pub false_alerts: usize,
    pub warnings: usize,
    /// Per factor: (factor, injected, detected).
    pub by_factor: Vec<(f64, usize, usize)>,
    pub delays_ms: Vec<i64>,
    pub short_notices: usize,
    pub succeeded: u64,
    pub days: f64,
}

impl Tally {
    pub fn merge(&mut self, other: &Tally) {
        self.healthy_runs += other.healthy_runs;
        self.false_alerts += other.false_alerts;
        self.warnings += other.warnings;
        for &(factor, injected, detected) in &other.by_factor {
            match self.by_factor.iter_mut().find(|(f, _, _)| *f == factor) {
                Some(entry) => {
                    entry.1 += injected;
                    entry.2 += detected;
                }
                None => self.by_factor.push((factor, injected, detected)),
            }
        }
        self.delays_ms.extend_from_slice(&other.delays_ms);
        self.short_notices += other.short_notices;
        self.succeeded += other.succeeded;
        self.days += other.days;
    }

    pub fn score(&self) -> Score {
        let days = self.days.max(1.0 / 24.0);
        let mut delays = self.delays_ms.clone();
        delays.sort_unstable();
        let recall: Vec<Recall> = self
            .by_factor
            .iter()
            .map(|&(factor, injected, detected)| Recall { factor, detected, injected })
            .collect();
        let per_1000 = |count: usize, of: f64| if of > 0.0 { count as f64 * 1_000.0 / of } else { 0.0 };
        Score {
            healthy_runs: self.healthy_runs,
            false_alerts: self.false_alerts,
            false_alerts_per_1000_healthy: per_1000(self.false_alerts, self.healthy_runs as f64),
            false_alerts_per_day: self.false_alerts as f64 / days,
            injected: recall.iter().map(|r| r.injected).sum(),
            detected: delays.len(),
            recall,
            median_delay_ms: (!delays.is_empty()).then(|| delays[delays.len() / 2]),
            alerts_per_day: self.warnings as f64 / days,
            short_notices: self.short_notices,
            short_notices_per_1000_succeeded: per_1000(self.short_notices, self.succeeded as f64),
            short_notices_per_day: self.short_notices as f64 / days,
            days: (days * MS_PER_DAY as f64).round() / MS_PER_DAY as f64,
        }
    }
}

/// Counts a replay of an injected trace. Only warnings count: a critical always follows one.
pub fn tally(outcome: &ReplayOutcome, injected: &Injected, factors: &[f64]) -> Tally {
    let mut tally = Tally {
        healthy_runs: injected.runs.len() - injected.stretched.len(),
        by_factor: factors
            .iter()
            .map(|&factor| (factor, injected.stretched.values().filter(|s| s.factor == factor).count(), 0))
            .collect(),
        short_notices: outcome.short_finishes.len(),
        succeeded: outcome.summary.succeeded,
        days: outcome.summary.days_covered(),
        ..Tally::default()
    };
    for alert in outcome.alerts.iter().filter(|a| a.level == Level::Warning) {
        tally.warnings += 1;
        match injected.stretched.get(&alert.run_id) {
            Some(stretch) => {
                if let Some(entry) = tally.by_factor.iter_mut().find(|(f, _, _)| *f == stretch.factor) {
                    entry.2 += 1;
                }
                tally.delays_ms.push(alert.at - stretch.normal_end);
            }
            None => tally.false_alerts += 1,
        }
    }
    tally
}

/// Scores a replay of an injected trace.
pub fn score(outcome: &ReplayOutcome, injected: &Injected, factors: &[f64]) -> Score {
    tally(outcome, injected, factors).score()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_tallies_add_counts_and_take_the_median_of_all_delays() {
        let a = Tally {
            healthy_runs: 1_000,
            false_alerts: 3,
            warnings: 5,
            by_factor: vec![(1.5, 2, 1), (2.0, 1, 1)],
            delays_ms: vec![10, 30],
            short_notices: 1,
            succeeded: 900,
            days: 10.0,
        };
        let b = Tally {
            healthy_runs: 1_000,
            false_alerts: 1,
            warnings: 3,
            by_factor: vec![(1.5, 2, 2), (2.0, 1, 0)],
            delays_ms: vec![20, 40],
            short_notices: 0,
            succeeded: 900,
            days: 10.0,
        };
        let mut pooled = a.clone();
        pooled.merge(&b);
        let score = pooled.score();
        assert_eq!(score.false_alerts_per_1000_healthy, 2.0);
        assert_eq!(score.false_alerts_per_day, 0.2);
        assert_eq!((score.injected, score.detected), (6, 4));
        assert_eq!(score.recall[0].rate(), 0.75);
        assert_eq!(score.median_delay_ms, Some(30), "median of 10, 20, 30, 40 (upper)");
        assert_eq!(score.alerts_per_day, 0.4);
        assert!((score.short_notices_per_1000_succeeded - 1_000.0 / 1_800.0).abs() < 1e-12);
    }
    use crate::evaluation::replay::{ReplayConfig, replay_runs};
    use crate::model::TaskType;

    fn history(runs_per_type: usize) -> Vec<Run> {
        let mut runs = Vec::new();
        for t in 0..3 {
            for i in 0..runs_per_type {
                let start = 20_000 * MS_PER_DAY + (i as i64) * MS_PER_DAY / 4 + t * 60_000;
                let duration = 1_800_000 + ((i * 7 + t as usize * 3) % 11) as i64 * 30_000;
                runs.push(
                    Run::new(
                        TaskType::new(&format!("t{t}")).unwrap(),
                        RunId::new(&format!("t{t}-{i}")).unwrap(),
                        start,
                        Some(start + duration),
                        RunStatus::Succeeded,
                    )
                    .unwrap(),
                );
            }
        }
        runs
    }

    #[test]
    fn injection_is_deterministic_and_respects_eligibility() {
        let runs = history(200);
        let plan = InjectionPlan { fraction: 0.2, ..InjectionPlan::default() };
        let a = inject(&runs, &plan);
        let b = inject(&runs, &plan);
        assert_eq!(a, b);
        assert_eq!(a.eligible, 3 * (200 - 20));
        assert!(!a.stretched.is_empty());
        for (id, stretch) in &a.stretched {
            let index: usize = id.as_str().split('-').nth(1).unwrap().parse().unwrap();
            assert!(index >= 20, "{id} had fewer than 20 earlier successes");
            let run = a.runs.iter().find(|r| r.run_id() == id).unwrap();
            let stretched = run.end().unwrap() - run.start();
            let normal = stretch.normal_end - run.start();
            assert_eq!(stretched, (normal as f64 * stretch.factor).round() as i64);
        }
        let other_seed = inject(&runs, &InjectionPlan { seed: 7, ..plan });
        assert_ne!(
            other_seed.stretched.keys().collect::<std::collections::BTreeSet<_>>(),
            a.stretched.keys().collect()
        );
    }

    #[test]
    fn short_runs_are_never_stretched() {
        let runs = history(100);
        let plan =
            InjectionPlan { min_duration_ms: 10 * 3_600_000, fraction: 1.0, ..InjectionPlan::default() };
        let injected = inject(&runs, &plan);
        assert_eq!(injected.eligible, 0);
        assert!(injected.stretched.is_empty());
    }

    #[test]
    fn score_counts_detections_per_factor_and_false_alerts() {
        let runs = history(120);
        let plan = InjectionPlan { fraction: 0.1, ..InjectionPlan::default() };
        let injected = inject(&runs, &plan);
        let outcome = replay_runs(ReplayConfig::default(), &injected.runs).unwrap();
        let score = score(&outcome, &injected, &plan.factors);
        assert_eq!(score.injected, injected.stretched.len());
        assert_eq!(score.recall.iter().map(|r| r.injected).sum::<usize>(), score.injected);
        assert_eq!(score.recall.iter().map(|r| r.detected).sum::<usize>(), score.detected);
        // A ×3 slowdown of a steady 30-minute task cannot hide from mean + 2σ.
        let tripled = score.recall.iter().find(|r| r.factor == 3.0).unwrap();
        assert!(tripled.injected == 0 || tripled.rate() > 0.9, "{tripled:?}");
        let warnings = outcome.alerts.iter().filter(|a| a.level == Level::Warning).count();
        assert_eq!(score.false_alerts + score.detected, warnings);
        assert_eq!(score.healthy_runs, runs.len() - score.injected);
    }
}
