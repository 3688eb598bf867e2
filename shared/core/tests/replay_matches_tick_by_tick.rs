//! The replay engine's closed-form search against a deliberately naive oracle that visits every
//! tick and recomputes every baseline from the raw runs with two-pass floating-point formulas.

use std::collections::BTreeMap;

use overrun_core::evaluation::replay::ReplayConfig;
use overrun_core::evaluation::replay::{RecentRuns, replay_runs};
use overrun_core::limits::recent::PerRunLimits;
use overrun_core::limits::tailored::tailored_limit;
use overrun_core::limits::window::ExclusionCap;
use overrun_core::stats::histogram::DurationHistogram;
use overrun_core::time::{MS_PER_DAY, MS_PER_HOUR};
use overrun_core::{
    Baseline, BaselinePolicy, DetectionConfig, Level, Method, Run, RunId, RunStatus, ShortRule, TaskType,
    TickInterval,
};
use proptest::prelude::*;

struct Params {
    exclude_alerted: bool,
    exclusion_cap: f64,
    k: f64,
    window_days: i64,
    min_samples: usize,
    nightly_hour: i64,
    interval_s: i64,
    critical_factor: f64,
    cohorts: bool,
    /// The tailored method (k is then the price of a false page) instead of the seed's formula.
    tailored: bool,
    /// With tailored: how many of the type's most recent runs join each run's limit (0: none),
    /// and their weight between them.
    recent_count: usize,
    recent_weight: f64,
    /// The limit, in seconds, of a run whose type has no baseline (0: none).
    fallback_s: i64,
}

/// (mean, upper, σ) of a window: mean + k·σ by the two-pass textbook formulas, or the tailored
/// limit of its durations (and of the run's recent runs, weighted); none below min_samples.
fn naive_baseline(p: &Params, durations: &[f64], recent: &[f64]) -> Option<(f64, f64, f64)> {
    if durations.len() < p.min_samples {
        return None;
    }
    let n = durations.len() as f64;
    let mean = durations.iter().sum::<f64>() / n;
    let sd = if durations.len() > 1 {
        (durations.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    } else {
        0.0
    };
    let upper = if p.tailored {
        // The window's histogram, binned run by run; the limit itself is unit-tested on its own.
        let mut bins: BTreeMap<i32, u64> = BTreeMap::new();
        for &d in durations {
            *bins.entry(DurationHistogram::bin_of(d as u64)).or_default() += 1;
        }
        let values: Vec<(f64, u64)> =
            bins.into_iter().map(|(bin, count)| (DurationHistogram::value_of(bin), count)).collect();
        let interval = (p.interval_s * 1_000) as f64;
        let type_limit = tailored_limit(values.iter().copied(), mean, p.k, interval)?;
        if recent.is_empty() {
            type_limit
        } else {
            // A run's own limit, by the function the engine and the checker share; its
            // arithmetic is unit-tested against the plain weighted limit (`recent`, `tailored`).
            let per_run = PerRunLimits {
                recent: RecentRuns { count: recent.len(), weight: p.recent_weight },
                price: p.k,
                interval_ms: interval,
            };
            let baseline = Baseline {
                n: durations.len() as u64,
                expected_ms: mean,
                sigma_ms: sd,
                upper_ms: type_limit,
                computed_at: 0,
                outlier: None,
            };
            let recent: Vec<u64> = recent.iter().map(|&d| d as u64).collect();
            per_run.baseline_of_run(&baseline, values.iter().copied(), &recent).upper_ms
        }
    } else {
        mean + p.k * sd
    };
    Some((mean, upper, sd))
}

/// The durations of the latest `recent_count` succeeded runs of run `i`'s type that ended before
/// it started, latest end first (then longest first).
fn naive_recent(p: &Params, runs: &[Run], i: usize) -> Vec<f64> {
    if !p.tailored || p.recent_count == 0 {
        return Vec::new();
    }
    let mut before: Vec<(i64, i64)> = runs
        .iter()
        .filter(|o| o.task_type() == runs[i].task_type() && o.status() == RunStatus::Succeeded)
        .filter_map(|o| o.end().filter(|&e| e < runs[i].start()).map(|e| (e, e - o.start())))
        .collect();
    before.sort_by(|a, b| b.cmp(a));
    before.into_iter().take(p.recent_count).map(|(_, d)| d as f64).collect()
}

/// (mean, upper) of `task`'s window at tick `t`, leaving out warned runs as the engine does.
fn naive_limits(
    p: &Params,
    runs: &[Run],
    alerted: &[[bool; 2]],
    task: &str,
    t: i64,
    recent: &[f64],
) -> Option<(f64, f64)> {
    let night =
        (t - p.nightly_hour * MS_PER_HOUR).div_euclid(MS_PER_DAY) * MS_PER_DAY + p.nightly_hour * MS_PER_HOUR;
    let window_start = night - p.window_days * MS_PER_DAY;
    let in_window: Vec<(f64, bool)> = runs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.task_type().as_str() == task && o.status() == RunStatus::Succeeded)
        .filter_map(|(j, o)| {
            o.end()
                .filter(|&e| window_start <= e && e < night)
                .map(|e| ((e - o.start()) as f64, p.exclude_alerted && alerted[j][0]))
        })
        .collect();
    // At most `exclusion_cap` of the window stays excluded: the slowest warned runs.
    let mut excluded: Vec<f64> = in_window.iter().filter(|(_, x)| *x).map(|(d, _)| *d).collect();
    excluded.sort_by(f64::total_cmp);
    let allowed = (p.exclusion_cap * in_window.len() as f64).floor() as usize;
    let back = excluded.len().saturating_sub(allowed);
    let mut durations: Vec<f64> = in_window
        .iter()
        .filter(|(_, x)| !*x)
        .map(|(d, _)| *d)
        .chain(excluded[..back].iter().copied())
        .collect();
    keep_out_a_lone_outlier(p, &mut durations);
    naive_baseline(p, &durations, recent).map(|(mean, upper, _)| (mean, upper))
}

