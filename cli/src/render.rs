//! Replay output: a summary and a table for people, or one JSON object per alert per line.

use std::io::{self, Write};

use overrun_core::EpochMs;
use overrun_core::evaluation::replay::missed_starts::{MissedEvent, MissedEventKind};
use overrun_core::evaluation::replay::{Alert, ReplayConfig, ReplayOutcome, ReplaySummary};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::notify::message::JSON_VERSION;
use overrun_core::notify::missed::incident_key;
use overrun_core::schedule::watch::Came;
use overrun_core::{Method, ShortFinish};
use serde::Serialize;

use overrun_core::notify::humanize::{duration, utc_date, utc_minute};

use crate::words::count;

/// One alert as a JSON line. Times are epoch seconds; durations are seconds.
#[derive(Serialize)]
struct AlertLine<'a> {
    version: u32,
    run_id: &'a str,
    task_type: &'a str,
    at: i64,
    level: &'static str,
    kind: &'static str,
    elapsed_s: f64,
    /// The baseline's figures; null for a limit without one (an operator's or the fallback).
    expected_s: Option<f64>,
    sigma_s: Option<f64>,
    n: Option<u64>,
    /// The baseline's upper limit (before an override, recent runs or a cohort's stretch).
    baseline_limit_s: Option<f64>,
    /// The run's own warning and critical limits when it was judged, and the one it crossed.
    warning_limit_s: f64,
    critical_limit_s: f64,
    crossed_limit_s: f64,
    run_start: f64,
    baseline_at: Option<f64>,
    method: &'static str,
    /// The recent runs the run's own limit weighed, newest first (empty: its type's limit).
    recent_s: Vec<f64>,
    /// With `--seasons`: the season whose runs its limits came from, when its type was judged by
    /// season (absent otherwise, so a replay without seasons prints what it always did).
    #[serde(skip_serializing_if = "Option::is_none")]
    season: Option<&'static str>,
}

/// One too-short completion as a JSON line: `level` "info", `kind` "too_short".
#[derive(Serialize)]
struct ShortLine<'a> {
    version: u32,
    run_id: &'a str,
    task_type: &'a str,
    at: i64,
    level: &'static str,
    kind: &'static str,
    duration_s: f64,
    expected_s: f64,
    floor_s: f64,
    sigma_s: f64,
    n: u64,
    run_start: f64,
    baseline_at: f64,
    method: &'static str,
}

fn short_line<'a>(short: &'a ShortFinish, method: &'static str) -> ShortLine<'a> {
    ShortLine {
        version: JSON_VERSION,
        run_id: short.run_id.as_str(),
        task_type: short.task_type.as_str(),
        at: short.at.div_euclid(1_000),
        level: "info",
        kind: "too_short",
        duration_s: short.duration_ms as f64 / 1_000.0,
        expected_s: short.baseline.expected_ms / 1_000.0,
        floor_s: short.floor_ms / 1_000.0,
        sigma_s: short.baseline.sigma_ms / 1_000.0,
        n: short.baseline.n,
        run_start: short.run_start as f64 / 1_000.0,
        baseline_at: short.baseline.computed_at as f64 / 1_000.0,
        method,
    }
}

/// A missed start or its "resolved" as a JSON line: `level` "missed", `kind` "missed" (severity
/// warning or critical) or "resolved".
#[derive(Serialize)]
struct MissedLine<'a> {
    version: u32,
    task_type: &'a str,
    at: i64,
    level: &'static str,
    kind: &'static str,
    severity: &'static str,
    incident: String,
    /// The first due time missed, epoch seconds.
    due: f64,
    missed: Option<usize>,
    last_start: Option<f64>,
    schedule: Option<String>,
    grace_s: Option<f64>,
    /// How the resolving start came: "late", "next_slot" or "later_slot".
    came: Option<&'static str>,
    late_by_s: Option<f64>,
    run_start: Option<f64>,
}

