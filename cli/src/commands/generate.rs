//! `overrun generate`: a seeded synthetic history in the replay format, for benchmarks.
//!
//! Each task type gets a log-normal duration (median log-uniform between 20 s and 3 h, log-σ
//! between 0.05 and 0.6, or `--max-log-sigma`) and its share of the runs at uniformly random starts. A small fraction
//! of runs is slowed down ×3 and a small fraction fails, so replays have something to find.
//!
//! With `--scheduled-share`, that share of the task types runs on a schedule instead, as cron
//! jobs do: every 15 minutes, hourly, every 3 hours or daily at a random minute (a quarter of the
//! daily ones on weekdays only), each start up to 30 seconds late, one due run in a hundred never
//! starting. The other types share the remaining runs as before.
//!
//! With `--seasonal-share`, that share of the task types has a weekly season, as the seed's data
//! source with nothing to serve on weekends: runs starting on a Saturday or Sunday (UTC) take a
//! fraction of their weekday time, 5 to 30 %. Of every five seasonal types, one has *longer*
//! weekends instead (×2 to ×3, a weekly full rebuild), and one has its season start mid-history
//! (a source that stopped serving weekends). Seasons are drawn from their own random stream, so
//! a history without them is the same as before.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::error::CliError;
use crate::rows::HEADER;
use overrun_core::evaluation::rng::SplitMix64;
use overrun_core::limits::season::Season;

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
    /// Share of the task types that run on a schedule.
    pub scheduled_share: f64,
    /// Share of the task types with a weekly season.
    pub seasonal_share: f64,
    /// The widest log-σ of a type's durations (0.6 by default; steadier jobs, as the seed's, 0.25).
    pub max_log_sigma: f64,
}

/// A task type's weekly season: weekend runs (by start, UTC) take `weekend_factor` times their
/// weekday duration, from `from` (epoch seconds) on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeeklySeason {
    pub weekend_factor: f64,
    pub from: i64,
}

/// The seasons of a spec's task types (`None`: no season), drawn from their own stream.
pub fn seasons(spec: &SyntheticSpec) -> Vec<Option<WeeklySeason>> {
    let mut rng = SplitMix64::new(spec.seed ^ 0x5EA5_0A11);
    let seasonal = (spec.seasonal_share * f64::from(spec.task_types)).round() as u32;
    let span_s = i64::from(spec.days) * 86_400;
    (0..spec.task_types)
        .map(|task| {
            // Spread over the types, scheduled and not alike.
            let is_seasonal = seasonal > 0
                && (u64::from(task) * u64::from(seasonal)) % u64::from(spec.task_types) < u64::from(seasonal);
            is_seasonal.then(|| {
                let kind = rng.below(5);
                let weekend_factor = if kind == 0 { 2.0 + rng.unit() } else { 0.05 + 0.25 * rng.unit() };
                let from = if kind == 1 {
                    spec.begin + span_s / 3 + rng.below((span_s / 3) as u64) as i64
                } else {
                    spec.begin
                };
                WeeklySeason { weekend_factor, from }
            })
        })
        .collect()
}

/// Whether `start` (epoch seconds) falls on a Saturday or Sunday, UTC: the season the replay
/// would read it in.
fn on_weekend(start: i64) -> bool {
    Season::of(start.saturating_mul(1_000), 0) == Season::Weekend
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
    for (name, fraction) in [
        ("--slow-fraction", spec.slow_fraction),
        ("--fail-fraction", spec.fail_fraction),
        ("--scheduled-share", spec.scheduled_share),
        ("--seasonal-share", spec.seasonal_share),
    ] {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(CliError::invalid(format!("{name} must be between 0 and 1, got {fraction}")));
        }
    }
    if !(0.05..=3.0).contains(&spec.max_log_sigma) {
        return Err(CliError::invalid(format!(
            "--max-log-sigma must be between 0.05 and 3, got {}",
            spec.max_log_sigma
        )));
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
            log_sigma: 0.05 + rng.unit() * (request.max_log_sigma - 0.05),
        })
        .collect();
    let scheduled_types = (request.scheduled_share * f64::from(request.task_types)).round() as u32;
    let mut starts: Vec<(i64, u32)> = Vec::new();
    for task in 0..scheduled_types {
        scheduled_starts(task, request, &mut rng, &mut starts);
    }
    let unscheduled_types = u64::from(request.task_types - scheduled_types);
    let span_s = u64::from(request.days) * 86_400;
    if unscheduled_types > 0 {
        let remaining = request.runs.saturating_sub(starts.len() as u64);
        for i in 0..remaining {
            let task = scheduled_types + (i % unscheduled_types) as u32;
            starts.push((request.begin + rng.below(span_s) as i64, task));
        }
    }
    let seasons = seasons(request);
    let mut runs: Vec<SyntheticRun> = starts
        .into_iter()
        .map(|(start, task)| {
            let profile = &profiles[task as usize];
            let mut duration = profile.median_s * (profile.log_sigma * rng.normal()).exp();
            if let Some(season) = seasons[task as usize]
                && start >= season.from
                && on_weekend(start)
            {
                duration *= season.weekend_factor;
            }
            if rng.unit() < request.slow_fraction {
                duration *= 3.0;
            }
            SyntheticRun {
                start,
                duration: duration.round().clamp(1.0, f64::from(u32::MAX)) as u32,
                task,
                failed: rng.unit() < request.fail_fraction,
            }
        })
        .collect();
    runs.sort_by_key(|run| (run.start, run.task));
    runs
}

