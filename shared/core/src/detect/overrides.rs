//! Per-task overrides an operator sets: a different k, a fixed limit, or silence until a date.

use std::fmt;

use thiserror::Error;

use crate::detect::levels::{DetectionConfig, Thresholds};
use crate::detect::short_rule::{ShortRule, ShortRuleError};
use crate::limits::baseline::{Baseline, Method, is_valid_k};
use crate::limits::season::SeasonMode;
use crate::limits::tailored::tailored_limit;
use crate::stats::histogram::DurationHistogram;
use crate::time::{EpochMs, TickInterval};

/// An operator's override of one task type, valid by construction: built only through
/// [`Override::new`] (or read back from a store through it), so a k below 0, a limit that is not
/// a positive duration or a too-short fraction out of range never reaches the checker.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Override {
    k: Option<f64>,
    limit_ms: Option<f64>,
    mute_until: Option<EpochMs>,
    short_fraction: Option<f64>,
    seasons: Option<SeasonMode>,
}

/// What an override is made of, unchecked.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct OverrideParts {
    /// Replaces the method's k for this task type, in the method's own meaning ([`Sensitivity`]).
    pub k: Option<f64>,
    /// A fixed limit in ms, used instead of any baseline.
    pub limit_ms: Option<f64>,
    /// No alerts for this task type before this time.
    pub mute_until: Option<EpochMs>,
    /// This task type's too-short fraction instead of the configured one (0: no notices).
    pub short_fraction: Option<f64>,
    /// Judge it by season, or not, whatever its history says.
    pub seasons: Option<SeasonMode>,
}

/// A part of an override out of its range, named.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum OverrideError {
    #[error("k must be a finite number greater than 0, got {0}")]
    K(f64),
    #[error("a fixed limit must be a positive duration of at most a year, got {0} ms")]
    Limit(f64),
    #[error("{0}")]
    ShortFraction(ShortRuleError),
}

/// The longest fixed limit an operator may set: a run still going after a year is not a run.
pub const MAX_LIMIT_MS: f64 = 366.0 * 86_400_000.0;

impl Override {
    /// The override `parts` describe, each part checked.
    pub fn new(parts: OverrideParts) -> Result<Self, OverrideError> {
        let OverrideParts { k, limit_ms, mute_until, short_fraction, seasons } = parts;
        if let Some(k) = k
            && !is_valid_k(k)
        {
            return Err(OverrideError::K(k));
        }
        if let Some(limit) = limit_ms
            && !(limit.is_finite() && limit > 0.0 && limit <= MAX_LIMIT_MS)
        {
            return Err(OverrideError::Limit(limit));
        }
        if let Some(fraction) = short_fraction {
            ShortRule::new(fraction).map_err(OverrideError::ShortFraction)?;
        }
        Ok(Self { k, limit_ms, mute_until, short_fraction, seasons })
    }

    /// The override `parts` describe, any part out of range left out and named (an override
    /// stored by an older version that allowed it): the rest still applies.
    pub fn keeping_what_is_valid(mut parts: OverrideParts) -> (Self, Vec<OverrideError>) {
        let mut refused = Vec::new();
        loop {
            match Self::new(parts) {
                Ok(valid) => return (valid, refused),
                Err(error) => {
                    match error {
                        OverrideError::K(_) => parts.k = None,
                        OverrideError::Limit(_) => parts.limit_ms = None,
                        OverrideError::ShortFraction(_) => parts.short_fraction = None,
                    }
                    refused.push(error);
                }
            }
        }
    }

    /// A fixed limit alone.
    pub fn fixed_limit(limit_ms: f64) -> Result<Self, OverrideError> {
        Self::new(OverrideParts { limit_ms: Some(limit_ms), ..OverrideParts::default() })
    }

    /// Silence until `until`, alone.
    pub fn muted_until(until: EpochMs) -> Self {
        Self { mute_until: Some(until), ..Self::default() }
    }

    pub fn k(&self) -> Option<f64> {
        self.k
    }
    pub fn limit_ms(&self) -> Option<f64> {
        self.limit_ms
    }
    pub fn mute_until(&self) -> Option<EpochMs> {
        self.mute_until
    }
    pub fn short_fraction(&self) -> Option<f64> {
        self.short_fraction
    }
    pub fn seasons(&self) -> Option<SeasonMode> {
        self.seasons
    }

