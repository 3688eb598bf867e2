//! Exact, mergeable moments of durations in integer milliseconds.
//!
//! Count, Σd and Σd² are integers, so merging partial moments (one per day, say) gives exactly
//! the moments of the union: no floating-point drift however the days are combined, which is what
//! lets the nightly job read each run once and still equal a full recomputation.

use std::ops::{Add, AddAssign};

use crate::limits::window::Outlier;
use crate::stats::histogram::DurationHistogram;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Moments {
    count: u64,
    sum: u128,
    sum_of_squares: u128,
}

impl Moments {
    pub const EMPTY: Self = Self { count: 0, sum: 0, sum_of_squares: 0 };

    /// Rebuilds moments from stored parts (a database item, say). Returns `None` when they cannot
    /// come from any set of durations (Σd² < (Σd)²/n, or sums without a count).
    pub fn from_parts(count: u64, sum: u128, sum_of_squares: u128) -> Option<Self> {
        let moments = Self { count, sum, sum_of_squares };
        let consistent = if count == 0 {
            sum == 0 && sum_of_squares == 0
        } else {
            moments.scaled_variance_numerator().is_some()
        };
        consistent.then_some(moments)
    }

    pub fn of(durations_ms: impl IntoIterator<Item = u64>) -> Self {
        let mut moments = Self::EMPTY;
        for duration in durations_ms {
            moments.push(duration);
        }
        moments
    }

    pub fn push(&mut self, duration_ms: u64) {
        let d = u128::from(duration_ms);
        self.count += 1;
        self.sum += d;
        self.sum_of_squares += d * d;
    }

    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_of_squares += other.sum_of_squares;
    }

    /// The moments of the same durations with one run of `duration_ms` taken out, exactly (a
    /// window keeping a lone outlier out, say). `None` when no set of durations holding it can
    /// have produced these moments (nothing to take out, or the rest would be inconsistent).
    pub fn without(&self, duration_ms: u64) -> Option<Self> {
        let d = u128::from(duration_ms);
        Self::from_parts(
            self.count.checked_sub(1)?,
            self.sum.checked_sub(d)?,
            self.sum_of_squares.checked_sub(d * d)?,
        )
    }

    pub fn count(&self) -> u64 {
        self.count
    }
    pub fn sum(&self) -> u128 {
        self.sum
    }
    pub fn sum_of_squares(&self) -> u128 {
        self.sum_of_squares
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Mean duration in milliseconds; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Sample variance (n − 1 denominator) in ms². Zero for a single sample, where the sample
    /// variance is undefined, so that a baseline over one run is "exactly that run" rather than
    /// NaN. `None` when empty.
    pub fn sample_variance(&self) -> Option<f64> {
        match self.count {
            0 => None,
            1 => Some(0.0),
            n => {
                let n = n as f64;
                let numerator = match self.scaled_variance_numerator() {
                    Some(exact) => exact as f64,
                    // Only past ~10^38 ms²·n: fall back to the (still non-negative) float form.
                    None => (self.sum_of_squares as f64 * n - (self.sum as f64).powi(2)).max(0.0),
                };
                Some(numerator / (n * (n - 1.0)))
            }
        }
    }

    /// Sample standard deviation in milliseconds.
    pub fn sample_std_dev(&self) -> Option<f64> {
        self.sample_variance().map(f64::sqrt)
    }

    /// n·Σd² − (Σd)², computed exactly; it is n(n−1) times the sample variance. `None` on
    /// overflow or when negative (inconsistent parts).
    fn scaled_variance_numerator(&self) -> Option<u128> {
        let n_q = self.sum_of_squares.checked_mul(u128::from(self.count))?;
        let s_s = self.sum.checked_mul(self.sum)?;
        n_q.checked_sub(s_s)
    }
}

impl Add for Moments {
    type Output = Moments;
    fn add(mut self, rhs: Moments) -> Moments {
        self.merge(&rhs);
        self
    }
}

impl AddAssign for Moments {
    fn add_assign(&mut self, rhs: Moments) {
        self.merge(&rhs);
    }
}

impl std::iter::Sum for Moments {
    fn sum<I: Iterator<Item = Moments>>(iter: I) -> Moments {
        iter.fold(Moments::EMPTY, Add::add)
    }
}

/// Log-space moments: count, Σ ln d and Σ (ln d)², with ln d in fixed-point micro-units so that
/// merging stays exact (to a millionth of a nat, far finer than any duration's noise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct LogMoments {
    count: u64,
    sum: i128,
    sum_of_squares: i128,
}

const LOG_SCALE: f64 = 1e6;

impl LogMoments {
    /// ln d in micro-units. A zero duration is taken as 1 ms: ln 0 is undefined, and 1 ms is
    /// below anything a 10-minute checker can tell apart.
    fn micro_ln(duration_ms: u64) -> i128 {
        ((duration_ms.max(1) as f64).ln() * LOG_SCALE).round() as i128
    }

    pub fn push(&mut self, duration_ms: u64) {
        let micro = Self::micro_ln(duration_ms);
        self.count += 1;
        self.sum += micro;
        self.sum_of_squares += micro * micro;
    }

