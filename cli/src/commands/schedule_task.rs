//! `overrun schedule set TASK EXPRESSION` / `--unscheduled` and `overrun schedule clear TASK`:
//! an operator's word on a type's schedule, which beats the learned one; stored where the checker
//! reads it, validated as the checker validates it again.

use overrun_aws::DynamoStatsStore;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::ports::ScheduleStore;
use overrun_core::schedule::declared::{DeclareError, Declared, PatternError, Zone};
use overrun_core::schedule::watched::Declaration;
use overrun_core::{EpochMs, TaskType};

use crate::commands::aws::{AwsArgs, runtime, stats_store};
use crate::error::CliError;
use crate::suggest::nearest_names;

/// The grace of a declared schedule when none is given: a start up to this late counts.
pub const DEFAULT_GRACE: &str = "15m";

pub struct DeclareRequest {
    pub task_type: String,
    pub expression: Option<String>,
    pub grace: String,
    pub timezone: String,
    pub unscheduled: bool,
    /// Allow a task type the table does not know.
    pub create: bool,
    pub now: EpochMs,
    pub aws: AwsArgs,
    /// One JSON document instead of the text.
    pub json: bool,
}

/// The declaration a request makes, validated (nothing is written when this fails).
pub fn build(request: &DeclareRequest) -> Result<(TaskType, Declaration), CliError> {
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    match (&request.expression, request.unscheduled) {
        (Some(_), true) => Err(CliError::invalid("give a schedule expression or --unscheduled, not both")),
        (None, false) => Err(CliError::invalid(
            "give a schedule: \"cron(15 */3 * * ? *)\", \"rate(1 hour)\" or a crontab line \"15 2 * * 1-5\"; or --unscheduled",
        )),
        (None, true) => Ok((task, Declaration::Unscheduled { since: request.now })),
        (Some(expression), false) => {
            let grace = crate::durations::parse_duration(&request.grace)
                .map_err(|e| CliError::invalid(format!("--grace: {e}")))?;
            let grace_ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
            if grace_ms <= 0 {
                return Err(CliError::invalid("--grace must be longer than zero"));
            }
            let zone = Zone::named(request.timezone.trim()).map_err(|e| declare_error(&e))?;
            let declared =
                Declared::new(expression, zone, grace_ms, request.now).map_err(|e| declare_error(&e))?;
            Ok((task, Declaration::Scheduled(Box::new(declared))))
        }
    }
}

fn declare_error(error: &DeclareError) -> CliError {
    let hint = match error {
        DeclareError::Pattern(PatternError::Unrecognised(_)) => {
            " (EventBridge \"cron(m h dom mon dow year)\" or \"rate(5 minutes)\", or a five-field crontab line)"
        }
        DeclareError::UnknownZone(_) => " (an IANA name such as Europe/Paris or America/New_York)",
        _ => "",
    };
    CliError::invalid(format!("{error}{hint}"))
}

/// What is said once a declaration is stored.
pub fn describe(task: &TaskType, declaration: &Declaration, now: EpochMs) -> String {
    match declaration {
        Declaration::Unscheduled { .. } => {
            format!(
                "{task}: declared unscheduled: never paged for a missed start (an open incident is resolved)"
            )
        }
        Declaration::Scheduled(declared) => format!(
            "{task}: declared schedule set: {declared}, grace {}; next due {}",
            duration(declared.grace_ms() as f64),
            declared.next_due(now).map(utc_minute).unwrap_or_else(|| "—".to_owned())
        ),
    }
}

/// The task types the stats table knows: with limits, an override, or a schedule.
async fn known_types(store: &DynamoStatsStore, aws: &AwsArgs) -> Result<Vec<String>, CliError> {
    let limits = store.all_limits().await.map_err(|e| aws.error(e))?;
    let learned = store.stored_schedules().await.map_err(|e| aws.error(e))?;
    let declared = store.declared_schedules().await.map_err(|e| aws.error(e))?;
    let mut names: Vec<String> = limits
        .items
        .iter()
        .map(|(task, _)| task.to_string())
        .chain(learned.items.iter().map(|(task, _)| task.to_string()))
        .chain(declared.items.iter().map(|(task, _)| task.to_string()))
        .collect();
    names.sort();
    names.dedup();
    Ok(names)
}

fn unknown_task(task: &str, known: &[String]) -> CliError {
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let hint = nearest_names(task, &names).map(|n| format!(" Did you mean {n}?")).unwrap_or_default();
    CliError::invalid(format!(
        "task type {task:?} has no baseline, override or schedule in the stats table.{hint} Pass --create to declare the schedule of a task type that has not run yet"
    ))
}

