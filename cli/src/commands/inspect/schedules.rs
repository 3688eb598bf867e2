//! `overrun schedule list [TASK…]`: each task type's schedule — learned by the nightly job from
//! its starts, or declared by an operator (which beats it) — the pattern in words, where it came
//! from and since when, the next due start, the usual lateness, the grace: what the checker
//! expects of a type before it pages a missed start.

use overrun_core::notify::message::JSON_VERSION;
use std::collections::BTreeMap;

use overrun_core::EpochMs;
use overrun_core::TaskType;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::ports::ScheduleStore;
use overrun_core::schedule::Schedule;
use overrun_core::schedule::watch::{DueTimes, next_due_after};
use overrun_core::schedule::watched::{Declaration, Watched, watched};
use serde_json::{Value, json};

use super::limits::LimitsRequest;
use super::{Tables, rfc3339, schedule_json, table, warn_malformed};
use crate::commands::aws::runtime;
use crate::error::CliError;
use crate::suggest::nearest_names;

/// One type's schedules: the learned one, and the operator's word.
struct Row<'a> {
    task: &'a TaskType,
    learned: Option<&'a Schedule>,
    declared: Option<&'a Declaration>,
}

impl Row<'_> {
    fn watched(&self) -> Option<Watched<'_>> {
        watched(self.learned, self.declared)
    }

    /// Where the schedule in force came from, and since when.
    fn source(&self) -> String {
        match (self.declared, self.learned) {
            (Some(Declaration::Scheduled(declared)), _) => {
                format!("declared {} ({})", utc_minute(declared.since()), declared.expression())
            }
            (Some(Declaration::Unscheduled { since }), _) => {
                format!("declared unscheduled {}", utc_minute(*since))
            }
            (None, Some(schedule)) => format!("learned from {} starts", schedule.evidence),
            (None, None) => "—".to_owned(),
        }
    }
}

pub fn run(request: &LimitsRequest, now: EpochMs, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let (tables, learned, declared) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let learned = tables.stats.stored_schedules().await.map_err(|e| aws.error(e))?;
        let declared = tables.stats.declared_schedules().await.map_err(|e| aws.error(e))?;
        Ok::<_, CliError>((tables, learned, declared))
    })?;
    warn_malformed(&learned.malformed);
    warn_malformed(&declared.malformed);
    let learned: BTreeMap<&TaskType, &Schedule> = learned.items.iter().map(|(t, s)| (t, s)).collect();
    let declared: BTreeMap<&TaskType, &Declaration> = declared.items.iter().map(|(t, d)| (t, d)).collect();
    let mut names: Vec<&TaskType> = learned.keys().chain(declared.keys()).copied().collect();
    names.sort();
    names.dedup();
    let known: Vec<&str> = names.iter().map(|task| task.as_str()).collect();
    for task in &request.tasks {
        if !known.contains(&task.as_str()) {
            return Err(CliError::NotFound(format!(
                "task type {task:?} has no learned or declared schedule in {} (a type needs a week of starts that follow one, or `overrun schedule set`).{}",
                tables.config.stats_table,
                nearest_names(task, &known)
                    .map(|names| format!(" Did you mean {names}?"))
                    .unwrap_or_default()
            )));
        }
    }
    let rows: Vec<Row<'_>> = names
        .into_iter()
        .filter(|task| request.tasks.is_empty() || request.tasks.iter().any(|t| t == task.as_str()))
        .map(|task| Row { task, learned: learned.get(task).copied(), declared: declared.get(task).copied() })
        .collect();
    let written = if request.json { write_json(&rows, now, out) } else { write_human(&rows, now, out) };
    written.map_err(CliError::Output)
}

fn write_human(rows: &[Row<'_>], now: EpochMs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no task type has a schedule yet: the nightly job learns one from a week or more of starts that follow a schedule, or declare one with `overrun schedule set`"
        );
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            let in_force = row.watched();
            vec![
                row.task.to_string(),
                match in_force {
                    Some(Watched::Learned(schedule)) => schedule.to_string(),
                    Some(Watched::Declared(declared)) => declared.to_string(),
                    None => "unscheduled: never paged for a missed start".to_owned(),
                },
                row.source(),
                in_force.and_then(|w| next_due_after(&w, now)).map(utc_minute).unwrap_or_else(|| "—".into()),
                row.learned
                    .filter(|_| matches!(in_force, Some(Watched::Learned(_))))
                    .map(|s| duration(s.largest_lateness_ms as f64))
                    .unwrap_or_else(|| "—".into()),
                in_force.map(|w| duration(w.grace_ms() as f64)).unwrap_or_else(|| "—".into()),
            ]
        })
        .collect();
    table(out, &["TASK", "SCHEDULE", "FROM", "NEXT DUE", "USUALLY WITHIN", "GRACE"], &cells)?;
    writeln!(
        out,
        "\nA start that has not come by its due time plus the grace is paged (a warning; critical at the second in a row)."
    )
}

fn write_json(rows: &[Row<'_>], now: EpochMs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let values: Vec<Value> = rows
        .iter()
        .map(|row| {
            let in_force = row.watched();
            json!({
                "version": JSON_VERSION,
                "task_type": row.task.as_str(),
                "in_force": in_force_word(row.declared, in_force.as_ref()),
                "next_due": in_force.and_then(|w| next_due_after(&w, now)).map(rfc3339),
                "learned": row.learned.map(schedule_json),
                "declared": row.declared.map(declaration_json),
            })
        })
        .collect();
    writeln!(out, "{}", Value::Array(values))
}

/// Which schedule a type is watched by, for `--json`: `learned`, `declared`, `unscheduled` (declared
/// so) or `none`.
pub fn in_force_word(declared: Option<&Declaration>, in_force: Option<&Watched<'_>>) -> &'static str {
    match (declared, in_force) {
        (Some(Declaration::Unscheduled { .. }), _) => "unscheduled",
        (_, Some(Watched::Declared(_))) => "declared",
        (_, Some(Watched::Learned(_))) => "learned",
        (_, None) => "none",
    }
}

/// An operator's declaration, for `--json`.
pub fn declaration_json(declaration: &Declaration) -> Value {
    match declaration {
        Declaration::Unscheduled { since } => json!({"unscheduled": true, "since": rfc3339(*since)}),
        Declaration::Scheduled(declared) => json!({
            "unscheduled": false,
            "expression": declared.expression(),
            "pattern": declared.to_string(),
            "timezone": declared.zone().name(),
            "grace_s": declared.grace_ms() / 1_000,
            "since": rfc3339(declared.since()),
        }),
    }
}
