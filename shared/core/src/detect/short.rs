//! Too-short completions: a run that *succeeded* far below its expected duration.
//!
//! The seed's other failure mode: a task whose work shrank ("data no longer exported") finishes
//! fast and green, and no duration limit ever fires. Such a run gets one informational notice. A
//! run is reported when its duration is strictly below the lower of
//! - the seed's band mirrored below the mean, `expected − 2σ`, and
//! - `fraction × expected` (default a quarter),
//!
//! so a steady task must shrink by more than its own spread, and a noisy one by more than the
//! fraction, before anyone is told. The band is the seed's two σ whatever the method's k: how
//! far out a method puts its upper limit is about pages for slow runs, not about short ones.
//!
//! A task whose work shrank finishes short run after run until its baseline catches up, so a
//! notice goes out for the first too-short run of each task type and **day** (the bucket of end
//! times between two nightly runs, whose baseline judged them all); the day's later ones are
//! counted, not sent. The functions claim the day with a conditional write, the replay engine
//! applies [`first_of_each_day`].

use std::collections::HashSet;

pub use crate::detect::short_rule::{ShortRule, ShortRuleError};

use crate::detect::check::TaskLimits;
use crate::limits::baseline::Baseline;
use crate::limits::season::{Season, SeasonRule};
use crate::model::{RunId, TaskType};
use crate::time::{Day, EpochMs};

/// A run that finished too soon, with what explains it.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortFinish {
    pub task_type: TaskType,
    pub run_id: RunId,
    pub run_start: EpochMs,
    /// When it finished: the notice goes out then.
    pub at: EpochMs,
    pub duration_ms: u64,
    /// The duration it was strictly below.
    pub floor_ms: f64,
    /// The baseline in force when it finished.
    pub baseline: Baseline,
    /// The season whose baseline it was, when its type is judged by season.
    pub season: Option<Season>,
}

/// The notices sent for too-short runs listed in the order they finished: the first of each
/// task type and day (`day_of` an end time), and how many later ones of the same type and day
/// were folded into them.
pub fn first_of_each_day(
    finishes: Vec<ShortFinish>,
    day_of: impl Fn(EpochMs) -> Day,
) -> (Vec<ShortFinish>, u64) {
    let mut noticed: HashSet<(TaskType, Day)> = HashSet::new();
    let before = finishes.len();
    let notices: Vec<ShortFinish> = finishes
        .into_iter()
        .filter(|short| noticed.insert((short.task_type.clone(), day_of(short.at))))
        .collect();
    let folded = (before - notices.len()) as u64;
    (notices, folded)
}

/// What the functions decide for one complete succeeded run.
#[derive(Debug, Clone, PartialEq)]
pub enum ShortVerdict {
    TooShort(ShortFinish),
    /// Within its normal range (or notices are off).
    Normal,
    /// Its task type has no baseline yet.
    NoBaseline,
    /// An operator muted its task type.
    Muted,
}