pub fn set(request: &DeclareRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let (task, declaration) = build(request)?;
    runtime()?.block_on(async {
        let store = stats_store(&request.aws).await?;
        if !request.create {
            let known = known_types(&store, &request.aws).await?;
            if !known.iter().any(|name| name == task.as_str()) {
                return Err(unknown_task(task.as_str(), &known));
            }
        }
        store.declare_schedule(&task, Some(&declaration)).await.map_err(|e| request.aws.error(e))
    })?;
    if request.json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "task_type": task.as_str(),
            "declared": crate::commands::inspect::schedules::declaration_json(&declaration),
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    writeln!(out, "{}", describe(&task, &declaration, request.now)).map_err(CliError::Output)
}

pub fn clear(
    task_type: &str,
    aws: &AwsArgs,
    json: bool,
    out: &mut impl std::io::Write,
) -> Result<(), CliError> {
    let task = TaskType::new(task_type).map_err(CliError::invalid)?;
    let learned = runtime()?.block_on(async {
        let store = stats_store(aws).await?;
        let declared = store.declared_schedules().await.map_err(|e| aws.error(e))?;
        if !declared.items.iter().any(|(name, _)| *name == task) {
            let names: Vec<&str> = declared.items.iter().map(|(name, _)| name.as_str()).collect();
            let hint = nearest_names(task.as_str(), &names)
                .map(|n| format!(" Did you mean {n}?"))
                .unwrap_or_default();
            return Err(CliError::NotFound(format!(
                "task type {task:?} has no declared schedule to clear.{hint}"
            )));
        }
        store.declare_schedule(&task, None).await.map_err(|e| aws.error(e))?;
        let learned = store.stored_schedules().await.map_err(|e| aws.error(e))?;
        Ok::<_, CliError>(learned.items.into_iter().find(|(name, _)| *name == task).map(|(_, s)| s))
    })?;
    if json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "task_type": task.as_str(),
            "cleared": true,
            "learned": learned.as_ref().map(crate::commands::inspect::schedule_json),
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    let now_follows = match learned {
        Some(schedule) => format!("its learned schedule applies again: {schedule}"),
        None => "it has no learned schedule: no missed start is judged until the nightly job learns one"
            .to_owned(),
    };
    writeln!(out, "{task}: declared schedule cleared; {now_follows}").map_err(CliError::Output)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z, a Thursday.
    const NOW: EpochMs = 1_767_225_600_000;

    fn request(expression: Option<&str>, grace: &str, timezone: &str, unscheduled: bool) -> DeclareRequest {
        DeclareRequest {
            task_type: "export".into(),
            expression: expression.map(str::to_owned),
            grace: grace.into(),
            timezone: timezone.into(),
            unscheduled,
            create: false,
            now: NOW,
            aws: AwsArgs { runs_table: None, stats_table: Some("stats".into()), endpoint_url: None },
            json: false,
        }
    }

    #[test]
    fn a_declaration_takes_an_expression_a_grace_and_a_time_zone() {
        let (task, declaration) =
            build(&request(Some("cron(15 */3 * * ? *)"), "20m", "Europe/Paris", false)).unwrap();
        let Declaration::Scheduled(declared) = &declaration else { panic!("scheduled") };
        assert_eq!((declared.grace_ms(), declared.zone().name()), (1_200_000, "Europe/Paris"));
        let said = describe(&task, &declaration, NOW);
        assert!(said.starts_with("export: declared schedule set: every 3 h at :15"), "{said}");
        assert!(said.contains("grace 20m 00s; next due 2026-01-01 02:15 UTC"), "{said}");
    }

    #[test]
    fn a_bad_expression_zone_or_grace_is_refused_saying_what_is_wrong() {
        let error =
            build(&request(Some("cron(15 */3 * * 8 *)"), "15m", "UTC", false)).unwrap_err().to_string();
        assert!(error.contains("day-of-week"), "{error}");
        let error = build(&request(Some("every day"), "15m", "UTC", false)).unwrap_err().to_string();
        assert!(error.contains("crontab"), "{error}");
        let error = build(&request(Some("0 2 * * *"), "15m", "Mars/Olympus", false)).unwrap_err().to_string();
        assert!(error.contains("Europe/Paris"), "{error}");
        let error = build(&request(Some("0 2 * * *"), "soon", "UTC", false)).unwrap_err().to_string();
        assert!(error.contains("--grace"), "{error}");
        assert!(build(&request(Some("0 2 * * *"), "0s", "UTC", false)).is_err());
        assert!(build(&request(Some("0 2 * * *"), "15m", "UTC", true)).is_err(), "both");
        assert!(build(&request(None, "15m", "UTC", false)).is_err(), "neither");
    }

    #[test]
    fn unscheduled_needs_no_expression() {
        let (_, declaration) = build(&request(None, DEFAULT_GRACE, "UTC", true)).unwrap();
        assert_eq!(declaration, Declaration::Unscheduled { since: NOW });
    }
}
