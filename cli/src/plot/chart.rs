//! Lays a task's series out as shapes in pixel coordinates, for any backend to draw.

use overrun_core::notify::humanize::utc_date;
use overrun_core::time::MS_PER_DAY;
use overrun_core::{EpochMs, Level, RunStatus};

use super::font;
use super::series::TaskSeries;

pub type Rgb = (u8, u8, u8);

pub const BACKGROUND: Rgb = (255, 255, 255);
pub const AXIS: Rgb = (60, 60, 60);
pub const GRID: Rgb = (225, 225, 225);
pub const TEXT: Rgb = (30, 30, 30);
pub const RUN: Rgb = (90, 90, 90);
pub const FAILED: Rgb = (150, 60, 170);
pub const EXPECTED: Rgb = (31, 119, 180);
pub const BAND: Rgb = (255, 224, 178);
pub const UPPER: Rgb = (230, 120, 20);
pub const WARNING: Rgb = (230, 120, 20);
pub const CRITICAL: Rgb = (210, 30, 30);
pub const SHORT: Rgb = (20, 150, 80);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Rgb,
    },
    Line {
        x1: f64,
        y1: f64,
        x2: f64,
        y2: f64,
        color: Rgb,
        width: u32,
    },
    /// A run's own limit: a short dash at its start (`x`), at the limit (`y`).
    Tick {
        x: f64,
        y: f64,
        color: Rgb,
    },
    /// A dot; `ring` draws a circle around it (an alert).
    Dot {
        x: f64,
        y: f64,
        r: f64,
        fill: Rgb,
        ring: Option<Rgb>,
    },
    Text {
        x: f64,
        y: f64,
        text: String,
        anchor: Anchor,
        color: Rgb,
        large: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub shapes: Vec<Shape>,
}

const RIGHT: f64 = 20.0;
/// Space under the plot for the date labels and the x axis title.
const BOTTOM: f64 = 46.0;
/// Height of a row of small text (legend, axis titles).
const ROW: f64 = 18.0;
/// Closest two duration labels may sit, in pixels.
const LABEL_GAP: f64 = 22.0;

/// How durations map onto the y axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scale {
    /// Logarithmic when the limits span more than ×10 (one spike would squash the rest).
    #[default]
    Auto,
    Linear,
    Log,
}

impl std::str::FromStr for Scale {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Scale::Auto),
            "linear" => Ok(Scale::Linear),
            "log" => Ok(Scale::Log),
            other => Err(format!("unknown scale {other:?} (expected auto, linear or log)")),
        }
    }
}

/// Whether `scale` draws `series` on a log axis.
pub fn is_log(scale: Scale, series: &TaskSeries) -> bool {
    match scale {
        Scale::Linear => false,
        Scale::Log => true,
        Scale::Auto => {
            let uppers = series.steps.iter().map(|s| s.upper_ms).filter(|&u| u > 0.0);
            let (low, high) = uppers.fold((f64::INFINITY, 0.0f64), |(lo, hi), u| (lo.min(u), hi.max(u)));
            high > 10.0 * low
        }
    }
}

/// A duration unit that reads well for the plot's largest value.
fn unit(max_ms: f64) -> (f64, &'static str) {
    if max_ms < 2.0 * 60_000.0 {
        (1_000.0, "s")
    } else if max_ms < 3.0 * 3_600_000.0 {
        (60_000.0, "min")
    } else {
        (3_600_000.0, "h")
    }
}

/// A 1-2-5 step giving about `target` intervals over `span`.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = (span / target.max(1.0)).max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Where the plot area sits and how times and durations map onto it.
struct Frame {
    first: EpochMs,
    last: EpochMs,
    left: f64,
    top: f64,
    plot_w: f64,
    plot_h: f64,
    y_min: f64,
    y_max: f64,
    log: bool,
}

impl Frame {
    fn x(&self, t: EpochMs) -> f64 {
        self.left + (t - self.first) as f64 / (self.last - self.first).max(1) as f64 * self.plot_w
    }

