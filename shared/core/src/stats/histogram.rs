//! A mergeable histogram of durations on a logarithmic grid: what a method that needs the shape of
//! a window (not only its mean and spread) keeps per day.
//!
//! Bins are 3 % wide, well inside the tailored method's ±8.5 % uncertainty of a duration, so a
//! window's histogram stands in for its durations (1 % bins gave the same backtest figures, a
//! third slower); and a day's histogram has at most a few hundred bins however many runs ended in
//! it, so it fits in one database item.

/// Ratio between neighbouring bins.
pub const BIN_RATIO: f64 = 1.03;

/// Counts of durations per bin, sorted by bin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DurationHistogram {
    bins: Vec<(i32, u64)>,
}

impl DurationHistogram {
    /// The bin of a duration: the nearest power of [`BIN_RATIO`] (a zero duration counts as 1 ms).
    pub fn bin_of(duration_ms: u64) -> i32 {
        ((duration_ms.max(1) as f64).ln() / BIN_RATIO.ln()).round() as i32
    }

    /// The duration a bin stands for.
    pub fn value_of(bin: i32) -> f64 {
        BIN_RATIO.powi(bin)
    }

    /// Rebuilds a histogram from stored `(bin, count)` pairs; `None` when a count is zero or a
    /// bin appears twice.
    pub fn from_bins(bins: impl IntoIterator<Item = (i32, u64)>) -> Option<Self> {
        let mut bins: Vec<(i32, u64)> = bins.into_iter().collect();
        bins.sort_unstable();
        let valid = bins.iter().all(|&(_, count)| count > 0) && bins.windows(2).all(|w| w[0].0 != w[1].0);
        valid.then_some(Self { bins })
    }

    pub fn push(&mut self, duration_ms: u64) {
        self.add(Self::bin_of(duration_ms), 1);
    }

    fn add(&mut self, bin: i32, count: u64) {
        match self.bins.binary_search_by_key(&bin, |&(b, _)| b) {
            Ok(i) => self.bins[i].1 += count,
            Err(i) => self.bins.insert(i, (bin, count)),
        }
    }

    /// The same histogram with one run of `duration_ms` taken out of its bin; `None` when its
    /// bin is empty.
    pub fn without(&self, duration_ms: u64) -> Option<Self> {
        let bin = Self::bin_of(duration_ms);
        let index = self.bins.binary_search_by_key(&bin, |&(b, _)| b).ok()?;
        let mut bins = self.bins.clone();
        match bins[index].1 {
            1 => {
                bins.remove(index);
            }
            count => bins[index].1 = count - 1,
        }
        Some(Self { bins })
    }

    pub fn merge(&mut self, other: &Self) {
        if !other.bins.is_empty() {
            *self = Self::merged([&*self, other]);
        }
    }

    /// The histogram of several at once: one sort of all their bins, not a merge per part (a
    /// window is fourteen days).
    pub fn merged<'a>(parts: impl IntoIterator<Item = &'a DurationHistogram>) -> Self {
        let mut bins: Vec<(i32, u64)> =
            parts.into_iter().flat_map(|part| part.bins.iter().copied()).collect();
        bins.sort_unstable_by_key(|&(bin, _)| bin);
        bins.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 += next.1;
            }
            same
        });
        Self { bins }
    }

    /// How many durations it holds.
    pub fn count(&self) -> u64 {
        self.bins.iter().map(|&(_, count)| count).sum()
    }

    /// `(bin, count)`, by increasing bin.
    pub fn bins(&self) -> &[(i32, u64)] {
        &self.bins
    }

    /// `(duration the bin stands for, count)`, shortest first.
    pub fn values(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        self.bins.iter().map(|&(bin, count)| (Self::value_of(bin), count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_duration_falls_in_the_bin_within_one_and_a_half_percent_of_it() {
        for d in [1u64, 999, 1_000, 600_000, 3_600_000, 86_400_000 * 30] {
            let value = DurationHistogram::value_of(DurationHistogram::bin_of(d));
            assert!((value / d as f64 - 1.0).abs() <= 0.015 + 1e-9, "{d} ms stands as {value}");
        }
        assert_eq!(DurationHistogram::bin_of(0), DurationHistogram::bin_of(1));
    }

    #[test]
    fn stored_bins_are_checked() {
        assert!(DurationHistogram::from_bins([(3, 1), (1, 2)]).is_some());
        assert!(DurationHistogram::from_bins([(3, 0)]).is_none(), "a zero count");
        assert!(DurationHistogram::from_bins([(3, 1), (3, 2)]).is_none(), "a bin twice");
    }

    #[test]
    fn a_run_taken_out_leaves_the_histogram_of_the_others() {
        let of = |durations: &[u64]| {
            let mut histogram = DurationHistogram::default();
            durations.iter().for_each(|&d| histogram.push(d));
            histogram
        };
        let window = of(&[600_000, 601_000, 735_000, 2_592_000_000]);
        assert_eq!(window.without(2_592_000_000), Some(of(&[600_000, 601_000, 735_000])));
        assert_eq!(window.without(600_500), Some(of(&[601_000, 735_000, 2_592_000_000])), "its bin's");
        assert_eq!(window.without(60_000), None, "an empty bin");
    }

    proptest! {
        #[test]
        fn merged_days_equal_the_histogram_of_all_their_runs(
            days in prop::collection::vec(prop::collection::vec(0u64..100_000_000, 0..30), 0..6)
        ) {
            let mut merged = DurationHistogram::default();
            let mut all = DurationHistogram::default();
            for day in &days {
                let mut histogram = DurationHistogram::default();
                for &d in day {
                    histogram.push(d);
                    all.push(d);
                }
                merged.merge(&histogram);
            }
            prop_assert_eq!(&merged, &all);
            let parts: Vec<DurationHistogram> = days
                .iter()
                .map(|day| {
                    let mut histogram = DurationHistogram::default();
                    day.iter().for_each(|&d| histogram.push(d));
                    histogram
                })
                .collect();
            prop_assert_eq!(&DurationHistogram::merged(&parts), &all);
            prop_assert_eq!(merged.count(), days.iter().map(|d| d.len() as u64).sum::<u64>());
            prop_assert_eq!(DurationHistogram::from_bins(merged.bins().iter().copied()), Some(merged.clone()));
        }
    }
}
