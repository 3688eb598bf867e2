//! The report's page, laid out for a person: the figures that matter as cards, then the noisiest
//! task types and the latest alerts, missed starts and too-short runs as wrapped tables (the
//! rest behind a "show all"), then the plots, each a link away from its row. Nothing is wider
//! than the page at 1280 px: long task names and run ids wrap.

use overrun_core::evaluation::replay::missed_starts::{MissedEvent, MissedEventKind};
use overrun_core::evaluation::replay::{Alert, ReplayConfig, ReplayOutcome};
use overrun_core::notify::humanize::{duration, utc_date, utc_minute};
use overrun_core::{ShortFinish, TaskType};

use crate::plot::svg::escape;
use crate::render;
use crate::words::count;

/// Rows a table shows before its "show all".
const LATEST: usize = 12;

pub fn head(source: &str, config: &ReplayConfig) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Overrun report: {source}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<h1>Overrun report</h1>\n<p class=\"lead\">What Overrun would have alerted on, and when, had it watched <b>{source}</b>: {settings}.</p>\n<p class=\"note\">Method: {method}. Replayed by overrun {version}.</p>\n",
        source = escape(source),
        settings = escape(&render::settings_sentence(config)),
        method = escape(&render::method_words(config)),
        version = env!("CARGO_PKG_VERSION"),
    )
}