fn missed_line(event: &MissedEvent) -> MissedLine<'_> {
    let seconds = |ms: EpochMs| ms as f64 / 1_000.0;
    let base = |first_due: EpochMs| MissedLine {
        version: JSON_VERSION,
        task_type: event.task_type.as_str(),
        at: event.at.div_euclid(1_000),
        level: "missed",
        kind: "missed",
        severity: "info",
        incident: incident_key(&event.task_type, first_due),
        due: seconds(first_due),
        missed: None,
        last_start: None,
        schedule: None,
        grace_s: None,
        came: None,
        late_by_s: None,
        run_start: None,
    };
    match &event.kind {
        MissedEventKind::Missed { level, standing, schedule } => MissedLine {
            severity: level.as_str(),
            missed: Some(standing.missed),
            last_start: standing.last_start.map(seconds),
            schedule: Some(schedule.to_string()),
            grace_s: Some(seconds(schedule.grace_ms)),
            ..base(standing.first_due)
        },
        MissedEventKind::Resumed(resumed) => MissedLine {
            kind: "resolved",
            came: Some(match resumed.came {
                Came::Late { .. } => "late",
                Came::NextSlot { skipped, .. } if skipped > 1 => "later_slot",
                Came::NextSlot { .. } => "next_slot",
                Came::Unscheduled => "unscheduled",
                Came::Again => "again",
            }),
            late_by_s: match resumed.came {
                Came::Late { by_ms } => Some(seconds(by_ms)),
                _ => None,
            },
            run_start: Some(seconds(resumed.start)),
            ..base(resumed.first_due)
        },
    }
}

/// Alerts, too-short notices and missed starts, one JSON object a line, in time order (at equal
/// times: alerts, then notices, then missed starts).
pub fn json_lines(out: &mut impl Write, config: &ReplayConfig, outcome: &ReplayOutcome) -> io::Result<()> {
    let method = config.policy.method().name();
    let mut lines: Vec<(EpochMs, u8, String)> = Vec::new();
    for alert in &outcome.alerts {
        let line = AlertLine {
            version: JSON_VERSION,
            run_id: alert.run_id.as_str(),
            task_type: alert.task_type.as_str(),
            at: alert.at.div_euclid(1_000),
            level: alert.level.as_str(),
            kind: "overrun",
            elapsed_s: alert.elapsed_ms as f64 / 1_000.0,
            expected_s: alert.baseline().map(|b| b.expected_ms / 1_000.0),
            sigma_s: alert.baseline().map(|b| b.sigma_ms / 1_000.0),
            n: alert.baseline().map(|b| b.n),
            baseline_limit_s: alert.baseline().map(|b| b.upper_ms / 1_000.0),
            warning_limit_s: alert.thresholds.warning_ms / 1_000.0,
            critical_limit_s: alert.thresholds.critical_ms / 1_000.0,
            crossed_limit_s: alert.limit_ms / 1_000.0,
            run_start: alert.run_start as f64 / 1_000.0,
            baseline_at: alert.baseline().map(|b| b.computed_at as f64 / 1_000.0),
            method,
            recent_s: alert.recent_ms.iter().map(|&ms| ms as f64 / 1_000.0).collect(),
            season: alert.season.map(|season| season.as_str()),
        };
        lines.push((alert.at, 0, json_text(&line)?));
    }
    for short in &outcome.short_finishes {
        lines.push((short.at, 1, json_text(&short_line(short, method))?));
    }
    for event in &outcome.missed {
        lines.push((event.at, 2, json_text(&missed_line(event))?));
    }
    lines.sort_by_key(|(at, rank, _)| (*at, *rank));
    for (_, _, line) in lines {
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn json_text(value: &impl Serialize) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::other)
}

pub fn human(
    out: &mut impl Write,
    config: &ReplayConfig,
    outcome: &ReplayOutcome,
    top: usize,
) -> io::Result<()> {
    header(out, config)?;
    writeln!(out)?;
    summary_lines(out, config, outcome)?;
    noisiest(out, &outcome.summary, top)?;
    writeln!(out)?;
    alert_and_notice_lists(out, outcome)
}

