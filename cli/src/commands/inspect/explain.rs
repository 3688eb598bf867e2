//! `overrun explain TASK RUN_ID`: why a run did or did not alert — the limits it is held to and
//! what they are made of (its type's window, its recent runs, its cohort's pace, an override),
//! the verdict of every check that saw it, and the messages sent about it.

use overrun_app::situation::{ReadProblems, judge_runs};
use overrun_core::detect::check::{Judgement, RunningRun, Standing, TickSpan, assess_running, tick_verdicts};
use overrun_core::detect::levels::AlertedLevels;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::notify::message::{JSON_VERSION, where_ran};
use overrun_core::records::RunRecord;
use overrun_core::{Attempt, EpochMs, Level, RunId, TaskType};
use serde_json::{Value, json};

use super::{
    Tables, delivery_words, level_words, named_run, outlier_json, outlier_words, rfc3339, warn_malformed,
};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;

pub struct ExplainRequest {
    pub aws: AwsArgs,
    pub task_type: String,
    pub run_id: String,
    /// The latest when `None`.
    pub attempt: Option<Attempt>,
    /// Where the run ran, when not the deployment's own account and region.
    pub origin: Option<overrun_core::Origin>,
    pub now: EpochMs,
    pub json: bool,
}

/// Everything the explanation says.
struct Explanation {
    record: RunRecord,
    /// How many attempts its run id has (re-runs under the same id).
    attempts: usize,
    start: EpochMs,
    standing: Standing,
    /// Until its end, or now.
    spans: Vec<TickSpan>,
    interval_ms: i64,
    method: String,
    min_samples: u64,
    window_days: u32,
}

pub fn run(request: &ExplainRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    let run_id = RunId::new(&request.run_id).map_err(CliError::invalid)?.from_origin(request.origin.clone());
    let explanation = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        let named = named_run(&tables, aws, &task, &run_id, request.attempt).await?;
        let Some((record, attempts)) = named else {
            return Err(CliError::NotFound(format!(
                "no run \"{run_id}\" of task type \"{task}\" in {} (runs are kept {} days after they end)",
                tables.config.runs_table, tables.config.retention_days
            )));
        };
        let run_id = record.run_id.clone();
        let Some(start) = record.start else {
            return Err(CliError::NotFound(format!(
                "run \"{run_id}\" of \"{task}\" has a finish but its start never arrived: it was never checked"
            )));
        };
        // Judged by what the checker reads for its running runs: its type's limits and its
        // cohort's pace.
        let mut problems = ReadProblems::default();
        let situation = judge_runs(vec![running_view(&record, start)], &tables.stats, &mut problems).await;
        if let Some((_, error)) = problems.failures.into_iter().next() {
            return Err(aws.error(error));
        }
        warn_malformed(&problems.malformed);
        let settings = tables.config.check_settings();
        let at = record.end.unwrap_or(request.now).min(request.now);
        let standing =
            assess_running(at, &situation.running, &situation.limits, &situation.stretches, &settings)
                .pop()
                .unwrap_or(Standing::WithoutLimits);
        let policy = tables.config.policy;
        let spans = match &standing {
            Standing::Judged(judgement) => {
                let (until, inclusive) = record.end.map_or((request.now, true), |end| (end, false));
                tick_verdicts(start, until, inclusive, policy.check_interval(), &judgement.thresholds)
            }
            _ => Vec::new(),
        };
        Ok(Explanation {
            record,
            attempts,
            start,
            standing,
            spans,
            interval_ms: policy.check_interval().as_ms(),
            method: policy.method().name().to_owned(),
            min_samples: policy.min_samples(),
            window_days: policy.window_days(),
        })
    })?;
    let written = if request.json {
        write_json(&explanation, request.now, out)
    } else {
        write_human(&explanation, request.now, out)
    };
    written.map_err(CliError::Output)
}

fn running_view(record: &RunRecord, start: EpochMs) -> RunningRun {
    let mut alerted = AlertedLevels::default();
    for (level, _) in &record.alerts {
        alerted.insert(*level);
    }
    RunningRun {
        task_type: record.task_type.clone(),
        run_id: record.run_id.clone(),
        start,
        alerted,
        undelivered: Vec::new(),
        cohort: record.cohort.clone(),
        recent_ms: record.recent_ms.clone(),
        season_recent_ms: record.season_recent_ms.clone(),
    }
}

