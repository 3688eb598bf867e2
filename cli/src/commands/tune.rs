//! `overrun tune FILE --budget N`: the sensitivity that keeps alerts under N a day on a history,
//! the seed's "tailor the loss function to the implementation" made a command.
//!
//! A replayed history carries no labels, so every warning counts against the budget: the
//! recommendation is the smallest k whose warnings per day stay within it, which is the most
//! sensitive setting the team has said it can live with.

use std::io::Write;

use indicatif::ProgressBar;

use overrun_core::evaluation::replay::ReplayConfig;
use overrun_core::evaluation::replay::replay_runs;
use overrun_core::limits::recent::RecentRuns;
use overrun_core::{BaselinePolicy, Level, Run};

use crate::error::CliError;

pub struct TuneRequest {
    pub runs: Vec<Run>,
    /// Everything but k.
    pub base: ReplayConfig,
    pub budget_per_day: f64,
    /// Draw a progress bar of the replays on a terminal.
    pub show_progress: bool,
    /// One JSON document instead of the text.
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TunePoint {
    pub k: f64,
    pub warnings_per_day: f64,
}

/// Replays one tuning makes at most: k = 0 and k = 20, the bisection over the 401 steps between,
/// and the table's seven.
const MOST_REPLAYS: u64 = 2 + 9 + 7;

/// A bar counting the replays on a terminal (each replays the whole history: seconds on a
/// million runs); hidden otherwise.
fn replays_bar(show: bool) -> ProgressBar {
    crate::progress::terminal_bar(
        show,
        MOST_REPLAYS,
        "tuning [{bar:30}] {pos}/{len} replays, {msg} ({elapsed})",
    )
}

/// Warnings per day for one k.
pub fn evaluate(request: &TuneRequest, k: f64, bar: &ProgressBar) -> Result<TunePoint, CliError> {
    bar.set_message(format!("k = {k}"));
    let policy = request.base.policy;
    let method = policy.method().method_name().with_k(k);
    let policy =
        BaselinePolicy::new(method, policy.window_days(), policy.min_samples(), policy.nightly_hour())
            .map_err(CliError::invalid)?
            .with_check_interval(policy.check_interval());
    let outcome =
        replay_runs(ReplayConfig { policy, ..request.base }, &request.runs).map_err(CliError::invalid)?;
    let warnings = outcome.alerts.iter().filter(|a| a.level == Level::Warning).count();
    let days = outcome.summary.days_covered().max(1.0);
    bar.inc(1);
    Ok(TunePoint { k, warnings_per_day: warnings as f64 / days })
}

/// Steps of k searched: 0, 0.05, …, 20.
const K_STEPS_PER_UNIT: f64 = 20.0;
const K_STEPS: u32 = 400;

/// The smallest k on the 0.05 grid within the budget, by bisection over the grid. With the seed,
/// log-normal and tailored methods warnings only fall as k grows, since every limit only rises. With
/// guarded exclusion a window's baseline depends on which runs were warned about, so warnings
/// fall with k only on the whole; the bisection then returns a k within the budget whose grid
/// neighbour below is over it (the CLI tests replay both).
pub fn recommend(request: &TuneRequest, bar: &ProgressBar) -> Result<Option<TunePoint>, CliError> {
    let at = |step: u32| evaluate(request, f64::from(step) / K_STEPS_PER_UNIT, bar);
    if at(0)?.warnings_per_day == 0.0 {
        return Err(CliError::invalid(format!(
            "too little history to tune on: even k = 0 flags no run, so no run was ever judged (a task type needs {} succeeded runs within its {}-day window first); give tune a longer history",
            request.base.policy.min_samples(),
            request.base.policy.window_days()
        )));
    }
    let top = at(K_STEPS)?;
    if top.warnings_per_day > request.budget_per_day {
        return Ok(None);
    }
    let (mut low, mut high, mut best) = (0u32, K_STEPS, top);
    // Invariant: `high` is within the budget; everything below `low` is not.
    while low < high {
        let mid = (low + high) / 2;
        let point = at(mid)?;
        if point.warnings_per_day <= request.budget_per_day {
            high = mid;
            best = point;
        } else {
            low = mid + 1;
        }
    }
    Ok(Some(best))
}

/// The exclusion cap to deploy, when it is not the one the method implies.
fn exclusion_setting(config: &ReplayConfig) -> String {
    match config.exclusion {
        Some(cap) if config.policy.method().exclusion_cap() != Some(cap) => {
            format!(" OVERRUN_EXCLUSION_CAP={cap}")
        }
        _ => String::new(),
    }
}

/// The recent-runs settings to deploy, when they are not the method's own.
fn recent_setting(config: &ReplayConfig) -> String {
    let recent = config.recent;
    if recent == RecentRuns::default_for(config.policy.method()) {
        String::new()
    } else if recent.is_enabled() {
        format!(" OVERRUN_RECENT_RUNS={} OVERRUN_RECENT_WEIGHT={}", recent.count, recent.weight)
    } else {
        " OVERRUN_RECENT_RUNS=0".to_owned()
    }
}

pub fn run(request: &TuneRequest, out: &mut impl Write) -> Result<(), CliError> {
    let bar = replays_bar(request.show_progress);
    let recommended = recommend(request, &bar)?;
    let mut lines = Vec::new();
    let mut points = Vec::new();
    for k in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0] {
        let point = evaluate(request, k, &bar)?;
        lines.push(format!("  k = {:<4}  {:>8.2} warnings per day", point.k, point.warnings_per_day));
        points.push(serde_json::json!({ "k": point.k, "warnings_per_day": point.warnings_per_day }));
    }
    bar.finish_and_clear();
    if request.json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "method": request.base.policy.method().name(),
            "budget_per_day": request.budget_per_day,
            "recommended_k": recommended.as_ref().map(|point| point.k),
            "recommended_warnings_per_day": recommended.as_ref().map(|point| point.warnings_per_day),
            "points": points,
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    let write = |out: &mut dyn Write| -> std::io::Result<()> {
        match recommended {
            Some(point) => writeln!(
                out,
                "Recommended: k = {} ({:.2} warnings per day, budget {}); in the functions: OVERRUN_METHOD={} OVERRUN_K={}{}{}",
                point.k,
                point.warnings_per_day,
                request.budget_per_day,
                request.base.policy.method().name(),
                point.k,
                exclusion_setting(&request.base),
                recent_setting(&request.base),
            )?,
            None => writeln!(
                out,
                "No k up to 20 keeps warnings under {} per day: use overrides for the noisiest task types (see `overrun replay`).",
                request.budget_per_day
            )?,
        }
        writeln!(out)?;
        writeln!(out, "Warnings per day on this history:")?;
        for line in &lines {
            writeln!(out, "{line}")?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "Set it with OVERRUN_K (functions) or --k (replay). Every warning on a history counts: it has no labels."
        )
    };
    write(out).map_err(CliError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use overrun_core::{RunId, RunStatus, TaskType};

    fn noisy_history() -> Vec<Run> {
        let day = 86_400_000;
        (0..400)
            .map(|i: i64| {
                let start = 20_000 * day + i * day / 8;
                // Mostly 30 minutes, with a heavy tail every seventh run.
                let duration = if i % 7 == 0 { 5_400_000 } else { 1_800_000 + (i % 5) * 60_000 };
                Run::new(
                    TaskType::new("etl").unwrap(),
                    RunId::new(&format!("r{i}")).unwrap(),
                    start,
                    Some(start + duration),
                    RunStatus::Succeeded,
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn recommendation_is_the_smallest_k_within_the_budget() {
        let request = TuneRequest {
            runs: noisy_history(),
            base: ReplayConfig::default(),
            budget_per_day: 0.5,
            show_progress: false,
            json: false,
        };
        let point = recommend(&request, &ProgressBar::hidden()).unwrap().unwrap();
        assert!(point.warnings_per_day <= 0.5, "{point:?}");
        let tighter = evaluate(&request, point.k - 0.05, &ProgressBar::hidden()).unwrap();
        assert!(point.k < 0.05 || tighter.warnings_per_day > 0.5, "{point:?} but {tighter:?}");
    }

    #[test]
    fn an_unreachable_budget_says_so() {
        let request = TuneRequest {
            runs: noisy_history(),
            base: ReplayConfig::default(),
            budget_per_day: -1.0,
            show_progress: false,
            json: false,
        };
        assert_eq!(recommend(&request, &ProgressBar::hidden()).unwrap(), None);
    }
}
