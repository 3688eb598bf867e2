//! `overrun backtest FILE --drop 0.03 --delay 0.02`: missed starts on a real history. Each task
//! type's schedule is taken in hindsight, a seeded share of its runs deleted and another delayed
//! past the grace a careful operator would configure (the 99th percentile of its lateness), and
//! the learner, replayed night by night, is scored against that hand-configured anchor.

use crate::words::count;
use std::collections::BTreeMap;
use std::io::Write;

use overrun_core::evaluation::missed::{MissedScore, evaluate};
use overrun_core::evaluation::missed_history::{MissedInjection, traces_from_history};
use overrun_core::schedule::learn::LearnSettings;
use overrun_core::time::{MS_PER_DAY, TickInterval};
use overrun_core::{EpochMs, Run};
use serde::Serialize;

use crate::error::CliError;
use crate::history::{ReadOptions, read_all_runs};
use crate::input::Source;

pub struct MissedBacktestRequest {
    pub source: Source,
    pub read: ReadOptions,
    pub injection: MissedInjection,
    pub interval: TickInterval,
    pub json: bool,
}

/// Days of history the learner has before any due time is scored.
const TRAINING_DAYS: i64 = 14;

#[derive(Serialize)]
struct ScoreLine {
    scheduled_types: usize,
    unscheduled_types: usize,
    days: f64,
    to_catch: usize,
    caught: usize,
    recall: f64,
    anchor_recall: f64,
    recall_tight: f64,
    to_catch_tight: usize,
    false_per_scheduled_type_per_30_days: f64,
    false_per_1000_unscheduled_type_days: f64,
    median_delay_after_anchor_s: f64,
    seed: u64,
    drop: f64,
    delay: f64,
}

pub fn run(request: &MissedBacktestRequest, out: &mut impl Write) -> Result<(), CliError> {
    let runs = read_all_runs(&request.source, &request.read)?;
    let Some((from, to)) = scored_window(&runs) else {
        return Err(CliError::invalid(format!(
            "{} covers less than {} days: the learner needs two weeks of starts before anything is scored",
            request.source.name(),
            TRAINING_DAYS + 1
        )));
    };
    let mut by_type: BTreeMap<String, Vec<EpochMs>> = BTreeMap::new();
    for run in &runs {
        by_type.entry(run.task_type().to_string()).or_default().push(run.start());
    }
    let settings = LearnSettings::checked_every(request.interval.as_ms());
    let traces = traces_from_history(by_type.into_iter().collect(), &request.injection, &settings);
    let score = evaluate(&traces, from, to, &settings, request.interval);
    let days = (to - from) as f64 / MS_PER_DAY as f64;
    let written = if request.json {
        let line = score_line(&score, days, &request.injection);
        serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::other).and_then(|()| writeln!(out))
    } else {
        human(out, request, &score, days)
    };
    written.map_err(CliError::Output)
}

/// From two weeks after the first start's day to the last start's day.
fn scored_window(runs: &[Run]) -> Option<(EpochMs, EpochMs)> {
    let first = runs.iter().map(Run::start).min()?;
    let last = runs.iter().map(Run::start).max()?;
    let from = (first.div_euclid(MS_PER_DAY) + TRAINING_DAYS) * MS_PER_DAY;
    let to = last.div_euclid(MS_PER_DAY) * MS_PER_DAY;
    (to > from).then_some((from, to))
}

fn score_line(score: &MissedScore, days: f64, injection: &MissedInjection) -> ScoreLine {
    ScoreLine {
        scheduled_types: score.scheduled_types,
        unscheduled_types: score.unscheduled_types,
        days,
        to_catch: score.to_catch,
        caught: score.caught,
        recall: score.recall(),
        anchor_recall: score.anchor_recall(),
        recall_tight: score.recall_tight(),
        to_catch_tight: score.to_catch_tight,
        false_per_scheduled_type_per_30_days: score.false_per_type_month(),
        false_per_1000_unscheduled_type_days: score.false_per_thousand_unscheduled_days(),
        median_delay_after_anchor_s: score.median_delay_ms() as f64 / 1_000.0,
        seed: injection.seed,
        drop: injection.drop,
        delay: injection.delay,
    }
}

fn human(
    out: &mut impl Write,
    request: &MissedBacktestRequest,
    score: &MissedScore,
    days: f64,
) -> std::io::Result<()> {
    let injection = &request.injection;
    writeln!(
        out,
        "Missed starts on {}: {} scheduled (in hindsight), {} unscheduled; {days:.0} days scored after {TRAINING_DAYS} of learning",
        request.source.name(),
        count(score.scheduled_types as u64, "task type"),
        score.unscheduled_types
    )?;
    writeln!(
        out,
        "  injected      seed {}: {:.1} % of due runs deleted, {:.1} % delayed past the anchor's grace",
        injection.seed,
        injection.drop * 100.0,
        injection.delay * 100.0
    )?;
    writeln!(
        out,
        "  to catch      {} due starts (deleted, delayed, or missing in the history itself)",
        score.to_catch
    )?;
    writeln!(
        out,
        "  recall        {:.3}   anchor {:.3} (the true schedule, grace at the p99 of its lateness, by hand)",
        score.recall(),
        score.anchor_recall()
    )?;
    writeln!(
        out,
        "  recall, tight {:.3}   of {} on types whose p99 lateness is under a quarter of their period",
        score.recall_tight(),
        score.to_catch_tight
    )?;
    writeln!(
        out,
        "  false alerts  {:.2} per scheduled type per 30 days; {:.2} per 1,000 unscheduled type-days",
        score.false_per_type_month(),
        score.false_per_thousand_unscheduled_days()
    )?;
    writeln!(
        out,
        "  median delay  {} after the anchor's alert",
        overrun_core::notify::humanize::duration(score.median_delay_ms() as f64)
    )
}
