//! What decides what pages, validated once: the method and its k, the window, the schedule of
//! nights and checks, the critical factor, warned runs kept out, too-short notices, recent runs
//! and the fallback limit. The deployed functions (from environment variables, in `overrun-aws`) and the
//! `overrun` command (from its options) both fill in [`Choices`] and get one [`Detection`]
//! value from [`Detection::new`], so both accept exactly the same ranges; a refused choice names
//! its [`Setting`], which each side spells as its variable or option.

use std::fmt;

use thiserror::Error;

use crate::defaults;
use crate::detect::levels::DetectionConfig;
use crate::detect::short_rule::ShortRule;
use crate::limits::baseline::{BaselinePolicy, MethodName, PolicyError, is_valid_k};
use crate::limits::recent::{RecentRuns, RecentRunsError};
use crate::limits::window::ExclusionCap;
use crate::time::TickInterval;

/// The settings as chosen, unchecked; every unset one is its default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Choices {
    pub method: MethodName,
    /// `None`: the method's own default k.
    pub k: Option<f64>,
    pub window_days: u32,
    pub min_samples: u64,
    pub nightly_hour: u8,
    pub check_interval_seconds: i64,
    pub critical_factor: f64,
    /// `None`: the method's own (the guarded method's tenth; none for the others).
    pub exclusion_cap: Option<ExclusionCap>,
    pub short_fraction: f64,
    /// `None`: the method's own (three with tailored).
    pub recent_runs: Option<usize>,
    pub recent_weight: Option<f64>,
    /// The limit, in seconds, of a run whose type has no baseline yet; 0: none (such runs are not
    /// judged).
    pub fallback_limit_s: f64,
}

impl Default for Choices {
    fn default() -> Self {
        Self {
            method: MethodName::default(),
            k: None,
            window_days: defaults::WINDOW_DAYS,
            min_samples: defaults::MIN_SAMPLES,
            nightly_hour: defaults::NIGHTLY_HOUR,
            check_interval_seconds: defaults::CHECK_INTERVAL_MINUTES * 60,
            critical_factor: defaults::CRITICAL_FACTOR,
            exclusion_cap: None,
            short_fraction: defaults::SHORT_FRACTION,
            recent_runs: None,
            recent_weight: None,
            fallback_limit_s: defaults::FALLBACK_LIMIT_S,
        }
    }
}

/// Which setting a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Method,
    K,
    WindowDays,
    MinSamples,
    NightlyHour,
    CheckInterval,
    CriticalFactor,
    ShortFraction,
    RecentRuns,
    RecentWeight,
    FallbackLimit,
}

/// A choice out of its range.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{reason}")]
pub struct SettingError {
    pub setting: Setting,
    pub reason: String,
}

impl SettingError {
    fn new(setting: Setting, reason: impl fmt::Display) -> Self {
        Self { setting, reason: reason.to_string() }
    }
}

/// The settings, every one in its range and consistent with the others.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    pub policy: BaselinePolicy,
    pub detection: DetectionConfig,
    /// Warned runs kept out of later windows, up to this share of a window (`None`: every run
    /// counts).
    pub exclusion: Option<ExclusionCap>,
    pub short: ShortRule,
    pub recent: RecentRuns,
    /// The limit of a run whose type has no baseline yet (`None`: not judged).
    pub fallback_limit_ms: Option<f64>,
}

/// The longest fallback limit: a year.
pub const MAX_FALLBACK_LIMIT_S: f64 = 366.0 * 86_400.0;

