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

/// A run a window kept out as a lone outlier: how long it ran, and how long the longest run the
/// window kept ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outlier {
    pub duration_ms: u64,
    pub next_longest_ms: u64,
}

impl Outlier {
    /// How many times the next longest run it lasted (∞ next to runs of 0 ms).
    pub fn times_next_longest(&self) -> f64 {
        self.duration_ms as f64 / self.next_longest_ms as f64
    }
}

/// Keeping a lone implausible run out of a window: when the window's longest run lasted more than
/// `factor` times its second longest, and the window holds at least `min_runs` runs, the longest
/// stays out. One bogus finish (a run whose start lay weeks back, never seen running) would
/// otherwise move a type's expected duration and limit by orders of magnitude for the two weeks
/// it stays in the window. Comparing with the second longest keeps a lasting change in: once two
/// runs are that long, neither is alone (docs/DETECTION.md, "The outlier rule").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierRule {
    pub factor: u64,
    pub min_runs: u64,
}

impl OutlierRule {
    /// Measured on the bundled traces (docs/DETECTION.md, "The outlier rule").
    pub const DEFAULT: Self = Self { factor: 100, min_runs: 10 };

    /// The outlier among a window of `runs` runs whose longest two are `longest` and
    /// `next_longest`, if the longest is one.
    pub fn outlier(&self, runs: u64, longest: u64, next_longest: u64) -> Option<Outlier> {
        let far = u128::from(longest) > u128::from(self.factor) * u128::from(next_longest);
        (runs >= self.min_runs && far)
            .then_some(Outlier { duration_ms: longest, next_longest_ms: next_longest })
    }
}

/// How many of a day's longest counted runs a window needs: the longest of the window and the
/// next longest, which may both come from one day.
pub const LONGEST_KEPT: usize = 2;

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
    /// The exact durations of the longest [`LONGEST_KEPT`] counted runs (fewer on a day with
    /// fewer runs), for the outlier rule.
    pub longest_ms: &'a [u64],
}

impl WindowDay<'_> {
    /// Whether it lists as many of its longest runs as it counts, up to [`LONGEST_KEPT`] (days
    /// rolled up before they were kept list none).
    pub fn knows_its_longest(&self) -> bool {
        self.longest_ms.len() as u64 == self.counted.count().min(LONGEST_KEPT as u64)
    }
}

/// The `LONGEST_KEPT` longest of `durations`, longest first.
pub fn longest_of(durations: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut longest = Vec::with_capacity(LONGEST_KEPT + 1);
    for duration in durations {
        keep_if_longest(&mut longest, duration);
    }
    longest
}

/// Adds `duration` to `longest` (longest first) if it is among the `LONGEST_KEPT` longest.
pub fn keep_if_longest(longest: &mut Vec<u64>, duration: u64) {
    let at = longest.partition_point(|&kept| kept >= duration);
    if at < LONGEST_KEPT {
        longest.insert(at, duration);
        longest.truncate(LONGEST_KEPT);
    }
}

/// The statistics of a window of days: their counted runs merged, and their warned runs counted
/// again as far as `exclusion` allows (every one of them without it); then, with `outliers`, a
/// lone outlier among those runs taken out of every statistic (and named in
/// [`WindowStats::outlier`]). The histogram is kept when `keep_histogram`; log moments when every
/// day has them.
pub fn assemble_window<'a>(
    days: impl IntoIterator<Item = WindowDay<'a>> + Clone,
    keep_histogram: bool,
    exclusion: Option<ExclusionCap>,
    outliers: Option<OutlierRule>,
) -> WindowStats {
    let mut stats = WindowStats::default();
    let mut warned: Vec<u64> = Vec::new();
    let mut every_day_has_log = true;
    let mut every_day_knows_its_longest = true;
    let mut longest: Vec<u64> = Vec::with_capacity(LONGEST_KEPT + 1);
    for day in days.clone() {
        stats.linear.merge(day.counted);
        match day.log {
            Some(log) => stats.log.merge(log),
            None => every_day_has_log = false,
        }
        warned.extend_from_slice(day.warned_ms);
        every_day_knows_its_longest &= day.knows_its_longest();
        for &duration in day.longest_ms {
            keep_if_longest(&mut longest, duration);
        }
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
        keep_if_longest(&mut longest, duration);
    }
    // A window whose days do not all list their longest runs (rolled up before they were kept)
    // cannot tell its outlier: it keeps every run, as before the rule.
    if let Some(rule) = outliers
        && every_day_knows_its_longest
        && let [first, second, ..] = longest[..]
        && let Some(outlier) = rule.outlier(stats.linear.count(), first, second)
    {
        keep_out(&mut stats, outlier, every_day_has_log);
    }
    stats
}

