//! `overrun plot FILE --task NAME -o out.svg|png`.

use crate::words::count;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use overrun_core::evaluation::replay::ReplayConfig;

use crate::error::CliError;
use crate::history::{BadRows, Flow, ReadOptions, for_each_row};
use crate::input::Source;
use crate::plot::{chart, raster, series, svg};
use crate::suggest::nearest_names;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Svg,
    Png,
}

impl ImageFormat {
    /// From the output file's extension.
    pub fn of(path: &std::path::Path) -> Result<Self, CliError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(ImageFormat::Svg),
            Some("png") => Ok(ImageFormat::Png),
            _ => Err(CliError::invalid(format!(
                "--output {} must end in .svg or .png (the format follows the extension)",
                path.display()
            ))),
        }
    }
}

pub struct PlotRequest {
    pub source: Source,
    pub read: ReadOptions,
    pub task_type: String,
    pub output: PathBuf,
    pub format: ImageFormat,
    pub config: ReplayConfig,
    pub width: u32,
    pub height: u32,
    pub scale: chart::Scale,
    /// One JSON document instead of the "wrote" line.
    pub json: bool,
}

pub fn run(request: &PlotRequest, out: &mut impl Write) -> Result<(), CliError> {
    let mut runs = Vec::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for_each_row(&request.source, &request.read, &mut BadRows::default(), |row| {
        if row.task_type == request.task_type {
            runs.push(row.to_run()?);
        } else if let Some(count) = counts.get_mut(row.task_type.as_ref()) {
            *count += 1;
        } else {
            counts.insert(row.task_type.to_string(), 1);
        }
        Ok(Flow::Continue)
    })?;
    let Some(series) = series::task_series(&runs, &request.config).map_err(CliError::invalid)? else {
        return Err(CliError::invalid(unknown_task(&request.task_type, &request.source.name(), counts)));
    };
    let recent = request.config.recent;
    let title = format!(
        "{}: {}, {}, {} critical ({} k = {}{})",
        request.task_type,
        count(series.points.len() as u64, "run"),
        count(series.warnings as u64, "warning"),
        series.criticals,
        request.config.policy.method().name(),
        request.config.policy.method().k(),
        // The band is the type's limit; with recent runs each run's own limit moves around it.
        if recent.is_enabled() {
            format!(", recent {}@{}", recent.count, recent.weight)
        } else {
            String::new()
        }
    );
    let layout = chart::layout(&title, &series, request.width, request.height, request.scale);
    let file = std::fs::File::create(&request.output).map_err(CliError::Output)?;
    let mut file = std::io::BufWriter::new(file);
    match request.format {
        ImageFormat::Svg => file.write_all(svg::render(&layout).as_bytes()).map_err(CliError::Output)?,
        ImageFormat::Png => {
            raster::render(&layout, &mut file).map_err(|e| CliError::Output(std::io::Error::other(e)))?
        }
    }
    file.flush().map_err(CliError::Output)?;
    if request.json {
        let value = serde_json::json!({
            "version": overrun_core::notify::message::JSON_VERSION,
            "output": request.output.display().to_string(),
            "task_type": request.task_type,
            "runs": series.points.len(),
            "nights_with_a_baseline": series.steps.len(),
            "warnings": series.warnings,
            "criticals": series.criticals,
        });
        return writeln!(out, "{value}").map_err(CliError::Output);
    }
    writeln!(
        out,
        "wrote {} ({} of {}, {} with a baseline, {}, {} critical)",
        request.output.display(),
        count(series.points.len() as u64, "run"),
        request.task_type,
        count(series.steps.len() as u64, "night"),
        count(series.warnings as u64, "warning"),
        series.criticals
    )
    .map_err(CliError::Output)
}

/// No runs of the asked type: the nearest names in the file, else the busiest types.
fn unknown_task(task: &str, source: &str, counts: HashMap<String, u64>) -> String {
    let names: Vec<&str> = counts.keys().map(String::as_str).collect();
    if let Some(nearest) = nearest_names(task, &names) {
        return format!("no runs of task type {task:?} in {source}. Did you mean {nearest}?");
    }
    let mut busiest: Vec<(&String, &u64)> = counts.iter().collect();
    busiest.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    let listed: Vec<String> =
        busiest.iter().take(5).map(|(name, n)| format!("{name:?} ({n} runs)")).collect();
    format!("no runs of task type {task:?} in {source}; task types with the most runs: {}", listed.join(", "))
}
