//! Lays a task's series out as shapes in pixel coordinates, for any backend to draw.

use overrun_core::humanize::utc_date;
use overrun_core::time::MS_PER_DAY;
use overrun_core::{EpochMs, Level, RunStatus};

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

const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 40.0;

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
    let raw = (span / target).max(f64::MIN_POSITIVE);
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
    plot_w: f64,
    plot_h: f64,
    y_max: f64,
}

impl Frame {
    fn new(series: &TaskSeries, width: f64, height: f64) -> Self {
        // The y range covers the band and nearly every run; a few extreme runs sit on the top edge.
        let mut durations: Vec<f64> = series.points.iter().map(|p| p.duration_ms as f64).collect();
        durations.sort_by(f64::total_cmp);
        let p99 = durations
            .get(durations.len().saturating_sub(1).min(durations.len() * 99 / 100))
            .copied()
            .unwrap_or(1.0);
        let band_max = series.steps.iter().map(|s| s.upper_ms).fold(0.0, f64::max);
        Self {
            first: series.first,
            last: series.last,
            plot_w: (width - LEFT - RIGHT).max(10.0),
            plot_h: (height - TOP - BOTTOM).max(10.0),
            y_max: (p99.max(band_max) * 1.1).max(1.0),
        }
    }

    fn x(&self, t: EpochMs) -> f64 {
        LEFT + (t - self.first) as f64 / (self.last - self.first).max(1) as f64 * self.plot_w
    }

    fn y(&self, ms: f64) -> f64 {
        TOP + self.plot_h - (ms.min(self.y_max) / self.y_max) * self.plot_h
    }

    fn bottom(&self) -> f64 {
        TOP + self.plot_h
    }
}

pub fn layout(title: &str, series: &TaskSeries, width: u32, height: u32) -> Chart {
    let (w, h) = (f64::from(width), f64::from(height));
    let frame = Frame::new(series, w, h);
    let mut shapes = vec![Shape::Rect { x: 0.0, y: 0.0, w, h, fill: BACKGROUND }];
    shapes.extend(duration_grid(&frame));
    shapes.extend(date_grid(&frame));
    shapes.extend(baseline_band(&frame, series));
    shapes.extend(own_limits(&frame, series));
    shapes.extend(runs(&frame, series));
    let own = series.points.iter().any(|p| p.own_limit_ms.is_some());
    shapes.extend(axes_title_and_legend(&frame, title, own));
    Chart { width, height, shapes }
}

/// Horizontal grid lines with duration labels in a unit that reads well.
fn duration_grid(frame: &Frame) -> Vec<Shape> {
    let (unit_ms, unit_name) = unit(frame.y_max);
    let step = nice_step(frame.y_max / unit_ms, 5.0);
    let mut shapes = Vec::new();
    let mut value: f64 = 0.0;
    while value * unit_ms <= frame.y_max {
        let y = frame.y(value * unit_ms);
        shapes.push(Shape::Line { x1: LEFT, y1: y, x2: LEFT + frame.plot_w, y2: y, color: GRID, width: 1 });
        shapes.push(Shape::Text {
            x: LEFT - 6.0,
            y: y + 4.0,
            text: format!("{} {unit_name}", trim_number(value)),
            anchor: Anchor::End,
            color: TEXT,
            large: false,
        });
        value += step;
    }
    shapes
}

/// Vertical grid lines at UTC midnights, every 1, 2, 5, 10… days, labelled with the date.
fn date_grid(frame: &Frame) -> Vec<Shape> {
    let days = (frame.last - frame.first) as f64 / MS_PER_DAY as f64;
    let every = nice_step(days.max(1.0), 6.0).max(1.0) as i64;
    let mut shapes = Vec::new();
    let mut day = frame.first.div_euclid(MS_PER_DAY) + 1;
    while day * MS_PER_DAY <= frame.last {
        if day % every == 0 {
            let x = frame.x(day * MS_PER_DAY);
            shapes.push(Shape::Line { x1: x, y1: TOP, x2: x, y2: frame.bottom(), color: GRID, width: 1 });
            shapes.push(Shape::Text {
                x,
                y: frame.bottom() + 16.0,
                text: utc_date(day * MS_PER_DAY),
                anchor: Anchor::Middle,
                color: TEXT,
                large: false,
            });
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

fn axes_title_and_legend(frame: &Frame, title: &str, own_limits: bool) -> Vec<Shape> {
    let right = LEFT + frame.plot_w;
    let mut shapes = vec![
        Shape::Line { x1: LEFT, y1: TOP, x2: LEFT, y2: frame.bottom(), color: AXIS, width: 1 },
        Shape::Line { x1: LEFT, y1: frame.bottom(), x2: right, y2: frame.bottom(), color: AXIS, width: 1 },
        Shape::Text {
            x: LEFT,
            y: 20.0,
            text: title.to_owned(),
            anchor: Anchor::Start,
            color: TEXT,
            large: true,
        },
    ];
    let upper = if own_limits { "type's limit (band), each run's own (dash)" } else { "upper limit" };
    let legend = [
        ("runs (duration at start)", RUN),
        ("expected", EXPECTED),
        (upper, UPPER),
        ("warning", WARNING),
        ("critical", CRITICAL),
        ("too short", SHORT),
    ];
    let mut x = LEFT;
    for (label, color) in legend {
        shapes.push(Shape::Dot { x: x + 4.0, y: 36.0, r: 4.0, fill: color, ring: None });
        shapes.push(Shape::Text {
            x: x + 12.0,
            y: 40.0,
            text: label.to_owned(),
            anchor: Anchor::Start,
            color: TEXT,
            large: false,
        });
        x += 20.0 + 6.5 * label.len() as f64;
    }
    shapes
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
}
