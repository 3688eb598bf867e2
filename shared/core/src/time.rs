//! Time conventions: epoch milliseconds, check ticks aligned to the epoch.

use thiserror::Error;

/// Milliseconds since the Unix epoch (UTC).
pub type EpochMs = i64;

pub const MS_PER_SECOND: i64 = 1_000;
pub const MS_PER_HOUR: i64 = 3_600_000;
pub const MS_PER_DAY: i64 = 86_400_000;

/// The checker's period. Checks happen at every multiple of it since the Unix epoch, which is
/// what an EventBridge `rate(10 minutes)` schedule approximates and what makes replays
/// reproducible regardless of where a trace starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickInterval(i64);

#[derive(Debug, Error, PartialEq, Eq)]
#[error("check interval must be between 1 second and 1 day, got {0} s")]
pub struct IntervalError(pub i64);

impl TickInterval {
    pub fn from_seconds(seconds: i64) -> Result<Self, IntervalError> {
        if (1..=86_400).contains(&seconds) {
            Ok(Self(seconds * MS_PER_SECOND))
        } else {
            Err(IntervalError(seconds))
        }
    }

    pub fn as_ms(self) -> i64 {
        self.0
    }

    /// The first tick at or after `t`.
    pub fn first_tick_at_or_after(self, t: EpochMs) -> EpochMs {
        let rem = t.rem_euclid(self.0);
        if rem == 0 { t } else { t - rem + self.0 }
    }

    /// The last tick at or before `t`.
    pub fn last_tick_at_or_before(self, t: EpochMs) -> EpochMs {
        t - t.rem_euclid(self.0)
    }
}

impl Default for TickInterval {
    fn default() -> Self {
        Self(600 * MS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_aligned_to_the_epoch_not_to_the_trace() {
        let interval = TickInterval::from_seconds(600).unwrap();
        assert_eq!(interval.first_tick_at_or_after(0), 0);
        assert_eq!(interval.first_tick_at_or_after(1), 600_000);
        assert_eq!(interval.first_tick_at_or_after(600_000), 600_000);
        assert_eq!(interval.first_tick_at_or_after(600_001), 1_200_000);
        assert_eq!(interval.last_tick_at_or_before(1_199_999), 600_000);
        assert_eq!(interval.last_tick_at_or_before(1_200_000), 1_200_000);
    }

    #[test]
    fn interval_outside_one_second_to_one_day_is_rejected() {
        assert_eq!(TickInterval::from_seconds(0), Err(IntervalError(0)));
        assert_eq!(TickInterval::from_seconds(-5), Err(IntervalError(-5)));
        assert!(TickInterval::from_seconds(86_401).is_err());
        assert!(TickInterval::from_seconds(86_400).is_ok());
    }
}