/// Every method but the seed's leaves out a window's longest run when it lasted more than 100
/// times the next longest and the window holds at least 10 runs.
fn keep_out_a_lone_outlier(p: &Params, durations: &mut Vec<f64>) {
    if !p.tailored || durations.len() < 10 {
        return;
    }
    durations.sort_by(f64::total_cmp);
    if let [.., next, longest] = durations[..]
        && longest > 100.0 * next
    {
        durations.pop();
    }
}

/// With cohorts: the median pace (duration over expected) of the other runs that started at the
/// same instant and succeeded by `t`, once three have, never below 1.
fn naive_stretch(p: &Params, runs: &[Run], alerted: &[[bool; 2]], i: usize, t: i64) -> f64 {
    if !p.cohorts {
        return 1.0;
    }
    let mut paces: Vec<f64> = runs
        .iter()
        .enumerate()
        .filter(|&(j, o)| j != i && o.start() == runs[i].start() && o.status() == RunStatus::Succeeded)
        .filter_map(|(_, o)| {
            let end = o.end().filter(|&e| e <= t)?;
            let (mean, _) = naive_limits(p, runs, alerted, o.task_type().as_str(), t, &[])?;
            (mean > 0.0).then(|| (end - o.start()) as f64 / mean)
        })
        .collect();
    if paces.len() < 3 {
        return 1.0;
    }
    paces.sort_by(f64::total_cmp);
    let m = paces.len() / 2;
    let median = if paces.len() % 2 == 1 { paces[m] } else { (paces[m - 1] + paces[m]) / 2.0 };
    median.max(1.0)
}

