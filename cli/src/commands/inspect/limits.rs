//! `overrun limits [TASK…]`: each task type's baseline and the limits the checker holds its runs
//! to now (its override applied), as the nightly job last computed them.

use overrun_core::Baseline;
use overrun_core::detect::check::TaskLimits;
use overrun_core::detect::overrides::{EffectiveLimits, effective_limits};
use overrun_core::limits::season::{EVIDENCE_THRESHOLD, Season, SeasonMode, judged_by_season};
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
    let seasons_on = tables.config.seasons.is_some();
    let rows: Vec<Row> = chosen
        .into_iter()
        .map(|record| {
            let limits = &record.limits;
            let by_season = seasons_on
                && judged_by_season(limits.seasons.as_ref(), limits.task_override.and_then(|o| o.seasons()));
            let seasons = by_season
                .then(|| Season::ALL.map(|season| effective_limits(limits.parts(Some(season)), &rules)));
            Row { record, effective: effective_limits(limits.parts(None), &rules), seasons }
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

/// One task type's limits: its own, and each season's when its runs are judged by season.
struct Row<'a> {
    record: &'a LimitsRecord,
    effective: Option<EffectiveLimits>,
    /// Indexed by [`Season::index`].
    seasons: Option<[Option<EffectiveLimits>; 2]>,
}

/// The cells of one line of the table: a type's own limits, or one of its seasons'.
fn cells(
    name: String,
    baseline: Option<&Baseline>,
    effective: Option<&EffectiveLimits>,
    record: &LimitsRecord,
) -> Vec<String> {
    vec![
        name,
        maybe_duration(baseline.map(|b| b.expected_ms)),
        maybe_duration(baseline.map(|b| b.sigma_ms)),
        maybe_duration(effective.map(|e| e.thresholds.warning_ms)),
        maybe_duration(effective.map(|e| e.thresholds.critical_ms)),
        baseline.map(|b| b.n.to_string()).unwrap_or_else(|| "—".into()),
        record.method.clone().unwrap_or_else(|| "—".into()),
        baseline.map(|b| utc_minute(b.computed_at)).unwrap_or_else(|| "—".into()),
        record.limits.task_override.as_ref().map(override_words).unwrap_or_else(|| "—".into()),
    ]
}

fn write_human(
    rows: &[Row<'_>],
    schedules: &BTreeMap<TaskType, Schedule>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if rows.is_empty() {
        return writeln!(
            out,
            "no task type has a baseline or an override yet: baselines appear after the first nightly run with enough succeeded runs"
        );
    }
    let mut lines: Vec<Vec<String>> = Vec::new();
    for row in rows {
        let record = row.record;
        lines.push(cells(
            record.task_type.to_string(),
            record.limits.baseline.as_ref(),
            row.effective.as_ref(),
            record,
        ));
        for (season, effective) in Season::ALL.into_iter().zip(row.seasons.iter().flatten()) {
            let baseline = record.limits.parts(Some(season)).baseline;
            lines.push(cells(format!("  {} runs", season.as_str()), baseline, effective.as_ref(), record));
        }
    }
    table(
        out,
        &["TASK", "EXPECTED", "σ", "LIMIT", "CRITICAL", "N", "METHOD", "COMPUTED", "OVERRIDE"],
        &lines,
    )?;
    for row in rows {
        let record = row.record;
        if let Some(outlier) = record.limits.baseline.and_then(|b| b.outlier) {
            writeln!(out, "\n{}: {}.", record.task_type, outlier_words(&outlier))?;
        }
        if row.seasons.is_some() {
            writeln!(out, "\n{}: {}.", record.task_type, season_words(&record.limits))?;
        }
    }
    let scheduled: Vec<(&TaskType, &Schedule)> =
        rows.iter().filter_map(|row| schedules.get_key_value(&row.record.task_type)).collect();
    if !scheduled.is_empty() {
        writeln!(out, "\nSchedules learned from each type's starts (a missed start is not paged yet):")?;
        for (task_type, schedule) in scheduled {
            writeln!(out, "  {task_type}: {}", schedule_words(schedule))?;
        }
    }
    if rows.iter().any(|row| row.record.limits.window.is_some()) {
        writeln!(
            out,
            "\nWith recent runs on, each running run of a tailored type is held to its own limit, from this window and its type's latest runs: `overrun status` shows it."
        )?;
    }
    Ok(())
}

/// Why a type's runs are judged by season.
fn season_words(limits: &TaskLimits) -> String {
    let forced = limits.task_override.and_then(|o| o.seasons()) == Some(SeasonMode::Seasonal);
    let evidence = limits.seasons.as_ref().map_or(0.0, |s| s.evidence);
    if forced {
        format!("judged by season, as its override says (its history's evidence: {evidence:.0})")
    } else {
        format!(
            "its weekday and weekend runs differ (evidence {evidence:.0}, more than {EVIDENCE_THRESHOLD:.0}): each run is judged by its own season's limits"
        )
    }
}

/// A season's limits for `--json`.
fn season_json(baseline: Option<&Baseline>, effective: Option<&EffectiveLimits>) -> Value {
    json!({
        "expected_s": baseline.map(|b| b.expected_ms / 1_000.0),
        "sigma_s": baseline.map(|b| b.sigma_ms / 1_000.0),
        "baseline_limit_s": baseline.map(|b| b.upper_ms / 1_000.0),
        "warning_limit_s": effective.map(|e| e.thresholds.warning_ms / 1_000.0),
        "critical_limit_s": effective.map(|e| e.thresholds.critical_ms / 1_000.0),
        "n": baseline.map(|b| b.n),
    })
}

fn write_json(
    rows: &[Row<'_>],
    schedules: &BTreeMap<TaskType, Schedule>,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let values: Vec<Value> = rows
        .iter()
        .map(|row| {
            let (record, effective) = (row.record, &row.effective);
            let baseline = record.limits.baseline.as_ref();
            let seasons = record.limits.seasons.as_ref().map(|seasons| {
                let mut value = json!({
                    "judged_by_season": row.seasons.is_some(),
                    "evidence": seasons.evidence,
                });
                for season in Season::ALL {
                    let effective = row.seasons.as_ref().and_then(|e| e[season.index()].as_ref());
                    value[season.as_str()] = season_json(seasons.of(season).baseline.as_ref(), effective);
                }
                value
            });
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
                "seasons": seasons,
            })
        })
        .collect();
    writeln!(out, "{}", Value::Array(values))
}