    pub fn is_empty(&self) -> bool {
        self.k.is_none()
            && self.limit_ms.is_none()
            && self.mute_until.is_none()
            && self.short_fraction.is_none()
            && self.seasons.is_none()
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

/// What an operator's per-task k means: always what k means to the deployed method, so an
/// override changes a task type's sensitivity, never its formula.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Sensitivity {
    /// `seed` and `guarded` (and `lognormal`, which replays only): limit = expected + k·σ.
    #[default]
    Sigmas,
    /// `tailored`: k is the price of a false page; the limit is the type's window's tailored limit
    /// at that price, checks `interval_ms` apart.
    Price { interval_ms: f64 },
}

impl Sensitivity {
    pub fn of(method: &Method, interval: TickInterval) -> Self {
        match method {
            Method::Tailored { .. } => Sensitivity::Price { interval_ms: interval.as_ms() as f64 },
            Method::Seed { .. } | Method::Guarded { .. } | Method::LogNormal { .. } => Sensitivity::Sigmas,
        }
    }

    /// The baseline's limit at sensitivity `k`; `None` when k cannot be applied (a tailored
    /// deployment whose baseline has no window: one computed by another method, replaced at the
    /// next nightly run).
    pub fn limit_at(&self, k: f64, baseline: &Baseline, window: Option<&DurationHistogram>) -> Option<f64> {
        match self {
            Sensitivity::Sigmas => Some(baseline.expected_ms + k * baseline.sigma_ms),
            Sensitivity::Price { interval_ms } => {
                tailored_limit(window?.values(), baseline.expected_ms, k, *interval_ms)
            }
        }
    }
}

/// What a task type's limits are made of: its baseline, its window (tailored), its override.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitParts<'a> {
    pub baseline: Option<&'a Baseline>,
    pub window: Option<&'a DurationHistogram>,
    pub task_override: Option<&'a Override>,
}

/// How limits are made from their parts: the deployment's settings.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LimitRules {
    pub detection: DetectionConfig,
    /// Limit for task types with no baseline yet; `None` means they are not checked.
    pub fallback_limit_ms: Option<f64>,
    pub sensitivity: Sensitivity,
}