/// The starts of one scheduled type: its due times over the span, each up to 30 s late, one in a
/// hundred missing.
fn scheduled_starts(task: u32, request: &SyntheticSpec, rng: &mut SplitMix64, starts: &mut Vec<(i64, u32)>) {
    const PERIODS_S: [i64; 4] = [900, 3_600, 10_800, 86_400];
    let period = PERIODS_S[rng.below(PERIODS_S.len() as u64) as usize];
    let offset = rng.below((period / 60) as u64) as i64 * 60;
    let weekdays_only = period == 86_400 && rng.below(4) == 0;
    // The first due time at or after the beginning, aligned to UTC midnight as cron aligns it.
    let midnight = request.begin - request.begin.rem_euclid(86_400);
    let end = request.begin + i64::from(request.days) * 86_400;
    let mut due = midnight + offset;
    while due < end {
        // 1970-01-01 was a Thursday: weekday 0 is Monday.
        let weekday = (due.div_euclid(86_400) + 3).rem_euclid(7);
        let skipped = weekdays_only && weekday >= 5;
        let missing = rng.unit() < 0.01;
        let late = rng.below(30) as i64;
        if due >= request.begin && !skipped && !missing {
            starts.push((due + late, task));
        }
        due += period;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seasonal_share: f64) -> SyntheticSpec {
        SyntheticSpec {
            runs: 6_000,
            task_types: 10,
            days: 60,
            seed: 3,
            begin: 1_735_689_600,
            slow_fraction: 0.0,
            fail_fraction: 0.0,
            scheduled_share: 0.2,
            seasonal_share,
            max_log_sigma: 0.1,
        }
    }

    #[test]
    fn seasons_change_only_the_weekend_runs_of_seasonal_types_from_their_seasons_start() {
        let (plain, seasonal) = (synthesize(&spec(0.0)), synthesize(&spec(1.0)));
        let seasons = seasons(&spec(1.0));
        assert_eq!(plain.len(), seasonal.len());
        for (a, b) in plain.iter().zip(&seasonal) {
            assert_eq!((a.start, a.task), (b.start, b.task), "the same runs");
            let season = seasons[a.task as usize].unwrap();
            if on_weekend(a.start) && a.start >= season.from {
                let ratio = f64::from(b.duration) / f64::from(a.duration);
                assert!(
                    (ratio - season.weekend_factor).abs() < 0.05 + 2.0 / f64::from(a.duration),
                    "{ratio}"
                );
            } else {
                assert_eq!(a.duration, b.duration, "a weekday, or before the season");
            }
        }
    }

    #[test]
    fn seasonal_types_have_short_or_long_weekends_and_some_start_mid_history() {
        let spec = SyntheticSpec { task_types: 200, ..spec(1.0) };
        let seasons: Vec<WeeklySeason> = seasons(&spec).into_iter().flatten().collect();
        assert_eq!(seasons.len(), 200);
        assert!(
            seasons
                .iter()
                .all(|s| (0.05..=0.3).contains(&s.weekend_factor) || (2.0..=3.0).contains(&s.weekend_factor))
        );
        let longer = seasons.iter().filter(|s| s.weekend_factor >= 2.0).count();
        let late = seasons.iter().filter(|s| s.from > spec.begin).count();
        assert!((20..=60).contains(&longer) && (20..=60).contains(&late), "{longer} longer, {late} late");
        assert!(seasons.iter().all(|s| s.from < spec.begin + i64::from(spec.days) * 86_400 * 2 / 3));
        let half = seasons_of_share(0.5);
        assert_eq!(half, 100);
    }

    fn seasons_of_share(share: f64) -> usize {
        seasons(&SyntheticSpec { task_types: 200, ..spec(share) }).iter().flatten().count()
    }
}
