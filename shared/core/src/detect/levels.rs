//! Detection: is a running task past its limits at a given time?
//!
//! Two levels. `warning` when the elapsed time is strictly past the baseline's upper limit;
//! `critical` when it is strictly past `critical_factor × upper` (default 2: the run has taken
//! twice as long as the longest duration still considered normal). A multiple of the limit is
//! used rather than more σ because σ is tiny for steady tasks, where "mean + 4σ" would fire
//! minutes after the warning and say nothing new.

use thiserror::Error;

pub use crate::model::level::{AlertedLevels, Level};

use crate::limits::baseline::Baseline;
use crate::time::EpochMs;

#[derive(Debug, Error, PartialEq)]
pub enum DetectionError {
    #[error(
        "critical factor must be greater than 1 and at most 100 (the critical limit is this multiple of the warning limit), got {0}"
    )]
    InvalidCriticalFactor(f64),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectionConfig {
    critical_factor: f64,
}

impl DetectionConfig {
    pub const DEFAULT_CRITICAL_FACTOR: f64 = crate::defaults::CRITICAL_FACTOR;
    pub const MAX_CRITICAL_FACTOR: f64 = 100.0;

    pub fn new(critical_factor: f64) -> Result<Self, DetectionError> {
        // At 1 the critical limit would be the warning's (every page critical at once); past 100
        // no run would ever be critical.
        if critical_factor.is_finite()
            && critical_factor > 1.0
            && critical_factor <= Self::MAX_CRITICAL_FACTOR
        {
            Ok(Self { critical_factor })
        } else {
            Err(DetectionError::InvalidCriticalFactor(critical_factor))
        }
    }

    pub fn critical_factor(&self) -> f64 {
        self.critical_factor
    }

    /// The thresholds of a fixed warning limit (an operator's, or the fallback): critical at the
    /// critical factor times it, as every limit.
    pub fn fixed(&self, limit_ms: f64) -> Thresholds {
        Thresholds { warning_ms: limit_ms, critical_ms: limit_ms * self.critical_factor }
    }

    pub fn thresholds(&self, baseline: &Baseline) -> Thresholds {
        Thresholds { warning_ms: baseline.upper_ms, critical_ms: baseline.upper_ms * self.critical_factor }
    }
}

impl Default for DetectionConfig {
    fn default() -> Self {
        Self { critical_factor: Self::DEFAULT_CRITICAL_FACTOR }
    }
}

/// A limit this large is never exceeded: 2^53 ms, where f64 stops counting milliseconds.
const NEVER_MS: f64 = 9_007_199_254_740_992.0;

/// The elapsed times, in ms, that a run must strictly exceed for each level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub warning_ms: f64,
    pub critical_ms: f64,
}

impl Thresholds {
    /// Both limits times `factor` (a cohort running slow as a whole).
    pub fn stretched(&self, factor: f64) -> Self {
        Self { warning_ms: self.warning_ms * factor, critical_ms: self.critical_ms * factor }
    }

    pub fn limit_ms(&self, level: Level) -> f64 {
        match level {
            Level::Warning => self.warning_ms,
            Level::Critical => self.critical_ms,
        }
    }

    /// Whether `elapsed_ms` is strictly past the level's limit.
    pub fn exceeds(&self, level: Level, elapsed_ms: i64) -> bool {
        elapsed_ms as f64 > self.limit_ms(level)
    }

    /// The smallest whole number of milliseconds strictly past the level's limit: a run alerts at
    /// the first check where it has been running at least this long.
    pub fn first_exceeding_elapsed_ms(&self, level: Level) -> i64 {
        let limit = self.limit_ms(level);
        // Beyond ~285,000 years (or not a number at all) nothing will ever be past it.
        if limit.is_nan() || limit >= NEVER_MS {
            return i64::MAX;
        }
        // floor(limit) + 1 is the answer in exact arithmetic; the loops settle the rare case where
        // converting between f64 and i64 rounds across the boundary, so this always agrees with
        // `exceeds`.
        let mut elapsed = limit.floor() as i64 + 1;
        while elapsed > i64::MIN && self.exceeds(level, elapsed - 1) {
            elapsed -= 1;
        }
        while !self.exceeds(level, elapsed) {
            elapsed += 1;
        }
        elapsed
    }

