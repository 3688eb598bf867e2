//! A scheduled type's last weeks at a glance: one column a day, the time of day upwards; its
//! expected slots (due time to due time plus grace) as bands, its starts as dots, and the due
//! times the replay reported missed ringed in red.

use overrun_core::EpochMs;
use overrun_core::schedule::Schedule;
use overrun_core::schedule::slots::due_times;
use overrun_core::time::{MS_PER_DAY, civil_date};

use super::chart::{AXIS, Anchor, BAND, CRITICAL, Chart, EXPECTED, GRID, Shape, TEXT};

const LEFT: f64 = 56.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 40.0;
const RIGHT: f64 = 16.0;

/// The chart of `days` days up to the one holding `last`: `schedule`'s slots, `starts`, and the
/// `missed` due times.
pub fn layout(
    title: &str,
    schedule: &Schedule,
    starts: &[EpochMs],
    missed: &[EpochMs],
    last: EpochMs,
    days: i64,
    (width, height): (u32, u32),
) -> Chart {
    let first_day = last.div_euclid(MS_PER_DAY) - days + 1;
    let (plot_w, plot_h) = (f64::from(width) - LEFT - RIGHT, f64::from(height) - TOP - BOTTOM);
    let column = plot_w / days as f64;
    let x_of = |t: EpochMs| LEFT + (t.div_euclid(MS_PER_DAY) - first_day) as f64 * column;
    // 00:00 at the bottom, 24:00 at the top.
    let y_of = |t: EpochMs| TOP + plot_h * (1.0 - t.rem_euclid(MS_PER_DAY) as f64 / MS_PER_DAY as f64);
    let mut shapes = vec![Shape::Text {
        x: LEFT,
        y: 20.0,
        // A long task type's name is cut with "…" rather than drawn past the edge.
        text: super::font::fit(title, true, f64::from(width) - LEFT - RIGHT),
        anchor: Anchor::Start,
        color: TEXT,
        large: true,
    }];
    for hour in (0..=24).step_by(6) {
        let y = TOP + plot_h * (1.0 - f64::from(hour) / 24.0);
        shapes.push(Shape::Line { x1: LEFT, y1: y, x2: LEFT + plot_w, y2: y, color: GRID, width: 1 });
        let text = format!("{hour:02}:00");
        shapes.push(Shape::Text {
            x: LEFT - 6.0,
            y: y + 4.0,
            text,
            anchor: Anchor::End,
            color: TEXT,
            large: false,
        });
    }
    let from = first_day * MS_PER_DAY;
    let to = (first_day + days) * MS_PER_DAY;
    for due in due_times(schedule, from, to - 1) {
        // The slot's band, cut at midnight.
        let end = (due + schedule.grace_ms).min((due.div_euclid(MS_PER_DAY) + 1) * MS_PER_DAY - 1);
        let (top, bottom) = (y_of(end), y_of(due));
        let h = (bottom - top).max(2.0);
        shapes.push(Shape::Rect {
            x: x_of(due) + 1.0,
            y: bottom - h,
            w: (column - 2.0).max(1.0),
            h,
            fill: BAND,
        });
    }
    for &start in starts.iter().filter(|&&t| (from..to).contains(&t)) {
        let x = x_of(start) + column / 2.0;
        shapes.push(Shape::Dot { x, y: y_of(start), r: 2.5, fill: EXPECTED, ring: None });
    }
    for &due in missed.iter().filter(|&&t| (from..to).contains(&t)) {
        let x = x_of(due) + column / 2.0;
        shapes.push(Shape::Dot { x, y: y_of(due), r: 2.0, fill: CRITICAL, ring: Some(CRITICAL) });
    }
    for day in (0..days).step_by((days / 7).max(1) as usize) {
        let x = LEFT + day as f64 * column;
        let text = civil_date(first_day + day)[5..].to_owned();
        shapes.push(Shape::Text {
            x,
            y: TOP + plot_h + 16.0,
            text,
            anchor: Anchor::Start,
            color: TEXT,
            large: false,
        });
    }
    let base = TOP + plot_h;
    shapes.push(Shape::Line { x1: LEFT, y1: base, x2: LEFT + plot_w, y2: base, color: AXIS, width: 1 });
    shapes.push(Shape::Text {
        x: LEFT + plot_w,
        y: base + 32.0,
        text: "day (UTC): bands are due slots (due time to grace), dots starts, red rings missed starts"
            .to_owned(),
        anchor: Anchor::End,
        color: TEXT,
        large: false,
    });
    Chart { width, height, shapes }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overrun_core::schedule::Weekdays;
    use overrun_core::time::MS_PER_HOUR;

    #[test]
    fn a_daily_schedule_draws_one_band_a_day_a_dot_per_start_and_a_ring_per_missed_start() {
        let schedule = Schedule {
            period_ms: MS_PER_DAY,
            offsets_ms: vec![2 * MS_PER_HOUR],
            weekdays: Weekdays::EVERY_DAY,
            grace_ms: 600_000,
            early_ms: 60_000,
            typical_lateness_ms: 1_000,
            largest_lateness_ms: 30_000,
            evidence: 14,
        };
        let last = 20_013 * MS_PER_DAY + 12 * MS_PER_HOUR;
        let starts: Vec<EpochMs> =
            (0..13).map(|d| (20_000 + d) * MS_PER_DAY + 2 * MS_PER_HOUR + 5_000).collect();
        let missed = [20_013 * MS_PER_DAY + 2 * MS_PER_HOUR];
        let chart = layout("etl", &schedule, &starts, &missed, last, 14, (800, 300));
        let count = |pred: fn(&Shape) -> bool| chart.shapes.iter().filter(|s| pred(s)).count();
        assert_eq!(count(|s| matches!(s, Shape::Rect { .. })), 14);
        assert_eq!(count(|s| matches!(s, Shape::Dot { ring: None, .. })), 13);
        assert_eq!(count(|s| matches!(s, Shape::Dot { ring: Some(_), .. })), 1);
    }
}
