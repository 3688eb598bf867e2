//! Baselines: what a task type's duration is expected to be, and the limit past which a running
//! task is anomalous, recomputed nightly from the recent succeeded runs.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::defaults;
use crate::limits::tailored::{PreparedWindow, SPREAD};
use crate::limits::window::{ExclusionCap, Outlier, OutlierRule};
use crate::stats::moments::{Moments, WindowStats};
use crate::time::{Day, EpochMs, MS_PER_DAY, MS_PER_HOUR, TickInterval};

/// How a baseline is derived from a window of succeeded runs. Better methods are added as new
/// variants; `Seed` stays exactly as the seed article describes it so replays remain comparable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// expected = mean, upper = mean + k·σ (sample σ, n − 1), every succeeded run counted.
    Seed { k: f64 },
    /// The seed's formula at a higher k, over a window from which the slowest runs
    /// that were themselves warned about stay out, at most [`Method::GUARDED_EXCLUSION_CAP`] of
    /// it (guarded exclusion, docs/DETECTION.md). A warned slow run no longer widens the limit for
    /// two weeks, so the limit can sit further out and still catch slowdowns: on both real traces
    /// it pages less than the seed at the same recall, or catches more at the same pages.
    Guarded { k: f64 },
    /// Durations modelled as log-normal: upper = exp(μ + t·s·√(1 + 1/n)), μ and s the mean and
    /// sample σ of ln(duration), t the Student quantile with n − 1 degrees of freedom at the
    /// one-sided level of a normal `k` (k = 2: 97.7 %). A prediction limit for the next run,
    /// which widens honestly when the window is small. Replay and backtest only for now.
    LogNormal { k: f64 },
    /// The default: per task type, the limit that maximises the slowdowns (×1.5 to ×3) caught
    /// minus `k` times the healthy runs paged, both estimated on the window's own durations (each
    /// taken as ±8.5 % uncertain) for the check interval in force; never below the mean
    /// ([`crate::limits::tailored`]). `k` is the price of a false page in caught slowdowns. Needs the
    /// window's histogram, which the day aggregates keep.
    Tailored { k: f64 },
}

impl Method {
    pub const SEED_DEFAULT_K: f64 = 2.0;
    pub const GUARDED_DEFAULT_K: f64 = 4.0;
    pub const TAILORED_DEFAULT_K: f64 = 6.0;
    /// The largest share of a window the guarded method keeps out.
    pub const GUARDED_EXCLUSION_CAP: ExclusionCap = ExclusionCap::TENTH;

    pub fn name(&self) -> &'static str {
        self.method_name().as_str()
    }

    pub fn method_name(&self) -> MethodName {
        match self {
            Method::Seed { .. } => MethodName::Seed,
            Method::Guarded { .. } => MethodName::Guarded,
            Method::LogNormal { .. } => MethodName::LogNormal,
            Method::Tailored { .. } => MethodName::Tailored,
        }
    }

    pub fn k(&self) -> f64 {
        match self {
            Method::Seed { k } | Method::Guarded { k } | Method::LogNormal { k } | Method::Tailored { k } => {
                *k
            }
        }
    }

    /// The share of a window the method keeps warned runs out of, if it leaves any out.
    pub fn exclusion_cap(&self) -> Option<ExclusionCap> {
        match self {
            Method::Guarded { .. } => Some(Self::GUARDED_EXCLUSION_CAP),
            Method::Seed { .. } | Method::LogNormal { .. } | Method::Tailored { .. } => None,
        }
    }

    /// How it keeps a lone outlier out of a window: every method but the seed's, which counts
    /// every run as the seed article states it.
    pub fn outlier_rule(&self) -> Option<OutlierRule> {
        match self {
            Method::Seed { .. } => None,
            Method::Guarded { .. } | Method::LogNormal { .. } | Method::Tailored { .. } => {
                Some(OutlierRule::DEFAULT)
            }
        }
    }

    /// Whether its baselines need the window's durations, not only their moments.
    pub fn needs_histogram(&self) -> bool {
        matches!(self, Method::Tailored { .. })
    }
}

impl Default for Method {
    fn default() -> Self {
        MethodName::default().with_default_k()
    }
}

/// The method names a user can pick; parameters such as `k` are set separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodName {
    Seed,
    Guarded,
    LogNormal,
    Tailored,
}