impl Default for Detection {
    fn default() -> Self {
        // The defaults are in range (a unit test holds them to it).
        Self::new(&Choices::default()).unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

impl Detection {
    pub fn new(choices: &Choices) -> Result<Self, SettingError> {
        if let Some(k) = choices.k
            && !is_valid_k(k)
        {
            // At 0 a normal run pages (the limit is the mean, or no price on a false page).
            return Err(SettingError::new(
                Setting::K,
                format!("k must be a finite number greater than 0, got {k}"),
            ));
        }
        let method = choices.method.with_k(choices.k.unwrap_or(choices.method.default_k()));
        let interval = TickInterval::from_seconds(choices.check_interval_seconds)
            .map_err(|error| SettingError::new(Setting::CheckInterval, error))?;
        let policy =
            BaselinePolicy::new(method, choices.window_days, choices.min_samples, choices.nightly_hour)
                .map_err(|error| SettingError::new(policy_setting(&error), error))?
                .with_check_interval(interval);
        let detection = DetectionConfig::new(choices.critical_factor)
            .map_err(|error| SettingError::new(Setting::CriticalFactor, error))?;
        let short = ShortRule::new(choices.short_fraction)
            .map_err(|error| SettingError::new(Setting::ShortFraction, error))?;
        let recent =
            RecentRuns::chosen(choices.recent_runs, choices.recent_weight, &policy).map_err(|error| {
                let setting = if matches!(error, RecentRunsError::Weight(_)) {
                    Setting::RecentWeight
                } else {
                    Setting::RecentRuns
                };
                SettingError::new(setting, error)
            })?;
        let exclusion = choices.exclusion_cap.or(policy.method().exclusion_cap());
        let fallback = choices.fallback_limit_s;
        if !(fallback.is_finite() && (0.0..=MAX_FALLBACK_LIMIT_S).contains(&fallback)) {
            return Err(SettingError::new(
                Setting::FallbackLimit,
                format!(
                    "the fallback limit must be 0 (none) or a positive number of seconds, at most a year ({MAX_FALLBACK_LIMIT_S}), got {fallback}"
                ),
            ));
        }
        let fallback_limit_ms = (fallback > 0.0).then_some(fallback * 1_000.0);
        Ok(Self { policy, detection, exclusion, short, recent, fallback_limit_ms })
    }
}

fn policy_setting(error: &PolicyError) -> Setting {
    match error {
        PolicyError::UnknownMethod(_) => Setting::Method,
        PolicyError::InvalidK(_) => Setting::K,
        PolicyError::InvalidWindow(_) => Setting::WindowDays,
        PolicyError::InvalidMinSamples(_) => Setting::MinSamples,
        PolicyError::InvalidNightlyHour(_) => Setting::NightlyHour,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(choices: Choices) -> Setting {
        Detection::new(&choices).expect_err("out of range").setting
    }

    #[test]
    fn the_defaults_are_in_range_and_deploy_the_tailored_method_with_recent_runs() {
        let detection = Detection::new(&Choices::default()).unwrap();
        assert_eq!(detection, Detection::default());
        assert_eq!(detection.policy, BaselinePolicy::default());
        assert_eq!(detection.recent.count, defaults::RECENT_RUNS);
        assert_eq!(detection.exclusion, None);
        assert_eq!(
            detection.fallback_limit_ms,
            Some(43_200_000.0),
            "a new type's hang pages within half a day"
        );
    }

    #[test]
    fn each_choice_out_of_range_is_refused_naming_its_setting() {
        let base = Choices::default();
        assert_eq!(refused(Choices { k: Some(-1.0), ..base }), Setting::K);
        assert_eq!(refused(Choices { k: Some(0.0), ..base }), Setting::K);
        assert_eq!(refused(Choices { critical_factor: 1e308, ..base }), Setting::CriticalFactor);
        assert_eq!(refused(Choices { window_days: 0, ..base }), Setting::WindowDays);
        assert_eq!(refused(Choices { min_samples: 0, ..base }), Setting::MinSamples);
        assert_eq!(refused(Choices { nightly_hour: 24, ..base }), Setting::NightlyHour);
        assert_eq!(refused(Choices { check_interval_seconds: 0, ..base }), Setting::CheckInterval);
        assert_eq!(refused(Choices { critical_factor: 1.0, ..base }), Setting::CriticalFactor);
        assert_eq!(refused(Choices { critical_factor: f64::NAN, ..base }), Setting::CriticalFactor);
        assert_eq!(refused(Choices { short_fraction: 1.0, ..base }), Setting::ShortFraction);
        assert_eq!(refused(Choices { recent_weight: Some(2.0), ..base }), Setting::RecentWeight);
        assert_eq!(refused(Choices { fallback_limit_s: -1.0, ..base }), Setting::FallbackLimit);
        assert_eq!(refused(Choices { fallback_limit_s: 1e300, ..base }), Setting::FallbackLimit);
        let off = Detection::new(&Choices { fallback_limit_s: 0.0, ..base }).unwrap();
        assert_eq!(off.fallback_limit_ms, None);
        let seed = Choices { method: MethodName::Seed, recent_runs: Some(3), ..base };
        assert_eq!(refused(seed), Setting::RecentRuns, "only tailored weighs recent runs");
    }

    #[test]
    fn the_guarded_method_keeps_its_own_exclusion_unless_another_is_chosen() {
        let guarded = Choices { method: MethodName::Guarded, ..Choices::default() };
        assert!(Detection::new(&guarded).unwrap().exclusion.is_some());
        let every = Choices { exclusion_cap: Some(ExclusionCap::EVERY_WARNED_RUN), ..guarded };
        assert_eq!(Detection::new(&every).unwrap().exclusion, Some(ExclusionCap::EVERY_WARNED_RUN));
    }
}
