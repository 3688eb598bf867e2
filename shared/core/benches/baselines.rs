//! The nightly job's arithmetic: merging 14 daily aggregates per task type into a baseline.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overrun_core::{BaselinePolicy, Moments};

const TASK_TYPES: usize = 1_000;
const DAYS: usize = 14;

fn daily_aggregates() -> Vec<[Moments; DAYS]> {
    let mut state: u64 = 7;
    let mut next = move || {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
    (0..TASK_TYPES)
        .map(|_| std::array::from_fn(|_| Moments::of((0..8).map(|_| 60_000 + next() % 3_600_000))))
        .collect()
}

fn bench_baselines(c: &mut Criterion) {
    let aggregates = daily_aggregates();
    let policy = BaselinePolicy::default();
    let mut group = c.benchmark_group("nightly");
    group.throughput(Throughput::Elements(TASK_TYPES as u64));
    group.bench_function("baselines_for_1000_task_types_from_14_daily_aggregates", |b| {
        b.iter(|| {
            // Summing the limits keeps every baseline's arithmetic live.
            let limits: f64 = black_box(&aggregates)
                .iter()
                .filter_map(|days| policy.baseline(&days.iter().copied().sum(), 0))
                .map(|baseline| baseline.upper_ms)
                .sum();
            black_box(limits)
        })
    });
    group.bench_function("merge_two_moments", |b| {
        let (x, y) = (aggregates[0][0], aggregates[1][1]);
        b.iter(|| black_box(x) + black_box(y))
    });
    group.finish();
}

criterion_group!(benches, bench_baselines);
criterion_main!(benches);