/// Takes `outlier` out of every statistic of `stats`, all or nothing: stored parts that do not
/// hold it (a corrupt item) leave the window as it was.
fn keep_out(stats: &mut WindowStats, outlier: Outlier, with_log: bool) {
    let duration = outlier.duration_ms;
    let Some(linear) = stats.linear.without(duration) else { return };
    let log = if with_log {
        match stats.log.without(duration) {
            Some(log) => log,
            None => return,
        }
    } else {
        stats.log
    };
    let histogram = match &stats.histogram {
        Some(histogram) => match histogram.without(duration) {
            Some(histogram) => Some(histogram),
            None => return,
        },
        None => None,
    };
    *stats = WindowStats { linear, log, histogram, outlier: Some(outlier) };
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

    /// One day's statistics, as the day aggregates and the replay keep them.
    struct Day {
        counted: Moments,
        log: LogMoments,
        histogram: DurationHistogram,
        warned: Vec<u64>,
        longest: Vec<u64>,
    }

    impl Day {
        fn view(&self, with_log: bool) -> WindowDay<'_> {
            WindowDay {
                counted: &self.counted,
                log: with_log.then_some(&self.log),
                histogram: &self.histogram,
                warned_ms: &self.warned,
                longest_ms: &self.longest,
            }
        }
    }

    fn day(counted: &[u64], warned: &[u64]) -> Day {
        let mut log = LogMoments::default();
        let mut histogram = DurationHistogram::default();
        for &duration in counted {
            log.push(duration);
            histogram.push(duration);
        }
        Day {
            counted: Moments::of(counted.iter().copied()),
            log,
            histogram,
            warned: warned.to_vec(),
            longest: longest_of(counted.iter().copied()),
        }
    }

    fn direct(durations: impl IntoIterator<Item = u64>) -> WindowStats {
        let mut stats = WindowStats::new(true);
        durations.into_iter().for_each(|duration| stats.push(duration));
        stats
    }

    const RULE: Option<OutlierRule> = Some(OutlierRule::DEFAULT);

    #[test]
    fn a_window_counts_its_warned_runs_again_up_to_the_cap_in_every_statistic() {
        let days = [day(&[100, 110, 120, 130, 140], &[900]), day(&[105, 115, 125, 135], &[500])];
        let view = |with_log: bool| days.iter().map(move |day| day.view(with_log));
        let direct = direct([100, 110, 120, 130, 140, 105, 115, 125, 135, 500]);
        let cap = ExclusionCap::new(0.1).ok();
        assert_eq!(
            assemble_window(view(true), true, cap, None),
            direct,
            "11 runs, cap 0.1: the 900 stays out"
        );
        let without_log = assemble_window(view(false), true, cap, None);
        assert_eq!(without_log.log, LogMoments::default(), "no log moments unless every day has them");
        assert_eq!((without_log.linear, without_log.histogram), (direct.linear, direct.histogram));
        assert_eq!(assemble_window(view(true), false, None, None).linear.count(), 11, "no cap: all count");
        assert_eq!(assemble_window(view(true), false, None, None).histogram, None);
    }

    const SECOND: u64 = 1_000;
    const THIRTY_DAYS: u64 = 30 * 86_400 * SECOND;

    /// Fourteen days of one run a day around 735 s.
    fn fortnight_of_735_s() -> Vec<u64> {
        (0..14).map(|i| (700 + 7 * i) * SECOND).collect()
    }

    #[test]
    fn a_lone_run_far_longer_than_the_rest_is_kept_out_of_the_window() {
        let healthy = fortnight_of_735_s();
        let mut days: Vec<Day> = healthy.iter().map(|&d| day(&[d], &[])).collect();
        days[13] = day(&[healthy[13], THIRTY_DAYS], &[]);
        let window = assemble_window(days.iter().map(|d| d.view(true)), true, None, RULE);
        let next_longest = 791 * SECOND;
        let kept_out = Outlier { duration_ms: THIRTY_DAYS, next_longest_ms: next_longest };
        assert_eq!(window, WindowStats { outlier: Some(kept_out), ..direct(healthy) });
        assert!(kept_out.times_next_longest() > 3_000.0);
        let counted = assemble_window(days.iter().map(|d| d.view(true)), true, None, None);
        assert_eq!(counted.linear.count(), 15, "without the rule it counts");
    }

    #[test]
    fn two_long_runs_are_a_new_normal_and_come_in() {
        let healthy = fortnight_of_735_s();
        let mut days: Vec<Day> = healthy.iter().map(|&d| day(&[d], &[])).collect();
        days[12] = day(&[healthy[12], 12_000 * SECOND], &[]);
        days[13] = day(&[healthy[13], 11_000 * SECOND], &[]);
        let window = assemble_window(days.iter().map(|d| d.view(true)), true, None, RULE);
        assert_eq!(window.outlier, None);
        assert_eq!(window.linear.count(), 16);
        // The same on one day: a day keeps its two longest.
        let one_day = [day(&healthy, &[]), day(&[12_000 * SECOND, 11_000 * SECOND], &[])];
        let window = assemble_window(one_day.iter().map(|d| d.view(true)), true, None, RULE);
        assert_eq!((window.outlier, window.linear.count()), (None, 16));
    }

    #[test]
    fn only_a_run_past_a_hundred_times_the_next_longest_in_a_window_of_ten_runs_is_an_outlier() {
        let rule = OutlierRule::DEFAULT;
        assert_eq!((rule.factor, rule.min_runs), (100, 10));
        let outlier = |duration_ms, next_longest_ms| Some(Outlier { duration_ms, next_longest_ms });
        assert_eq!(rule.outlier(10, 100_001, 1_000), outlier(100_001, 1_000));
        assert_eq!(rule.outlier(10, 100_000, 1_000), None, "exactly a hundred times is not past it");
        assert_eq!(rule.outlier(10, 99_000, 1_000), None, "a long run of a type whose runs vary is kept");
        assert_eq!(rule.outlier(9, 100_001, 1_000), None, "nine runs are too few to tell");
        assert_eq!(rule.outlier(10, 1, 0), outlier(1, 0));
        assert_eq!(rule.outlier(10, 0, 0), None);
        assert_eq!(rule.outlier(10, u64::MAX, u64::MAX / 100 + 1), None, "no overflow");
        let nine: Vec<Day> = (0..8).map(|i| day(&[700 + i], &[])).chain([day(&[THIRTY_DAYS], &[])]).collect();
        let window = assemble_window(nine.iter().map(|d| d.view(true)), true, None, RULE);
        assert_eq!((window.outlier, window.linear.count()), (None, 9));
    }

    #[test]
    fn a_warned_run_counted_again_can_be_the_outlier_and_one_the_cap_keeps_out_is_not_counted() {
        let healthy = fortnight_of_735_s();
        let days = [day(&healthy, &[THIRTY_DAYS])];
        let view = || days.iter().map(|d| d.view(true));
        let window = assemble_window(view(), true, None, RULE);
        assert_eq!(window.outlier.map(|o| o.duration_ms), Some(THIRTY_DAYS), "counted again, then kept out");
        assert_eq!(window.linear, Moments::of(healthy.iter().copied()));
        // The cap keeps it out already: the rule then compares the runs counted.
        let capped = assemble_window(view(), true, Some(ExclusionCap::TENTH), RULE);
        assert_eq!((capped.outlier, capped.linear), (None, Moments::of(healthy.iter().copied())));
    }

    #[test]
    fn a_window_with_a_day_that_does_not_list_its_longest_runs_keeps_every_run() {
        let mut days = [day(&fortnight_of_735_s(), &[]), day(&[THIRTY_DAYS], &[])];
        days[0].longest.clear();
        let window = assemble_window(days.iter().map(|d| d.view(true)), true, None, RULE);
        assert_eq!((window.outlier, window.linear.count()), (None, 15));
        // Nor does a stored longest run that its day's statistics do not hold move anything.
        let mut days = [day(&fortnight_of_735_s(), &[]), day(&[THIRTY_DAYS], &[])];
        days[1].longest = vec![THIRTY_DAYS * 2];
        let window = assemble_window(days.iter().map(|d| d.view(true)), true, None, RULE);
        assert_eq!((window.outlier, window.linear.count()), (None, 15));
    }

    #[test]
    fn a_day_keeps_its_two_longest_runs_longest_first() {
        assert_eq!(longest_of([5, 9, 1, 9, 3]), vec![9, 9]);
        assert_eq!(longest_of([5]), vec![5]);
        assert_eq!(longest_of([]), Vec::<u64>::new());
    }

    /// The rule as it reads: the window's runs after exclusion, the longest left out when it is
    /// alone past a hundred times the next longest in a window of ten runs or more.
    fn naive_window(days: &[(Vec<u64>, Vec<u64>)], cap: Option<ExclusionCap>) -> WindowStats {
        let counted: Vec<u64> = days.iter().flat_map(|(c, _)| c.iter().copied()).collect();
        let mut warned: Vec<u64> = days.iter().flat_map(|(_, w)| w.iter().copied()).collect();
        let mut runs = counted.clone();
        match cap {
            None => runs.extend(&warned),
            Some(cap) => runs.extend_from_slice(cap.readmitted(&mut warned, counted.len() as u64)),
        }
        runs.sort_unstable();
        let outlier = match runs[..] {
            [.., next, longest] if runs.len() >= 10 && u128::from(longest) > 100 * u128::from(next) => {
                runs.pop();
                Some(Outlier { duration_ms: longest, next_longest_ms: next })
            }
            _ => None,
        };
        WindowStats { outlier, ..direct(runs) }
    }

    proptest::proptest! {
        #[test]
        fn an_assembled_window_equals_its_runs_recounted_without_their_lone_outlier(
            days in proptest::collection::vec(
                (
                    proptest::collection::vec(proptest::prop_oneof![1u64..2_000_000, 0u64..3_000_000_000], 0..8),
                    proptest::collection::vec(0u64..3_000_000_000, 0..2),
                ),
                1..6,
            ),
            cap in proptest::prop_oneof![proptest::strategy::Just(None), proptest::strategy::Just(Some(0.1))],
        ) {
            let cap = cap.and_then(|c| ExclusionCap::new(c).ok());
            let stored: Vec<Day> = days.iter().map(|(counted, warned)| day(counted, warned)).collect();
            let window = assemble_window(stored.iter().map(|d| d.view(true)), true, cap, RULE);
            proptest::prop_assert_eq!(window, naive_window(&days, cap));
        }
    }
}