impl Default for MethodName {
    fn default() -> Self {
        // Evaluated at compile time: a default naming no method does not build.
        const {
            match MethodName::from_name(defaults::METHOD) {
                Some(method) => method,
                None => panic!("defaults::METHOD names no method"),
            }
        }
    }
}

impl MethodName {
    pub fn with_k(self, k: f64) -> Method {
        match self {
            MethodName::Seed => Method::Seed { k },
            MethodName::Guarded => Method::Guarded { k },
            MethodName::LogNormal => Method::LogNormal { k },
            MethodName::Tailored => Method::Tailored { k },
        }
    }

    /// The sensitivity each method was measured best at (docs/DETECTION.md).
    pub fn default_k(self) -> f64 {
        match self {
            MethodName::Seed | MethodName::LogNormal => Method::SEED_DEFAULT_K,
            MethodName::Guarded => Method::GUARDED_DEFAULT_K,
            MethodName::Tailored => Method::TAILORED_DEFAULT_K,
        }
    }

    pub fn with_default_k(self) -> Method {
        self.with_k(self.default_k())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MethodName::Seed => "seed",
            MethodName::Guarded => "guarded",
            MethodName::LogNormal => "lognormal",
            MethodName::Tailored => "tailored",
        }
    }
}

impl MethodName {
    /// The method a name names (as [`MethodName::as_str`] writes it).
    pub const fn from_name(name: &str) -> Option<Self> {
        match name.as_bytes() {
            b"seed" => Some(MethodName::Seed),
            b"guarded" => Some(MethodName::Guarded),
            b"lognormal" => Some(MethodName::LogNormal),
            b"tailored" => Some(MethodName::Tailored),
            _ => None,
        }
    }
}

impl FromStr for MethodName {
    type Err = PolicyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| PolicyError::UnknownMethod(s.to_owned()))
    }
}

impl fmt::Display for MethodName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    #[error("unknown method {0:?} (available: guarded, seed, lognormal, tailored)")]
    UnknownMethod(String),
    #[error("k must be a finite number ≥ 0, got {0}")]
    InvalidK(f64),
    #[error("window must be 1 to 366 days, got {0}")]
    InvalidWindow(u32),
    #[error("min samples must be at least 1, got {0}")]
    InvalidMinSamples(u64),
    #[error("nightly hour must be 0 to 23 (UTC), got {0}")]
    InvalidNightlyHour(u8),
}

/// Everything that decides a baseline: the method, the look-back window, how many runs are
/// enough, and the UTC hour of the nightly recomputation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselinePolicy {
    method: Method,
    window_days: u32,
    min_samples: u64,
    nightly_hour: u8,
    /// The time between checks, which decides how far past its limit a run must go to be seen
    /// (the tailored method weighs it).
    check_interval: TickInterval,
}

impl Default for BaselinePolicy {
    fn default() -> Self {
        Self {
            method: Method::default(),
            window_days: defaults::WINDOW_DAYS,
            min_samples: defaults::MIN_SAMPLES,
            nightly_hour: defaults::NIGHTLY_HOUR,
            check_interval: TickInterval::default(),
        }
    }
}

/// Whether `k` is a sensitivity an operator may choose (a deployment's, or one task type's in an
/// override): finite and above 0. At 0 the limit is the mean (or a false page costs nothing),
/// so a normal run pages. (Policies built internally, for sweeps, may go down to 0.)
pub fn is_valid_k(k: f64) -> bool {
    k.is_finite() && k > 0.0
}

impl BaselinePolicy {
    pub fn new(
        method: Method,
        window_days: u32,
        min_samples: u64,
        nightly_hour: u8,
    ) -> Result<Self, PolicyError> {
        let k = method.k();
        if !(k.is_finite() && k >= 0.0) {
            return Err(PolicyError::InvalidK(k));
        }
        if !(1..=366).contains(&window_days) {
            return Err(PolicyError::InvalidWindow(window_days));
        }
        if min_samples == 0 {
            return Err(PolicyError::InvalidMinSamples(min_samples));
        }
        if nightly_hour > 23 {
            return Err(PolicyError::InvalidNightlyHour(nightly_hour));
        }
        Ok(Self { method, window_days, min_samples, nightly_hour, check_interval: TickInterval::default() })
    }