/// Combines a task type's baseline, its override and the fallback into the limits to check
/// against; `None` when there is nothing to check against.
pub fn effective_limits(parts: LimitParts<'_>, rules: &LimitRules) -> Option<EffectiveLimits> {
    let LimitParts { baseline, window, task_override } = parts;
    let detection = &rules.detection;
    let fixed = |limit_ms: f64, source| EffectiveLimits {
        thresholds: detection.fixed(limit_ms),
        source,
        baseline: baseline.copied(),
    };
    if let Some(limit_ms) = task_override.and_then(|o| o.limit_ms()) {
        return Some(fixed(limit_ms, LimitSource::OverrideLimit));
    }
    let from_baseline = |baseline: Baseline, source| EffectiveLimits {
        thresholds: detection.thresholds(&baseline),
        source,
        baseline: Some(baseline),
    };
    let Some(b) = baseline else {
        return rules.fallback_limit_ms.map(|limit| fixed(limit, LimitSource::Fallback));
    };
    let overridden = task_override.and_then(|o| o.k()).and_then(|k| {
        let upper_ms = rules.sensitivity.limit_at(k, b, window)?;
        Some(from_baseline(Baseline { upper_ms, ..*b }, LimitSource::OverrideK(k)))
    });
    Some(overridden.unwrap_or_else(|| from_baseline(*b, LimitSource::Baseline)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_override_is_built_only_from_parts_in_range_and_names_the_part_out_of_it() {
        let parts = |k, limit_ms, short_fraction| OverrideParts {
            k,
            limit_ms,
            mute_until: None,
            short_fraction,
            seasons: None,
        };
        assert!(Override::new(parts(Some(0.5), Some(1.0), Some(0.0))).is_ok());
        assert_eq!(
            Override::new(parts(Some(0.0), None, None)),
            Err(OverrideError::K(0.0)),
            "a normal run would page"
        );
        assert_eq!(Override::new(parts(Some(-1.0), None, None)), Err(OverrideError::K(-1.0)));
        assert!(matches!(Override::new(parts(Some(f64::NAN), None, None)), Err(OverrideError::K(_))));
        assert_eq!(Override::new(parts(None, Some(0.0), None)), Err(OverrideError::Limit(0.0)));
        assert_eq!(Override::fixed_limit(MAX_LIMIT_MS * 2.0), Err(OverrideError::Limit(MAX_LIMIT_MS * 2.0)));
        assert!(matches!(Override::new(parts(None, None, Some(1.0))), Err(OverrideError::ShortFraction(_))));
        let stored = OverrideParts {
            k: Some(0.0),
            limit_ms: Some(1e12),
            mute_until: Some(5),
            short_fraction: None,
            seasons: None,
        };
        let (kept, refused) = Override::keeping_what_is_valid(stored);
        assert_eq!(
            (kept.k(), kept.limit_ms(), kept.mute_until()),
            (None, None, Some(5)),
            "the mute still applies"
        );
        assert_eq!(refused, vec![OverrideError::K(0.0), OverrideError::Limit(1e12)]);
        let muted = Override::muted_until(10);
        assert!(muted.mutes_at(9) && !muted.mutes_at(10));
        assert_eq!((muted.k(), muted.limit_ms(), muted.short_fraction()), (None, None, None));
    }

    const BASELINE: Baseline = Baseline {
        n: 10,
        expected_ms: 1_000.0,
        sigma_ms: 100.0,
        upper_ms: 1_200.0,
        computed_at: 0,
        outlier: None,
    };

    fn parts(task_override: Option<&Override>) -> LimitParts<'_> {
        LimitParts { baseline: Some(&BASELINE), window: None, task_override }
    }

    fn fallback(limit_ms: f64) -> LimitRules {
        LimitRules { fallback_limit_ms: Some(limit_ms), ..LimitRules::default() }
    }

    #[test]
    fn with_the_tailored_method_an_override_k_is_a_price_on_the_window_not_a_sigma_multiplier() {
        let window = DurationHistogram::from_bins(
            [900u64, 950, 1_000, 1_050, 1_100].iter().map(|&ms| (DurationHistogram::bin_of(ms * 1_000), 4)),
        )
        .unwrap();
        let baseline = Baseline {
            n: 20,
            expected_ms: 1_000_000.0,
            sigma_ms: 70_000.0,
            upper_ms: 0.0,
            computed_at: 0,
            outlier: None,
        };
        let tailored = LimitRules {
            sensitivity: Sensitivity::Price { interval_ms: 600_000.0 },
            ..LimitRules::default()
        };
        let at = |k: f64| {
            let o = Override { k: Some(k), ..Override::default() };
            let parts =
                LimitParts { baseline: Some(&baseline), window: Some(&window), task_override: Some(&o) };
            effective_limits(parts, &tailored).unwrap().thresholds.warning_ms
        };
        let expected = tailored_limit(window.values(), baseline.expected_ms, 2.0, 600_000.0).unwrap();
        assert_eq!(at(2.0), expected);
        assert_ne!(at(2.0), baseline.expected_ms + 2.0 * baseline.sigma_ms);
        assert!(at(20.0) >= at(2.0), "a dearer false page never lowers the limit");
        // Without a window the k cannot be applied: the baseline stands.
        let o = Override { k: Some(2.0), ..Override::default() };
        let no_window = LimitParts { baseline: Some(&baseline), window: None, task_override: Some(&o) };
        assert_eq!(effective_limits(no_window, &tailored).unwrap().source, LimitSource::Baseline);
    }

    #[test]
    fn baseline_alone_gives_its_upper_limit() {
        let limits = effective_limits(parts(None), &LimitRules::default()).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 1_200.0);
        assert_eq!(limits.thresholds.critical_ms, 2_400.0);
        assert_eq!(limits.source, LimitSource::Baseline);
    }

    #[test]
    fn override_k_recomputes_the_limit_from_the_baseline() {
        let o = Override { k: Some(4.0), ..Override::default() };
        let limits = effective_limits(parts(Some(&o)), &LimitRules::default()).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 1_400.0);
        assert_eq!(limits.source, LimitSource::OverrideK(4.0));
        assert!(limits.source.is_override());
    }

    #[test]
    fn fixed_limit_wins_over_baseline_and_k() {
        let o = Override { k: Some(4.0), limit_ms: Some(5_000.0), ..Override::default() };
        let limits = effective_limits(parts(Some(&o)), &fallback(9.0)).unwrap();
        assert_eq!(limits.thresholds.warning_ms, 5_000.0);
        assert_eq!(limits.source, LimitSource::OverrideLimit);
    }

    #[test]
    fn fallback_applies_only_without_a_baseline() {
        assert_eq!(effective_limits(LimitParts::default(), &LimitRules::default()), None);
        let limits = effective_limits(LimitParts::default(), &fallback(3_600_000.0)).unwrap();
        assert_eq!(limits.source, LimitSource::Fallback);
        assert_eq!(limits.thresholds.warning_ms, 3_600_000.0);
        // k needs a baseline to act on.
        let o = Override { k: Some(1.0), ..Override::default() };
        let k_alone = LimitParts { task_override: Some(&o), ..LimitParts::default() };
        assert_eq!(effective_limits(k_alone, &LimitRules::default()), None);
    }

    #[test]
    fn mute_holds_until_its_time() {
        let o = Override { mute_until: Some(100), ..Override::default() };
        assert!(o.mutes_at(99));
        assert!(!o.mutes_at(100));
        assert!(Override::default().is_empty());
    }
}