fn naive_alerts(p: &Params, runs: &[Run]) -> Vec<(String, i64, Level)> {
    let mut order: Vec<(usize, &Run)> = runs.iter().enumerate().collect();
    order.sort_by_key(|(i, r)| (r.start(), *i));
    let horizon = runs.iter().map(|r| r.end().unwrap_or(r.start()).max(r.start())).max().unwrap();
    let interval = p.interval_s * 1_000;
    let first = runs.iter().map(Run::start).min().unwrap();
    let mut t = first.div_euclid(interval) * interval;
    if t < first {
        t += interval;
    }
    let mut alerted: Vec<[bool; 2]> = vec![[false; 2]; runs.len()];
    let mut found = Vec::new();
    while t <= horizon {
        for (seq, (i, r)) in order.iter().enumerate() {
            let end = r.end().unwrap_or(horizon + 1);
            if !(r.start() <= t && t < end) {
                continue;
            }
            let recent = naive_recent(p, runs, *i);
            let limits = naive_limits(p, runs, &alerted, r.task_type().as_str(), t, &recent);
            let fallback = (p.fallback_s > 0).then(|| (p.fallback_s * 1_000) as f64);
            let Some(upper) = limits.map(|(_, upper)| upper).or(fallback) else {
                continue;
            };
            let upper = upper * naive_stretch(p, runs, &alerted, *i, t);
            let elapsed = (t - r.start()) as f64;
            for (level_index, (level, limit)) in
                [(Level::Warning, upper), (Level::Critical, upper * p.critical_factor)]
                    .into_iter()
                    .enumerate()
            {
                if elapsed > limit && !alerted[*i][level_index] {
                    alerted[*i][level_index] = true;
                    found.push((t, seq, level, r.run_id().to_string()));
                }
            }
        }
        t += interval;
    }
    found.sort();
    found.into_iter().map(|(t, _, level, id)| (id, t, level)).collect()
}

/// The first succeeded run of each task type and day whose duration is below the floor of the
/// baseline in force at its end (the day's later ones are counted, not noticed), and that count.
fn naive_short_finishes(p: &Params, fraction: f64, runs: &[Run]) -> (Vec<(String, i64)>, u64) {
    let mut found = Vec::new();
    for (index, r) in runs.iter().enumerate().filter(|(_, r)| r.status() == RunStatus::Succeeded) {
        let Some(end) = r.end() else { continue };
        let night = (end - p.nightly_hour * MS_PER_HOUR).div_euclid(MS_PER_DAY) * MS_PER_DAY
            + p.nightly_hour * MS_PER_HOUR;
        let window_start = night - p.window_days * MS_PER_DAY;
        let durations: Vec<f64> = runs
            .iter()
            .filter(|o| o.task_type() == r.task_type() && o.status() == RunStatus::Succeeded)
            .filter_map(|o| {
                o.end().filter(|&e| window_start <= e && e < night).map(|e| (e - o.start()) as f64)
            })
            .collect();
        let Some((mean, _, sd)) = naive_baseline(p, &durations, &[]) else { continue };
        let floor = (mean - 2.0 * sd).min(fraction * mean).max(0.0);
        if ((end - r.start()) as f64) < floor {
            found.push((end, r.start(), index, r.run_id().to_string(), r.task_type().to_string(), night));
        }
    }
    // Notices at the same instant come in the order the engine reads the runs: by start, then as
    // given.
    found.sort();
    let mut noticed = Vec::new();
    let mut sent = Vec::new();
    for (end, _, _, id, task, night) in found.iter().cloned() {
        if !noticed.contains(&(task.clone(), night)) {
            noticed.push((task, night));
            sent.push((id, end));
        }
    }
    let folded = (found.len() - sent.len()) as u64;
    (sent, folded)
}

