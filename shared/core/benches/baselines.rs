//! The nightly job's arithmetic: merging 14 daily aggregates per task type into a baseline, with
//! the default method (tailored, from histograms) and with guarded (from moments); and the
//! checker's: one tick over 1,000 running runs, with their types' limits or each with its own
//! from its recent runs.

use overrun_core::time::Day;
use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overrun_core::detect::check::{CheckSettings, RunningRun, TaskLimits, check_running};
use overrun_core::detect::levels::AlertedLevels;
use overrun_core::evaluation::rng::SplitMix64;
use overrun_core::limits::nightly::{DayAggregate, FinishedRun, aggregate_day, baselines_for_night};
use overrun_core::limits::recent::RecentRuns;
use overrun_core::{BaselinePolicy, Method, Moments, RunId, TaskType};

const TASK_TYPES: usize = 1_000;
const DAYS: usize = 14;
const RUNS_PER_DAY: usize = 8;

/// Fourteen days of 1,000 task types, eight runs each a day, of 1 to 61 minutes.
fn days() -> Vec<BTreeMap<TaskType, DayAggregate>> {
    let mut random = SplitMix64::new(7);
    let tasks: Vec<TaskType> =
        (0..TASK_TYPES).map(|i| TaskType::new(&format!("task-{i:04}")).expect("a valid name")).collect();
    (0..DAYS)
        .map(|_| {
            aggregate_day(tasks.iter().flat_map(|task| {
                (0..RUNS_PER_DAY)
                    .map(|_| FinishedRun {
                        task_type: task.clone(),
                        start: 0,
                        duration_ms: 60_000 + random.below(3_600_000),
                        warned: false,
                    })
                    .collect::<Vec<_>>()
            }))
        })
        .collect()
}

fn bench_baselines(c: &mut Criterion) {
    let days = days();
    let mut group = c.benchmark_group("nightly");
    group.throughput(Throughput::Elements(TASK_TYPES as u64));
    for (name, method) in [
        ("tailored_baselines_for_1000_task_types_from_14_daily_aggregates", Method::default()),
        ("guarded_baselines_for_1000_task_types_from_14_daily_aggregates", Method::Guarded { k: 4.0 }),
    ] {
        let cap = method.exclusion_cap();
        let policy = BaselinePolicy::new(method, 14, 5, 0).expect("valid settings");
        group.bench_function(name, |b| {
            b.iter(|| {
                let baselines = baselines_for_night(&policy, Day::new(20), black_box(&days).iter(), cap);
                // Summing the limits keeps every baseline's arithmetic live.
                black_box(baselines.values().map(|b| b.baseline.upper_ms).sum::<f64>())
            })
        });
    }
    group.bench_function("merge_two_moments", |b| {
        let (x, y) = (Moments::of([1_000, 2_000]), Moments::of([3_000]));
        b.iter(|| black_box(x) + black_box(y))
    });
    group.finish();
}

/// One checker tick over 1,000 running runs of 100 task types (14-day windows of eight runs a
/// day), with their types' limits and with each run's own limit from three recent runs.
fn bench_checker_tick(c: &mut Criterion) {
    let days = days();
    let policy = BaselinePolicy::new(Method::default(), 14, 5, 0).expect("valid settings");
    let night = baselines_for_night(&policy, Day::new(20), days.iter(), None);
    let limits: HashMap<TaskType, TaskLimits> = night
        .into_iter()
        .take(100)
        .map(|(task, b)| {
            (
                task,
                TaskLimits {
                    baseline: Some(b.baseline),
                    task_override: None,
                    window: b.window,
                    seasons: None,
                },
            )
        })
        .collect();
    let tasks: Vec<&TaskType> = limits.keys().collect();
    let runs: Vec<RunningRun> = (0..1_000)
        .map(|i| RunningRun {
            task_type: tasks[i % tasks.len()].clone(),
            run_id: RunId::new(&format!("run-{i}")).expect("a valid id"),
            start: 0,
            alerted: AlertedLevels::default(),
            undelivered: Vec::new(),
            cohort: None,
            recent_ms: vec![600_000 + 1_000 * i as u64, 1_200_000, 1_800_000],
            season_recent_ms: Vec::new(),
        })
        .collect();
    let per_run = RecentRuns::new(3, 0.3).expect("valid").for_policy(&policy).expect("tailored");
    let mut group = c.benchmark_group("checker");
    group.throughput(Throughput::Elements(runs.len() as u64));
    for (name, per_run) in [
        ("tick_of_1000_running_runs_with_their_types_limits", None),
        ("tick_of_1000_running_runs_each_with_its_own_limit_from_3_recent_runs", per_run),
    ] {
        let settings = CheckSettings { per_run, ..CheckSettings::default() };
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = check_running(3_600_000, black_box(&runs), &limits, &HashMap::new(), &settings);
                black_box(outcome.alerts.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_baselines, bench_checker_tick);
criterion_main!(benches);
