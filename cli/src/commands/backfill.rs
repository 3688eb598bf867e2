//! `overrun backfill FILE`: loads a history into the runs table, then computes tonight's
//! baselines from it, so the checker has baselines from day one.

use crate::words::count;
use overrun_app::nightly::SeasonNights;
use std::io::Write;

use futures_util::stream::{self, StreamExt};
use overrun_aws::{Adapters, SystemClock};
use overrun_core::ports::{Clock, RunFinished, RunRecorder, RunStarted};
use overrun_core::{EpochMs, Origin, Qualifier, RunId, RunStatus, TaskType};

use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;
use crate::history::{BadRows, Flow, ReadOptions, for_each_row};
use crate::input::Source;
use crate::rows::RowProblem;

pub struct BackfillRequest {
    pub source: Source,
    pub read: ReadOptions,
    pub aws: AwsArgs,
    pub concurrency: usize,
    pub compute_baselines: bool,
    /// Move the history so that its last run ends now.
    pub shift_to_now: bool,
    /// Load only the runs of this last stretch of time.
    pub since: Option<std::time::Duration>,
    /// `--qualifier`: every task type named `name@qualifier`.
    pub qualifier: Option<Qualifier>,
    /// `--from`: the account and region the runs ran in, when not the deployment's own.
    pub origin: Option<Origin>,
    /// One JSON document instead of the text.
    pub json: bool,
}

/// One row of the history, checked.
struct HistoryRun {
    task_type: TaskType,
    run_id: RunId,
    start: EpochMs,
    end: Option<EpochMs>,
    status: RunStatus,
}

enum Event {
    Started(RunStarted),
    Finished(RunFinished),
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct BackfillReport {
    pub rows: u64,
    pub loaded: u64,
    pub counted: u64,
    pub too_old: u64,
    pub failed: u64,
    /// Runs left out by `--since`.
    pub before_since: u64,
    /// How far the history was moved (`--shift-to-now`).
    pub shifted_ms: i64,
}

/// `task_type` as a deployment qualifying by `qualifier` names it; a name that already ends with
/// that qualifier (a history imported with `--qualifier`) is refused rather than qualified twice.
fn qualified(task_type: TaskType, qualifier: Option<&Qualifier>) -> Result<TaskType, RowProblem> {
    match qualifier {
        Some(qualifier) if task_type.qualifier().as_ref() == Some(qualifier) => {
            Err(RowProblem::QualifiedTwice {
                task_type: task_type.to_string(),
                qualifier: qualifier.to_string(),
            })
        }
        Some(qualifier) => Ok(task_type.qualified(qualifier)?),
        None => Ok(task_type),
    }
}

pub fn run(request: &BackfillRequest, out: &mut impl Write, err: &mut impl Write) -> Result<(), CliError> {
    let config = request.aws.config()?;
    let now = SystemClock.now();
    // Runs older than the retention would be expired by the table's TTL as soon as written.
    let oldest_kept = now - config.retention_ms();
    let since =
        request.since.map(|since| now.saturating_sub(i64::try_from(since.as_millis()).unwrap_or(i64::MAX)));
    let mut report = BackfillReport::default();
    let mut bad = BadRows::default();
    let mut rows = Vec::new();
    for_each_row(&request.source, &request.read, &mut bad, |row| {
        report.rows += 1;
        rows.push(HistoryRun {
            task_type: qualified(TaskType::new(&row.task_type)?, request.qualifier.as_ref())?,
            run_id: RunId::new(&row.run_id)?.from_origin(request.origin.clone()),
            start: row.start,
            end: row.end,
            status: row.status,
        });
        Ok::<_, RowProblem>(Flow::Continue)
    })?;
    // With --shift-to-now the whole history moves so that its last run ends (or starts) now:
    // an old trace then looks live, within the retention, and the checker judges it.
    let latest = rows.iter().map(|run| run.end.unwrap_or(run.start)).max().unwrap_or(now);
    report.shifted_ms = if request.shift_to_now { now - latest } else { 0 };
    let mut events = Vec::new();
    for run in rows {
        let (start, end) = (run.start + report.shifted_ms, run.end.map(|end| end + report.shifted_ms));
        let HistoryRun { task_type, run_id, status, .. } = run;
        if since.is_some_and(|since| end.unwrap_or(start) < since) {
            report.before_since += 1;
            continue;
        }
        match (status, end) {
            (_, Some(end)) if end < oldest_kept => report.too_old += 1,
            (RunStatus::Running, _) | (_, None) => {
                // Histories name no cohorts.
                events.push(Event::Started(RunStarted {
                    task_type,
                    run_id,
                    numbered: false,
                    start,
                    cohort: None,
                }));
            }
            (status, Some(end)) => events.push(Event::Finished(RunFinished {
                task_type,
                run_id,
                numbered: false,
                start: Some(start),
                end,
                status,
                cohort: None,
            })),
        }
    }

    let mut first_failure = None;
    let nightly = runtime()?.block_on(async {
        let adapters = Adapters::new(&request.aws.sdk().await, &config);
        let runs = &adapters.runs;
        // Finished runs first, then the starts of runs still running: each of those then finds
        // its type's latest runs in the table when its start is recorded, as it would have live.
        let (started, finished): (Vec<Event>, Vec<Event>) =
            events.into_iter().partition(|event| matches!(event, Event::Started(_)));
        // Seconds to minutes against a real table (and more against moto): a bar on a terminal.
        let bar = crate::progress::terminal_bar(
            request.read.show_progress,
            (started.len() + finished.len()) as u64,
            "loading [{bar:30}] {pos}/{len} runs ({elapsed}, about {eta} left)",
        );
        for phase in [finished, started] {
            let mut results = stream::iter(phase)
                .map(|event| async move {
                    match &event {
                        Event::Started(started) => runs.record_start(started).await,
                        Event::Finished(finished) => runs.record_finish(finished).await,
                    }
                })
                .buffer_unordered(request.concurrency.max(1));
            while let Some(result) = results.next().await {
                bar.inc(1);
                match result {
                    Ok(recorded) => {
                        report.loaded += 1;
                        report.counted += u64::from(recorded.counted);
                    }
                    Err(error) => {
                        report.failed += 1;
                        let failure = request.aws.failure(&error);
                        if report.failed <= 5 {
                            let _ = writeln!(err, "warning: {failure}");
                        }
                        first_failure.get_or_insert(failure);
                    }
                }
            }
        }
        bar.finish_and_clear();
        if report.failed > 0 || !request.compute_baselines {
            return Ok(None);
        }
        if request.read.show_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let _ = writeln!(err, "computing tonight's baselines from the loaded runs…");
        }
        overrun_app::nightly::handle_by_season(
            now,
            &config.policy,
            config.exclusion_cap,
            config.seasons.as_ref().map(|rule| SeasonNights { rule, runs_kept_days: config.retention_days }),
            &adapters.runs,
            &adapters.stats,
        )
        .await
        .map(Some)
        .map_err(|e| request.aws.error(e))
    })?;

