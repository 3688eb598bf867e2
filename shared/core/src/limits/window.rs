//! A night's window: its days of succeeded runs merged into the statistics a baseline reads, with
//! guarded exclusion of warned runs. The one assembly both the nightly job (from stored day
//! aggregates) and the replay (from its own days) use.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::stats::histogram::DurationHistogram;
use crate::stats::moments::{LogMoments, Moments, WindowStats};

/// Guarded exclusion: the largest share of a window that warned runs may keep out of it (the
/// slowest of them). Above 0 and at most 1; 1 keeps every warned run out. The cap keeps exclusion
/// from feeding on itself: each excluded run narrows the next limit, which warns more runs.
/// Counting every run (the seed method) is no cap at all: `Option<ExclusionCap>::None`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ExclusionCap(f64);

#[derive(Debug, Clone, PartialEq, Error)]
#[error("the exclusion cap must be a share of the window above 0 and at most 1, got {0}")]
pub struct ExclusionCapError(pub String);

impl ExclusionCap {
    /// Every warned run stays out.
    pub const EVERY_WARNED_RUN: Self = Self(1.0);
    /// A tenth of the window: the guarded method's.
    pub const TENTH: Self = Self(0.1);

    pub fn new(share: f64) -> Result<Self, ExclusionCapError> {
        if share > 0.0 && share <= 1.0 { Ok(Self(share)) } else { Err(ExclusionCapError(share.to_string())) }
    }

    pub fn share(self) -> f64 {
        self.0
    }

    /// Of a window's warned runs (`warned`) and its `counted` other runs, the durations to count
    /// again: all but the slowest `cap` share of the whole window.
    pub fn readmitted(self, warned: &mut [u64], counted: u64) -> &[u64] {
        let total = counted + warned.len() as u64;
        let allowed = (self.0 * total as f64).floor() as usize;
        if warned.len() <= allowed {
            return &[];
        }
        warned.sort_unstable();
        let back = warned.len() - allowed;
        &warned[..back]
    }
}

impl FromStr for ExclusionCap {
    type Err = ExclusionCapError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let share: f64 = text.trim().parse().map_err(|_| ExclusionCapError(text.to_owned()))?;
        Self::new(share)
    }
}

impl fmt::Display for ExclusionCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One day of one task type's succeeded runs, as a window reads it.
#[derive(Debug, Clone, Copy)]
pub struct WindowDay<'a> {
    /// The runs nobody was warned about (all of them when warned runs are not told apart).
    pub counted: &'a Moments,
    /// Their log-space moments, where kept (the replay keeps them; the stats table does not).
    pub log: Option<&'a LogMoments>,
    pub histogram: &'a DurationHistogram,
    /// The warned runs' durations.
    pub warned_ms: &'a [u64],
}

/// The statistics of a window of days: their counted runs merged, and their warned runs counted
/// again as far as `exclusion` allows (every one of them without it). The histogram is kept when
/// `keep_histogram`; log moments when every day has them.
pub fn assemble_window<'a>(
    days: impl IntoIterator<Item = WindowDay<'a>> + Clone,
    keep_histogram: bool,
    exclusion: Option<ExclusionCap>,
) -> WindowStats {
    let mut stats = WindowStats::default();
    let mut warned: Vec<u64> = Vec::new();
    let mut every_day_has_log = true;
    for day in days.clone() {
        stats.linear.merge(day.counted);
        match day.log {
            Some(log) => stats.log.merge(log),
            None => every_day_has_log = false,
        }
        warned.extend_from_slice(day.warned_ms);
    }
    if keep_histogram {
        stats.histogram = Some(DurationHistogram::merged(days.into_iter().map(|day| day.histogram)));
    }
    if !every_day_has_log {
        stats.log = LogMoments::default();
    }
    let counted_again = match exclusion {
        None => &warned[..],
        Some(cap) => cap.readmitted(&mut warned, stats.linear.count()),
    };
    for &duration in counted_again {
        stats.linear.push(duration);
        if every_day_has_log {
            stats.log.push(duration);
        }
        if let Some(histogram) = &mut stats.histogram {
            histogram.push(duration);
        }
    }
    stats
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readmission_counts_again_all_but_the_slowest_share() {
        let cap = |share| ExclusionCap::new(share).unwrap();
        let mut warned = [30, 10, 20];
        assert_eq!(cap(0.1).readmitted(&mut warned, 7), &[10, 20]);
        let mut warned = [30, 10, 20];
        assert_eq!(cap(0.3).readmitted(&mut warned, 7), &[] as &[u64]);
    }

    #[test]
    fn an_exclusion_cap_is_a_share_above_zero_and_at_most_one() {
        assert_eq!("0.1".parse::<ExclusionCap>().map(ExclusionCap::share), Ok(0.1));
        assert_eq!(ExclusionCap::new(1.0), Ok(ExclusionCap::EVERY_WARNED_RUN));
        for refused in ["0", "-0.1", "1.5", "NaN", "a tenth", ""] {
            let error = refused.parse::<ExclusionCap>().unwrap_err();
            assert!(error.to_string().contains("above 0 and at most 1"), "{refused}: {error}");
        }
    }

    fn day(counted: &[u64], warned: &[u64]) -> (Moments, LogMoments, DurationHistogram, Vec<u64>) {
        let mut log = LogMoments::default();
        let mut histogram = DurationHistogram::default();
        for &duration in counted {
            log.push(duration);
            histogram.push(duration);
        }
        (Moments::of(counted.iter().copied()), log, histogram, warned.to_vec())
    }

    #[test]
    fn a_window_counts_its_warned_runs_again_up_to_the_cap_in_every_statistic() {
        let days = [day(&[100, 110, 120, 130, 140], &[900]), day(&[105, 115, 125, 135], &[500])];
        let view = |with_log: bool| {
            days.iter().map(move |(counted, log, histogram, warned)| WindowDay {
                counted,
                log: with_log.then_some(log),
                histogram,
                warned_ms: warned,
            })
        };
        let mut direct = WindowStats::new(true);
        for duration in [100, 110, 120, 130, 140, 105, 115, 125, 135, 500] {
            direct.push(duration);
        }
        let cap = ExclusionCap::new(0.1).ok();
        assert_eq!(assemble_window(view(true), true, cap), direct, "11 runs, cap 0.1: the 900 stays out");
        let without_log = assemble_window(view(false), true, cap);
        assert_eq!(without_log.log, LogMoments::default(), "no log moments unless every day has them");
        assert_eq!((without_log.linear, without_log.histogram), (direct.linear, direct.histogram));
        assert_eq!(assemble_window(view(true), false, None).linear.count(), 11, "no cap: all count");
        assert_eq!(assemble_window(view(true), false, None).histogram, None);
    }
}
