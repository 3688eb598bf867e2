//! `overrun schedule list [TASK…]`: each task type's schedule as the nightly job learned it from
//! its starts — the pattern in words, the next due start, the grace — for whoever wonders what
//! Overrun expects of a type, before a missed start is paged.

use overrun_core::EpochMs;
use overrun_core::TaskType;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::ports::ScheduleStore;
use overrun_core::schedule::Schedule;
use overrun_core::schedule::slots::next_due;
use serde_json::{Value, json};

use super::limits::LimitsRequest;
use super::{Tables, rfc3339, schedule_json, table, warn_malformed};
use crate::commands::aws::runtime;
use crate::error::CliError;
use crate::suggest::nearest_names;

pub fn run(request: &LimitsRequest, now: EpochMs, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let (tables, stored) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let stored = tables.stats.stored_schedules().await.map_err(|e| aws.error(e))?;
        Ok::<_, CliError>((tables, stored))
    })?;
    warn_malformed(&stored.malformed);
    let known: Vec<&str> = stored.items.iter().map(|(task, _)| task.as_str()).collect();
    for task in &request.tasks {
        if !known.contains(&task.as_str()) {
            return Err(CliError::NotFound(format!(
                "task type {task:?} has no learned schedule in {} (a type needs a week of starts that follow one).{}",
                tables.config.stats_table,
                nearest_names(task, &known)
                    .map(|names| format!(" Did you mean {names}?"))
                    .unwrap_or_default()
            )));
        }
    }
    let chosen: Vec<&(TaskType, Schedule)> = stored
        .items
        .iter()
        .filter(|(task, _)| request.tasks.is_empty() || request.tasks.iter().any(|t| t == task.as_str()))
        .collect();
    let written = if request.json { write_json(&chosen, now, out) } else { write_human(&chosen, now, out) };
    written.map_err(CliError::Output)
}

fn write_human(
    rows: &[&(TaskType, Schedule)],
    now: EpochMs,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no task type has a learned schedule yet: the nightly job learns one from a week or more of starts that follow a schedule"
        );
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|(task, schedule)| {
            vec![
                task.to_string(),
                schedule.to_string(),
                next_due(schedule, now).map(utc_minute).unwrap_or_else(|| "—".into()),
                duration(schedule.largest_lateness_ms as f64),
                duration(schedule.grace_ms as f64),
                schedule.evidence.to_string(),
            ]
        })
        .collect();
    table(out, &["TASK", "SCHEDULE", "NEXT DUE", "USUALLY WITHIN", "GRACE", "LEARNED FROM"], &cells)?;
    writeln!(
        out,
        "\nMissed starts are not paged yet: these are what the nightly job learned from each type's starts."
    )
}

fn write_json(
    rows: &[&(TaskType, Schedule)],
    now: EpochMs,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let values: Vec<Value> = rows
        .iter()
        .map(|(task, schedule)| {
            let mut value = schedule_json(schedule);
            value["task_type"] = json!(task.as_str());
            value["next_due"] = json!(next_due(schedule, now).map(rfc3339));
            value
        })
        .collect();
    writeln!(out, "{}", Value::Array(values))
}