    fn y(&self, ms: f64) -> f64 {
        let share = if self.log {
            let (low, high) = (self.y_min.log10(), self.y_max.log10());
            (ms.clamp(self.y_min, self.y_max).log10() - low) / (high - low)
        } else {
            ms.min(self.y_max) / self.y_max
        };
        self.top + self.plot_h - share * self.plot_h
    }

    fn bottom(&self) -> f64 {
        self.top + self.plot_h
    }
}

/// The y range: on a linear axis the band and nearly every run (a few extreme runs sit on the
/// top edge); on a log axis everything, down to the shortest run.
fn y_range(series: &TaskSeries, log: bool) -> (f64, f64) {
    let mut durations: Vec<f64> = series.points.iter().map(|p| p.duration_ms as f64).collect();
    durations.sort_by(f64::total_cmp);
    let band_max = series.steps.iter().map(|s| s.upper_ms).fold(0.0, f64::max);
    if log {
        let shortest =
            durations.iter().copied().chain(series.steps.iter().map(|s| s.expected_ms)).find(|&d| d > 0.0);
        let longest = durations.last().copied().unwrap_or(1.0).max(band_max);
        let low = (shortest.unwrap_or(1_000.0) * 0.8).max(100.0);
        return (low, (longest * 1.25).max(low * 10.0));
    }
    let p99 = durations
        .get(durations.len().saturating_sub(1).min(durations.len() * 99 / 100))
        .copied()
        .unwrap_or(1.0);
    (0.0, (p99.max(band_max) * 1.1).max(1.0))
}

/// The duration grid: (value in ms, label), no two labels closer than [`LABEL_GAP`].
fn duration_ticks(y_min: f64, y_max: f64, log: bool, plot_h: f64) -> Vec<(f64, String)> {
    if !log {
        let (unit_ms, unit_name) = unit(y_max);
        let step = nice_step(y_max / unit_ms, (plot_h / (2.0 * LABEL_GAP)).min(6.0));
        return (0..)
            .map(|i| f64::from(i) * step)
            .take_while(|value| value * unit_ms <= y_max)
            .map(|value| (value * unit_ms, format!("{} {unit_name}", trim_number(value))))
            .collect();
    }
    const SECOND: f64 = 1_000.0;
    let candidates = [0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0]
        .map(|s| s * SECOND)
        .into_iter()
        .chain([1.0, 2.0, 5.0, 10.0, 20.0, 30.0].map(|m| m * 60.0 * SECOND))
        .chain([1.0, 2.0, 3.0, 6.0, 12.0].map(|h| h * 3_600.0 * SECOND))
        .chain([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0].map(|d| d * 86_400.0 * SECOND));
    let pixels_per_decade = plot_h / (y_max.log10() - y_min.log10());
    let mut ticks: Vec<(f64, String)> = Vec::new();
    for ms in candidates.filter(|ms| (y_min..=y_max).contains(ms)) {
        let far_enough = ticks
            .last()
            .is_none_or(|&(last, _)| (ms.log10() - last.log10()) * pixels_per_decade >= LABEL_GAP);
        if far_enough {
            ticks.push((ms, short_duration(ms)));
        }
    }
    ticks
}

/// `500ms`, `30s`, `5m`, `2h`, `1d`: the log axis's round values.
fn short_duration(ms: f64) -> String {
    let seconds = ms / 1_000.0;
    if seconds < 1.0 {
        format!("{}ms", trim_number(ms))
    } else if seconds < 60.0 {
        format!("{}s", trim_number(seconds))
    } else if seconds < 3_600.0 {
        format!("{}m", trim_number(seconds / 60.0))
    } else if seconds < 86_400.0 {
        format!("{}h", trim_number(seconds / 3_600.0))
    } else {
        format!("{}d", trim_number(seconds / 86_400.0))
    }
}