/// Judges a complete succeeded run against the limits stored for its task type (its season's,
/// when its type is judged by season by `seasons`), at `now`.
pub fn judge_completed(
    rule: &ShortRule,
    task_type: &TaskType,
    run_id: &RunId,
    (start, end): (EpochMs, EpochMs),
    (limits, seasons): (&TaskLimits, Option<&SeasonRule>),
    now: EpochMs,
) -> ShortVerdict {
    if limits.task_override.is_some_and(|o| o.mutes_at(now)) {
        return ShortVerdict::Muted;
    }
    let season = limits.season_of_run(start, seasons);
    let Some(&baseline) = limits.parts(season).baseline else { return ShortVerdict::NoBaseline };
    // A fraction from an override was validated when it was set; one that is not is ignored.
    let overridden =
        limits.task_override.and_then(|o| o.short_fraction()).and_then(|f| ShortRule::new(f).ok());
    let rule = overridden.as_ref().unwrap_or(rule);
    let duration_ms = end.abs_diff(start);
    match rule.is_enabled().then(|| rule.judge(&baseline, duration_ms)).flatten() {
        Some(floor_ms) => ShortVerdict::TooShort(ShortFinish {
            task_type: task_type.clone(),
            run_id: run_id.clone(),
            run_start: start,
            at: end,
            duration_ms,
            floor_ms,
            baseline,
            season,
        }),
        None => ShortVerdict::Normal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::overrides::OverrideParts;

    fn baseline(expected_ms: f64, upper_ms: f64) -> Baseline {
        Baseline {
            n: 20,
            expected_ms,
            sigma_ms: (upper_ms - expected_ms) / 2.0,
            upper_ms,
            computed_at: 0,
            outlier: None,
        }
    }

    #[test]
    fn a_steady_task_is_reported_below_a_quarter_of_its_expected_duration() {
        let rule = ShortRule::default();
        let steady = baseline(40_000.0, 44_000.0);
        assert_eq!(rule.floor_ms(&steady), 10_000.0);
        assert_eq!(rule.judge(&steady, 9_999), Some(10_000.0));
        assert_eq!(rule.judge(&steady, 10_000), None, "strictly below");
    }

    #[test]
    fn a_noisy_task_must_also_fall_below_its_band_mirrored_under_the_mean() {
        let rule = ShortRule::default();
        // expected 40 s, upper 75 s: the mirrored band is 5 s, below a quarter (10 s).
        let noisy = baseline(40_000.0, 75_000.0);
        assert_eq!(rule.floor_ms(&noisy), 5_000.0);
        assert_eq!(rule.judge(&noisy, 6_000), None);
        assert!(rule.judge(&noisy, 4_999).is_some());
        // So wide that the band reaches below zero: nothing is ever too short.
        assert_eq!(rule.floor_ms(&baseline(40_000.0, 200_000.0)), 0.0);
        assert_eq!(rule.judge(&baseline(40_000.0, 200_000.0), 0), None);
    }

    #[test]
    fn a_muted_task_type_or_one_without_a_baseline_gets_no_notice() {
        use crate::detect::overrides::Override;
        let task = TaskType::new("export").unwrap();
        let run = RunId::new("r1").unwrap();
        let limits = TaskLimits { baseline: Some(baseline(40_000.0, 44_000.0)), ..TaskLimits::default() };
        let verdict = judge_completed(&ShortRule::default(), &task, &run, (0, 1_000), (&limits, None), 5_000);
        assert!(matches!(verdict, ShortVerdict::TooShort(ref s) if s.duration_ms == 1_000 && s.at == 1_000));
        let muted = TaskLimits {
            task_override: Some(
                Override::new(OverrideParts { mute_until: Some(10_000), ..Default::default() }).unwrap(),
            ),
            ..limits.clone()
        };
        assert_eq!(
            judge_completed(&ShortRule::default(), &task, &run, (0, 1_000), (&muted, None), 5_000),
            ShortVerdict::Muted
        );
        let none = TaskLimits::default();
        assert_eq!(
            judge_completed(&ShortRule::default(), &task, &run, (0, 1_000), (&none, None), 5_000),
            ShortVerdict::NoBaseline
        );
        assert_eq!(
            judge_completed(&ShortRule::disabled(), &task, &run, (0, 1_000), (&limits, None), 5_000),
            ShortVerdict::Normal
        );
        let silenced = TaskLimits {
            task_override: Some(
                Override::new(OverrideParts { short_fraction: Some(0.0), ..Default::default() }).unwrap(),
            ),
            ..limits.clone()
        };
        assert_eq!(
            judge_completed(&ShortRule::default(), &task, &run, (0, 1_000), (&silenced, None), 5_000),
            ShortVerdict::Normal,
            "a per-task fraction of 0 silences only this task type's notices"
        );
    }

    fn finish(task: &str, run: &str, at: EpochMs) -> ShortFinish {
        ShortFinish {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(run).unwrap(),
            run_start: at - 1_000,
            at,
            duration_ms: 1_000,
            floor_ms: 10_000.0,
            baseline: baseline(40_000.0, 44_000.0),
            season: None,
        }
    }

    #[test]
    fn only_the_first_too_short_run_of_a_task_type_each_day_is_noticed_and_the_rest_are_counted() {
        const DAY: EpochMs = 86_400_000;
        let finishes = vec![
            finish("export", "e1", DAY + 1),
            finish("load", "l1", DAY + 2),
            finish("export", "e2", DAY + 3),
            finish("export", "e3", 2 * DAY - 1),
            finish("export", "e4", 2 * DAY),
        ];
        let (notices, folded) = first_of_each_day(finishes, |at| Day::new(at.div_euclid(DAY)));
        let sent: Vec<&str> = notices.iter().map(|n| n.run_id.as_str()).collect();
        assert_eq!(sent, ["e1", "l1", "e4"], "one per type and day; a new day gets its own");
        assert_eq!(folded, 2);
    }

    #[test]
    fn fraction_zero_turns_the_notice_off_and_out_of_range_fractions_are_rejected() {
        let off = ShortRule::new(0.0).unwrap();
        assert!(!off.is_enabled());
        assert_eq!(off.judge(&baseline(40_000.0, 41_000.0), 0), None);
        for bad in [-0.1, 1.0, f64::NAN, f64::INFINITY] {
            assert!(ShortRule::new(bad).is_err(), "{bad}");
        }
    }
}