    /// The same policy for checks every `interval` (10 minutes unless set).
    pub fn with_check_interval(self, interval: TickInterval) -> Self {
        Self { check_interval: interval, ..self }
    }

    pub fn check_interval(&self) -> TickInterval {
        self.check_interval
    }

    pub fn method(&self) -> Method {
        self.method
    }
    pub fn window_days(&self) -> u32 {
        self.window_days
    }
    pub fn min_samples(&self) -> u64 {
        self.min_samples
    }
    pub fn nightly_hour(&self) -> u8 {
        self.nightly_hour
    }

    /// The "night" (a day number) whose nightly computation is the latest at or before `t`.
    /// Night `d` runs at `d · 1 day + nightly hour`.
    pub fn night_at_or_before(&self, t: EpochMs) -> Day {
        Day::new((t - self.hour_offset_ms()).div_euclid(MS_PER_DAY))
    }

    /// When night `night` computes its baselines.
    pub fn night_start(&self, night: Day) -> EpochMs {
        night.number() * MS_PER_DAY + self.hour_offset_ms()
    }

    /// The daily bucket a finished run's end time falls into. Night `d` uses the buckets
    /// `[d − window, d)`, i.e. the runs that ended in `[night_start(d) − window, night_start(d))`.
    pub fn bucket_of_end(&self, end: EpochMs) -> Day {
        self.night_at_or_before(end)
    }

    /// The buckets night `night` reads, as a half-open range.
    pub fn window_buckets(&self, night: Day) -> std::ops::Range<Day> {
        night - i64::from(self.window_days)..night
    }

    fn hour_offset_ms(&self) -> i64 {
        i64::from(self.nightly_hour) * MS_PER_HOUR
    }

    /// The baseline from the moments of the window's succeeded runs, or `None` when there are
    /// fewer than `min_samples` of them.
    pub fn baseline(&self, window: &Moments, computed_at: EpochMs) -> Option<Baseline> {
        self.baseline_from(&WindowStats::linear_only(*window), computed_at)
    }

    /// The same from full window statistics (methods beyond the seed need the log moments).
    pub fn baseline_from(&self, window: &WindowStats, computed_at: EpochMs) -> Option<Baseline> {
        let linear = &window.linear;
        if linear.count() < self.min_samples {
            return None;
        }
        let expected_ms = linear.mean()?;
        let sigma_ms = linear.sample_std_dev()?;
        let upper_ms = match self.method {
            Method::Seed { k } | Method::Guarded { k } => expected_ms + k * sigma_ms,
            Method::LogNormal { k } => {
                let log = &window.log;
                if log.count() != linear.count() {
                    return None;
                }
                let n = log.count() as f64;
                let t = student_t_quantile(k, n - 1.0);
                (log.mean()? + t * log.sample_std_dev()? * (1.0 + 1.0 / n).sqrt()).exp()
            }
            Method::Tailored { .. } => {
                return self.tailored_baseline_from(window, computed_at).map(|(baseline, _)| baseline);
            }
        };
        Some(Baseline {
            n: linear.count(),
            expected_ms,
            sigma_ms,
            upper_ms,
            computed_at,
            outlier: window.outlier,
        })
    }

    /// The tailored method's baseline with its window prepared for each run's own limit
    /// ([`crate::limits::recent::PerRunLimits`]): the type's limit is that window's alone, so one
    /// preparation serves both. `None` for the other methods and as [`Self::baseline_from`].
    pub fn tailored_baseline_from(
        &self,
        window: &WindowStats,
        computed_at: EpochMs,
    ) -> Option<(Baseline, PreparedWindow)> {
        let Method::Tailored { k } = self.method else { return None };
        let linear = &window.linear;
        if linear.count() < self.min_samples {
            return None;
        }
        let expected_ms = linear.mean()?;
        let sigma_ms = linear.sample_std_dev()?;
        let histogram = window.histogram.as_ref().filter(|h| h.count() == linear.count())?;
        let interval_ms = self.check_interval.as_ms() as f64;
        let durations = histogram.values().map(|(value, count)| (value, count as f64));
        let prepared = PreparedWindow::new(durations, expected_ms, k, interval_ms, SPREAD)?;
        let baseline = Baseline {
            n: linear.count(),
            expected_ms,
            sigma_ms,
            upper_ms: prepared.limit(),
            computed_at,
            outlier: window.outlier,
        };
        Some((baseline, prepared))
    }
}