/// What was replayed with: the method in words and the schedule.
pub fn method_words(config: &ReplayConfig) -> String {
    let policy = &config.policy;
    let exclusion = match config.exclusion {
        None => String::new(),
        Some(cap) if policy.method().exclusion_cap() == Some(cap) => String::new(),
        Some(ExclusionCap::EVERY_WARNED_RUN) => ", warned runs left out".to_owned(),
        Some(cap) => format!(", warned runs left out up to {}% of a window", cap.share() * 100.0),
    };
    match policy.method() {
        Method::Seed { k } => format!("seed (mean + {k}σ{exclusion})"),
        Method::Guarded { k } => format!(
            "guarded (mean + {k}σ, the slowest warned runs left out up to {}% of a window)",
            config.exclusion.map_or(0.0, ExclusionCap::share) * 100.0
        ),
        Method::LogNormal { k } => format!("lognormal (log-space prediction limit, k = {k}{exclusion})"),
        Method::Tailored { k } => {
            let recent = if config.recent.is_enabled() {
                format!(
                    "; each run's own limit also weighs its type's {} latest runs at {}%",
                    config.recent.count,
                    config.recent.weight * 100.0
                )
            } else {
                String::new()
            };
            format!(
                "tailored: for each task type, the limit that catches the most slowdowns for its false alerts, one false alert worth {k} caught slowdowns (k = {k}{exclusion}{recent})"
            )
        }
    }
}

/// What the replay did, in plain words: how each limit is learned and how often runs are
/// checked (the report's opening too).
pub fn settings_sentence(config: &ReplayConfig) -> String {
    let policy = &config.policy;
    format!(
        "each task type's limit learned every night at {:02}:00 UTC from its successful runs of the last {} days (once it has {}), and every running run checked against it every {}{}{}",
        policy.nightly_hour(),
        policy.window_days(),
        count(policy.min_samples(), "run"),
        duration(config.interval().as_ms() as f64),
        if config.cohorts { ", limits stretched to the pace of runs that started together" } else { "" },
        match &config.seasons {
            Some(rule) => format!(
                "; a type whose weekday and weekend runs differ is judged by its runs of the same season (weekends in {})",
                rule.zone().name()
            ),
            None => String::new(),
        },
    )
}

fn header(out: &mut impl Write, config: &ReplayConfig) -> io::Result<()> {
    // Plain words first; the method's own terms on the second line (docs/GLOSSARY.md).
    writeln!(out, "Overrun replay: {}", settings_sentence(config))?;
    writeln!(out, "  method      {}", method_words(config))
}