    /// The levels a run that started at `start` is past at `now`, lowest first.
    pub fn crossed_at(&self, start: EpochMs, now: EpochMs) -> impl Iterator<Item = Level> + '_ {
        let elapsed = now - start;
        Level::ALL.into_iter().filter(move |&level| self.exceeds(level, elapsed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline(upper_ms: f64) -> Baseline {
        Baseline {
            n: 10,
            expected_ms: upper_ms / 2.0,
            sigma_ms: 1.0,
            upper_ms,
            computed_at: 0,
            outlier: None,
        }
    }

    #[test]
    fn warning_needs_strictly_more_than_the_upper_limit() {
        let thresholds = DetectionConfig::default().thresholds(&baseline(6_000.0));
        assert!(!thresholds.exceeds(Level::Warning, 6_000));
        assert!(thresholds.exceeds(Level::Warning, 6_001));
        assert_eq!(thresholds.first_exceeding_elapsed_ms(Level::Warning), 6_001);
    }

    #[test]
    fn critical_defaults_to_twice_the_upper_limit() {
        let thresholds = DetectionConfig::default().thresholds(&baseline(6_000.0));
        assert_eq!(thresholds.critical_ms, 12_000.0);
        assert_eq!(thresholds.first_exceeding_elapsed_ms(Level::Critical), 12_001);
        let levels: Vec<_> = thresholds.crossed_at(0, 12_001).collect();
        assert_eq!(levels, vec![Level::Warning, Level::Critical]);
        let levels: Vec<_> = thresholds.crossed_at(0, 12_000).collect();
        assert_eq!(levels, vec![Level::Warning]);
    }

    #[test]
    fn fractional_limits_round_up_to_the_next_whole_millisecond() {
        let thresholds = DetectionConfig::default().thresholds(&baseline(1_234.5));
        assert_eq!(thresholds.first_exceeding_elapsed_ms(Level::Warning), 1_235);
    }

    #[test]
    fn an_unreachable_or_undefined_limit_is_never_exceeded_and_never_loops() {
        for limit in [f64::INFINITY, f64::NAN, 1e300, 9.1e15] {
            let thresholds = Thresholds { warning_ms: limit, critical_ms: limit };
            assert_eq!(thresholds.first_exceeding_elapsed_ms(Level::Warning), i64::MAX, "{limit}");
        }
    }

    #[test]
    fn critical_factor_of_one_or_below_above_a_hundred_or_not_finite_is_rejected() {
        assert_eq!(DetectionConfig::new(0.5), Err(DetectionError::InvalidCriticalFactor(0.5)));
        assert_eq!(DetectionConfig::new(1.0), Err(DetectionError::InvalidCriticalFactor(1.0)));
        assert!(DetectionConfig::new(f64::INFINITY).is_err());
        assert!(DetectionConfig::new(1.01).is_ok());
        assert!(DetectionConfig::new(100.0).is_ok());
        assert!(DetectionConfig::new(100.5).is_err());
        assert!(DetectionConfig::new(1e308).is_err());
    }

    #[test]
    fn alerted_levels_remember_each_level_once() {
        let mut alerted = AlertedLevels::default();
        assert!(!alerted.contains(Level::Warning));
        alerted.insert(Level::Warning);
        assert!(alerted.contains(Level::Warning));
        assert!(!alerted.is_complete());
        alerted.insert(Level::Critical);
        assert!(alerted.is_complete());
    }

    #[test]
    fn level_round_trips_through_its_name() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(level));
        }
        assert!("info".parse::<Level>().is_err());
    }
}