fn arb_runs() -> impl Strategy<Value = Vec<Run>> {
    let one = (0usize..3, 0i64..6 * 86_400, 0i64..8 * 3_600, 0u8..10, 0u8..3, any::<bool>());
    prop::collection::vec(one, 1..60).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (task, start_s, duration_s, status_pick, unit, in_cohort))| {
                // Half the runs start on a six-hour boundary, so cohorts of several runs are common.
                let start_s = if in_cohort { start_s / 21_600 * 21_600 } else { start_s };
                let base = 19_000 * MS_PER_DAY;
                // Mix whole seconds, whole minutes and odd milliseconds.
                let scale = [1_000, 60_000, 7][unit as usize];
                let duration = if unit == 1 {
                    duration_s / 60 * scale
                } else {
                    duration_s * scale / 1_000 * 1_000 + i64::from(unit)
                };
                let start = base + start_s * 1_000;
                let (status, end) = match status_pick {
                    0 => (RunStatus::Failed, Some(start + duration)),
                    1 => (RunStatus::Aborted, Some(start + duration)),
                    2 if i % 7 == 0 => (RunStatus::Running, None),
                    _ => (RunStatus::Succeeded, Some(start + duration)),
                };
                Run::new(
                    TaskType::new(&format!("task-{task}")).unwrap(),
                    RunId::new(&format!("run-{i}")).unwrap(),
                    start,
                    end,
                    status,
                )
                .unwrap()
            })
            .collect()
    })
}

/// Two task types of steady 10–30 minute runs, about one run in 12 lasting 20 or 60 hours
/// (40 to 360 times the others, on both sides of the factor): lone outliers, and now and then two
/// in one window (a new normal).
fn arb_runs_with_lone_outliers() -> impl Strategy<Value = Vec<Run>> {
    let one = (0usize..2, 0i64..4 * 86_400, 600i64..1_800, 0u8..25, 0u8..10);
    prop::collection::vec(one, 20..70).prop_map(|rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (task, start_s, duration_s, outlier_pick, status_pick))| {
                let duration_s = match outlier_pick {
                    0 => 1_800 * 120,
                    1 => 1_800 * 40,
                    _ => duration_s,
                };
                let start = 19_000 * MS_PER_DAY + start_s * 1_000;
                let status = if status_pick == 0 { RunStatus::Failed } else { RunStatus::Succeeded };
                Run::new(
                    TaskType::new(&format!("task-{task}")).unwrap(),
                    RunId::new(&format!("run-{i}")).unwrap(),
                    start,
                    Some(start + duration_s * 1_000 + i as i64),
                    status,
                )
                .unwrap()
            })
            .collect()
    })
}