/// One sentence: did it alert, and why (not).
fn verdict(e: &Explanation) -> String {
    let alerted: Vec<&str> = e.record.alerts.iter().map(|(level, _)| level.as_str()).collect();
    match &e.standing {
        Standing::Muted { until } => {
            format!("Not judged: its task type is muted until {}.", utc_minute(*until))
        }
        Standing::WithoutLimits => format!(
            "Not judged: its task type has no baseline yet (one needs at least {} succeeded runs in the last {} days), no override limit, and no fallback limit (OVERRUN_FALLBACK_LIMIT_S) is set.",
            e.min_samples, e.window_days
        ),
        Standing::Judged(_) if !alerted.is_empty() => format!("It alerted: {}.", alerted.join(" then ")),
        Standing::Judged(j) => {
            let reached = e.spans.iter().filter_map(|s| s.level).max();
            match (reached, e.record.end) {
                (Some(level), _) => format!(
                    "No alert is recorded, yet by today's limits a check saw it past its {level} limit: its limits were wider when it ran (they change each night), or the check that would have alerted failed (see `overrun alerts`)."
                ),
                (None, Some(end)) => format!(
                    "No alert: it finished after {}, within its limit of {}.",
                    duration((end - e.start) as f64),
                    duration(j.thresholds.warning_ms)
                ),
                (None, None) => format!(
                    "No alert yet: it is within its limit of {}; the first check after {} would warn.",
                    duration(j.thresholds.warning_ms),
                    utc_minute(e.start + j.thresholds.first_exceeding_elapsed_ms(Level::Warning))
                ),
            }
        }
    }
}

fn limit_parts(j: &Judgement, e: &Explanation) -> Vec<String> {
    let mut parts = Vec::new();
    // A run judged by its own limit is not held to its type's baseline as it is.
    let source = if j.recent_ms.is_empty() {
        j.limits.source.to_string()
    } else {
        format!("its own: the {} weighed with its recent runs", j.limits.source)
    };
    parts.push(format!(
        "limits: warning past {}, critical past {} ({source})",
        duration(j.thresholds.warning_ms),
        duration(j.thresholds.critical_ms),
    ));
    if let Some(season) = j.season {
        parts.push(format!(
            "season: its type's weekday and weekend runs differ, so it is judged by its type's {} runs alone ({} days back)",
            season.as_str(),
            season.look_back_days(e.window_days)
        ));
    }
    if let Some(b) = j.limits.baseline {
        let days = j.season.map_or(e.window_days, |season| season.look_back_days(e.window_days));
        let which = j.season.map_or(String::new(), |season| format!("{} ", season.as_str()));
        parts.push(format!(
            "baseline: {} succeeded {which}runs of the last {days} days, expected {}, σ {} (method {}, computed {})",
            b.n,
            duration(b.expected_ms),
            duration(b.sigma_ms),
            e.method,
            utc_minute(b.computed_at)
        ));
        if let Some(outlier) = b.outlier {
            parts.push(outlier_words(&outlier));
        }
    }
    if !j.recent_ms.is_empty() {
        let recent: Vec<String> = j.recent_ms.iter().map(|&ms| duration(ms as f64)).collect();
        parts.push(format!(
            "its own limit: the window's runs together with its type's {} latest runs before it started ({}), {:.0}% of the weight",
            j.recent_ms.len(),
            recent.join(", "),
            100.0 * j.recent_weight
        ));
    }
    if j.cohort_stretch > 1.0 {
        parts.push(format!(
            "cohort {}: its finished members ran ×{:.2} their usual time, so its limits stretch as much",
            e.record.cohort.as_ref().map(|c| c.as_str()).unwrap_or("?"),
            j.cohort_stretch
        ));
    } else if let Some(cohort) = &e.record.cohort {
        parts.push(format!("cohort {cohort}: not running slow as a whole (no stretch)"));
    }
    parts
}

