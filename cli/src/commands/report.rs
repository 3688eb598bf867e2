//! `overrun report FILE -o report.html`: one self-contained page (no external file, script or
//! font) with the replay's summary, the task types that alerted most, a plot per task type, and
//! each scheduled type's due slots against its starts, missed starts ringed.

use crate::words::count;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use overrun_core::EpochMs;
use overrun_core::evaluation::replay::missed_starts::MissedEventKind;
use overrun_core::evaluation::replay::replay_runs;
use overrun_core::evaluation::replay::{ReplayConfig, ReplayOutcome};
use overrun_core::schedule::Schedule;
use overrun_core::schedule::learn::{LearnSettings, Learned, learn};
use overrun_core::{Run, TaskType};

use super::report_page;
use crate::error::CliError;
use crate::history::{ReadOptions, read_all_runs};
use crate::input::Source;
use crate::plot::chart::{self, Scale};
use crate::plot::svg::escape;
use crate::plot::{series, slots, svg};

pub struct ReportRequest {
    pub source: Source,
    pub read: ReadOptions,
    pub config: ReplayConfig,
    pub output: PathBuf,
    /// How many task types get a plot, those that alerted most first.
    pub plots: usize,
    /// How many of the noisiest task types the summary lists.
    pub top: usize,
    pub scale: Scale,
    /// One JSON document instead of the "wrote" line.
    pub json: bool,
}

/// One task type's line in the report.
struct TypeRow {
    task_type: TaskType,
    runs: usize,
    warnings: usize,
    criticals: usize,
}

pub fn run(request: &ReportRequest, out: &mut impl Write) -> Result<(), CliError> {
    let runs = read_all_runs(&request.source, &request.read)?;
    let outcome = replay_runs(request.config, &runs).map_err(CliError::invalid)?;

    let mut by_type: HashMap<&TaskType, Vec<Run>> = HashMap::new();
    for run in &runs {
        by_type.entry(run.task_type()).or_default().push(run.clone());
    }
    let mut alerts: HashMap<&TaskType, (usize, usize)> = HashMap::new();
    for alert in &outcome.alerts {
        let (warnings, criticals) = alerts.entry(&alert.task_type).or_default();
        match alert.level {
            overrun_core::Level::Warning => *warnings += 1,
            overrun_core::Level::Critical => *criticals += 1,
        }
    }
    let mut rows: Vec<TypeRow> = by_type
        .iter()
        .map(|(task_type, runs)| {
            let (warnings, criticals) = alerts.get(task_type).copied().unwrap_or_default();
            TypeRow { task_type: (*task_type).clone(), runs: runs.len(), warnings, criticals }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.warnings + b.criticals, b.runs)
            .cmp(&(a.warnings + a.criticals, a.runs))
            .then(a.task_type.cmp(&b.task_type))
    });

    let plotted: HashMap<&TaskType, usize> =
        rows.iter().take(request.plots).enumerate().map(|(index, row)| (&row.task_type, index)).collect();
    let plot_of = |task: &TaskType| plotted.get(task).copied();
    let mut page = String::new();
    page.push_str(&report_page::head(&request.source.name(), &request.config));
    page.push_str(&report_page::cards(&outcome));
    page.push_str(&report_page::noisiest(&outcome, request.top, &plot_of));
    page.push_str(&report_page::alerts(&outcome, &plot_of));
    page.push_str(&report_page::missed_starts(&outcome));
    page.push_str(&report_page::too_short(&outcome));
    page.push_str("<h2>Plots</h2>\n<p class=\"note\">Each task type's runs (a dot at its start, its duration up), its expected duration and limit night by night, and what alerted; the types that alerted most first.</p>\n");
    let drawn = rows.len().min(request.plots);
    for (index, row) in rows.iter().take(request.plots).enumerate() {
        let Some(series) =
            series::task_series(&by_type[&row.task_type], &request.config).map_err(CliError::invalid)?
        else {
            continue;
        };
        let title = format!(
            "{}: {}, {}, {} critical",
            row.task_type,
            count(series.points.len() as u64, "run"),
            count(series.warnings as u64, "warning"),
            series.criticals
        );
        let layout = chart::layout(&title, &series, 1100, 420, request.scale);
        page.push_str(&format!(
            "<section id=\"type-{index}\">\n<h3>{} <a class=\"note\" href=\"#task-types\">(all task types)</a></h3>\n{}</section>\n",
            escape(row.task_type.as_str()),
            svg::render(&layout)
        ));
    }
    let schedules = schedule_sections(&by_type, &outcome, request);
    if rows.len() > drawn {
        page.push_str(&format!(
            "<p class=\"note\">{} not drawn: raise <code>--plots</code> to draw them.</p>\n",
            count((rows.len() - drawn) as u64, "more task type")
        ));
    }
    page.push_str(&type_table(&rows, request.plots));
    page.push_str(&schedules);
    page.push_str("</body>\n</html>\n");
    std::fs::write(&request.output, page).map_err(CliError::Output)?;
    if request.json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "output": request.output.display().to_string(),
            "runs": runs.len(),
            "task_types": rows.len(),
            "alerts": outcome.alerts.len(),
            "plots": drawn,
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    writeln!(
        out,
        "wrote {} ({} of {}, {}, {})",
        request.output.display(),
        count(runs.len() as u64, "run"),
        count(rows.len() as u64, "task type"),
        count(outcome.alerts.len() as u64, "alert"),
        count(drawn as u64, "plot")
    )
    .map_err(CliError::Output)
}

