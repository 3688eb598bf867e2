//! `overrun replay`: what would have fired over a recorded history.

use std::io::Write;

use overrun_core::evaluation::replay::replay_runs;
use overrun_core::evaluation::replay::{ReplayConfig, ReplayError, ReplayOutcome, Replayer, RunInput};

use crate::error::CliError;
use crate::history::{BadRows, Flow, ReadOptions, for_each_row};
use crate::input::Source;
use crate::render;
use crate::rows::RowProblem;

pub struct ReplayRequest {
    pub source: Source,
    pub config: ReplayConfig,
    pub read: ReadOptions,
    pub json: bool,
    pub top: usize,
}

pub fn run(request: &ReplayRequest, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    let (outcome, bad) = replay(request, err)?;
    if bad.count > 0 {
        report_skipped(err, &request.source, &bad).map_err(CliError::Output)?;
    }
    let written = if request.json {
        render::json_lines(out, &request.config, &outcome)
    } else {
        render::human(out, &request.config, &outcome, request.top)
    };
    written.and_then(|()| out.flush()).map_err(CliError::Output)
}

/// Streams the history through the replayer; if it turns out not to be in start order, reads it
/// again into memory and sorts it.
pub fn replay(request: &ReplayRequest, err: &mut impl Write) -> Result<(ReplayOutcome, BadRows), CliError> {
    let mut bad = BadRows::default();
    let mut replayer = Replayer::new(request.config);
    let streamed = for_each_row(&request.source, &request.read, &mut bad, |row| {
        match replayer.push(RunInput::from(&row)) {
            Ok(()) => Ok(Flow::Continue),
            Err(ReplayError::OutOfOrder { .. }) => Ok(Flow::Stop),
            Err(ReplayError::InvalidRun(problem)) => Err(RowProblem::Invalid(problem)),
        }
    })?;
    if let Flow::Continue = streamed {
        return Ok((replayer.finish(), bad));
    }

    // Rare: the file is not sorted by start. Costs memory proportional to the history.
    writeln!(err, "note: {} is not sorted by start time; sorting it in memory", request.source.name())
        .map_err(CliError::Output)?;
    let mut bad = BadRows::default();
    let mut runs = Vec::new();
    for_each_row(&request.source, &request.read, &mut bad, |row| {
        runs.push(row.to_run()?);
        Ok(Flow::Continue)
    })?;
    let outcome = replay_runs(request.config, &runs).map_err(CliError::invalid)?;
    Ok((outcome, bad))
}

fn report_skipped(err: &mut impl Write, source: &Source, bad: &BadRows) -> std::io::Result<()> {
    writeln!(
        err,
        "warning: skipped {} bad row{} of {}",
        bad.count,
        if bad.count == 1 { "" } else { "s" },
        source.name()
    )?;
    for row in &bad.first {
        writeln!(err, "  {row}")?;
    }
    if bad.count > bad.first.len() as u64 {
        writeln!(err, "  … and {} more", bad.count - bad.first.len() as u64)?;
    }
    Ok(())
}
