//! `overrun explain TASK` (no run id): what Overrun expects of a task type's starts — the
//! schedule in force (learned, or declared), the starts it was learned from against their due
//! times, the next due start, and whether the type is overdue now, as the checker judges it.

use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::notify::message::JSON_VERSION;
use overrun_core::ports::ScheduleStore;
use overrun_core::schedule::watch::{DueTimes, Standing, judge, next_due_after};
use overrun_core::schedule::watched::{Declaration, Watched, watched};
use overrun_core::time::MS_PER_DAY;
use overrun_core::{EpochMs, TaskType};
use serde_json::{Value, json};

use super::schedules::{declaration_json, in_force_word};
use super::{Tables, rfc3339, schedule_json, warn_malformed};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;
use crate::suggest::nearest_names;

/// Days of starts shown against their due times: the learner's look-back.
const SHOWN_DAYS: i64 = 28;

pub struct ExplainTypeRequest {
    pub aws: AwsArgs,
    pub task_type: String,
    pub now: EpochMs,
    pub json: bool,
}

/// What `explain TASK` shows of a type.
struct Shown<'a> {
    task: &'a TaskType,
    learned: Option<&'a overrun_core::schedule::Schedule>,
    declared: Option<&'a Declaration>,
    /// The schedule the checker judges it by (none: unscheduled).
    in_force: Option<Watched<'a>>,
    /// Its starts of the shown days, sorted.
    starts: &'a [EpochMs],
    now: EpochMs,
}

/// One due time and the start that met it, if any.
struct DueRow {
    due: EpochMs,
    start: Option<EpochMs>,
}

pub fn run(request: &ExplainTypeRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    let today = request.now.div_euclid(MS_PER_DAY);
    let dates: Vec<i64> = (today - SHOWN_DAYS..=today).collect();
    let (learned, declared, mut starts) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let learned = tables.stats.stored_schedules().await.map_err(|e| aws.error(e))?;
        let declared = tables.stats.declared_schedules().await.map_err(|e| aws.error(e))?;
        let mut starts = tables.stats.starts_of(std::slice::from_ref(&task), &dates).await.map_err(|e| aws.error(e))?;
        warn_malformed(&learned.malformed);
        warn_malformed(&declared.malformed);
        warn_malformed(&starts.malformed);
        let learned = learned.items.into_iter().find(|(name, _)| *name == task).map(|(_, s)| s);
        let declared_one = declared.items.iter().find(|(name, _)| *name == task).map(|(_, d)| d.clone());
        if learned.is_none() && declared_one.is_none() && starts.items.is_empty() {
            let mut known: Vec<&str> = declared.items.iter().map(|(name, _)| name.as_str()).collect();
            known.sort();
            let hint = nearest_names(task.as_str(), &known).map(|n| format!(" Did you mean {n}?")).unwrap_or_default();
            return Err(CliError::NotFound(format!(
                "task type {task:?} has no schedule and no start in the last {SHOWN_DAYS} days in {}.{hint} Give a run id to explain a run: `overrun explain TASK RUN_ID`",
                tables.config.stats_table
            )));
        }
        Ok::<_, CliError>((learned, declared_one, starts.items.remove(&task).unwrap_or_default()))
    })?;
    starts.sort_unstable();
    starts.dedup();
    let shown = Shown {
        task: &task,
        learned: learned.as_ref(),
        declared: declared.as_ref(),
        in_force: watched(learned.as_ref(), declared.as_ref()),
        starts: &starts,
        now: request.now,
    };
    let written = if request.json { write_json(&shown, out) } else { write_human(&shown, out) };
    written.map_err(CliError::Output)
}

/// The due times of the shown days, each with the first start from its early margin to the next
/// due time's.
fn due_rows(schedule: &Watched<'_>, starts: &[EpochMs], now: EpochMs) -> Vec<DueRow> {
    let due = schedule.due_times(now - SHOWN_DAYS * MS_PER_DAY, now - schedule.grace_ms());
    due.iter()
        .enumerate()
        .map(|(i, &at)| {
            let until = due.get(i + 1).map_or(now, |&next| next - schedule.early_ms());
            let first = starts.partition_point(|&t| t < at - schedule.early_ms());
            DueRow { due: at, start: starts.get(first).copied().filter(|&t| t < until) }
        })
        .collect()
}