fn text(x: f64, y: f64, text: impl Into<String>, anchor: Anchor, large: bool) -> Shape {
    Shape::Text { x, y, text: text.into(), anchor, color: TEXT, large }
}

/// How a legend entry's mark is drawn: as the plot draws what it names.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mark {
    Dot(Rgb),
    /// A run ringed in this colour.
    Ring(Rgb),
    Line(Rgb),
    /// A run's own limit: a short dash.
    Dash(Rgb),
    /// A run beyond the axis: at the edge under an arrow.
    Arrow,
}

/// The legend's entries: every mark the plot can show, each drawn differently.
fn legend_entries(own_limits: bool, clipped: bool, by_season: bool) -> Vec<(&'static str, Mark)> {
    let limit = match (own_limits, by_season) {
        (true, false) => "type's limit",
        (false, false) => "upper limit",
        (true, true) => "type's limit (weekday or weekend runs' on nights judged by season)",
        (false, true) => "upper limit (weekday or weekend runs' on nights judged by season)",
    };
    let mut entries = vec![
        ("run (duration at its start)", Mark::Dot(RUN)),
        ("failed or aborted run", Mark::Dot(FAILED)),
        ("expected", Mark::Line(EXPECTED)),
        (limit, Mark::Line(UPPER)),
    ];
    if own_limits {
        entries.push(("each run's own limit", Mark::Dash(UPPER)));
    }
    entries.extend([
        ("warning", Mark::Ring(WARNING)),
        ("critical", Mark::Ring(CRITICAL)),
        ("too short", Mark::Ring(SHORT)),
    ]);
    if clipped {
        entries.push(("beyond the axis (its duration)", Mark::Arrow));
    }
    entries
}

/// Width of a legend mark and the gap after it.
const MARK_W: f64 = 16.0;

/// The shapes of a mark whose box starts at `x`, centred on `y`.
fn mark_shapes(mark: Mark, x: f64, y: f64) -> Vec<Shape> {
    let centre = x + MARK_W / 2.0 - 2.0;
    match mark {
        Mark::Dot(fill) => vec![Shape::Dot { x: centre, y, r: 3.0, fill, ring: None }],
        Mark::Ring(ring) => vec![Shape::Dot { x: centre, y, r: 2.0, fill: RUN, ring: Some(ring) }],
        Mark::Line(color) => vec![Shape::Line { x1: x, y1: y, x2: x + MARK_W - 4.0, y2: y, color, width: 2 }],
        Mark::Dash(color) => vec![Shape::Tick { x: centre, y, color }],
        Mark::Arrow => arrow(centre, y - 4.0),
    }
}

/// An upward chevron whose tip is at (`x`, `y`).
fn arrow(x: f64, y: f64) -> Vec<Shape> {
    [-4.0, 4.0]
        .into_iter()
        .map(|side| Shape::Line { x1: x + side, y1: y + 5.0, x2: x, y2: y, color: AXIS, width: 1 })
        .collect()
}

/// The legend laid out in rows that fit between `left` and `right`, from `top`: its shapes and
/// the height it takes.
fn legend(entries: &[(&str, Mark)], left: f64, right: f64, top: f64) -> (Vec<Shape>, f64) {
    let mut shapes = Vec::new();
    let (mut x, mut row) = (left, 0.0);
    for (label, mark) in entries {
        let width = MARK_W + font::text_width(label, false) + 16.0;
        if x > left && x + width > right {
            x = left;
            row += 1.0;
        }
        let y = top + row * ROW;
        shapes.extend(mark_shapes(*mark, x, y + 8.0));
        shapes.push(text(x + MARK_W, y + 12.0, *label, Anchor::Start, false));
        x += width;
    }
    (shapes, (row + 1.0) * ROW)
}

