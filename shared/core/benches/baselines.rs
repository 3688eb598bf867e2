//! The nightly job's arithmetic: merging 14 daily aggregates per task type into a baseline, with
//! the default method (tailored, from histograms) and with guarded (from moments).

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overrun_core::nightly::{DayAggregate, FinishedRun, aggregate_day, baselines_for_night};
use overrun_core::{BaselinePolicy, Method, Moments, TaskType};

const TASK_TYPES: usize = 1_000;
const DAYS: usize = 14;
const RUNS_PER_DAY: usize = 8;

/// Fourteen days of 1,000 task types, eight runs each a day, of 1 to 61 minutes.
fn days() -> Vec<BTreeMap<TaskType, DayAggregate>> {
    let mut state: u64 = 7;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    let tasks: Vec<TaskType> =
        (0..TASK_TYPES).map(|i| TaskType::new(&format!("task-{i:04}")).expect("a valid name")).collect();
    (0..DAYS)
        .map(|_| {
            aggregate_day(tasks.iter().flat_map(|task| {
                (0..RUNS_PER_DAY)
                    .map(|_| FinishedRun {
                        task_type: task.clone(),
                        duration_ms: 60_000 + next() % 3_600_000,
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
    for (name, method, cap) in [
        ("tailored_baselines_for_1000_task_types_from_14_daily_aggregates", Method::default(), None),
        (
            "guarded_baselines_for_1000_task_types_from_14_daily_aggregates",
            Method::Guarded { k: 4.0 },
            Some(0.1),
        ),
    ] {
        let policy = BaselinePolicy::new(method, 14, 5, 0).expect("valid settings");
        group.bench_function(name, |b| {
            b.iter(|| {
                let baselines = baselines_for_night(&policy, 20, black_box(&days).iter(), cap);
                // Summing the limits keeps every baseline's arithmetic live.
                black_box(baselines.values().map(|b| b.upper_ms).sum::<f64>())
            })
        });
    }
    group.bench_function("merge_two_moments", |b| {
        let (x, y) = (Moments::of([1_000, 2_000]), Moments::of([3_000]));
        b.iter(|| black_box(x) + black_box(y))
    });
    group.finish();
}

criterion_group!(benches, bench_baselines);
criterion_main!(benches);
