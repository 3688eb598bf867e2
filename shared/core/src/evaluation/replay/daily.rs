//! Each task type's succeeded runs by day of end: the window a night's baseline reads.

use std::collections::VecDeque;

use crate::limits::nightly::readmitted;
use crate::stats::histogram::DurationHistogram;
use crate::stats::moments::WindowStats;

/// Exact moments of succeeded runs per day of end time, oldest first, with the durations of the
/// warned runs left out (when excluding). Only the window before the current night and the days
/// ahead of it (runs already seen that end later) are kept.
#[derive(Default)]
pub(super) struct DailyBuckets {
    days: VecDeque<(i64, DayBucket)>,
    /// Whether the method needs each day's histogram of durations.
    keep_histograms: bool,
}

#[derive(Default)]
struct DayBucket {
    stats: WindowStats,
    excluded: Vec<u64>,
}

impl DailyBuckets {
    pub(super) fn new(keep_histograms: bool) -> Self {
        Self { days: VecDeque::new(), keep_histograms }
    }

    fn bucket(&mut self, day: i64) -> &mut DayBucket {
        // Runs arrive in start order, so their end day is almost always the newest bucket.
        let position = self.days.iter().rposition(|&(d, _)| d <= day);
        let fresh = || DayBucket { stats: WindowStats::new(self.keep_histograms), excluded: Vec::new() };
        let index = match position {
            Some(i) if self.days[i].0 == day => i,
            Some(i) => {
                self.days.insert(i + 1, (day, fresh()));
                i + 1
            }
            None => {
                self.days.push_front((day, fresh()));
                0
            }
        };
        &mut self.days[index].1
    }

    pub(super) fn add(&mut self, day: i64, duration_ms: u64) {
        self.bucket(day).stats.push(duration_ms);
    }

    pub(super) fn add_excluded(&mut self, day: i64, duration_ms: u64) {
        self.bucket(day).excluded.push(duration_ms);
    }

    pub(super) fn drop_before(&mut self, day: i64) {
        while self.days.front().is_some_and(|&(d, _)| d < day) {
            self.days.pop_front();
        }
    }

    /// The window's statistics, with all but the slowest `cap` share of its runs counted again
    /// when more than that share was excluded.
    pub(super) fn window(&self, days: std::ops::Range<i64>, cap: f64) -> WindowStats {
        let mut stats = WindowStats::default();
        let mut excluded: Vec<u64> = Vec::new();
        let in_window = || self.days.iter().filter(|(d, _)| days.contains(d)).map(|(_, bucket)| bucket);
        for bucket in in_window() {
            stats.linear.merge(&bucket.stats.linear);
            stats.log.merge(&bucket.stats.log);
            excluded.extend_from_slice(&bucket.excluded);
        }
        if self.keep_histograms {
            stats.histogram =
                Some(DurationHistogram::merged(in_window().filter_map(|b| b.stats.histogram.as_ref())));
        }
        for &duration in readmitted(&mut excluded, stats.linear.count(), cap) {
            stats.push(duration);
        }
        stats
    }
}