fn standing_words(schedule: &Watched<'_>, starts: &[EpochMs], now: EpochMs) -> (bool, String) {
    match judge(schedule, starts, None, schedule.not_before(), now) {
        Standing::Missed(missed) => (
            true,
            format!(
                "OVERDUE: due {} and nothing has started since ({} due time{} missed)",
                utc_minute(missed.first_due),
                missed.missed,
                if missed.missed == 1 { "" } else { "s" }
            ),
        ),
        _ => (
            false,
            match starts.last() {
                Some(&last) => format!("on time: last start {}", utc_minute(last)),
                None => "on time".to_owned(),
            },
        ),
    }
}

fn write_human(shown: &Shown<'_>, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let Shown { task, learned, declared, in_force, starts, now } = *shown;
    let Some(schedule) = in_force else {
        let why = match declared {
            Some(Declaration::Unscheduled { since }) => {
                format!("declared unscheduled {}: never paged for a missed start", utc_minute(*since))
            }
            _ => "no schedule learned: its starts follow none (or a week of them is not yet recorded); a missed start is never paged".to_owned(),
        };
        writeln!(out, "{task}: unscheduled, {why}")?;
        return writeln!(out, "  starts      {} in the last {SHOWN_DAYS} days", starts.len());
    };
    let words = schedule.words();
    writeln!(out, "{task}: runs {} ({})", words.pattern, words.source)?;
    if let (Some(Declaration::Scheduled(_)), Some(learned)) = (declared, learned) {
        writeln!(out, "  learned     {learned} (the declaration beats it)")?;
    }
    let usually =
        words.usually_within_ms.map(|ms| format!("; its starts came within {}", duration(ms as f64)));
    writeln!(
        out,
        "  grace       {} after each due time{}; a start up to {} early counts",
        duration(words.grace_ms as f64),
        usually.unwrap_or_default(),
        duration(schedule.early_ms() as f64)
    )?;
    writeln!(
        out,
        "  next due    {}",
        next_due_after(&schedule, now).map(utc_minute).unwrap_or_else(|| "—".into())
    )?;
    writeln!(out, "  standing    {}", standing_words(&schedule, starts, now).1)?;
    let rows = due_rows(&schedule, starts, now);
    writeln!(out, "\nDue times of the last {SHOWN_DAYS} days and the starts that met them, newest first:")?;
    for row in rows.iter().rev() {
        match row.start {
            Some(start) => writeln!(
                out,
                "  {}  started {}  ({} {})",
                utc_minute(row.due),
                utc_minute(start),
                duration((start - row.due).abs() as f64),
                if start >= row.due { "late" } else { "early" }
            )?,
            None => writeln!(out, "  {}  no start", utc_minute(row.due))?,
        }
    }
    let met: std::collections::BTreeSet<EpochMs> = rows.iter().filter_map(|r| r.start).collect();
    let others = starts.iter().filter(|t| !met.contains(t)).count();
    if others > 0 {
        writeln!(out, "  ({others} other starts in those days met no due time: re-runs, manual runs)")?;
    }
    Ok(())
}

fn write_json(shown: &Shown<'_>, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let Shown { task, learned, declared, in_force, starts, now } = *shown;
    let (overdue, standing) = match &in_force {
        Some(schedule) => standing_words(schedule, starts, now),
        None => (false, "unscheduled".to_owned()),
    };
    let rows = in_force.as_ref().map(|s| due_rows(s, starts, now)).unwrap_or_default();
    let value = json!({
        "version": JSON_VERSION,
        "task_type": task.as_str(),
        "in_force": in_force_word(declared, in_force.as_ref()),
        "learned": learned.map(schedule_json),
        "declared": declared.map(declaration_json),
        "next_due": in_force.as_ref().and_then(|s| next_due_after(s, now)).map(rfc3339),
        "overdue": overdue,
        "standing": standing,
        "due": rows.iter().map(|r| json!({
            "due": rfc3339(r.due),
            "start": r.start.map(rfc3339),
            "late_s": r.start.map(|s| (s - r.due) / 1_000),
        })).collect::<Vec<Value>>(),
        "starts": starts.iter().map(|&t| rfc3339(t)).collect::<Vec<_>>(),
    });
    writeln!(out, "{value}")
}