    /// The same moments with one run of `duration_ms` taken out: exact, since each duration
    /// always adds the same fixed-point terms. `None` when there is nothing to take out, or when
    /// what would be left cannot hold runs (a negative Σ (ln d)²).
    pub fn without(&self, duration_ms: u64) -> Option<Self> {
        let micro = Self::micro_ln(duration_ms);
        let count = self.count.checked_sub(1)?;
        let (sum, sum_of_squares) = (self.sum - micro, self.sum_of_squares - micro * micro);
        // n·Σx² ≥ (Σx)² for any n values x, and no values sum to anything but 0.
        let consistent = if count == 0 {
            sum == 0 && sum_of_squares == 0
        } else {
            sum_of_squares >= 0 && sum_of_squares * i128::from(count) >= sum * sum
        };
        consistent.then_some(Self { count, sum, sum_of_squares })
    }

    pub fn merge(&mut self, other: &Self) {
        self.count += other.count;
        self.sum += other.sum;
        self.sum_of_squares += other.sum_of_squares;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Σ ln d and Σ (ln d)², in the fixed-point micro-units they are kept in.
    pub fn sums(&self) -> (i128, i128) {
        (self.sum, self.sum_of_squares)
    }

    /// Moments stored as their parts; `None` when no set of durations has them (a negative Σ,
    /// or a Σ (ln d)² below what Σ ln d requires).
    pub fn from_parts(count: u64, sum: i128, sum_of_squares: i128) -> Option<Self> {
        let consistent = if count == 0 {
            sum == 0 && sum_of_squares == 0
        } else {
            sum >= 0 && sum_of_squares.checked_mul(i128::from(count))? >= sum.checked_mul(sum)?
        };
        consistent.then_some(Self { count, sum, sum_of_squares })
    }

    /// Mean of ln(duration in ms).
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64 / LOG_SCALE)
    }

    /// Sample standard deviation of ln(duration in ms); 0 for one sample.
    pub fn sample_std_dev(&self) -> Option<f64> {
        match self.count {
            0 => None,
            1 => Some(0.0),
            n => {
                let n = n as i128;
                let numerator = (self.sum_of_squares * n - self.sum * self.sum).max(0) as f64;
                Some((numerator / (n * (n - 1)) as f64).sqrt() / LOG_SCALE)
            }
        }
    }
}

/// What a window of succeeded runs is summarised by: exact linear moments for the seed method,
/// log-space moments for methods that model long right tails, and, for methods that need the
/// window's shape, a histogram of its durations (kept only when asked for: it costs more than the
/// moments).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct WindowStats {
    pub linear: Moments,
    pub log: LogMoments,
    pub histogram: Option<DurationHistogram>,
    /// The lone outlier the statistics leave out, if any
    /// ([`crate::limits::window::assemble_window`] decides; adding statistics leaves it as is).
    pub outlier: Option<Outlier>,
}

impl WindowStats {
    /// Empty statistics that keep a histogram when `keep_histogram`.
    pub fn new(keep_histogram: bool) -> Self {
        Self { histogram: keep_histogram.then(DurationHistogram::default), ..Self::default() }
    }

    pub fn push(&mut self, duration_ms: u64) {
        self.linear.push(duration_ms);
        self.log.push(duration_ms);
        if let Some(histogram) = &mut self.histogram {
            histogram.push(duration_ms);
        }
    }

    /// Linear moments only (what the deployed stats table stores today).
    pub fn linear_only(linear: Moments) -> Self {
        Self { linear, ..Self::default() }
    }
}

impl AddAssign<&WindowStats> for WindowStats {
    fn add_assign(&mut self, rhs: &WindowStats) {
        self.linear.merge(&rhs.linear);
        self.log.merge(&rhs.log);
        match (&mut self.histogram, &rhs.histogram) {
            (Some(histogram), Some(other)) => histogram.merge(other),
            (None, Some(other)) => self.histogram = Some(other.clone()),
            // A part without a histogram leaves the sum's short of runs, which methods that need
            // it detect by count.
            (_, None) => {}
        }
    }
}