/// Each type scheduled at the history's end (most missed starts first, as many as `--plots`):
/// its last four weeks of due slots and starts, the missed ones ringed.
fn schedule_sections(
    by_type: &HashMap<&TaskType, Vec<Run>>,
    outcome: &ReplayOutcome,
    request: &ReportRequest,
) -> String {
    let Some(horizon) = outcome.summary.horizon else { return String::new() };
    let policy = request.config.policy;
    let night = policy.night_start(policy.night_at_or_before(horizon));
    let settings = LearnSettings::checked_every(policy.check_interval().as_ms());
    let mut missed: HashMap<&TaskType, Vec<EpochMs>> = HashMap::new();
    for event in &outcome.missed {
        if let MissedEventKind::Missed { standing, .. } = &event.kind {
            missed.entry(&event.task_type).or_default().push(standing.latest_due);
        }
    }
    let mut scheduled: Vec<(&TaskType, Schedule, Vec<EpochMs>)> = by_type
        .iter()
        .filter_map(|(task, runs)| {
            let starts: Vec<EpochMs> = runs.iter().map(Run::start).filter(|&t| t < night).collect();
            match learn(&starts, night, &settings) {
                Learned::Scheduled(schedule) => {
                    Some((*task, schedule, runs.iter().map(Run::start).collect()))
                }
                Learned::Unscheduled(_) => None,
            }
        })
        .collect();
    if scheduled.is_empty() {
        return String::new();
    }
    let count = |task: &TaskType| missed.get(task).map_or(0, Vec::len);
    scheduled.sort_by(|a, b| count(b.0).cmp(&count(a.0)).then(a.0.cmp(b.0)));
    let mut html = format!(
        "<h2>Schedules</h2>\n<p class=\"note\">{} task types follow a schedule at the end of the history (learned from their starts, as the nightly job learns it): their due slots, starts and missed starts over the last four weeks.</p>\n",
        scheduled.len()
    );
    for (index, (task, schedule, starts)) in scheduled.iter().take(request.plots).enumerate() {
        let due_missed = missed.get(task).cloned().unwrap_or_default();
        let title = match due_missed.len() {
            1 => format!("{task}: {schedule}, 1 missed start reported"),
            n => format!("{task}: {schedule}, {n} missed starts reported"),
        };
        let chart = slots::layout(&title, schedule, starts, &due_missed, horizon, 28, (1100, 300));
        html.push_str(&format!("<section id=\"schedule-{index}\">\n{}</section>\n", svg::render(&chart)));
    }
    html
}

/// The task types, those that alerted most first, each linked to its plot when drawn.
fn type_table(rows: &[TypeRow], plots: usize) -> String {
    let mut html = format!(
        "<h2 id=\"task-types\">All task types</h2>\n<details><summary>show all {}, those that alerted most first, each linked to its plot</summary>\n<table>\n<tr><th>task type</th><th class=\"n\">runs</th><th class=\"n\">warning</th><th class=\"n\">critical</th></tr>\n",
        count(rows.len() as u64, "task type")
    );
    for (index, row) in rows.iter().enumerate() {
        let cell = report_page::type_cell(&row.task_type, (index < plots).then_some(index));
        html.push_str(&format!(
            "<tr><td>{cell}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>\n",
            row.runs, row.warnings, row.criticals
        ));
    }
    html.push_str("</table>\n</details>\n");
    html
}
