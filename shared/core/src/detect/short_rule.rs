//! The too-short rule's setting: the fraction of its expected duration below which a succeeded
//! run is reported (see [`crate::detect::short`] for why and how).

use thiserror::Error;

use crate::limits::baseline::Baseline;

#[derive(Debug, Clone, Copy, Error, PartialEq)]
#[error("the too-short fraction must be a number in [0, 1) (0 turns the notice off), got {0}")]
pub struct ShortRuleError(pub f64);

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShortRule {
    fraction: f64,
}

impl ShortRule {
    pub const DEFAULT_FRACTION: f64 = crate::defaults::SHORT_FRACTION;
    /// The half-width of the band mirrored below the mean, in σ (the seed's k).
    pub const BAND_SIGMAS: f64 = 2.0;

    pub fn new(fraction: f64) -> Result<Self, ShortRuleError> {
        if (0.0..1.0).contains(&fraction) { Ok(Self { fraction }) } else { Err(ShortRuleError(fraction)) }
    }

    pub fn disabled() -> Self {
        Self { fraction: 0.0 }
    }

    pub fn fraction(&self) -> f64 {
        self.fraction
    }

    pub fn is_enabled(&self) -> bool {
        self.fraction > 0.0
    }

    /// The duration a succeeded run must be strictly below to be reported; 0 when nothing can be.
    pub fn floor_ms(&self, baseline: &Baseline) -> f64 {
        let mirrored = baseline.expected_ms - Self::BAND_SIGMAS * baseline.sigma_ms;
        let floor = mirrored.min(self.fraction * baseline.expected_ms);
        if floor.is_finite() { floor.max(0.0) } else { 0.0 }
    }

    /// `Some(floor)` when a succeeded run of `duration_ms` is too short against `baseline`.
    pub fn judge(&self, baseline: &Baseline, duration_ms: u64) -> Option<f64> {
        let floor = self.floor_ms(baseline);
        ((duration_ms as f64) < floor).then_some(floor)
    }
}

impl Default for ShortRule {
    fn default() -> Self {
        Self { fraction: Self::DEFAULT_FRACTION }
    }
}