/// The Student t quantile with `nu` degrees of freedom at the level where a standard normal has
/// quantile `z` (Cornish–Fisher expansion; within 1 % of the exact value for ν ≥ 4 and z ≤ 4).
/// With ν < 1 there is no spread to scale: `z` itself.
pub fn student_t_quantile(z: f64, nu: f64) -> f64 {
    if nu < 1.0 {
        return z;
    }
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * nu)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * nu.powi(2))
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * nu.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92_160.0 * nu.powi(4))
}

/// A task type's expectation as of one nightly computation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Baseline {
    /// Succeeded runs it was computed from.
    pub n: u64,
    pub expected_ms: f64,
    pub sigma_ms: f64,
    /// The limit: a run still running after this long is anomalous.
    pub upper_ms: f64,
    pub computed_at: EpochMs,
    /// The lone outlier its window kept out (not counted in `n`), if any.
    pub outlier: Option<Outlier>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_upper_is_mean_plus_k_sample_sigma() {
        let policy = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 3, 0).unwrap();
        let baseline = policy.baseline(&Moments::of([0, 2_000, 4_000]), 42).unwrap();
        assert_eq!(baseline.expected_ms, 2_000.0);
        assert_eq!(baseline.sigma_ms, 2_000.0);
        assert_eq!(baseline.upper_ms, 6_000.0);
        assert_eq!(baseline.n, 3);
        assert_eq!(baseline.computed_at, 42);
    }

    #[test]
    fn tailored_is_the_default_at_k_6_and_guarded_is_the_seed_formula_with_a_tenth_kept_out() {
        assert_eq!(Method::default(), Method::Tailored { k: 6.0 });
        assert!(Method::default().needs_histogram());
        assert_eq!(Method::default().exclusion_cap(), None, "tailored counts every run");
        assert_eq!(Method::Guarded { k: 4.0 }.exclusion_cap().map(ExclusionCap::share), Some(0.1));
        assert_eq!(Method::Seed { k: 2.0 }.exclusion_cap(), None, "the seed counts every run");
        let window = Moments::of([0, 2_000, 4_000]);
        let guarded = BaselinePolicy::new(Method::Guarded { k: 2.0 }, 14, 3, 0).unwrap().baseline(&window, 0);
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 3, 0).unwrap().baseline(&window, 0);
        assert_eq!(guarded, seed);
        assert_eq!("guarded".parse::<MethodName>(), Ok(MethodName::Guarded));
        assert_eq!(MethodName::Seed.with_default_k(), Method::Seed { k: 2.0 });
        assert!(matches!("mean".parse::<MethodName>(), Err(PolicyError::UnknownMethod(m)) if m == "mean"));
    }

    #[test]
    fn student_quantiles_match_tables() {
        // 97.725 % one-sided (z = 2), by numerical integration of the t density:
        // t(4) = 2.8693, t(9) = 2.3198, t(29) = 2.0900, t(∞) = 2.
        for (nu, exact) in [(4.0, 2.8693), (9.0, 2.3198), (29.0, 2.0900), (1e9, 2.0)] {
            let t = student_t_quantile(2.0, nu);
            assert!((t - exact).abs() / exact < 0.01, "t({nu}) = {t}, tables say {exact}");
        }
    }

    #[test]
    fn lognormal_limit_is_a_prediction_limit_in_log_space() {
        let policy = BaselinePolicy::new(Method::LogNormal { k: 2.0 }, 14, 5, 0).unwrap();
        let mut window = WindowStats::default();
        for d in [600_000u64; 10] {
            window.push(d);
        }
        let steady = policy.baseline_from(&window, 0).unwrap();
        assert!((steady.upper_ms - 600_000.0).abs() < 1.0, "no spread, no margin: {}", steady.upper_ms);
        window.push(1_200_000);
        let spread = policy.baseline_from(&window, 0).unwrap();
        assert!(spread.upper_ms > 600_000.0 && spread.upper_ms.is_finite());
        // The deployed stats table has linear moments only: no log-normal baseline from them.
        assert!(policy.baseline(&window.linear, 0).is_none());
    }

    /// A window's statistics with its histogram, as the default method needs.
    fn window_of(durations: &[u64]) -> WindowStats {
        let mut window = WindowStats::new(true);
        for &d in durations {
            window.push(d);
        }
        window
    }

    #[test]
    fn no_baseline_below_min_samples_and_one_at_exactly_min_samples() {
        for method in [Method::default(), Method::Seed { k: 2.0 }] {
            let policy = BaselinePolicy::new(method, 14, 5, 0).unwrap();
            assert!(policy.baseline_from(&window_of(&[1_000; 4]), 0).is_none(), "{method:?}");
            assert!(policy.baseline_from(&window_of(&[1_000; 5]), 0).is_some(), "{method:?}");
        }
    }

    #[test]
    fn upper_is_never_below_expected_and_never_nan_for_one_sample() {
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 1, 0).unwrap();
        assert_eq!(seed.baseline(&Moments::of([7_000]), 0).unwrap().upper_ms, 7_000.0);
        for sample in [7_000, 3_600_000] {
            for method in [Method::default(), Method::Guarded { k: 4.0 }] {
                let policy = BaselinePolicy::new(method, 14, 1, 0).unwrap();
                let baseline = policy.baseline_from(&window_of(&[sample]), 0).unwrap();
                assert!(
                    baseline.upper_ms.is_finite() && baseline.upper_ms >= baseline.expected_ms,
                    "{method:?}"
                );
            }
        }
    }

    #[test]
    fn tailored_needs_the_window_histogram_and_has_no_baseline_from_moments_alone() {
        let policy = BaselinePolicy::new(Method::default(), 14, 5, 0).unwrap();
        assert!(policy.baseline(&Moments::of([1_000; 5]), 0).is_none());
        let mut short = window_of(&[1_000; 5]);
        short.linear.push(1_000);
        assert!(policy.baseline_from(&short, 0).is_none(), "a histogram missing runs is not used");
    }

    #[test]
    fn night_boundaries_follow_the_nightly_hour() {
        let policy = BaselinePolicy::new(Method::default(), 14, 5, 3).unwrap();
        let day = MS_PER_DAY;
        let hour = MS_PER_HOUR;
        assert_eq!(policy.night_start(Day::new(10)), 10 * day + 3 * hour);
        assert_eq!(policy.night_at_or_before(10 * day + 3 * hour), Day::new(10));
        assert_eq!(policy.night_at_or_before(10 * day + 3 * hour - 1), Day::new(9));
        assert_eq!(policy.window_buckets(Day::new(20)), Day::new(6)..Day::new(20));
    }

    #[test]
    fn window_is_the_half_open_span_before_the_night() {
        let policy = BaselinePolicy::new(Method::default(), 14, 5, 0).unwrap();
        let night = Day::new(100);
        let start = policy.night_start(night);
        let window = policy.window_buckets(night);
        // Ended exactly at the night: not in its window.
        assert!(!window.contains(&policy.bucket_of_end(start)));
        assert!(window.contains(&policy.bucket_of_end(start - 1)));
        assert!(window.contains(&policy.bucket_of_end(start - 14 * MS_PER_DAY)));
        assert!(!window.contains(&policy.bucket_of_end(start - 14 * MS_PER_DAY - 1)));
    }

    #[test]
    fn invalid_parameters_are_rejected_with_their_value() {
        assert_eq!(BaselinePolicy::new(Method::Seed { k: -1.0 }, 14, 5, 0), Err(PolicyError::InvalidK(-1.0)));
        assert!(BaselinePolicy::new(Method::Seed { k: f64::NAN }, 14, 5, 0).is_err());
        assert_eq!(BaselinePolicy::new(Method::default(), 0, 5, 0), Err(PolicyError::InvalidWindow(0)));
        assert_eq!(BaselinePolicy::new(Method::default(), 14, 0, 0), Err(PolicyError::InvalidMinSamples(0)));
        assert_eq!(
            BaselinePolicy::new(Method::default(), 14, 5, 24),
            Err(PolicyError::InvalidNightlyHour(24))
        );
        assert_eq!("mixture".parse::<MethodName>(), Err(PolicyError::UnknownMethod("mixture".into())));
    }
}
