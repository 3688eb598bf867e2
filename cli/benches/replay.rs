//! Replay throughput: the engine alone on parsed runs, and parse + engine from CSV bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use overrun_cli::commands::generate::{SyntheticSpec, write_csv};
use overrun_cli::history::{BadRows, Flow, ReadOptions, for_each_row};
use overrun_cli::input::Source;
use overrun_core::evaluation::replay::{ReplayConfig, Replayer, RunInput};
use overrun_core::{Run, RunId, TaskType};

const RUNS: u64 = 100_000;

fn synthetic_csv() -> Vec<u8> {
    let spec = SyntheticSpec {
        runs: RUNS,
        task_types: 100,
        days: 90,
        seed: 42,
        begin: 1_735_689_600,
        slow_fraction: 0.005,
        fail_fraction: 0.01,
        scheduled_share: 0.0,
        seasonal_share: 0.0,
        max_log_sigma: 0.6,
    };
    let mut csv = Vec::new();
    write_csv(&mut csv, &spec).expect("writing to memory cannot fail");
    csv
}

fn parsed(csv: &[u8]) -> Vec<Run> {
    let mut runs = Vec::new();
    let options = ReadOptions { skip_bad_rows: false, show_progress: false };
    for_each_row(&Source::Stdin(csv.to_vec()), &options, &mut BadRows::default(), |row| {
        let task = TaskType::new(&row.task_type).expect("generated task types are valid");
        let id = RunId::new(&row.run_id).expect("generated run ids are valid");
        runs.push(Run::new(task, id, row.start, row.end, row.status).expect("generated runs are valid"));
        Ok(Flow::Continue)
    })
    .expect("generated CSV parses");
    runs
}

fn bench_replay(c: &mut Criterion) {
    let csv = synthetic_csv();
    let runs = parsed(&csv);
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(RUNS));
    group.sample_size(20);
    group.bench_function("engine_only_100k_runs", |b| {
        b.iter(|| {
            let mut replayer = Replayer::new(ReplayConfig::default());
            for run in &runs {
                replayer.push(RunInput::from(run)).expect("sorted, valid runs");
            }
            black_box(replayer.finish().alerts.len())
        })
    });
    group.bench_function("parse_and_replay_100k_csv_rows", |b| {
        let options = ReadOptions { skip_bad_rows: false, show_progress: false };
        let source = Source::Stdin(csv.clone());
        b.iter(|| {
            let mut replayer = Replayer::new(ReplayConfig::default());
            for_each_row(&source, &options, &mut BadRows::default(), |row| {
                replayer.push(RunInput::from(&row)).expect("sorted, valid runs");
                Ok(Flow::Continue)
            })
            .expect("generated CSV parses");
            black_box(replayer.finish().alerts.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
