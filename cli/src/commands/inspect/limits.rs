//! `overrun limits [TASK…]`: each task type's baseline and the limits the checker holds its runs
//! to now (its override applied), as the nightly job last computed them.

use overrun_core::detect::overrides::{EffectiveLimits, LimitParts, effective_limits};
use overrun_core::notify::message::JSON_VERSION;
use std::collections::BTreeMap;

use overrun_core::TaskType;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::ports::ScheduleStore;
use overrun_core::records::LimitsRecord;
use overrun_core::schedule::Schedule;
use serde_json::{Value, json};

use super::{
    Tables, maybe_duration, outlier_json, outlier_words, override_words, rfc3339, schedule_json, table,
    warn_malformed,
};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;
use crate::suggest::nearest_names;

pub struct LimitsRequest {
    pub aws: AwsArgs,
    /// Only these task types (all when empty); an unknown one is refused with the nearest names.
    pub tasks: Vec<String>,
    pub json: bool,
}

pub fn run(request: &LimitsRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let (tables, listing, schedules) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let listing = tables.inspector.limits().await.map_err(|e| aws.error(e))?;
        let schedules = tables.stats.stored_schedules().await.map_err(|e| aws.error(e))?;
        Ok::<_, CliError>((tables, listing, schedules))
    })?;
    warn_malformed(&listing.malformed);
    warn_malformed(&schedules.malformed);
    let schedules: BTreeMap<TaskType, Schedule> = schedules.items.into_iter().collect();
    let known: Vec<&str> = listing.items.iter().map(|r| r.task_type.as_str()).collect();
    for task in &request.tasks {
        if !known.contains(&task.as_str()) {
            return Err(CliError::NotFound(format!(
                "task type {task:?} has no baseline and no override in {}.{}",
                tables.config.stats_table,
                nearest_names(task, &known)
                    .map(|names| format!(" Did you mean {names}?"))
                    .unwrap_or_default()
            )));
        }
    }
    let chosen: Vec<&LimitsRecord> = listing
        .items
        .iter()
        .filter(|r| request.tasks.is_empty() || request.tasks.iter().any(|t| t == r.task_type.as_str()))
        .collect();
    let rules = tables.config.check_settings().rules;
    let rows: Vec<(&LimitsRecord, Option<EffectiveLimits>)> = chosen
        .into_iter()
        .map(|record| {
            let parts = LimitParts {
                baseline: record.limits.baseline.as_ref(),
                window: record.limits.window.as_ref(),
                task_override: record.limits.task_override.as_ref(),
            };
            (record, effective_limits(parts, &rules))
        })
        .collect();
    let written =
        if request.json { write_json(&rows, &schedules, out) } else { write_human(&rows, &schedules, out) };
    written.map_err(CliError::Output)
}

/// A learned schedule in words: its pattern, and how late its starts come.
fn schedule_words(schedule: &Schedule) -> String {
    format!(
        "{}, starts usually within {} (grace {}), learned from {} due times",
        schedule,
        duration(schedule.largest_lateness_ms as f64),
        duration(schedule.grace_ms as f64),
        schedule.evidence
    )
}

fn write_human(
    rows: &[(&LimitsRecord, Option<EffectiveLimits>)],
    schedules: &BTreeMap<TaskType, Schedule>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no task type has a baseline or an override yet: baselines appear after the first nightly run with enough succeeded runs"
        );
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(record, effective)| {
            let baseline = record.limits.baseline.as_ref();
            vec![
                record.task_type.to_string(),
                maybe_duration(baseline.map(|b| b.expected_ms)),
                maybe_duration(baseline.map(|b| b.sigma_ms)),
                maybe_duration(effective.map(|e| e.thresholds.warning_ms)),
                maybe_duration(effective.map(|e| e.thresholds.critical_ms)),
                baseline.map(|b| b.n.to_string()).unwrap_or_else(|| "—".into()),
                record.method.clone().unwrap_or_else(|| "—".into()),
                baseline.map(|b| utc_minute(b.computed_at)).unwrap_or_else(|| "—".into()),
                record.limits.task_override.as_ref().map(override_words).unwrap_or_else(|| "—".into()),
            ]
        })
        .collect();
    table(
        out,
        &["TASK", "EXPECTED", "σ", "LIMIT", "CRITICAL", "N", "METHOD", "COMPUTED", "OVERRIDE"],
        &cells,
    )?;
    for (record, _) in rows {
        if let Some(outlier) = record.limits.baseline.and_then(|b| b.outlier) {
            writeln!(out, "\n{}: {}.", record.task_type, outlier_words(&outlier))?;
        }
    }
    let scheduled: Vec<(&TaskType, &Schedule)> =
        rows.iter().filter_map(|(r, _)| schedules.get_key_value(&r.task_type)).collect();
    if !scheduled.is_empty() {
        writeln!(out, "\nSchedules learned from each type's starts (a missed start is not paged yet):")?;
        for (task_type, schedule) in scheduled {
            writeln!(out, "  {task_type}: {}", schedule_words(schedule))?;
        }
    }
    if rows.iter().any(|(r, _)| r.limits.window.is_some()) {
        writeln!(
            out,
            "\nWith recent runs on, each running run of a tailored type is held to its own limit, from this window and its type's latest runs: `overrun status` shows it."
        )?;
    }
    Ok(())
}

fn write_json(
    rows: &[(&LimitsRecord, Option<EffectiveLimits>)],
    schedules: &BTreeMap<TaskType, Schedule>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let values: Vec<Value> = rows
        .iter()
        .map(|(record, effective)| {
            let baseline = record.limits.baseline.as_ref();
            let task_override = record.limits.task_override.as_ref();
            json!({
                "version": JSON_VERSION,
                "task_type": record.task_type.as_str(),
                "account": record.task_type.account(),
                "expected_s": baseline.map(|b| b.expected_ms / 1_000.0),
                "sigma_s": baseline.map(|b| b.sigma_ms / 1_000.0),
                "baseline_limit_s": baseline.map(|b| b.upper_ms / 1_000.0),
                "warning_limit_s": effective.map(|e| e.thresholds.warning_ms / 1_000.0),
                "critical_limit_s": effective.map(|e| e.thresholds.critical_ms / 1_000.0),
                "limit_source": effective.map(|e| e.source.to_string()),
                "n": baseline.map(|b| b.n),
                "outlier": baseline.and_then(|b| b.outlier).map(|o| outlier_json(&o)),
                "schedule": schedules.get(&record.task_type).map(schedule_json),
                "method": record.method,
                "computed_at": baseline.map(|b| rfc3339(b.computed_at)),
                "override": task_override.map(crate::commands::override_task::override_json),
            })
        })
        .collect();
    writeln!(out, "{}", Value::Array(values))
}
