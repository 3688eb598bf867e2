//! What a plot of one task type shows: each run's duration, the baseline as it moved night by
//! night, and which runs were alerted on. Pure data, computed by the same core as `replay`.

use overrun_core::time::Day;
use std::collections::{BTreeMap, HashMap};

use overrun_core::Baseline;
use overrun_core::evaluation::replay::{ReplayConfig, ReplayError, Replayer, replay_runs_with};
use overrun_core::limits::season::{Season, SeasonRule};
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
    /// On a night its type was judged by season: the season whose runs (starting in this step)
    /// its baseline came from.
    pub season: Option<Season>,
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
    let outcome = replay_runs_with(Replayer::new(*config).recording_baselines(), runs)?;
    // The nights its type was judged by season, with each season's baseline (as the replay
    // judged its runs by them).
    let mut by_season: BTreeMap<Day, [Option<Baseline>; 2]> = BTreeMap::new();
    for record in &outcome.baselines {
        if let Some(season) = record.season {
            by_season.entry(record.night).or_default()[season.index()] = record.baseline;
        }
    }
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
        if by_season.contains_key(&night) {
            // Its own limit weighed its season's window and recent runs: the band shows them.
            return None;
        }
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
    let rule = config.seasons.unwrap_or_default();
    for night in Day::each(policy.night_at_or_before(first)..policy.night_at_or_before(last) + 1) {
        let (from, to) = (policy.night_start(night).max(first), policy.night_start(night + 1).min(last));
        if let Some(seasons) = by_season.get(&night) {
            for (from, to, season) in season_spans(&rule, from, to) {
                if let Some(baseline) = seasons[season.index()] {
                    let (expected_ms, upper_ms) = (baseline.expected_ms, baseline.upper_ms);
                    steps.push(BandStep { from, to, expected_ms, upper_ms, season: Some(season) });
                }
            }
            continue;
        }
        let window: WindowStats = days.range(policy.window_buckets(night)).map(|(_, stats)| stats).sum();
        if let Some(baseline) = policy.baseline_from(&window, policy.night_start(night)) {
            let (expected_ms, upper_ms) = (baseline.expected_ms, baseline.upper_ms);
            steps.push(BandStep { from, to, expected_ms, upper_ms, season: None });
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

/// `from..to` cut where the season of a start changes (every zone's offset is a multiple of 15
/// minutes, so its midnights fall on quarter hours).
fn season_spans(rule: &SeasonRule, from: EpochMs, to: EpochMs) -> Vec<(EpochMs, EpochMs, Season)> {
    const QUARTER_HOUR: EpochMs = 15 * 60_000;
    let mut spans: Vec<(EpochMs, EpochMs, Season)> = Vec::new();
    let mut at = from;
    while at < to {
        let next = ((at.div_euclid(QUARTER_HOUR) + 1) * QUARTER_HOUR).min(to);
        let season = rule.season_of(at);
        match spans.last_mut() {
            Some(last) if last.2 == season => last.1 = next,
            _ => spans.push((at, next, season)),
        }
        at = next;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use overrun_core::evaluation::replay::replay_runs;
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

    /// Two runs a day for ten weeks from Monday 2025-01-06: 30 minutes on weekdays, 5 on
    /// weekends.
    fn seasonal_runs() -> Vec<Run> {
        let (day, monday) = (86_400_000, 1_736_121_600_000);
        (0..140)
            .map(|i: i64| {
                let start = monday + (i / 2) * day + (i % 2) * 9 * 3_600_000 + 3_600_000;
                let weekend = (i / 2) % 7 >= 5;
                let minutes = if weekend { 5 } else { 30 } * 60_000 + (i % 7) * 20_000;
                let id = RunId::new(&format!("r{i}")).unwrap();
                Run::new(
                    TaskType::new("report").unwrap(),
                    id,
                    start,
                    Some(start + minutes),
                    RunStatus::Succeeded,
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_type_judged_by_season_shows_each_seasons_limits_when_its_runs_start() {
        let config = ReplayConfig { seasons: Some(SeasonRule::default()), ..ReplayConfig::default() };
        let series = task_series(&seasonal_runs(), &config).unwrap().unwrap();
        let expected = |season| {
            let steps: Vec<&BandStep> = series.steps.iter().filter(|s| s.season == Some(season)).collect();
            assert!(!steps.is_empty(), "{season:?}: {:?}", series.steps);
            for step in &steps {
                assert_eq!(SeasonRule::default().season_of(step.from), season);
                assert_eq!(SeasonRule::default().season_of(step.to - 1), season);
            }
            steps.iter().map(|s| s.expected_ms).fold(0.0, f64::max)
        };
        assert!(expected(Season::Weekend) < 8.0 * 60_000.0, "weekend runs take 5 to 7 minutes");
        assert!(expected(Season::Weekday) > 30.0 * 60_000.0, "weekday runs take 30 to 32");
        let plain = task_series(&seasonal_runs(), &ReplayConfig::default()).unwrap().unwrap();
        assert!(plain.steps.iter().all(|s| s.season.is_none()));
    }

    #[test]
    fn a_night_is_cut_where_the_season_of_a_start_changes_in_its_zone() {
        let berlin =
            SeasonRule::in_zone(overrun_core::schedule::declared::Zone::named("Europe/Berlin").unwrap());
        // Friday 2025-01-10 12:00 UTC to Saturday 12:00 UTC: Saturday begins at 23:00 UTC in Berlin.
        let friday_noon = 1_736_510_400_000;
        let spans = season_spans(&berlin, friday_noon, friday_noon + 86_400_000);
        let cut = friday_noon + 11 * 3_600_000;
        assert_eq!(
            spans,
            vec![(friday_noon, cut, Season::Weekday), (cut, friday_noon + 86_400_000, Season::Weekend)]
        );
    }
}