/// Runs, days covered, alerts, notices and the busiest day.
fn summary_lines(out: &mut impl Write, config: &ReplayConfig, outcome: &ReplayOutcome) -> io::Result<()> {
    let summary = &outcome.summary;
    let mut statuses = vec![format!("{} succeeded", summary.succeeded)];
    for (count, name) in
        [(summary.failed, "failed"), (summary.aborted, "aborted"), (summary.running, "running")]
    {
        if count > 0 {
            statuses.push(format!("{count} {name}"));
        }
    }
    writeln!(
        out,
        "  runs        {} ({}) of {}",
        summary.runs,
        statuses.join(", "),
        count(summary.task_types as u64, "task type")
    )?;
    if let (Some(first), Some(last)) = (summary.first_start, summary.horizon) {
        writeln!(
            out,
            "  covers      {:.1} days, {} to {}",
            summary.days_covered(),
            utc_date(first),
            utc_date(last)
        )?;
    }
    writeln!(
        out,
        "  alerts      {} ({} warning, {} critical), {:.2} per day",
        summary.alerts(),
        summary.warnings,
        summary.criticals,
        summary.alerts_per_day()
    )?;
    if config.short.is_enabled() {
        writeln!(
            out,
            "  too short   {} notices (info): succeeded runs below {:.0} % of their expected time, the first of each task type and day{}",
            summary.short_finishes,
            config.short.fraction() * 100.0,
            match summary.short_repeats {
                0 => String::new(),
                repeats => format!("; {repeats} more that day counted, not sent"),
            }
        )?;
    }
    let missed = &summary.missed;
    writeln!(
        out,
        "  missed      {} ({} warning, {} critical), {} resolved by a later start, on {} found scheduled (learned night by night)",
        count(missed.warnings + missed.criticals, "missed start"),
        missed.warnings,
        missed.criticals,
        missed.resolved,
        count(missed.scheduled_types, "task type")
    )?;
    if let Some((day, count_of_day)) = busiest_day(&outcome.alerts) {
        writeln!(out, "  busiest day {day} with {}", count(count_of_day as u64, "alert"))?;
    }
    if let Some(rule) = config.policy.method().outlier_rule()
        && summary.outliers_kept_out > 0
    {
        writeln!(
            out,
            "  outliers    {} of {} kept out of their windows: each alone past {}× the next longest run",
            count(summary.outliers_kept_out, "run"),
            count(summary.types_with_outliers as u64, "task type"),
            rule.factor
        )?;
    }
    if config.seasons.is_some() {
        writeln!(
            out,
            "  seasons     {} judged by weekday and weekend on {} (the others by one window); {} judged by its season's limits",
            count(summary.seasonal_types as u64, "task type"),
            count(summary.seasonal_nights, "night"),
            count(summary.short_by_season, "too-short run")
        )?;
    }
    unlearned_lines(out, config, summary)
}

/// Runs that started before their type had a baseline: judged by the fallback limit, or (with
/// none) not judged; and runs still running when the history ends.
fn unlearned_lines(out: &mut impl Write, config: &ReplayConfig, summary: &ReplaySummary) -> io::Result<()> {
    let why = format!("fewer than {} succeeded runs in their window", config.policy.min_samples());
    if summary.runs_by_fallback > 0 {
        let limit = config.fallback_limit_ms.map_or_else(String::new, duration);
        writeln!(
            out,
            "  no baseline {} of {} started with none ({why}): judged by the fallback limit, {limit}",
            count(summary.runs_by_fallback, "run"),
            count(summary.types_by_fallback as u64, "task type")
        )?;
    }
    if summary.runs_unjudged > 0 {
        writeln!(
            out,
            "  unjudged    {} of {} started with no baseline ({why}) and no fallback limit: not judged until their type had one",
            count(summary.runs_unjudged, "run"),
            count(summary.types_unjudged as u64, "task type")
        )?;
    }
    if summary.running > 0 {
        writeln!(
            out,
            "  open        {} still running when the history ends: judged only up to then",
            count(summary.running, "run")
        )?;
    }
    Ok(())
}

fn noisiest(out: &mut impl Write, summary: &ReplaySummary, top: usize) -> io::Result<()> {
    if !summary.noisiest.is_empty() {
        writeln!(out)?;
        writeln!(out, "Noisiest task types (alerts: warning + critical, of runs)")?;
        for task in summary.noisiest.iter().take(top) {
            let name = task.task_type.as_ref().map_or("", |t| t.as_str());
            writeln!(
                out,
                "  {:>5}  {name}  ({} + {}, of {})",
                task.warnings + task.criticals,
                task.warnings,
                task.criticals,
                count(task.runs, "run")
            )?;
        }
    }
    Ok(())
}