const STYLE: &str = "body { font-family: 'DejaVu Sans', Verdana, sans-serif; margin: 0 auto; padding: 1em 16px 3em; max-width: 1180px; color: #1e1e1e; line-height: 1.4; }
h1 { margin-bottom: 0.2em; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
.lead { font-size: 17px; }
.note { color: #555; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 1em 0; }
.card { flex: 1 1 130px; border: 1px solid #ddd; border-radius: 8px; padding: 10px 14px; background: #fafafa; }
.card .figure { font-size: 26px; font-weight: bold; }
.card .label { color: #444; font-size: 14px; }
.card.warn .figure { color: #c05800; }
.card.crit .figure { color: #c01818; }
table { border-collapse: collapse; font-size: 14px; width: 100%; }
td, th { padding: 4px 8px; border-bottom: 1px solid #e6e6e6; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: #f3f3f3; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.when { white-space: nowrap; }
.critical { color: #c01818; font-weight: bold; }
.warning { color: #c05800; font-weight: bold; }
details { margin: 0.6em 0; }
summary { cursor: pointer; color: #1f5fa8; }
section { margin: 1.5em 0; }
section h3 { font-size: 15px; margin-bottom: 0.3em; overflow-wrap: anywhere; }
svg { max-width: 100%; height: auto; }
a { color: #1f5fa8; }
";

/// The figures a person reads first.
pub fn cards(outcome: &ReplayOutcome) -> String {
    let summary = &outcome.summary;
    let days = summary.days_covered();
    let alerts = summary.warnings + summary.criticals;
    let per_day = if days > 0.0 { alerts as f64 / days } else { 0.0 };
    let missed = summary.missed.warnings + summary.missed.criticals;
    let mut cards = vec![
        card(
            "",
            &summary.runs.to_string(),
            &format!("runs of {}", count(summary.task_types as u64, "task type")),
        ),
        card(
            "",
            &format!("{days:.0}"),
            &match (summary.first_start, summary.horizon) {
                (Some(first), Some(last)) => format!("days, {} to {}", utc_date(first), utc_date(last)),
                _ => "days".to_owned(),
            },
        ),
        card(
            if summary.criticals > 0 {
                "crit"
            } else if alerts > 0 {
                "warn"
            } else {
                ""
            },
            &alerts.to_string(),
            &format!(
                "alerts: {} warning, {} critical; {}",
                summary.warnings,
                summary.criticals,
                if per_day > 0.0 {
                    format!("one every {:.1} days", 1.0 / per_day)
                } else {
                    "none".to_owned()
                }
            ),
        ),
        card(
            if missed > 0 { "warn" } else { "" },
            &missed.to_string(),
            &format!(
                "missed starts, on {} found scheduled",
                count(summary.missed.scheduled_types, "task type")
            ),
        ),
        card("", &summary.short_finishes.to_string(), "too-short runs (did the work shrink?)"),
    ];
    if summary.seasonal_types > 0 {
        cards.push(card(
            "",
            &summary.seasonal_types.to_string(),
            &format!(
                "task types judged by season (weekday and weekend runs apart) on {}",
                count(summary.seasonal_nights, "night")
            ),
        ));
    }
    if let Some((day, alerts_that_day)) = render::busiest_day(&outcome.alerts) {
        cards.push(card("", &day, &format!("busiest day: {}", count(alerts_that_day as u64, "alert"))));
    }
    format!("<div class=\"cards\">\n{}</div>\n", cards.concat())
}

fn card(class: &str, figure: &str, label: &str) -> String {
    format!(
        "<div class=\"card {class}\"><div class=\"figure\">{}</div><div class=\"label\">{}</div></div>\n",
        escape(figure),
        escape(label)
    )
}

/// A task type's name, linked to its plot when it has one.
pub fn type_cell(task_type: &TaskType, plot: Option<usize>) -> String {
    let name = escape(task_type.as_str());
    match plot {
        Some(index) => format!("<a href=\"#type-{index}\">{name}</a>"),
        None => name,
    }
}

/// The task types that alerted most.
pub fn noisiest(outcome: &ReplayOutcome, top: usize, plot_of: &dyn Fn(&TaskType) -> Option<usize>) -> String {
    let noisiest = &outcome.summary.noisiest;
    if noisiest.is_empty() {
        return "<h2>Noisiest task types</h2>\n<p>No task type alerted.</p>\n".to_owned();
    }
    let mut html = String::from(
        "<h2>Noisiest task types</h2>\n<table>\n<tr><th>task type</th><th class=\"n\">alerts</th><th class=\"n\">warning</th><th class=\"n\">critical</th><th class=\"n\">runs</th></tr>\n",
    );
    for task in noisiest.iter().take(top) {
        let Some(name) = &task.task_type else { continue };
        html.push_str(&format!(
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            type_cell(name, plot_of(name)),
            task.warnings + task.criticals,
            task.warnings,
            task.criticals,
            task.runs
        ));
    }
    html.push_str("</table>\n");
    html
}

/// The latest alerts, newest first, the others behind "show all".
pub fn alerts(outcome: &ReplayOutcome, plot_of: &dyn Fn(&TaskType) -> Option<usize>) -> String {
    let header = "<tr><th>when (UTC)</th><th>level</th><th>task type</th><th>run</th><th class=\"n\">running</th><th class=\"n\">expected</th><th class=\"n\">limit</th></tr>\n";
    let row = |alert: &Alert| {
        format!(
            "<tr><td class=\"when\">{}</td><td class=\"{level}\">{level}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            utc_minute(alert.at).trim_end_matches(" UTC"),
            type_cell(&alert.task_type, plot_of(&alert.task_type)),
            escape(&format!("{}", alert.run_id)),
            duration(alert.elapsed_ms as f64),
            alert.baseline().map_or_else(|| "—".to_owned(), |b| duration(b.expected_ms)),
            match alert.season {
                Some(season) => format!("{} ({})", duration(alert.limit_ms), season.as_str()),
                None => duration(alert.limit_ms),
            },
            level = alert.level.as_str(),
        )
    };
    listed("Latest alerts", "alerts", header, outcome.alerts.iter().rev().map(row).collect())
}

/// The latest missed starts and their "resolved", newest first.
pub fn missed_starts(outcome: &ReplayOutcome) -> String {
    let header = "<tr><th>when (UTC)</th><th>level</th><th>task type and what happened</th></tr>\n";
    let row = |event: &MissedEvent| {
        let level = match &event.kind {
            MissedEventKind::Missed { level, .. } => level.as_str(),
            MissedEventKind::Resumed(_) => "resolved",
        };
        let what = render::missed_event_words(event);
        format!(
            "<tr><td class=\"when\">{}</td><td class=\"{level}\">{level}</td><td>{}</td></tr>\n",
            utc_minute(event.at).trim_end_matches(" UTC"),
            escape(&what)
        )
    };
    listed("Missed starts", "missed starts", header, outcome.missed.iter().rev().map(row).collect())
}

/// The latest runs that finished too soon, newest first.
pub fn too_short(outcome: &ReplayOutcome) -> String {
    let header = "<tr><th>when (UTC)</th><th>task type</th><th>run</th><th class=\"n\">took</th><th class=\"n\">expected</th></tr>\n";
    let row = |short: &ShortFinish| {
        format!(
            "<tr><td class=\"when\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            utc_minute(short.at).trim_end_matches(" UTC"),
            escape(short.task_type.as_str()),
            escape(&format!("{}", short.run_id)),
            duration(short.duration_ms as f64),
            match short.season {
                Some(season) => format!("{} ({})", duration(short.baseline.expected_ms), season.as_str()),
                None => duration(short.baseline.expected_ms),
            }
        )
    };
    listed(
        "Finished too soon",
        "too-short runs",
        header,
        outcome.short_finishes.iter().rev().map(row).collect(),
    )
}

/// A table of the first [`LATEST`] rows, the rest behind a `<details>`.
fn listed(title: &str, what: &str, header: &str, rows: Vec<String>) -> String {
    if rows.is_empty() {
        return format!("<h2>{title}</h2>\n<p>No {what}.</p>\n");
    }
    let mut html =
        format!("<h2>{title}</h2>\n<table>\n{header}{}</table>\n", rows[..rows.len().min(LATEST)].concat());
    if rows.len() > LATEST {
        html.push_str(&format!(
            "<details><summary>show all {} {what}</summary>\n<table>\n{header}{}</table>\n</details>\n",
            rows.len(),
            rows[LATEST..].concat()
        ));
    }
    html
}
