//! Each task type's succeeded runs by day of end: the window a night's baseline reads.

use crate::time::Day;
use std::collections::VecDeque;

use crate::limits::window::{ExclusionCap, OutlierRule, WindowDay, assemble_window, keep_if_longest};
use crate::stats::histogram::DurationHistogram;
use crate::stats::moments::{LogMoments, Moments, WindowStats};

/// Succeeded runs per day of end time, oldest first, with the durations of the warned runs kept
/// apart (when excluding). Only the window before the current night and the days ahead of it
/// (runs already seen that end later) are kept.
#[derive(Default)]
pub(super) struct DailyBuckets {
    days: VecDeque<(Day, DayBucket)>,
    /// Whether the method needs each day's histogram of durations.
    keep_histograms: bool,
    /// Whether those histograms are built only when a window is read ([`DailyBuckets::settle`]):
    /// a season state's are read only on its type's seasonal nights.
    lazy_histograms: bool,
}

#[derive(Default)]
struct DayBucket {
    counted: Moments,
    log: LogMoments,
    histogram: DurationHistogram,
    warned: Vec<u64>,
    /// The longest two counted runs, longest first, as the day aggregates keep them.
    longest: Vec<u64>,
    /// With lazy histograms: the durations not yet in `histogram`.
    unbinned: Vec<u64>,
}

impl DayBucket {
    fn window_day(&self) -> WindowDay<'_> {
        WindowDay {
            counted: &self.counted,
            log: Some(&self.log),
            histogram: &self.histogram,
            warned_ms: &self.warned,
            longest_ms: &self.longest,
        }
    }
}

impl DailyBuckets {
    pub(super) fn new(keep_histograms: bool) -> Self {
        Self { days: VecDeque::new(), keep_histograms, lazy_histograms: false }
    }

    /// Buckets whose histograms are built only when a window is read.
    pub(super) fn with_lazy_histograms(keep_histograms: bool) -> Self {
        Self { lazy_histograms: true, ..Self::new(keep_histograms) }
    }

    /// Bins the durations of `days` not yet in their histograms, before a window reads them.
    pub(super) fn settle(&mut self, days: &std::ops::Range<Day>) {
        for (_, bucket) in self.days.iter_mut().filter(|(d, _)| days.contains(d)) {
            for duration_ms in bucket.unbinned.drain(..) {
                bucket.histogram.push(duration_ms);
            }
        }
    }

    fn bucket(&mut self, day: Day) -> &mut DayBucket {
        // Runs arrive in start order, so their end day is almost always the newest bucket.
        let position = self.days.iter().rposition(|&(d, _)| d <= day);
        let index = match position {
            Some(i) if self.days[i].0 == day => i,
            Some(i) => {
                self.days.insert(i + 1, (day, DayBucket::default()));
                i + 1
            }
            None => {
                self.days.push_front((day, DayBucket::default()));
                0
            }
        };
        &mut self.days[index].1
    }

    pub(super) fn add(&mut self, day: Day, duration_ms: u64) {
        let (keep_histograms, lazy) = (self.keep_histograms, self.lazy_histograms);
        let bucket = self.bucket(day);
        bucket.counted.push(duration_ms);
        bucket.log.push(duration_ms);
        match (keep_histograms, lazy) {
            (true, false) => bucket.histogram.push(duration_ms),
            (true, true) => bucket.unbinned.push(duration_ms),
            (false, _) => {}
        }
        keep_if_longest(&mut bucket.longest, duration_ms);
    }

    pub(super) fn add_warned(&mut self, day: Day, duration_ms: u64) {
        self.bucket(day).warned.push(duration_ms);
    }

    pub(super) fn drop_before(&mut self, day: Day) {
        while self.days.front().is_some_and(|&(d, _)| d < day) {
            self.days.pop_front();
        }
    }

    /// The window's statistics, assembled as the nightly job assembles them.
    pub(super) fn window(
        &self,
        days: std::ops::Range<Day>,
        exclusion: Option<ExclusionCap>,
        outliers: Option<OutlierRule>,
    ) -> WindowStats {
        let in_window =
            self.days.iter().filter(|(d, _)| days.contains(d)).map(|(_, bucket)| bucket.window_day());
        assemble_window(in_window, self.keep_histograms, exclusion, outliers)
    }
}