pub fn layout(title: &str, series: &TaskSeries, width: u32, height: u32, scale: Scale) -> Chart {
    let (w, h) = (f64::from(width), f64::from(height));
    let log = is_log(scale, series);
    let own = series.points.iter().any(|p| p.own_limit_ms.is_some());
    let (y_min, y_max) = y_range(series, log);
    let clipped = series.points.iter().any(|p| p.duration_ms as f64 > y_max);
    // Header: the title, the legend in as many rows as the width needs, the y axis title.
    let title = font::fit(title, true, w - 20.0);
    let mut header = vec![text(10.0, 22.0, title, Anchor::Start, true)];
    let by_season = series.steps.iter().any(|step| step.season.is_some());
    let (legend_shapes, legend_height) =
        legend(&legend_entries(own, clipped, by_season), 10.0, w - 10.0, 32.0);
    header.extend(legend_shapes);
    // Room above the plot for the durations of runs beyond the axis.
    let top = 32.0 + legend_height + ROW + 6.0 + if clipped { ROW + 4.0 } else { 0.0 };
    let plot_h = (h - top - BOTTOM).max(10.0);
    let ticks = duration_ticks(y_min, y_max, log, plot_h);
    let widest = ticks.iter().map(|(_, label)| font::text_width(label, false)).fold(0.0, f64::max);
    let left = (widest + 14.0).max(40.0);
    let frame = Frame {
        first: series.first,
        last: series.last,
        left,
        top,
        plot_w: (w - left - RIGHT).max(10.0),
        plot_h,
        y_min,
        y_max,
        log,
    };
    let y_title = if log { "run duration (log scale)" } else { "run duration" };
    let y_title_at = top - 8.0 - if clipped { ROW } else { 0.0 };
    header.push(text(left, y_title_at, y_title, Anchor::Start, false));
    header.push(text(frame.left + frame.plot_w / 2.0, h - 6.0, "run start (UTC)", Anchor::Middle, false));

    let mut shapes = vec![Shape::Rect { x: 0.0, y: 0.0, w, h, fill: BACKGROUND }];
    shapes.extend(duration_grid(&frame, &ticks));
    shapes.extend(date_grid(&frame));
    shapes.extend(baseline_band(&frame, series));
    shapes.extend(own_limits(&frame, series));
    shapes.extend(runs(&frame, series));
    shapes.extend(beyond_the_axis(&frame, series));
    shapes.extend(axes(&frame));
    shapes.extend(header);
    Chart { width, height, shapes }
}

/// Horizontal grid lines with their duration labels.
fn duration_grid(frame: &Frame, ticks: &[(f64, String)]) -> Vec<Shape> {
    let mut shapes = Vec::new();
    for (ms, label) in ticks {
        let y = frame.y(*ms);
        shapes.push(Shape::Line {
            x1: frame.left,
            y1: y,
            x2: frame.left + frame.plot_w,
            y2: y,
            color: GRID,
            width: 1,
        });
        shapes.push(text(frame.left - 6.0, y + 4.0, label.clone(), Anchor::End, false));
    }
    shapes
}

