//! One labelled method setting to replay and score: what `backtest` runs and `against` compares.

use overrun_core::evaluation::replay::ReplayConfig;
use overrun_core::limits::recent::RecentRuns;
use overrun_core::limits::window::ExclusionCap;

/// One labelled setting to replay.
pub struct Variant {
    pub label: String,
    /// The label without its k: the settings of one curve share it.
    pub curve: String,
    pub k: f64,
    pub config: ReplayConfig,
    /// The hindsight reference at price `k`: each task type checked against the one limit chosen
    /// knowing the whole history (see `overrun_core::evaluation::hindsight`), not the method's.
    pub hindsight: bool,
}

impl Variant {
    /// A method setting, labelled like `seed k=2` or `tailored k=5 cohorts`.
    pub fn of(config: ReplayConfig) -> Self {
        let method = config.policy.method();
        let details = label_details(&config);
        Self {
            label: format!("{} k={}{details}", method.name(), method.k()),
            curve: format!("{}{details}", method.name()),
            k: method.k(),
            config,
            hindsight: false,
        }
    }

    /// The hindsight reference at price `k`, on `config`'s schedule.
    pub fn hindsight(config: ReplayConfig, k: f64) -> Self {
        let cohorts = if config.cohorts { " cohorts" } else { "" };
        Self {
            label: format!("hindsight k={k}{cohorts}"),
            curve: format!("hindsight{cohorts}"),
            k,
            config,
            hindsight: true,
        }
    }
}

/// What a label says after the method and its k: exclusion, cohorts, recent runs.
fn label_details(config: &ReplayConfig) -> String {
    let method = config.policy.method();
    let exclusion = match config.exclusion {
        None => String::new(),
        Some(cap) if method.exclusion_cap() == Some(cap) => String::new(),
        Some(ExclusionCap::EVERY_WARNED_RUN) => " excl".to_owned(),
        Some(cap) => format!(" excl≤{}%", (cap.share() * 100.0).round()),
    };
    let cohorts = if config.cohorts { " cohorts" } else { "" };
    let recent = match config.recent {
        recent if recent == RecentRuns::default_for(method) => String::new(),
        recent if recent.is_enabled() => format!(" recent={}@{}", recent.count, recent.weight),
        _ => " recent=off".to_owned(),
    };
    let default_fallback = Some(overrun_core::defaults::FALLBACK_LIMIT_S * 1_000.0);
    let fallback = match config.fallback_limit_ms {
        limit if limit == default_fallback => String::new(),
        None => " fallback=off".to_owned(),
        Some(limit_ms) => format!(" fallback={}", overrun_core::notify::humanize::duration(limit_ms)),
    };
    format!("{exclusion}{cohorts}{recent}{fallback}")
}