    if request.json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "table": config.runs_table,
            "rows": report.rows,
            "loaded": report.loaded,
            "counted": report.counted,
            "too_old": report.too_old,
            "before_since": report.before_since,
            "failed": report.failed,
            "bad_rows": bad.count,
            "shifted_s": report.shifted_ms as f64 / 1_000.0,
            "baselines": nightly.as_ref().map(|n| serde_json::json!({
                "task_types": n.baselines,
                "written": n.baselines_written,
                "runs_rolled_up": n.runs_rolled_up,
                "days_rolled_up": n.days_rolled_up,
            })),
        });
        writeln!(out, "{value}").map_err(CliError::Output)?;
    } else {
        write_words(out, &report, nightly.as_ref(), &config)?;
    }
    if bad.count > 0 {
        writeln!(err, "warning: skipped {}", count(bad.count, "bad row")).map_err(CliError::Output)?;
    }
    if let Some(mut failure) = first_failure.filter(|_| report.failed > 0) {
        failure.message = format!(
            "{} of {} could not be written: {}",
            report.failed,
            count(report.rows, "run"),
            failure.message
        );
        return Err(CliError::Aws(failure));
    }
    Ok(())
}

/// The backfill's report, in words.
fn write_words(
    out: &mut impl std::io::Write,
    report: &BackfillReport,
    nightly: Option<&overrun_app::nightly::NightlyReport>,
    config: &overrun_aws::Config,
) -> Result<(), CliError> {
    if report.shifted_ms != 0 {
        writeln!(
            out,
            "shifted the history by {} so that its last run ends now",
            overrun_core::notify::humanize::duration(report.shifted_ms as f64)
        )
        .map_err(CliError::Output)?;
    }
    writeln!(
        out,
        "loaded {} of {} into {} ({} newly complete succeeded runs counted; {} older than the {}-day retention skipped)",
        report.loaded,
        count(report.rows, "run"),
        config.runs_table,
        report.counted,
        report.too_old,
        config.retention_days
    )
    .map_err(CliError::Output)?;
    if let Some(nightly) = nightly {
        writeln!(
            out,
            "baselines: {} {} one ({} written), from {} rolled up over {}",
            count(nightly.baselines as u64, "task type"),
            if nightly.baselines == 1 { "has" } else { "have" },
            nightly.baselines_written,
            count(nightly.runs_rolled_up, "run"),
            count(nightly.days_rolled_up as u64, "day")
        )
        .map_err(CliError::Output)?;
    }
    if report.loaded == 0 && report.too_old > 0 && report.too_old == report.rows {
        writeln!(
            out,
            "nothing loaded: every run ended more than {} days ago; --shift-to-now loads a history as if its last run ended now",
            config.retention_days
        )
        .map_err(CliError::Output)?;
    }
    if report.before_since > 0 {
        writeln!(out, "{} before --since left out", count(report.before_since, "run"))
            .map_err(CliError::Output)?;
    }
    Ok(())
}