/// Vertical grid lines at UTC midnights, every 1, 2, 5, 10… days, labelled with the date, as
/// many as fit side by side.
fn date_grid(frame: &Frame) -> Vec<Shape> {
    let days = (frame.last - frame.first) as f64 / MS_PER_DAY as f64;
    let label_width = font::text_width("2025-01-03", false) + 16.0;
    let fitting = (frame.plot_w / label_width).floor().max(1.0);
    let every = nice_step(days.max(1.0), fitting.min(6.0)).max(1.0) as i64;
    let mut shapes = Vec::new();
    let mut day = frame.first.div_euclid(MS_PER_DAY) + 1;
    while day * MS_PER_DAY <= frame.last {
        if day % every == 0 {
            let x = frame.x(day * MS_PER_DAY);
            shapes.push(Shape::Line {
                x1: x,
                y1: frame.top,
                x2: x,
                y2: frame.bottom(),
                color: GRID,
                width: 1,
            });
            // A label that would stick out past the plot's edges is left off; its line stays.
            let half = label_width / 2.0 - 8.0;
            if x - half >= frame.left - 8.0 && x + half <= frame.left + frame.plot_w + RIGHT {
                shapes.push(text(
                    x,
                    frame.bottom() + 16.0,
                    utc_date(day * MS_PER_DAY),
                    Anchor::Middle,
                    false,
                ));
            }
        }
        day += 1;
    }
    shapes
}
/// The shaded band between expected and upper, and the two lines as steps, night by night.
fn baseline_band(frame: &Frame, series: &TaskSeries) -> Vec<Shape> {
    let mut shapes = Vec::new();
    for s in &series.steps {
        let (x1, x2) = (frame.x(s.from), frame.x(s.to));
        let (top, bottom) = (frame.y(s.upper_ms), frame.y(s.expected_ms));
        shapes.push(Shape::Rect {
            x: x1,
            y: top,
            w: (x2 - x1).max(1.0),
            h: (bottom - top).max(1.0),
            fill: BAND,
        });
    }
    for pair in series.steps.windows(2).filter(|pair| pair[0].to == pair[1].from) {
        let x = frame.x(pair[1].from);
        for (a, b, color) in [
            (pair[0].expected_ms, pair[1].expected_ms, EXPECTED),
            (pair[0].upper_ms, pair[1].upper_ms, UPPER),
        ] {
            shapes.push(Shape::Line { x1: x, y1: frame.y(a), x2: x, y2: frame.y(b), color, width: 2 });
        }
    }
    for s in &series.steps {
        let (x1, x2) = (frame.x(s.from), frame.x(s.to));
        for (ms, color) in [(s.expected_ms, EXPECTED), (s.upper_ms, UPPER)] {
            shapes.push(Shape::Line { x1, y1: frame.y(ms), x2, y2: frame.y(ms), color, width: 2 });
        }
    }
    shapes
}

/// With recent runs, each run's own limit as a dash above (or below) its dot.
fn own_limits(frame: &Frame, series: &TaskSeries) -> Vec<Shape> {
    series
        .points
        .iter()
        .filter_map(|p| {
            p.own_limit_ms.map(|limit| Shape::Tick { x: frame.x(p.start), y: frame.y(limit), color: UPPER })
        })
        .collect()
}

/// One dot per run at its start; alerted and too-short runs ringed.
fn runs(frame: &Frame, series: &TaskSeries) -> Vec<Shape> {
    series
        .points
        .iter()
        .map(|p| {
            let fill = match p.status {
                RunStatus::Succeeded | RunStatus::Running => RUN,
                RunStatus::Failed | RunStatus::Aborted => FAILED,
            };
            let ring = match (p.level, p.too_short) {
                (Some(Level::Critical), _) => Some(CRITICAL),
                (Some(Level::Warning), _) => Some(WARNING),
                (None, true) => Some(SHORT),
                (None, false) => None,
            };
            Shape::Dot { x: frame.x(p.start), y: frame.y(p.duration_ms as f64), r: 2.0, fill, ring }
        })
        .collect()
}

/// Runs longer than the axis (a linear axis ends near the 99th percentile, so that one stuck
/// run does not squash the rest): an arrow over each at the top edge, and its duration above
/// it, left to right wherever a label fits beside the last one.
fn beyond_the_axis(frame: &Frame, series: &TaskSeries) -> Vec<Shape> {
    let mut shapes = Vec::new();
    let mut labels_end = f64::MIN;
    let right = frame.left + frame.plot_w;
    for p in series.points.iter().filter(|p| p.duration_ms as f64 > frame.y_max) {
        let x = frame.x(p.start);
        shapes.extend(arrow(x, frame.top - 12.0));
        let label = overrun_core::notify::humanize::duration(p.duration_ms as f64);
        let width = font::text_width(&label, false);
        let left = (x - width / 2.0).clamp(frame.left, right - width);
        if left >= labels_end + 6.0 {
            shapes.push(text(left, frame.top - 16.0, label, Anchor::Start, false));
            labels_end = left + width;
        }
    }
    shapes
}

