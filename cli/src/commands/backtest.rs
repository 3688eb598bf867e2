//! `overrun backtest FILE`: inject slowdowns into a real history with a fixed seed, replay one or
//! more method settings, and report what users judge an alerting tool by.

use std::io::Write;

use overrun_core::evaluation::backtest::{InjectionPlan, Score, Tally, inject, tally};
use overrun_core::evaluation::hindsight::hindsight_limits;
use overrun_core::evaluation::replay::Replayer;
use overrun_core::evaluation::replay::replay_runs_with;
use overrun_core::notify::humanize::duration;
use serde::Serialize;

use crate::commands::against;
pub use crate::commands::variant::Variant;
use crate::error::CliError;
use crate::history::{ReadOptions, read_all_runs};
use crate::input::Source;

pub struct BacktestRequest {
    pub source: Source,
    pub read: ReadOptions,
    /// One replay per setting.
    pub variants: Vec<Variant>,
    pub plan: InjectionPlan,
    /// Injections with seeds `plan.seed`, `plan.seed + 1`, …, pooled.
    pub seeds: u64,
    pub json: bool,
    /// The variant every curve is read against (the seed at its defaults), if asked for.
    pub reference: Option<usize>,
}

#[derive(Serialize)]
struct ScoreLine<'a> {
    method: &'a str,
    healthy_runs: usize,
    false_alerts: usize,
    false_alerts_per_1000_healthy: f64,
    false_alerts_per_day: f64,
    injected: usize,
    detected: usize,
    recall: f64,
    recall_by_factor: Vec<(f64, f64)>,
    median_delay_s: Option<f64>,
    alerts_per_day: f64,
    short_notices: usize,
    short_notices_per_1000_succeeded: f64,
    short_notices_per_day: f64,
    days: f64,
    seed: u64,
    seeds: u64,
}

pub fn run(request: &BacktestRequest, out: &mut impl Write) -> Result<(), CliError> {
    let runs = read_all_runs(&request.source, &request.read)?;
    // The hindsight limits come from the history as recorded, not from a slowed copy: the
    // reference knows every healthy run, not which runs were slowed.
    let fixed_limits: Vec<_> = request
        .variants
        .iter()
        .map(|variant| {
            variant.hindsight.then(|| hindsight_limits(&runs, variant.k, variant.config.interval()))
        })
        .collect();
    let mut tallies: Vec<Tally> = vec![Tally::default(); request.variants.len()];
    let mut eligible = 0;
    let mut injected_runs = 0;
    for offset in 0..request.seeds.max(1) {
        let plan = InjectionPlan { seed: request.plan.seed.wrapping_add(offset), ..request.plan.clone() };
        let injected = inject(&runs, &plan);
        eligible += injected.eligible;
        injected_runs = injected.runs.len();
        for ((variant, fixed), pooled) in request.variants.iter().zip(&fixed_limits).zip(&mut tallies) {
            let mut replayer = Replayer::new(variant.config);
            if let Some(limits) = fixed {
                replayer = replayer.with_fixed_limits(limits.clone());
            }
            let outcome = replay_runs_with(replayer, &injected.runs).map_err(CliError::invalid)?;
            pooled.merge(&tally(&outcome, &injected, &plan.factors));
        }
    }
    let scores: Vec<(String, Score)> = request
        .variants
        .iter()
        .zip(&tallies)
        .map(|(variant, t)| (variant.label.clone(), t.score()))
        .collect();

    let written = if request.json {
        scores
            .iter()
            .try_for_each(|(label, s)| {
                let line = ScoreLine {
                    method: label,
                    healthy_runs: s.healthy_runs,
                    false_alerts: s.false_alerts,
                    false_alerts_per_1000_healthy: s.false_alerts_per_1000_healthy,
                    false_alerts_per_day: s.false_alerts_per_day,
                    injected: s.injected,
                    detected: s.detected,
                    recall: s.overall_recall(),
                    recall_by_factor: s.recall.iter().map(|r| (r.factor, r.rate())).collect(),
                    median_delay_s: s.median_delay_ms.map(|d| d as f64 / 1_000.0),
                    alerts_per_day: s.alerts_per_day,
                    short_notices: s.short_notices,
                    short_notices_per_1000_succeeded: s.short_notices_per_1000_succeeded,
                    short_notices_per_day: s.short_notices_per_day,
                    days: s.days,
                    seed: request.plan.seed,
                    seeds: request.seeds,
                };
                serde_json::to_writer(&mut *out, &line).map_err(std::io::Error::from)?;
                writeln!(out)
            })
            .and_then(|()| match request.reference {
                Some(reference) => against::write_json(out, &request.variants, &scores, reference),
                None => Ok(()),
            })
    } else {
        table(out, request, &injected_runs, eligible, &scores).and_then(|()| match request.reference {
            Some(reference) => against::write_table(out, &request.variants, &scores, reference),
            None => Ok(()),
        })
    };
    written.map_err(CliError::Output)
}

