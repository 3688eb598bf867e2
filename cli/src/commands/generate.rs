//! `overrun generate`: a seeded synthetic history in the replay format, for benchmarks.
//!
//! Each task type gets a log-normal duration (median log-uniform between 20 s and 3 h, log-σ
//! between 0.05 and 0.6) and its share of the runs at uniformly random starts. A small fraction
//! of runs is slowed down ×3 and a small fraction fails, so replays have something to find.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::CliError;
use crate::rows::HEADER;
use overrun_core::evaluation::rng::SplitMix64;

pub struct GenerateRequest {
    pub spec: SyntheticSpec,
    pub output: PathBuf,
}

/// What to synthesize.
#[derive(Debug, Clone)]
pub struct SyntheticSpec {
    pub runs: u64,
    pub task_types: u32,
    pub days: u32,
    pub seed: u64,
    /// Epoch seconds of the first possible start.
    pub begin: i64,
    pub slow_fraction: f64,
    pub fail_fraction: f64,
}

struct Profile {
    median_s: f64,
    log_sigma: f64,
}

struct SyntheticRun {
    start: i64,
    duration: u32,
    task: u32,
    failed: bool,
}

pub fn run(request: &GenerateRequest) -> Result<(), CliError> {
    let spec = &request.spec;
    if spec.task_types == 0 || spec.days == 0 {
        return Err(CliError::invalid("--task-types and --days must be at least 1"));
    }
    for (name, fraction) in [("--slow-fraction", spec.slow_fraction), ("--fail-fraction", spec.fail_fraction)]
    {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(CliError::invalid(format!("{name} must be between 0 and 1, got {fraction}")));
        }
    }
    let mut output = open_output(&request.output).map_err(CliError::Output)?;
    write_csv(output.writer(), spec).and_then(|()| output.finish()).map_err(CliError::Output)
}

/// Writes the synthetic history as CSV, header first, rows in start order.
pub fn write_csv(out: &mut dyn Write, spec: &SyntheticSpec) -> io::Result<()> {
    writeln!(out, "{HEADER}")?;
    for (index, run) in synthesize(spec).iter().enumerate() {
        let status = if run.failed { "failed" } else { "succeeded" };
        writeln!(
            out,
            "task-{:04},r{index:07},{},{},{status}",
            run.task,
            run.start,
            run.start + i64::from(run.duration)
        )?;
    }
    Ok(())
}

fn synthesize(request: &SyntheticSpec) -> Vec<SyntheticRun> {
    let mut rng = SplitMix64::new(request.seed);
    let profiles: Vec<Profile> = (0..request.task_types)
        .map(|_| Profile {
            median_s: (20f64.ln() + rng.unit() * (10_800f64.ln() - 20f64.ln())).exp(),
            log_sigma: 0.05 + rng.unit() * 0.55,
        })
        .collect();
    let span_s = u64::from(request.days) * 86_400;
    let mut runs: Vec<SyntheticRun> = (0..request.runs)
        .map(|i| {
            let task = (i % u64::from(request.task_types)) as u32;
            let profile = &profiles[task as usize];
            let mut duration = profile.median_s * (profile.log_sigma * rng.normal()).exp();
            if rng.unit() < request.slow_fraction {
                duration *= 3.0;
            }
            SyntheticRun {
                start: request.begin + rng.below(span_s) as i64,
                duration: duration.round().clamp(1.0, f64::from(u32::MAX)) as u32,
                task,
                failed: rng.unit() < request.fail_fraction,
            }
        })
        .collect();
    runs.sort_by_key(|run| (run.start, run.task));
    runs
}

/// The output file, gzip-compressed when its name ends in `.gz`.
enum Output {
    Plain(BufWriter<Box<dyn Write>>),
    Gzip(Box<GzEncoder<BufWriter<Box<dyn Write>>>>),
}

impl Output {
    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Plain(w) => w,
            Output::Gzip(w) => w,
        }
    }

    /// Writes the gzip trailer (dropping an encoder would swallow its errors) and flushes.
    fn finish(self) -> io::Result<()> {
        match self {
            Output::Plain(mut w) => w.flush(),
            Output::Gzip(w) => w.finish()?.flush(),
        }
    }
}

fn open_output(path: &Path) -> io::Result<Output> {
    let raw: Box<dyn Write> =
        if path.as_os_str() == "-" { Box::new(io::stdout().lock()) } else { Box::new(File::create(path)?) };
    let buffered = BufWriter::with_capacity(1 << 20, raw);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        Output::Gzip(Box::new(GzEncoder::new(buffered, Compression::default())))
    } else {
        Output::Plain(buffered)
    })
}
