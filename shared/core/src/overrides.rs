//! Per-task overrides an operator sets: a different k, a fixed limit, or silence until a date.

use std::fmt;

use crate::baseline::Baseline;
use crate::detect::{DetectionConfig, Thresholds};
use crate::time::EpochMs;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Override {
    /// Replaces the method's k for this task type: limit = expected + k·σ.
    pub k: Option<f64>,
    /// A fixed limit in ms, used instead of any baseline.
    pub limit_ms: Option<f64>,
    /// No alerts for this task type before this time.
    pub mute_until: Option<EpochMs>,
    /// This task type's too-short fraction instead of the configured one (0: no notices).
    pub short_fraction: Option<f64>,
}

impl Override {
    pub fn is_empty(&self) -> bool {
        self.k.is_none()
            && self.limit_ms.is_none()
            && self.mute_until.is_none()
            && self.short_fraction.is_none()
    }

    pub fn mutes_at(&self, now: EpochMs) -> bool {
        self.mute_until.is_some_and(|until| now < until)
    }
}

/// Where the limits a run was checked against came from, said in the alert.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitSource {
    Baseline,
    /// The baseline with an operator's k.
    OverrideK(f64),
    /// An operator's fixed limit.
    OverrideLimit,
    /// The configured limit for task types without a baseline.
    Fallback,
}

impl LimitSource {
    pub fn is_override(&self) -> bool {
        matches!(self, LimitSource::OverrideK(_) | LimitSource::OverrideLimit)
    }
}

impl fmt::Display for LimitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitSource::Baseline => f.write_str("baseline"),
            LimitSource::OverrideK(k) => write!(f, "override: k = {k}"),
            LimitSource::OverrideLimit => f.write_str("override: fixed limit"),
            LimitSource::Fallback => f.write_str("fallback limit (no baseline yet)"),
        }
    }
}

/// The limits in force for one task type, and why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectiveLimits {
    pub thresholds: Thresholds,
    pub source: LimitSource,
    pub baseline: Option<Baseline>,
}

/// Combines a task type's baseline, its override and the fallback into the limits to check
/// against; `None` when there is nothing to check against.
pub fn effective_limits(
    baseline: Option<&Baseline>,
    task_override: Option<&Override>,
    fallback_limit_ms: Option<f64>,
    detection: &DetectionConfig,
) -> Option<EffectiveLimits> {
    let fixed = |limit_ms: f64, source| EffectiveLimits {
        thresholds: Thresholds { warning_ms: limit_ms, critical_ms: limit_ms * detection.critical_factor() },
        source,
        baseline: baseline.copied(),
    };
    if let Some(limit_ms) = task_override.and_then(|o| o.limit_ms) {
        return Some(fixed(limit_ms, LimitSource::OverrideLimit));
    }
    match (baseline, task_override.and_then(|o| o.k)) {
        (Some(b), Some(k)) => {
            let adjusted = Baseline { upper_ms: b.expected_ms + k * b.sigma_ms, ..*b };
            Some(EffectiveLimits {
                thresholds: detection.thresholds(&adjusted),
                source: LimitSource::OverrideK(k),
                baseline: Some(adjusted),
            })
        }
        (Some(b), None) => Some(EffectiveLimits {
            thresholds: detection.thresholds(b),
            source: LimitSource::Baseline,
            baseline: Some(*b),
        }),
        (None, _) => fallback_limit_ms.map(|limit| fixed(limit, LimitSource::Fallback)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn baseline() -> Baseline {
        Baseline { n: 10, expected_ms: 1_000.0, sigma_ms: 100.0, upper_ms: 1_200.0, computed_at: 0 }
    }

    #[test]
    fn baseline_alone_gives_its_upper_limit() {
        let limits = effective_limits(Some(&baseline()), None, None, &DetectionConfig::default()).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 1_200.0);
        assert_eq!(limits.thresholds.critical_ms, 2_400.0);
        assert_eq!(limits.source, LimitSource::Baseline);
    }

    #[test]
    fn override_k_recomputes_the_limit_from_the_baseline() {
        let o = Override { k: Some(4.0), ..Override::default() };
        let limits =
            effective_limits(Some(&baseline()), Some(&o), None, &DetectionConfig::default()).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 1_400.0);
        assert_eq!(limits.source, LimitSource::OverrideK(4.0));
        assert!(limits.source.is_override());
    }

    #[test]
    fn fixed_limit_wins_over_baseline_and_k() {
        let o = Override { k: Some(4.0), limit_ms: Some(5_000.0), ..Override::default() };
        let limits =
            effective_limits(Some(&baseline()), Some(&o), Some(9.0), &DetectionConfig::default()).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 5_000.0);
        assert_eq!(limits.source, LimitSource::OverrideLimit);
    }

    #[test]
    fn fallback_applies_only_without_a_baseline() {
        let detection = DetectionConfig::default();
        assert_eq!(effective_limits(None, None, None, &detection), None);
        let limits = effective_limits(None, None, Some(3_600_000.0), &detection).unwrap();
        assert_eq!(limits.source, LimitSource::Fallback);
        assert_eq!(limits.thresholds.warning_ms, 3_600_000.0);
        // k needs a baseline to act on.
        let o = Override { k: Some(1.0), ..Override::default() };
        assert_eq!(effective_limits(None, Some(&o), None, &detection), None);
    }

    #[test]
    fn mute_holds_until_its_time() {
        let o = Override { mute_until: Some(100), ..Override::default() };
        assert!(o.mutes_at(99));
        assert!(!o.mutes_at(100));
        assert!(Override::default().is_empty());
    }
}
