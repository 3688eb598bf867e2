//! `overrun status`: every running run, how much of its limit it has used, the level it has
//! reached and its alerts, riskiest first; runs that look stuck (past their critical limit, or
//! about to be deleted by the table's TTL) are flagged; and every scheduled type that is overdue
//! (a due time and its grace passed with no start since), with where its paging stands.

use crate::words::count;
use overrun_app::missed::{Overdue, overdue_types};
use overrun_app::situation::{ReadProblems, read_situation};
use overrun_core::detect::check::{RunningRun, Standing, assess_running};
use overrun_core::notify::delivery::DeliveryState;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::notify::message::{JSON_VERSION, where_ran};
use overrun_core::{EpochMs, Level};
use serde_json::{Value, json};

use super::{Tables, level_words, rfc3339, table, warn_malformed};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;

pub struct StatusRequest {
    pub aws: AwsArgs,
    pub now: EpochMs,
    pub json: bool,
}

/// One running run as the checker sees it now.
struct RunView<'a> {
    run: &'a RunningRun,
    standing: Standing,
    elapsed_ms: i64,
    flags: Vec<String>,
}

impl RunView<'_> {
    /// Riskiest first: the share of its limit used; muted and unjudged runs last.
    fn risk(&self) -> f64 {
        match &self.standing {
            Standing::Judged(judgement) => judgement.share_used(self.elapsed_ms),
            Standing::Muted { .. } => -1.0,
            Standing::WithoutLimits => -2.0,
        }
    }
}

pub fn run(request: &StatusRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let (tables, situation, problems, overdue) = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let mut problems = ReadProblems::default();
        let situation = read_situation(&tables.runs, &tables.stats, &mut problems).await;
        let overdue =
            overdue_types(&tables.stats, &tables.outbox, request.now).await.map_err(|e| aws.error(e))?;
        Ok::<_, CliError>((tables, situation, problems, overdue))
    })?;
    warn_malformed(&overdue.malformed);
    if let Some((_, error)) = problems.failures.into_iter().next() {
        return Err(aws.error(error));
    }
    warn_malformed(&problems.malformed);
    let settings = tables.config.check_settings();
    let retention_ms = tables.config.retention_ms();
    let standings =
        assess_running(request.now, &situation.running, &situation.limits, &situation.stretches, &settings);
    let mut views: Vec<RunView<'_>> = situation
        .running
        .iter()
        .zip(standings)
        .map(|(run, standing)| {
            let elapsed_ms = request.now - run.start;
            let flags = flags(&standing, elapsed_ms, retention_ms, request.now);
            RunView { run, standing, elapsed_ms, flags }
        })
        .collect();
    views.sort_by(|a, b| b.risk().total_cmp(&a.risk()).then(a.run.start.cmp(&b.run.start)));
    let written = if request.json {
        write_json(&views, &overdue.items, request.now, out)
    } else {
        write_human(&views, request.now, out).and_then(|()| write_overdue(&overdue.items, out))
    };
    written.map_err(CliError::Output)
}

/// What an operator should look at: a run past its critical limit whose finish event may have
/// been lost, and one the table's TTL is about to delete.
fn flags(standing: &Standing, elapsed_ms: i64, retention_ms: i64, now: EpochMs) -> Vec<String> {
    let mut flags = Vec::new();
    if let Standing::Judged(judgement) = standing
        && judgement.level_at(now - elapsed_ms, now) == Some(Level::Critical)
    {
        flags.push("stuck? past its critical limit: if it has finished, `overrun close` it".to_owned());
    }
    if elapsed_ms >= retention_ms {
        flags.push(format!(
            "past the retention ({}): the table's TTL deletes its item",
            duration(retention_ms as f64)
        ));
    }
    flags
}

fn alerts_words(run: &RunningRun) -> String {
    let words: Vec<String> = Level::ALL
        .into_iter()
        .filter(|&level| run.alerted.contains(level))
        .map(|level| {
            let pending = run.undelivered.iter().any(|(l, _)| *l == level);
            if pending { format!("{level} (not delivered yet)") } else { format!("{level} sent") }
        })
        .collect();
    if words.is_empty() { "—".to_owned() } else { words.join(", ") }
}

fn write_human(views: &[RunView<'_>], now: EpochMs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    if views.is_empty() {
        return writeln!(out, "no runs running at {}", utc_minute(now));
    }
    writeln!(out, "{} running at {}, riskiest first:", count(views.len() as u64, "run"), utc_minute(now))?;
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|view| {
            let (limit, used, level) = match &view.standing {
                Standing::Judged(j) => (
                    // A limit of its season's says so: a weekend run's limit may be a tenth of a
                    // weekday run's.
                    match j.season {
                        Some(season) => {
                            format!("{} ({})", duration(j.thresholds.warning_ms), season.as_str())
                        }
                        None => duration(j.thresholds.warning_ms),
                    },
                    format!("{:.0}%", 100.0 * j.share_used(view.elapsed_ms)),
                    level_words(j.level_at(view.run.start, now)).to_owned(),
                ),
                Standing::Muted { until } => {
                    ("—".into(), "—".into(), format!("muted until {}", utc_minute(*until)))
                }
                Standing::WithoutLimits => ("—".into(), "—".into(), "no limit yet".into()),
            };
            vec![
                view.run.task_type.to_string(),
                view.run.run_id.to_string(),
                utc_minute(view.run.start),
                duration(view.elapsed_ms as f64),
                limit,
                used,
                level,
                alerts_words(view.run),
            ]
        })
        .collect();
    table(out, &["TASK", "RUN", "STARTED", "ELAPSED", "LIMIT", "USED", "LEVEL", "ALERTS"], &rows)?;
    let flagged: Vec<&RunView<'_>> = views.iter().filter(|v| !v.flags.is_empty()).collect();
    if !flagged.is_empty() {
        writeln!(out)?;
        for view in flagged {
            for flag in &view.flags {
                writeln!(out, "! {} {}: {flag}", view.run.task_type, view.run.run_id)?;
            }
        }
    }
    Ok(())
}

