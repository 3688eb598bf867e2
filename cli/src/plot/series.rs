//! What a plot of one task type shows: each run's duration, the baseline as it moved night by
//! night, and which runs were alerted on. Pure data, computed by the same core as `replay`.

use std::collections::{BTreeMap, HashMap};

use overrun_core::moments::WindowStats;
use overrun_core::replay::replay_runs;
use overrun_core::{EpochMs, Level, ReplayConfig, ReplayError, Run, RunStatus};

#[derive(Debug, Clone, PartialEq)]
pub struct PlotPoint {
    pub start: EpochMs,
    pub duration_ms: u64,
    pub status: RunStatus,
    /// The highest level it was alerted at.
    pub level: Option<Level>,
    pub too_short: bool,
}

/// One night's baseline, in force from `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandStep {
    pub from: EpochMs,
    pub to: EpochMs,
    pub expected_ms: f64,
    pub upper_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskSeries {
    pub points: Vec<PlotPoint>,
    pub steps: Vec<BandStep>,
    pub first: EpochMs,
    pub last: EpochMs,
    pub warnings: usize,
    pub criticals: usize,
}

/// The series of the runs of one task type (`runs` holds only that type's runs).
pub fn task_series(runs: &[Run], config: &ReplayConfig) -> Result<Option<TaskSeries>, ReplayError> {
    let (Some(first), Some(last)) = (
        runs.iter().map(Run::start).min(),
        runs.iter().map(|r| r.end().unwrap_or(r.start()).max(r.start())).max(),
    ) else {
        return Ok(None);
    };
    let outcome = replay_runs(*config, runs)?;
    let mut levels: HashMap<&str, Level> = HashMap::new();
    for alert in &outcome.alerts {
        let level = levels.entry(alert.run_id.as_str()).or_insert(alert.level);
        *level = (*level).max(alert.level);
    }
    let short: std::collections::HashSet<&str> =
        outcome.short_finishes.iter().map(|s| s.run_id.as_str()).collect();
    let mut points: Vec<PlotPoint> = runs
        .iter()
        .map(|run| PlotPoint {
            start: run.start(),
            duration_ms: run.end().unwrap_or(last).abs_diff(run.start()),
            status: run.status(),
            level: levels.get(run.run_id().as_str()).copied(),
            too_short: short.contains(run.run_id().as_str()),
        })
        .collect();
    points.sort_by_key(|p| p.start);

    let policy = config.policy;
    let mut days: BTreeMap<i64, WindowStats> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.status() == RunStatus::Succeeded) {
        if let Some(end) = run.end() {
            days.entry(policy.bucket_of_end(end))
                .or_insert_with(|| WindowStats::new(policy.method().needs_histogram()))
                .push(end.abs_diff(run.start()));
        }
    }
    let mut steps = Vec::new();
    for night in policy.night_at_or_before(first)..=policy.night_at_or_before(last) {
        let window: WindowStats = days.range(policy.window_buckets(night)).map(|(_, stats)| stats).sum();
        if let Some(baseline) = policy.baseline_from(&window, policy.night_start(night)) {
            steps.push(BandStep {
                from: policy.night_start(night).max(first),
                to: policy.night_start(night + 1).min(last),
                expected_ms: baseline.expected_ms,
                upper_ms: baseline.upper_ms,
            });
        }
    }
    Ok(Some(TaskSeries {
        points,
        steps,
        first,
        last,
        warnings: outcome.summary.warnings as usize,
        criticals: outcome.summary.criticals as usize,
    }))
}