fn table(
    out: &mut impl Write,
    request: &BacktestRequest,
    runs: &usize,
    eligible: usize,
    scores: &[(String, Score)],
) -> std::io::Result<()> {
    let Some((_, first)) = scores.first() else { return Ok(()) };
    let per_factor: Vec<String> =
        first.recall.iter().map(|r| format!("×{}: {}", r.factor, r.injected)).collect();
    let seeds = request.seeds.max(1);
    let seed_note = if seeds == 1 {
        format!("seed {}", request.plan.seed)
    } else {
        format!("seeds {} to {}, pooled", request.plan.seed, request.plan.seed.wrapping_add(seeds - 1))
    };
    writeln!(
        out,
        "Backtest of {}: {runs} runs over {:.1} days; {} of {} eligible runs slowed down ({seed_note}): {}",
        request.source.name(),
        first.days / seeds as f64,
        first.injected,
        eligible,
        per_factor.join(", ")
    )?;
    writeln!(out)?;
    // Labels are padded by characters; "≤" is one character but three bytes.
    let width = scores.iter().map(|(label, _)| label.chars().count()).max().unwrap_or(0).max(22);
    let factor_headers: Vec<String> =
        first.recall.iter().map(|r| format!("{:>7}", format!("×{}", r.factor))).collect();
    writeln!(
        out,
        "{:<width$} {:>10} {:>9} {} {:>8} {:>13} {:>10} {:>9}",
        "method",
        "false/1k",
        "false/day",
        factor_headers.join(" "),
        "recall",
        "median delay",
        "alerts/day",
        "short/1k"
    )?;
    for (label, s) in scores {
        let recalls: Vec<String> = s.recall.iter().map(|r| format!("{:>6.1}%", 100.0 * r.rate())).collect();
        let delay = s.median_delay_ms.map_or("-".to_owned(), |d| {
            if d < 0 { format!("-{}", duration(-d as f64)) } else { duration(d as f64) }
        });
        writeln!(
            out,
            "{label:<width$} {:>10.2} {:>9.2} {} {:>7.1}% {:>13} {:>10.2} {:>9.2}",
            s.false_alerts_per_1000_healthy,
            s.false_alerts_per_day,
            recalls.join(" "),
            100.0 * s.overall_recall(),
            delay,
            s.alerts_per_day,
            s.short_notices_per_1000_succeeded
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "false/1k: warnings on healthy runs per 1000 healthy runs. recall: slowed runs warned about."
    )?;
    writeln!(out, "median delay: from when the slowed run would normally have ended to its warning.")?;
    writeln!(out, "short/1k: too-short notices (info, one per task type and day) per 1000 succeeded runs.")?;
    if request.variants.iter().any(|variant| variant.hindsight) {
        writeln!(
            out,
            "hindsight: each task type held to the one limit chosen knowing its whole history (an oracle, not a method)."
        )?;
    }
    Ok(())
}
