//! `overrun close TASK RUN_ID --status … --end …`: finish a run whose finish event was lost, as
//! ingest would have recorded it (counted for its day when it succeeded; a "resolved" owed when
//! it was alerted on). Only a run still running can be closed.

use overrun_app::ingest::{IngestError, IngestOutcome, record_only};
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::notify::message::JSON_VERSION;
use overrun_core::ports::{RunFinished, TaskEvent};
use overrun_core::time::parse_timestamp;
use overrun_core::{Attempt, EpochMs, RunId, RunStatus, TaskType};

use super::{Tables, named_run};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;

pub struct CloseRequest {
    pub aws: AwsArgs,
    pub task_type: String,
    pub run_id: String,
    /// The latest when `None`.
    pub attempt: Option<Attempt>,
    /// Where the run ran, when not the deployment's own account and region.
    pub origin: Option<overrun_core::Origin>,
    pub status: RunStatus,
    /// An RFC 3339 timestamp, epoch seconds, or `now`.
    pub end: String,
    pub now: EpochMs,
    /// One JSON document instead of the text.
    pub json: bool,
}

/// `--end`: `now`, epoch seconds, or an RFC 3339 timestamp; not in the future.
pub fn parse_end(text: &str, now: EpochMs) -> Result<EpochMs, CliError> {
    let end = if text.trim() == "now" {
        now
    } else if let Ok(seconds) = text.trim().parse::<i64>() {
        seconds
            .checked_mul(1_000)
            .ok_or_else(|| CliError::invalid(format!("--end {text:?} is out of range")))?
    } else {
        parse_timestamp(text).map_err(|e| CliError::invalid(format!("--end {text:?}: {e}")))?
    };
    if end > now {
        return Err(CliError::invalid(format!(
            "--end {} is in the future: a run cannot have finished then",
            utc_minute(end)
        )));
    }
    Ok(end)
}

pub fn run(request: &CloseRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    let run_id = RunId::new(&request.run_id).map_err(CliError::invalid)?.from_origin(request.origin.clone());
    if !request.status.is_finished() {
        return Err(CliError::invalid("--status must be succeeded, failed or aborted"));
    }
    let end = parse_end(&request.end, request.now)?;
    let (start, outcome, run_id) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let named = named_run(&tables, aws, &task, &run_id, request.attempt).await?;
        let Some((record, _)) = named else {
            return Err(CliError::NotFound(format!(
                "no run \"{run_id}\" of task type \"{task}\" in {}",
                tables.config.runs_table
            )));
        };
        let run_id = record.run_id.clone();
        if let (Some(finished), Some(status)) = (record.end, record.status) {
            return Err(CliError::invalid(format!(
                "run {run_id} already finished: {status} at {}; a run is closed only once",
                utc_minute(finished)
            )));
        }
        let start =
            record.start.ok_or_else(|| CliError::invalid("the run has no start: nothing to close"))?;
        if end < start {
            return Err(CliError::invalid(format!(
                "--end {} is before the run's start, {}",
                utc_minute(end),
                utc_minute(start)
            )));
        }
        // The attempt is known: the finish goes to it, whatever other attempts the id has.
        let event = TaskEvent::Finished(RunFinished {
            task_type: task.clone(),
            run_id: record.run_id.clone(),
            numbered: true,
            start: Some(start),
            end,
            status: request.status,
            cohort: record.cohort.clone(),
        });
        let outcome = record_only(event, &tables.runs).await.map_err(|e| match e {
            IngestError::Store(e) => aws.error(e),
            other => CliError::invalid(other),
        })?;
        Ok((start, outcome, run_id))
    })?;
    let recorded = match &outcome {
        IngestOutcome::Finished(recorded) => recorded,
        other => return Err(CliError::invalid(format!("unexpected outcome {other:?}"))),
    };
    if let Some(conflict) = &recorded.conflict {
        return Err(CliError::invalid(format!(
            "a finish arrived meanwhile and stands: {} at {}",
            conflict.kept_status,
            utc_minute(conflict.kept_end)
        )));
    }
    if request.json {
        let (account, region) = overrun_core::notify::message::where_ran(&task, Some(&run_id));
        let value = serde_json::json!({
            "version": JSON_VERSION,
            "task_type": task.as_str(),
            "run_id": run_id.as_str(),
            "attempt": run_id.attempt().get(),
            "account": account,
            "region": region,
            "from": run_id.origin().map(ToString::to_string),
            "status": request.status.as_str(),
            "end": super::rfc3339(end),
            "duration_s": (end - start) as f64 / 1_000.0,
            "counted": recorded.counted,
            "resolution_pending": recorded.resolution_pending,
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    let written = (|| {
        writeln!(
            out,
            "closed {task} {run_id}: {} at {} after {}",
            request.status,
            utc_minute(end),
            duration((end - start) as f64)
        )?;
        if recorded.counted {
            writeln!(out, "counted for its day: the next nightly run includes it in its type's baseline")?;
        }
        if recorded.resolution_pending {
            writeln!(out, "it was alerted on: the next check sends \"resolved\"")?;
        }
        Ok(())
    })();
    written.map_err(CliError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: EpochMs = 1_767_225_600_000;

    #[test]
    fn an_end_is_now_epoch_seconds_or_a_timestamp_and_never_in_the_future() {
        assert_eq!(parse_end("now", NOW).unwrap(), NOW);
        assert_eq!(parse_end("1767225000", NOW).unwrap(), 1_767_225_000_000);
        assert_eq!(parse_end("2025-12-31T23:00:00Z", NOW).unwrap(), NOW - 3_600_000);
        assert!(parse_end("2026-01-01T01:00:00Z", NOW).unwrap_err().to_string().contains("future"));
        assert!(parse_end("2025-02-30T12:00:00Z", NOW).is_err());
    }
}