fn axes(frame: &Frame) -> Vec<Shape> {
    let (right, bottom) = (frame.left + frame.plot_w, frame.bottom());
    vec![
        Shape::Line { x1: frame.left, y1: frame.top, x2: frame.left, y2: bottom, color: AXIS, width: 1 },
        Shape::Line { x1: frame.left, y1: bottom, x2: right, y2: bottom, color: AXIS, width: 1 },
    ]
}

fn trim_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_or_five_times_a_power_of_ten() {
        assert_eq!(nice_step(100.0, 5.0), 20.0);
        assert_eq!(nice_step(7.0, 5.0), 2.0);
        assert_eq!(nice_step(0.9, 5.0), 0.2);
        assert_eq!(trim_number(2.50), "2.5");
        assert_eq!(trim_number(40.0), "40");
    }

    use crate::plot::series::{BandStep, PlotPoint};

    const DAY: i64 = 86_400_000;

    /// Thirty days of one run a day, the limit stepping from `low_ms` up to 40 × `low_ms`.
    fn series(low_ms: f64) -> TaskSeries {
        let points = (0..30)
            .map(|d| PlotPoint {
                start: d * DAY,
                duration_ms: (low_ms * (1.0 + d as f64)) as u64,
                status: if d % 7 == 0 { RunStatus::Failed } else { RunStatus::Succeeded },
                level: (d == 20).then_some(Level::Warning),
                too_short: false,
                own_limit_ms: None,
            })
            .collect();
        let steps = (5..30)
            .map(|d| BandStep {
                from: d * DAY,
                to: (d + 1) * DAY,
                expected_ms: low_ms * d as f64,
                upper_ms: low_ms * (1.0 + d as f64 * 1.5),
                season: None,
            })
            .collect();
        TaskSeries { points, steps, first: 0, last: 30 * DAY, warnings: 1, criticals: 0 }
    }

    /// `series` with 200 more runs of a minute and its last `beyond` runs lasting hours (past its
    /// 99th percentile and its limits).
    fn with_runs_beyond_the_axis(mut series: TaskSeries, beyond: usize) -> TaskSeries {
        let extra: Vec<PlotPoint> =
            (0..200).map(|i| PlotPoint { start: i * DAY / 7, ..series.points[3].clone() }).collect();
        series.points.extend(extra);
        series.points.sort_by_key(|p| p.start);
        let count = series.points.len();
        for (i, point) in series.points[count - beyond..].iter_mut().enumerate() {
            point.duration_ms = (5 + i as u64) * 3_600_000;
        }
        series
    }

    /// (left, right, baseline) of every text.
    fn text_boxes(chart: &Chart) -> Vec<(f64, f64, f64, String)> {
        chart
            .shapes
            .iter()
            .filter_map(|shape| match shape {
                Shape::Text { x, y, text, anchor, large, .. } => {
                    let width = font::text_width(text, *large);
                    let left = match anchor {
                        Anchor::Start => *x,
                        Anchor::Middle => x - width / 2.0,
                        Anchor::End => x - width,
                    };
                    Some((left, left + width, *y, text.clone()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn nothing_is_clipped_or_overlaps_at_any_width_from_480() {
        let title =
            "nächtlicher-Export → Σλ: a rather long task type name, 30 runs, 1 warning (tailored k = 6)";
        for width in [480, 520, 600, 640, 800, 1024, 1200, 1600] {
            for (scale, drawn) in [
                (Scale::Linear, series(60_000.0)),
                (Scale::Log, series(60_000.0)),
                (Scale::Linear, with_runs_beyond_the_axis(series(60_000.0), 6)),
            ] {
                let chart = layout(title, &drawn, width, 400, scale);
                let boxes = text_boxes(&chart);
                for (left, right, baseline, text) in &boxes {
                    assert!(
                        *left >= 0.0 && *right <= f64::from(width),
                        "{text:?} at {left}..{right} in {width}"
                    );
                    assert!(*baseline > 10.0 && *baseline <= 400.0, "{text:?} at y {baseline}");
                }
                // Texts on the same line never overlap.
                for (i, a) in boxes.iter().enumerate() {
                    for b in &boxes[i + 1..] {
                        if (a.2 - b.2).abs() < 10.0 {
                            assert!(
                                a.1 <= b.0 || b.1 <= a.0,
                                "{:?} overlaps {:?} at width {width}",
                                a.3,
                                b.3
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_legend_names_every_mark_including_failed_runs() {
        let chart = layout("t", &series(60_000.0), 1200, 500, Scale::Linear);
        let texts: Vec<String> = text_boxes(&chart).into_iter().map(|b| b.3).collect();
        for label in ["failed or aborted run", "expected", "upper limit", "warning", "critical", "too short"]
        {
            assert!(texts.iter().any(|t| t == label), "{label} missing from {texts:?}");
        }
        assert!(texts.iter().any(|t| t == "run duration") && texts.iter().any(|t| t == "run start (UTC)"));
    }

    #[test]
    fn every_legend_entry_has_a_mark_of_its_own() {
        let entries = legend_entries(true, true, true);
        for (i, (label, mark)) in entries.iter().enumerate() {
            for (other, other_mark) in &entries[i + 1..] {
                assert_ne!(mark, other_mark, "{label} and {other} share a mark");
            }
        }
    }

    #[test]
    fn a_run_beyond_a_linear_axis_is_drawn_at_its_edge_under_an_arrow_with_its_duration() {
        // Limits up to 45 minutes, 230 runs, and one run of 5 hours: past the 99th percentile.
        let stuck = with_runs_beyond_the_axis(series(60_000.0), 1);
        let chart = layout("t", &stuck, 1200, 500, Scale::Linear);
        let texts: Vec<String> = text_boxes(&chart).into_iter().map(|b| b.3).collect();
        assert!(texts.iter().any(|t| t == "5h 00m"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "beyond the axis (its duration)"), "{texts:?}");
        let top_edge = chart.shapes.iter().filter_map(|shape| match shape {
            Shape::Dot { y, r, .. } if *r == 2.0 => Some(*y),
            _ => None,
        });
        let highest = top_edge.fold(f64::MAX, f64::min);
        let under_arrow = chart.shapes.iter().any(|shape| {
            matches!(shape, Shape::Line { y1, y2, width: 1, .. } if *y2 < highest && highest - *y1 < 20.0 && y1 > y2)
        });
        assert!(under_arrow, "an arrow over the clipped run");
        let plain = layout("t", &series(60_000.0), 1200, 500, Scale::Linear);
        let plain_texts: Vec<String> = text_boxes(&plain).into_iter().map(|b| b.3).collect();
        assert!(
            !plain_texts.iter().any(|t| t.starts_with("beyond the axis")),
            "only when a run is beyond it"
        );
    }

    #[test]
    fn the_axis_turns_logarithmic_when_the_limits_span_more_than_ten_times() {
        let mut spiky = series(60_000.0);
        assert!(!is_log(Scale::Auto, &spiky), "limits from 8.5 to 44.5 minutes");
        spiky.steps[3].upper_ms *= 20.0;
        assert!(is_log(Scale::Auto, &spiky));
        assert!(!is_log(Scale::Linear, &spiky));
        let ticks = duration_ticks(30_000.0, 7_200_000.0, true, 300.0);
        let labels: Vec<&str> = ticks.iter().map(|(_, label)| label.as_str()).collect();
        assert_eq!(labels.first(), Some(&"30s"));
        assert!(labels.contains(&"1h") && labels.contains(&"1m"), "{labels:?}");
        assert!(ticks.windows(2).all(|pair| pair[0].0 < pair[1].0));
    }
}
