//! What a plot of one task type shows: each run's duration, the baseline as it moved night by
//! night, and which runs were alerted on. Pure data, computed by the same core as `replay`.

use overrun_core::time::Day;
use std::collections::{BTreeMap, HashMap};

use overrun_core::evaluation::replay::replay_runs;
use overrun_core::evaluation::replay::{ReplayConfig, ReplayError};
use overrun_core::stats::moments::WindowStats;
use overrun_core::{EpochMs, Level, Run, RunStatus};

#[derive(Debug, Clone, PartialEq)]
pub struct PlotPoint {
    pub start: EpochMs,
    pub duration_ms: u64,
    pub status: RunStatus,
    /// The highest level it was alerted at.
    pub level: Option<Level>,
    pub too_short: bool,
    /// With recent runs: its own limit at its start, from the night's window and its recent runs.
    pub own_limit_ms: Option<f64>,
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
    let policy = config.policy;
    let mut days: BTreeMap<Day, WindowStats> = BTreeMap::new();
    // (end, duration) of the succeeded runs, for each run's recent runs.
    let mut succeeded: Vec<(EpochMs, u64)> = Vec::new();
    for run in runs.iter().filter(|r| r.status() == RunStatus::Succeeded) {
        if let Some(end) = run.end() {
            days.entry(policy.bucket_of_end(end))
                .or_insert_with(|| WindowStats::new(policy.method().needs_histogram()))
                .push(end.abs_diff(run.start()));
            succeeded.push((end, end.abs_diff(run.start())));
        }
    }
    succeeded.sort_unstable();
    let per_run = config.recent.for_policy(&policy).ok().flatten();
    let own_limit = |run: &Run| -> Option<f64> {
        let per_run = per_run?;
        let night = policy.night_at_or_before(run.start());
        let window: WindowStats = days.range(policy.window_buckets(night)).map(|(_, stats)| stats).sum();
        let baseline = policy.baseline_from(&window, policy.night_start(night))?;
        // The latest by end that ended before the start, then the longest, as the engine takes them.
        let before = succeeded.partition_point(|&(end, _)| end < run.start());
        let recent: Vec<u64> = succeeded[..before]
            .iter()
            .rev()
            .take(per_run.recent.count)
            .map(|&(_, duration)| duration)
            .collect();
        if recent.is_empty() {
            return None;
        }
        Some(per_run.baseline_of_run(&baseline, window.histogram?.values(), &recent).upper_ms)
    };
    let mut points: Vec<PlotPoint> = runs
        .iter()
        .map(|run| PlotPoint {
            start: run.start(),
            duration_ms: run.end().unwrap_or(last).abs_diff(run.start()),
            status: run.status(),
            level: levels.get(run.run_id().as_str()).copied(),
            too_short: short.contains(run.run_id().as_str()),
            own_limit_ms: own_limit(run),
        })
        .collect();
    points.sort_by_key(|p| p.start);

    let mut steps = Vec::new();
    for night in Day::each(policy.night_at_or_before(first)..policy.night_at_or_before(last) + 1) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use overrun_core::{RunId, TaskType};

    /// Eight daily runs of 10 to 11 minutes, then one of two hours.
    fn runs() -> Vec<Run> {
        let day = 86_400_000;
        let run = |i: i64, minutes: i64| {
            let start = 20_000 * day + i * day + 3_600_000;
            Run::new(
                TaskType::new("etl").unwrap(),
                RunId::new(&format!("r{i}")).unwrap(),
                start,
                Some(start + minutes * 60_000 + i * 10_000),
                RunStatus::Succeeded,
            )
            .unwrap()
        };
        (0..8).map(|i| run(i, 10)).chain([run(8, 120)]).collect()
    }

    #[test]
    fn each_run_with_recent_runs_gets_the_own_limit_the_replay_alerted_it_against() {
        let config = ReplayConfig::default();
        let series = task_series(&runs(), &config).unwrap().unwrap();
        let outcome = replay_runs(config, &runs()).unwrap();
        let warning = outcome.alerts.iter().find(|a| a.level == Level::Warning).unwrap();
        let slow = series.points.last().unwrap();
        assert_eq!(slow.own_limit_ms, Some(warning.baseline().unwrap().upper_ms));
        // The first five nights have no baseline yet (five runs needed), so no own limit either.
        let with_own = series.points.iter().filter(|p| p.own_limit_ms.is_some()).count();
        assert_eq!(with_own, 4);
        let alone = ReplayConfig { recent: Default::default(), ..config };
        let plain = task_series(&runs(), &alone).unwrap().unwrap();
        assert!(plain.points.iter().all(|p| p.own_limit_ms.is_none()), "without recent runs: the band only");
    }
}