fn write_human(e: &Explanation, now: EpochMs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let r = &e.record;
    match (r.end, r.status) {
        (Some(end), status) => writeln!(
            out,
            "{} {}: started {}, {} at {} after {}",
            r.task_type,
            r.run_id,
            utc_minute(e.start),
            status.map(|s| s.as_str()).unwrap_or("finished"),
            utc_minute(end),
            duration((end - e.start) as f64)
        )?,
        (None, _) => writeln!(
            out,
            "{} {}: running since {} ({})",
            r.task_type,
            r.run_id,
            utc_minute(e.start),
            duration((now - e.start) as f64)
        )?,
    }
    if e.attempts > 1 {
        writeln!(
            out,
            "Its id was run {} times: this is attempt {} (--attempt N shows another).",
            e.attempts,
            r.run_id.attempt()
        )?;
    }
    writeln!(out, "{}", verdict(e))?;
    if let Standing::Judged(j) = &e.standing {
        for part in limit_parts(j, e) {
            writeln!(out, "  {part}")?;
        }
        writeln!(
            out,
            "Checks every {}, as today's limits would have judged them (the checker judged each by its night's limits; the messages below are what it sent):",
            duration(e.interval_ms as f64)
        )?;
        if e.spans.is_empty() {
            writeln!(out, "  none: no check fell while it ran")?;
        }
        for span in &e.spans {
            let range = if span.ticks == 1 {
                utc_minute(span.first)
            } else {
                format!("{} – {}", utc_minute(span.first), utc_minute(span.last))
            };
            let verdict = match span.level {
                None => "would have been within its limit".to_owned(),
                Some(level) => format!("would have been past its {level} limit"),
            };
            writeln!(
                out,
                "  {range}  {} check{}  {verdict}",
                span.ticks,
                if span.ticks == 1 { "" } else { "s" }
            )?;
        }
    }
    let messages: Vec<(String, &overrun_core::records::ClaimRecord)> = r
        .alerts
        .iter()
        .map(|(level, claim)| (level.to_string(), claim))
        .chain(r.resolution.iter().map(|claim| ("resolved".to_owned(), claim)))
        .collect();
    if !messages.is_empty() {
        writeln!(out, "Messages:")?;
        for (kind, claim) in messages {
            let subject = claim.subject.as_deref().map(|s| format!(": {s}")).unwrap_or_default();
            writeln!(out, "  {kind}: {}{subject}", delivery_words(claim, now))?;
        }
    }
    Ok(())
}

fn write_json(e: &Explanation, now: EpochMs, out: &mut impl std::io::Write) -> std::io::Result<()> {
    let r = &e.record;
    let judged = match &e.standing {
        Standing::Judged(j) => json!({
            "state": "judged",
            "warning_limit_s": j.thresholds.warning_ms / 1_000.0,
            "critical_limit_s": j.thresholds.critical_ms / 1_000.0,
            "limit_source": j.limits.source.to_string(),
            "baseline": j.limits.baseline.map(|b| json!({
                "n": b.n, "expected_s": b.expected_ms / 1_000.0, "sigma_s": b.sigma_ms / 1_000.0,
                "baseline_limit_s": b.upper_ms / 1_000.0, "computed_at": rfc3339(b.computed_at),
                "outlier": b.outlier.map(|o| outlier_json(&o)),
            })),
            "recent_s": j.recent_ms.iter().map(|&ms| ms as f64 / 1_000.0).collect::<Vec<_>>(),
            "recent_weight": j.recent_weight,
            "cohort_stretch": j.cohort_stretch,
            "season": j.season.map(|season| season.as_str()),
        }),
        Standing::Muted { until } => json!({ "state": "muted", "muted_until": rfc3339(*until) }),
        Standing::WithoutLimits => json!({ "state": "without_limits" }),
    };
    let claims: Vec<Value> = r
        .alerts
        .iter()
        .map(|(level, claim)| (level.as_str(), claim))
        .chain(r.resolution.iter().map(|claim| ("resolved", claim)))
        .map(|(kind, claim)| {
            json!({
                "kind": kind,
                "delivery": claim.delivery(now).as_str(),
                "claimed_at": (claim.claimed_at > 0).then(|| rfc3339(claim.claimed_at)),
                "delivered_at": claim.delivered_at.map(rfc3339),
                "alert_id": claim.alert_id,
                "subject": claim.subject,
            })
        })
        .collect();
    let (account, region) = where_ran(&r.task_type, Some(&r.run_id));
    let value = json!({
        "version": JSON_VERSION,
        "task_type": r.task_type.as_str(),
        "run_id": r.run_id.as_str(),
        "attempt": r.run_id.attempt().get(),
        "account": account,
        "region": region,
        "from": r.run_id.origin().map(ToString::to_string),
        "attempts": e.attempts,
        "start": rfc3339(e.start),
        "end": r.end.map(rfc3339),
        "status": r.status.map(|s| s.as_str()),
        "cohort": r.cohort.as_ref().map(|c| c.as_str()),
        "verdict": verdict(e),
        "judged_by": judged,
        "checks": e.spans.iter().map(|s| json!({
            "first": rfc3339(s.first), "last": rfc3339(s.last), "checks": s.ticks,
            "level": level_words(s.level),
            // Re-judged by today's limits, not what the checker saw at the time.
            "reconstructed": true,
        })).collect::<Vec<_>>(),
        "messages": claims,
    });
    writeln!(out, "{value}")
}