fn replay_alerts(params: &Params, runs: &[Run]) -> Vec<(String, i64, Level)> {
    let Params { k, window_days, min_samples, nightly_hour, interval_s, critical_factor, .. } = *params;
    let method = if params.tailored { Method::Tailored { k } } else { Method::Seed { k } };
    let config = ReplayConfig {
        policy: BaselinePolicy::new(method, window_days as u32, min_samples as u64, nightly_hour as u8)
            .unwrap()
            .with_check_interval(TickInterval::from_seconds(interval_s).unwrap()),
        detection: DetectionConfig::new(critical_factor).unwrap(),
        exclusion: if params.exclude_alerted { ExclusionCap::new(params.exclusion_cap).ok() } else { None },
        short: ShortRule::default(),
        cohorts: params.cohorts,
        recent: RecentRuns { count: params.recent_count, weight: params.recent_weight },
        fallback_limit_ms: (params.fallback_s > 0).then(|| (params.fallback_s * 1_000) as f64),
        seasons: None,
    };
    replay_runs(config, runs)
        .unwrap()
        .alerts
        .into_iter()
        .map(|a| (a.run_id.to_string(), a.at, a.level))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(100))]

    #[test]
    fn replay_keeps_a_lone_outlier_out_of_its_windows_exactly_as_a_tick_by_tick_simulation_does(
        runs in arb_runs_with_lone_outliers(),
        k in prop::sample::select(vec![0.5, 2.0, 6.0]),
        window_days in 1i64..4,
        min_samples in 1usize..5,
        interval_s in prop::sample::select(vec![600i64, 3_600]),
        exclude_alerted in any::<bool>(),
        exclusion_cap in prop::sample::select(vec![0.1, 1.0]),
        tailored in any::<bool>(),
        recent_count in prop::sample::select(vec![0usize, 3]),
        fallback_s in prop::sample::select(vec![0i64, 7_200]),
    ) {
        let params = Params { exclude_alerted, exclusion_cap, k, window_days, min_samples, nightly_hour: 0, interval_s, critical_factor: 1.5, cohorts: false, tailored, recent_count, recent_weight: 0.3, fallback_s };
        prop_assert_eq!(replay_alerts(&params, &runs), naive_alerts(&params, &runs));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn replay_finds_exactly_the_alerts_a_tick_by_tick_simulation_finds(
        runs in arb_runs(),
        k in prop::sample::select(vec![0.0, 0.5, 1.0, 2.0, 3.0]),
        window_days in 1i64..4,
        min_samples in 1usize..5,
        nightly_hour in 0i64..24,
        interval_s in prop::sample::select(vec![60i64, 420, 600, 3_600]),
        critical_factor in prop::sample::select(vec![1.25, 1.5, 2.0]),
        exclude_alerted in any::<bool>(),
        exclusion_cap in prop::sample::select(vec![0.0, 0.1, 0.34, 1.0]),
        cohorts in any::<bool>(),
        tailored in any::<bool>(),
        recent_count in prop::sample::select(vec![0usize, 0, 1, 3]),
        recent_weight in prop::sample::select(vec![0.3, 0.6]),
        fallback_s in prop::sample::select(vec![0i64, 0, 1_800, 7_200]),
    ) {
        let params = Params { exclude_alerted, exclusion_cap, k, window_days, min_samples, nightly_hour, interval_s, critical_factor, cohorts, tailored, recent_count, recent_weight, fallback_s };
        let method = if tailored { Method::Tailored { k } } else { Method::Seed { k } };
        let config = ReplayConfig {
            policy: BaselinePolicy::new(method, window_days as u32, min_samples as u64, nightly_hour as u8)
                .unwrap()
                .with_check_interval(TickInterval::from_seconds(interval_s).unwrap()),
            detection: DetectionConfig::new(critical_factor).unwrap(),
            exclusion: if exclude_alerted { ExclusionCap::new(exclusion_cap).ok() } else { None },
            short: ShortRule::default(),
            cohorts,
            recent: RecentRuns { count: recent_count, weight: recent_weight },
            fallback_limit_ms: (fallback_s > 0).then(|| (fallback_s * 1_000) as f64),
            seasons: None,
        };
        let engine: Vec<(String, i64, Level)> = replay_runs(config, &runs)
            .unwrap()
            .alerts
            .into_iter()
            .map(|a| (a.run_id.to_string(), a.at, a.level))
            .collect();
        prop_assert_eq!(engine, naive_alerts(&params, &runs));
    }

    #[test]
    fn replay_notices_the_first_run_of_each_type_and_day_below_the_floor_of_the_baseline_at_its_end(
        runs in arb_runs(),
        k in prop::sample::select(vec![0.0, 0.5, 1.0, 2.0, 4.0]),
        window_days in 1i64..4,
        min_samples in 1usize..5,
        nightly_hour in 0i64..24,
        fraction in prop::sample::select(vec![0.1, 0.25, 0.5, 0.9]),
    ) {
        let params = Params { exclude_alerted: false, exclusion_cap: 1.0, k, window_days, min_samples, nightly_hour, interval_s: 600, critical_factor: 2.0, cohorts: false, tailored: false, recent_count: 0, recent_weight: 0.0, fallback_s: 0 };
        let config = ReplayConfig {
            short: ShortRule::new(fraction).unwrap(),
            ..ReplayConfig::for_policy(BaselinePolicy::new(Method::Seed { k }, window_days as u32, min_samples as u64, nightly_hour as u8).unwrap())
        };
        let outcome = replay_runs(config, &runs).unwrap();
        let engine: Vec<(String, i64)> =
            outcome.short_finishes.into_iter().map(|s| (s.run_id.to_string(), s.at)).collect();
        prop_assert_eq!((engine, outcome.summary.short_repeats), naive_short_finishes(&params, fraction, &runs));
    }
}