impl<'a> std::iter::Sum<&'a WindowStats> for WindowStats {
    fn sum<I: Iterator<Item = &'a WindowStats>>(iter: I) -> WindowStats {
        iter.fold(WindowStats::default(), |mut acc, x| {
            acc += x;
            acc
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn log_moments_match_a_direct_computation() {
        let durations = [1_000u64, 2_000, 4_000, 8_000];
        let mut log = LogMoments::default();
        for d in durations {
            log.push(d);
        }
        let lns: Vec<f64> = durations.iter().map(|&d| (d as f64).ln()).collect();
        let mean = lns.iter().sum::<f64>() / 4.0;
        let sd = (lns.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
        assert!((log.mean().unwrap() - mean).abs() < 1e-6);
        assert!((log.sample_std_dev().unwrap() - sd).abs() < 1e-6);
    }

    /// Two-pass textbook formulas, written independently of the moment algebra above.
    fn straightforward_mean_and_sd(durations: &[u64]) -> (f64, f64) {
        let n = durations.len() as f64;
        let mean = durations.iter().map(|&d| d as f64).sum::<f64>() / n;
        if durations.len() < 2 {
            return (mean, 0.0);
        }
        let squared_deviations: f64 = durations.iter().map(|&d| (d as f64 - mean).powi(2)).sum();
        (mean, (squared_deviations / (n - 1.0)).sqrt())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn empty_moments_have_no_mean_or_variance() {
        assert_eq!(Moments::EMPTY.mean(), None);
        assert_eq!(Moments::EMPTY.sample_variance(), None);
    }

    #[test]
    fn one_sample_has_zero_spread_not_nan() {
        let moments = Moments::of([1_500]);
        assert_eq!(moments.mean(), Some(1_500.0));
        assert_eq!(moments.sample_std_dev(), Some(0.0));
    }

    #[test]
    fn equal_durations_have_exactly_zero_spread() {
        let moments = Moments::of([600_000; 1_000]);
        assert_eq!(moments.sample_variance(), Some(0.0));
    }

    #[test]
    fn known_values_match_by_hand() {
        // 0, 2, 4 seconds: mean 2 s, sample variance ((-2)² + 0 + 2²)/2 = 4 s², sd 2 s exactly.
        let moments = Moments::of([0, 2_000, 4_000]);
        assert_eq!(moments.mean(), Some(2_000.0));
        assert_eq!(moments.sample_std_dev(), Some(2_000.0));
    }

    #[test]
    fn parts_that_no_durations_can_produce_are_rejected() {
        assert!(Moments::from_parts(2, 10, 1).is_none());
        assert!(Moments::from_parts(0, 5, 0).is_none());
        let real = Moments::of([3, 4, 5]);
        assert_eq!(Moments::from_parts(real.count(), real.sum(), real.sum_of_squares()), Some(real));
    }

    #[test]
    fn a_run_that_is_not_there_cannot_be_taken_out() {
        assert_eq!(Moments::EMPTY.without(5), None, "nothing to take out");
        assert_eq!(Moments::of([1_000]).without(2_000), None, "the sums would go below zero");
        assert_eq!(Moments::of([1_000]).without(1_000), Some(Moments::EMPTY));
        // Two runs of 3 and 5: taking out a 1 leaves Σ = 7, Σ² = 33 for one run, which no
        // duration gives (7² ≠ 33).
        assert_eq!(Moments::of([3, 5]).without(1), None);
        assert_eq!(LogMoments::default().without(5), None);
        let mut one = LogMoments::default();
        one.push(1_000);
        assert_eq!(one.without(2_000), None, "a single run is the only one to take out");
        assert_eq!(one.without(1_000), Some(LogMoments::default()));
    }

    #[test]
    fn week_long_durations_do_not_overflow() {
        let week_ms = 7 * 86_400_000;
        let moments = Moments::of(std::iter::repeat_n(week_ms, 100_000));
        assert_eq!(moments.sample_variance(), Some(0.0));
        assert_eq!(moments.mean(), Some(week_ms as f64));
    }

    proptest! {
        #[test]
        fn merging_partial_moments_equals_the_batch(
            durations in prop::collection::vec(0u64..100_000_000, 0..200),
            split in any::<prop::sample::Index>(),
        ) {
            let cut = if durations.is_empty() { 0 } else { split.index(durations.len() + 1) };
            let (left, right) = durations.split_at(cut);
            let merged = Moments::of(left.iter().copied()) + Moments::of(right.iter().copied());
            prop_assert_eq!(merged, Moments::of(durations.iter().copied()));
        }

        #[test]
        fn taking_one_run_out_equals_the_moments_recomputed_without_it(
            durations in prop::collection::vec(0u64..3_000_000_000, 1..200),
            pick in any::<prop::sample::Index>(),
        ) {
            let out = pick.index(durations.len());
            let mut rest = durations.clone();
            let removed = rest.remove(out);
            let log_of = |ds: &[u64]| {
                let mut log = LogMoments::default();
                ds.iter().for_each(|&d| log.push(d));
                log
            };
            let all = Moments::of(durations.iter().copied());
            prop_assert_eq!(all.without(removed), Some(Moments::of(rest.iter().copied())));
            prop_assert_eq!(log_of(&durations).without(removed), Some(log_of(&rest)));
        }

        #[test]
        fn mean_and_sd_match_a_straightforward_two_pass_computation(
            durations in prop::collection::vec(0u64..100_000_000, 1..200),
        ) {
            let moments = Moments::of(durations.iter().copied());
            let (mean, sd) = straightforward_mean_and_sd(&durations);
            let got_mean = moments.mean().unwrap();
            let got_sd = moments.sample_std_dev().unwrap();
            prop_assert!(close(got_mean, mean), "mean {got_mean} vs {mean}");
            prop_assert!((got_sd - sd).abs() <= 1e-6 * sd.max(1.0), "sd {got_sd} vs {sd}");
            prop_assert!(!got_sd.is_nan());
        }
    }
}