/// What each overdue type's incident has sent: nothing yet, a warning, a critical, or nothing
/// more after its escalation (retired or renamed, perhaps).
fn paging_words(overdue: &Overdue) -> String {
    if overdue.muted {
        return "muted".to_owned();
    }
    let sent = |level: Level| {
        overdue.incident.as_ref().is_some_and(|i| *i.alert_state(level) != DeliveryState::Unclaimed)
    };
    match (sent(Level::Warning), sent(Level::Critical)) {
        _ if overdue.missed.has_stopped_paging() => {
            "stopped paging after its critical: retired or renamed? `overrun schedule set TASK --unscheduled`"
                .to_owned()
        }
        (_, true) => "critical sent".to_owned(),
        (true, false) => "warning sent".to_owned(),
        (false, _) => "not paged yet".to_owned(),
    }
}

fn write_overdue(overdue: &[Overdue], out: &mut impl std::io::Write) -> std::io::Result<()> {
    writeln!(out)?;
    if overdue.is_empty() {
        return writeln!(out, "no scheduled task type is overdue");
    }
    writeln!(
        out,
        "{} overdue (no start since a due time and its grace):",
        count(overdue.len() as u64, "scheduled type")
    )?;
    let rows: Vec<Vec<String>> = overdue
        .iter()
        .map(|o| {
            vec![
                o.task_type.to_string(),
                o.words.pattern.clone(),
                utc_minute(o.missed.first_due),
                o.missed.missed.to_string(),
                o.missed.last_start.map(utc_minute).unwrap_or_else(|| "none in 3 days".into()),
                paging_words(o),
            ]
        })
        .collect();
    table(out, &["TASK", "SCHEDULE", "DUE", "MISSED", "LAST START", "PAGING"], &rows)
}

fn overdue_json(o: &Overdue) -> Value {
    json!({
        "task_type": o.task_type.as_str(),
        "account": o.task_type.account(),
        "schedule": o.words.pattern,
        "schedule_from": o.words.source,
        "due": rfc3339(o.missed.first_due),
        "missed": o.missed.missed,
        "last_start": o.missed.last_start.map(rfc3339),
        "next_due": o.missed.next_due.map(rfc3339),
        "stopped_paging": o.missed.has_stopped_paging(),
        "muted": o.muted,
        "paging": paging_words(o),
    })
}

fn write_json(
    views: &[RunView<'_>],
    overdue: &[Overdue],
    now: EpochMs,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    let runs: Vec<Value> = views
        .iter()
        .map(|view| {
            let run = view.run;
            let (account, region) = where_ran(&run.task_type, Some(&run.run_id));
            let mut value = json!({
                "task_type": run.task_type.as_str(),
                "run_id": run.run_id.as_str(),
                "attempt": run.run_id.attempt().get(),
                "account": account,
                "region": region,
                "from": run.run_id.origin().map(ToString::to_string),
                "start": rfc3339(run.start),
                "elapsed_s": view.elapsed_ms as f64 / 1_000.0,
                "cohort": run.cohort.as_ref().map(|c| c.as_str()),
                "alerts": Level::ALL.into_iter().filter(|&l| run.alerted.contains(l)).map(|l| json!({
                    "level": l.as_str(),
                    "delivered": !run.undelivered.iter().any(|(u, _)| *u == l),
                })).collect::<Vec<_>>(),
                "flags": view.flags,
            });
            match &view.standing {
                Standing::Judged(j) => {
                    value["state"] = json!("judged");
                    value["warning_limit_s"] = json!(j.thresholds.warning_ms / 1_000.0);
                    value["critical_limit_s"] = json!(j.thresholds.critical_ms / 1_000.0);
                    value["share_used"] = json!(j.share_used(view.elapsed_ms));
                    value["level"] = json!(j.level_at(run.start, now).map(Level::as_str));
                    value["limit_source"] = json!(j.limits.source.to_string());
                    value["cohort_stretch"] = json!(j.cohort_stretch);
                    value["own_limit"] = json!(!j.recent_ms.is_empty());
                    value["season"] = json!(j.season.map(|season| season.as_str()));
                }
                Standing::Muted { until } => {
                    value["state"] = json!("muted");
                    value["muted_until"] = json!(rfc3339(*until));
                }
                Standing::WithoutLimits => value["state"] = json!("without_limits"),
            }
            value
        })
        .collect();
    let overdue: Vec<Value> = overdue.iter().map(overdue_json).collect();
    writeln!(
        out,
        "{}",
        json!({ "version": JSON_VERSION, "now": rfc3339(now), "running": runs, "overdue": overdue })
    )
}