fn alert_and_notice_lists(out: &mut impl Write, outcome: &ReplayOutcome) -> io::Result<()> {
    let summary = &outcome.summary;
    if outcome.alerts.is_empty() && summary.runs_unjudged > 0 {
        writeln!(
            out,
            "No alerts among the runs judged; {} of {} were not judged at all (see \"unjudged\" above).",
            count(summary.runs_unjudged, "run"),
            count(summary.types_unjudged as u64, "task type")
        )?;
    } else if outcome.alerts.is_empty() {
        writeln!(out, "No alerts: no run outlived its limit at any check.")?;
    } else {
        writeln!(out, "Alerts")?;
        for alert in &outcome.alerts {
            writeln!(out, "  {}", alert_line(alert))?;
        }
    }
    if !outcome.missed.is_empty() {
        writeln!(out)?;
        writeln!(out, "Missed starts (a scheduled type that did not start by its due time and grace)")?;
        for event in &outcome.missed {
            writeln!(out, "  {}", missed_event_line(event))?;
        }
    }
    if !outcome.short_finishes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Finished too soon (info: did the work shrink?)")?;
        for short in &outcome.short_finishes {
            writeln!(out, "  {}", short_finish_line(short))?;
        }
    }
    Ok(())
}

fn short_finish_line(short: &ShortFinish) -> String {
    let b = &short.baseline;
    format!(
        "{}  info      {}  run {}: finished in {}, expected {}, floor {} (spread {} over {} runs)",
        utc_minute(short.at),
        short.task_type,
        short.run_id,
        duration(short.duration_ms as f64),
        duration(b.expected_ms),
        duration(short.floor_ms),
        duration(b.sigma_ms),
        b.n,
    )
}

fn missed_event_line(event: &MissedEvent) -> String {
    let level = match &event.kind {
        MissedEventKind::Missed { level, .. } => level.as_str(),
        MissedEventKind::Resumed(_) => "resolved",
    };
    format!("{}  {level:<8}  {}", utc_minute(event.at), missed_event_words(event))
}

/// What a missed-start message says, after its time and level: the type and what happened.
pub fn missed_event_words(event: &MissedEvent) -> String {
    match &event.kind {
        MissedEventKind::Missed { standing, schedule, .. } => format!(
            "{}: did not start, due {} ({}; {} missed in a row)",
            event.task_type,
            utc_minute(standing.first_due),
            schedule,
            standing.missed
        ),
        MissedEventKind::Resumed(resumed) => format!(
            "{}: {}",
            event.task_type,
            match resumed.came {
                Came::Late { by_ms } => format!("started {} late", duration(by_ms as f64)),
                Came::NextSlot { .. } | Came::Unscheduled | Came::Again => {
                    format!("started again; its run due {} never came", utc_minute(resumed.first_due))
                }
            }
        ),
    }
}

/// The UTC day with the most alerts (the earliest of equals).
pub fn busiest_day(alerts: &[Alert]) -> Option<(String, usize)> {
    // Alerts are in time order, so each day's alerts are contiguous.
    let mut best: Option<(String, usize)> = None;
    let day = |alert: &Alert| alert.at.div_euclid(overrun_core::time::MS_PER_DAY);
    for day_alerts in alerts.chunk_by(|a, b| day(a) == day(b)) {
        if best.as_ref().is_none_or(|(_, count)| day_alerts.len() > *count) {
            best = Some((utc_date(day_alerts[0].at), day_alerts.len()));
        }
    }
    best
}

fn alert_line(alert: &Alert) -> String {
    let recent = match alert.recent_ms.len() {
        0 => String::new(),
        1 => "; its own limit, with its latest run".to_owned(),
        runs => format!("; its own limit, with its {runs} latest runs"),
    };
    let head = format!(
        "{}  {:<8}  {}  run {}: running {}",
        utc_minute(alert.at),
        alert.level.as_str(),
        alert.task_type,
        alert.run_id,
        duration(alert.elapsed_ms as f64),
    );
    match alert.baseline() {
        Some(b) => format!(
            "{head}, expected {}, limit {} (spread {} over {} runs{recent})",
            duration(b.expected_ms),
            duration(alert.limit_ms),
            duration(b.sigma_ms),
            b.n,
        ),
        None => format!("{head}, limit {}: the {}{recent}", duration(alert.limit_ms), alert.limits.source),
    }
}
