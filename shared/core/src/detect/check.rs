//! The checker's decision, pure: which running runs are past which limits now, and which of those
//! are new alerts.

use crate::limits::season::{Season, SeasonRule, SeasonalLimits, judged_by_season};
use std::collections::HashMap;

use crate::detect::levels::{AlertedLevels, Level, Thresholds};
use crate::detect::overrides::{
    EffectiveLimits, LimitParts, LimitRules, LimitSource, Override, Sensitivity, effective_limits,
};
use crate::limits::baseline::Baseline;
use crate::limits::recent::PerRunLimits;
use crate::limits::tailored::PreparedWindow;
use crate::model::{CohortId, Lease, RunId, TaskType};
use crate::stats::histogram::DurationHistogram;
use crate::time::{EpochMs, TickInterval};

/// A run the run store lists as running, with the levels already claimed for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningRun {
    pub task_type: TaskType,
    pub run_id: RunId,
    pub start: EpochMs,
    pub alerted: AlertedLevels,
    /// The alerts claimed for it and not (known to be) delivered yet, with their leases.
    pub undelivered: Vec<(Level, Lease)>,
    /// The cohort its events named, if any.
    pub cohort: Option<CohortId>,
    /// With recent runs: the durations of the latest succeeded runs of its type that had ended
    /// when it started, newest first (empty: none, or recent runs are off).
    pub recent_ms: Vec<u64>,
    /// With seasons: the same, of the runs that started in its own season (weekday or weekend),
    /// which its own limit weighs when its type is judged by season.
    pub season_recent_ms: Vec<u64>,
}

/// What the stats store holds for one task type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskLimits {
    pub baseline: Option<Baseline>,
    pub task_override: Option<Override>,
    /// The histogram of the window the baseline came from (tailored method), from which each
    /// run's own limit is computed with its recent runs.
    pub window: Option<DurationHistogram>,
    /// With seasons: its limits by season, for a type with enough runs in each season to tell.
    pub seasons: Option<SeasonalLimits>,
}

impl TaskLimits {
    /// The season whose limits judge a run started at `start`: its own (by `rule`'s weekends)
    /// when its type is judged by season, as its history or an operator's override says, and
    /// that season has a baseline; `None` when its type's own limits judge it.
    pub fn season_of_run(&self, start: EpochMs, rule: Option<&SeasonRule>) -> Option<Season> {
        let (rule, seasons) = (rule?, self.seasons.as_ref()?);
        let forced = self.task_override.and_then(|o| o.seasons());
        let season = rule.season_of(start);
        // A season with too few runs for a baseline of its own leaves the run to its type's.
        (judged_by_season(Some(seasons), forced) && seasons.of(season).baseline.is_some()).then_some(season)
    }

    /// The limits made of its baseline and window, or of `season`'s.
    pub fn parts(&self, season: Option<Season>) -> LimitParts<'_> {
        let (baseline, window) = match season.zip(self.seasons.as_ref()) {
            Some((season, seasons)) => {
                let limits = seasons.of(season);
                (limits.baseline.as_ref(), limits.window.as_ref())
            }
            None => (self.baseline.as_ref(), self.window.as_ref()),
        };
        LimitParts { baseline, window, task_override: self.task_override.as_ref() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CheckSettings {
    /// How a type's limits are made from its baseline, window and override.
    pub rules: LimitRules,
    /// Each run's own limit from its type's window and its recent runs (`None`: the type's).
    pub per_run: Option<PerRunLimits>,
    /// Judging types whose history shows a weekly season by season, weekends in this rule's zone
    /// (`None`: every type by its own limits).
    pub seasons: Option<SeasonRule>,
}

/// An alert: a run past one of its limits at a check, with what explains it. The checker claims
/// and publishes the new ones; the replay lists every one it would have raised.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub task_type: TaskType,
    pub run_id: RunId,
    pub run_start: EpochMs,
    pub at: EpochMs,
    pub level: Level,
    pub elapsed_ms: i64,
    /// The crossed level's limit: `thresholds.limit_ms(level)`.
    pub limit_ms: f64,
    /// The run's own warning and critical limits when it was judged (its recent runs and its
    /// cohort's stretch applied).
    pub thresholds: Thresholds,
    /// Its type's limits, and where they came from.
    pub limits: EffectiveLimits,
    /// How much the run's cohort's pace stretched its limits (1: not at all).
    pub cohort_stretch: f64,
    /// The recent runs its own limit weighed, newest first, and their share of the weight (empty
    /// and 0: its type's limit).
    pub recent_ms: Vec<u64>,
    pub recent_weight: f64,
    /// The season whose runs its limits came from, when its type is judged by season
    /// ([`crate::limits::season`]); `None`: all its type's runs.
    pub season: Option<Season>,
}

impl Alert {
    /// The baseline its limits came from (none for a fixed or fallback limit).
    pub fn baseline(&self) -> Option<&Baseline> {
        self.limits.baseline.as_ref()
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CheckOutcome {
    pub alerts: Vec<Alert>,
    pub checked: usize,
    pub muted: usize,
    pub without_limits: usize,
    /// Runs judged by their own limit, from their recent runs.
    pub own_limits: usize,
}

/// Where a running run stands: what the checker judges it by, or why it does not judge it.
#[derive(Debug, Clone, PartialEq)]
pub enum Standing {
    /// Its task type is muted until then.
    Muted {
        until: EpochMs,
    },
    /// No baseline, no fixed limit and no fallback: nothing to judge it by.
    WithoutLimits,
    Judged(Judgement),
}

/// The limits a run is judged by, and what they are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Its type's limits, or its own when it weighed recent runs (before any cohort stretch).
    pub limits: EffectiveLimits,
    /// The limits in force: `limits` stretched by its cohort's pace.
    pub thresholds: Thresholds,
    /// How much the run's cohort's pace stretched its limits (1: not at all).
    pub cohort_stretch: f64,
    /// The recent runs its own limit weighed, newest first, and their share of the weight (empty
    /// and 0: its type's limit).
    pub recent_ms: Vec<u64>,
    pub recent_weight: f64,
    /// The season whose limits judge it, when its type is judged by season.
    pub season: Option<Season>,
}

impl Judgement {
    /// The highest level a run that started at `start` is past at `now`.
    pub fn level_at(&self, start: EpochMs, now: EpochMs) -> Option<Level> {
        self.thresholds.crossed_at(start, now).last()
    }

    /// How much of its warning limit a run has used after `elapsed_ms` (1: at the limit).
    pub fn share_used(&self, elapsed_ms: i64) -> f64 {
        elapsed_ms as f64 / self.thresholds.warning_ms
    }
}

/// Where each of `runs` stands at `now`, in the same order: the checker's judgement, which
/// `check_running` alerts from and operators' tools show.
pub fn assess_running(
    now: EpochMs,
    runs: &[RunningRun],
    limits: &HashMap<TaskType, TaskLimits>,
    stretches: &HashMap<CohortId, f64>,
    settings: &CheckSettings,
) -> Vec<Standing> {
    // Each type's (or season's) window, prepared once for all of its running runs.
    let mut prepared: HashMap<(&TaskType, Option<Season>), Option<PreparedWindow>> = HashMap::new();
    runs.iter()
        .map(|run| {
            let task = limits.get(&run.task_type);
            let task_override = task.and_then(|t| t.task_override.as_ref());
            if let Some(until) = task_override.filter(|o| o.mutes_at(now)).and_then(|o| o.mute_until()) {
                return Standing::Muted { until };
            }
            let season = task.and_then(|t| t.season_of_run(run.start, settings.seasons.as_ref()));
            let parts = task.map(|t| t.parts(season)).unwrap_or_default();
            let Some(effective) = effective_limits(parts, &settings.rules) else {
                return Standing::WithoutLimits;
            };
            let window = prepared.entry((&run.task_type, season));
            let recent = if season.is_some() { &run.season_recent_ms } else { &run.recent_ms };
            let (limits, recent_ms, recent_weight) =
                own_limits(recent, effective, parts.window, settings, window);
            let cohort_stretch =
                run.cohort.as_ref().and_then(|cohort| stretches.get(cohort)).copied().unwrap_or(1.0);
            Standing::Judged(Judgement {
                thresholds: limits.thresholds.stretched(cohort_stretch),
                limits,
                cohort_stretch,
                recent_ms,
                recent_weight,
                season,
            })
        })
        .collect()
}

/// A run's own limits, from its type's window and its recent runs, when recent runs are on and
/// it has some; its type's limits otherwise. An operator's fixed limit is the type's whatever
/// its recent runs; an operator's k is the price its own limit is computed at.
fn own_limits(
    recent_ms: &[u64],
    effective: EffectiveLimits,
    window: Option<&DurationHistogram>,
    settings: &CheckSettings,
    prepared: std::collections::hash_map::Entry<'_, (&TaskType, Option<Season>), Option<PreparedWindow>>,
) -> (EffectiveLimits, Vec<u64>, f64) {
    let type_limits = (effective, Vec::new(), 0.0);
    let price = match effective.source {
        LimitSource::Baseline => settings.per_run.map(|p| p.price),
        LimitSource::OverrideK(k) if matches!(settings.rules.sensitivity, Sensitivity::Price { .. }) => {
            Some(k)
        }
        LimitSource::OverrideK(_) | LimitSource::OverrideLimit | LimitSource::Fallback => None,
    };
    let (Some(per_run), Some(price), Some(baseline), Some(window)) =
        (settings.per_run, price, effective.baseline, window)
    else {
        return type_limits;
    };
    if recent_ms.is_empty() {
        return type_limits;
    }
    let per_run = PerRunLimits { price, ..per_run };
    let Some(prepared) = prepared.or_insert_with(|| per_run.prepare(&baseline, window.values())) else {
        return type_limits;
    };
    let own = per_run.baseline_with(&baseline, prepared, recent_ms);
    let limits = EffectiveLimits {
        baseline: Some(own),
        thresholds: settings.rules.detection.thresholds(&own),
        ..effective
    };
    (limits, recent_ms.to_vec(), per_run.recent.weight)
}

/// Every level each running run is strictly past at `now` and has not been alerted for yet, its
/// limits stretched by its cohort's pace (`stretches`, from [`crate::detect::cohort::stretch`]).
pub fn check_running(
    now: EpochMs,
    runs: &[RunningRun],
    limits: &HashMap<TaskType, TaskLimits>,
    stretches: &HashMap<CohortId, f64>,
    settings: &CheckSettings,
) -> CheckOutcome {
    let mut outcome = CheckOutcome { checked: runs.len(), ..CheckOutcome::default() };
    let standings = assess_running(now, runs, limits, stretches, settings);
    for (run, standing) in runs.iter().zip(standings) {
        let judgement = match standing {
            Standing::Muted { .. } => {
                outcome.muted += 1;
                continue;
            }
            Standing::WithoutLimits => {
                outcome.without_limits += 1;
                continue;
            }
            Standing::Judged(judgement) => judgement,
        };
        if !judgement.recent_ms.is_empty() {
            outcome.own_limits += 1;
        }
        for level in judgement.thresholds.crossed_at(run.start, now) {
            if run.alerted.contains(level) {
                continue;
            }
            outcome.alerts.push(Alert {
                task_type: run.task_type.clone(),
                run_id: run.run_id.clone(),
                run_start: run.start,
                at: now,
                level,
                elapsed_ms: now - run.start,
                limit_ms: judgement.thresholds.limit_ms(level),
                thresholds: judgement.thresholds,
                limits: judgement.limits,
                cohort_stretch: judgement.cohort_stretch,
                recent_ms: judgement.recent_ms.clone(),
                recent_weight: judgement.recent_weight,
                season: judgement.season,
            });
        }
    }
    outcome
}

/// Consecutive checks of one run with the same verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickSpan {
    pub first: EpochMs,
    pub last: EpochMs,
    pub ticks: u64,
    /// The highest level the run was past at those checks (`None`: within its limit).
    pub level: Option<Level>,
}

/// The verdict of every check that saw a run that started at `start`, up to `until` (its end,
/// exclusive, or now, inclusive when `inclusive`), judged by `thresholds`: the checks fall on
/// multiples of `interval`, and a run is seen by the checks after its start while it runs.
pub fn tick_verdicts(
    start: EpochMs,
    until: EpochMs,
    inclusive: bool,
    interval: TickInterval,
    thresholds: &Thresholds,
) -> Vec<TickSpan> {
    let mut spans: Vec<TickSpan> = Vec::new();
    let mut tick = interval.first_tick_at_or_after(start);
    while tick < until || (inclusive && tick == until) {
        let level = thresholds.crossed_at(start, tick).last();
        match spans.last_mut() {
            Some(span) if span.level == level => {
                span.last = tick;
                span.ticks += 1;
            }
            _ => spans.push(TickSpan { first: tick, last: tick, ticks: 1, level }),
        }
        tick += interval.as_ms();
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::overrides::OverrideParts;

    fn running(task: &str, id: &str, start: EpochMs) -> RunningRun {
        RunningRun {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new(id).unwrap(),
            start,
            alerted: AlertedLevels::default(),
            undelivered: Vec::new(),
            cohort: None,
            recent_ms: Vec::new(),
            season_recent_ms: Vec::new(),
        }
    }

    #[test]
    fn a_run_of_a_season_without_a_baseline_is_judged_by_its_types_own_and_an_override_can_say_plain() {
        use crate::limits::season::{SeasonLimits, SeasonMode};
        const SATURDAY_NOON: EpochMs = 1_738_411_200_000;
        let monday_noon = SATURDAY_NOON + 2 * 86_400_000;
        let baseline = Baseline {
            n: 20,
            expected_ms: 60_000.0,
            sigma_ms: 1.0,
            upper_ms: 70_000.0,
            computed_at: 0,
            outlier: None,
        };
        let weekday = SeasonLimits { baseline: Some(baseline), window: None };
        let limits = TaskLimits {
            baseline: Some(baseline),
            seasons: Some(SeasonalLimits { evidence: 100.0, seasons: [weekday, SeasonLimits::default()] }),
            ..TaskLimits::default()
        };
        let rule = SeasonRule::default();
        assert_eq!(limits.season_of_run(monday_noon, Some(&rule)), Some(Season::Weekday));
        assert_eq!(limits.season_of_run(SATURDAY_NOON, Some(&rule)), None, "no weekend baseline: the type's");
        assert_eq!(limits.season_of_run(monday_noon, None), None, "seasons off");
        let plain =
            Override::new(OverrideParts { seasons: Some(SeasonMode::Plain), ..OverrideParts::default() });
        let forced = TaskLimits { task_override: Some(plain.unwrap()), ..limits };
        assert_eq!(forced.season_of_run(monday_noon, Some(&rule)), None);
    }

    fn limits_for(
        task: &str,
        upper_ms: f64,
        task_override: Option<Override>,
    ) -> HashMap<TaskType, TaskLimits> {
        let baseline = Baseline {
            n: 9,
            expected_ms: upper_ms / 2.0,
            sigma_ms: upper_ms / 4.0,
            upper_ms,
            computed_at: 0,
            outlier: None,
        };
        HashMap::from([(
            TaskType::new(task).unwrap(),
            TaskLimits { baseline: Some(baseline), task_override, window: None, seasons: None },
        )])
    }

    #[test]
    fn a_run_past_its_limit_gets_a_warning_and_past_twice_a_critical() {
        let limits = limits_for("etl", 1_000.0, None);
        let runs = [running("etl", "a", 0), running("etl", "b", 500), running("etl", "c", -1_500)];
        let outcome = check_running(1_001, &runs, &limits, &HashMap::new(), &CheckSettings::default());
        let got: Vec<_> = outcome.alerts.iter().map(|a| (a.run_id.as_str(), a.level)).collect();
        assert_eq!(got, vec![("a", Level::Warning), ("c", Level::Warning), ("c", Level::Critical)]);
        assert_eq!(outcome.checked, 3);
    }

    #[test]
    fn levels_already_alerted_are_not_alerted_again() {
        let limits = limits_for("etl", 1_000.0, None);
        let mut run = running("etl", "a", 0);
        run.alerted.insert(Level::Warning);
        let outcome = check_running(5_000, &[run], &limits, &HashMap::new(), &CheckSettings::default());
        let levels: Vec<_> = outcome.alerts.iter().map(|a| a.level).collect();
        assert_eq!(levels, vec![Level::Critical]);
    }

    #[test]
    fn muted_task_types_and_task_types_without_limits_are_counted_not_alerted() {
        let muted = Override::new(OverrideParts { mute_until: Some(10_000), ..Default::default() }).unwrap();
        let mut limits = limits_for("etl", 1_000.0, Some(muted));
        limits.extend(limits_for("other", 1_000.0, None).into_iter().map(|(t, mut l)| {
            l.baseline = None;
            (t, l)
        }));
        let runs = [running("etl", "a", 0), running("other", "b", 0), running("unknown", "c", 0)];
        let outcome = check_running(5_000, &runs, &limits, &HashMap::new(), &CheckSettings::default());
        assert!(outcome.alerts.is_empty());
        assert_eq!(outcome.muted, 1);
        assert_eq!(outcome.without_limits, 2);
    }

    #[test]
    fn fallback_limit_checks_task_types_without_a_baseline() {
        let rules = LimitRules { fallback_limit_ms: Some(2_000.0), ..LimitRules::default() };
        let settings = CheckSettings { rules, ..CheckSettings::default() };
        let outcome =
            check_running(2_001, &[running("new", "a", 0)], &HashMap::new(), &HashMap::new(), &settings);
        assert_eq!(outcome.alerts.len(), 1);
        assert_eq!(outcome.alerts[0].limits.source, LimitSource::Fallback);
    }

    #[test]
    fn an_override_applies_and_is_recorded_in_the_decision() {
        let fixed = Override::new(OverrideParts { limit_ms: Some(100.0), ..Default::default() }).unwrap();
        let limits = limits_for("etl", 1_000.0, Some(fixed));
        let outcome = check_running(
            150,
            &[running("etl", "a", 0)],
            &limits,
            &HashMap::new(),
            &CheckSettings::default(),
        );
        assert_eq!(outcome.alerts[0].limits.source, LimitSource::OverrideLimit);
        assert_eq!(outcome.alerts[0].limit_ms, 100.0);
    }

    #[test]
    fn a_run_whose_cohort_runs_slow_is_judged_at_its_pace() {
        let limits = limits_for("etl", 1_000.0, None);
        let mut run = running("etl", "a", 0);
        let outcome =
            check_running(1_500, &[run.clone()], &limits, &HashMap::new(), &CheckSettings::default());
        assert_eq!(outcome.alerts.len(), 1, "past 1,000 ms on its own");
        let cohort = CohortId::new("build-7").unwrap();
        run.cohort = Some(cohort.clone());
        let stretches = HashMap::from([(cohort, 2.0)]);
        let outcome = check_running(1_500, &[run.clone()], &limits, &stretches, &CheckSettings::default());
        assert!(outcome.alerts.is_empty(), "within 2,000 ms at its cohort's pace");
        let outcome = check_running(2_001, &[run], &limits, &stretches, &CheckSettings::default());
        assert_eq!((outcome.alerts[0].limit_ms, outcome.alerts[0].cohort_stretch), (2_000.0, 2.0));
    }

    #[test]
    fn with_recent_runs_each_run_is_judged_by_its_own_limit_unless_an_operator_set_one() {
        let minute = 60_000u64;
        let policy = crate::BaselinePolicy::new(crate::Method::Tailored { k: 5.0 }, 14, 5, 0).unwrap();
        let per_run = crate::limits::recent::RecentRuns::new(3, 0.5).unwrap().for_policy(&policy).unwrap();
        let settings = CheckSettings { per_run, ..CheckSettings::default() };
        let window = DurationHistogram::from_bins(
            [55, 58, 60, 62, 65].iter().map(|&m| (DurationHistogram::bin_of(m * minute), 4)),
        )
        .unwrap();
        let type_limit_ms = 75.0 * minute as f64;
        let mut limits = limits_for("etl", type_limit_ms, None);
        limits.values_mut().for_each(|l| l.window = Some(window.clone()));
        let mut after_slow_streak = running("etl", "streak", 0);
        after_slow_streak.recent_ms = vec![100 * minute; 3];
        let plain = running("etl", "plain", 0);
        let now = 80 * minute as i64;
        let outcome =
            check_running(now, &[after_slow_streak.clone(), plain], &limits, &HashMap::new(), &settings);
        assert_eq!(outcome.own_limits, 1, "the run without recent runs keeps its type's limit");
        let warned: Vec<_> = outcome.alerts.iter().map(|a| a.run_id.as_str()).collect();
        assert_eq!(warned, vec!["plain"], "the run after a streak of 100-minute runs is not late at 80");
        let own = per_run.unwrap().baseline_of_run(
            &limits[&TaskType::new("etl").unwrap()].baseline.unwrap(),
            window.values(),
            &after_slow_streak.recent_ms,
        );
        assert!(own.upper_ms > now as f64, "its own limit {} is past 80 minutes", own.upper_ms);

        let operator_limit =
            Override::new(OverrideParts { limit_ms: Some(70.0 * minute as f64), ..Default::default() })
                .unwrap();
        let mut overridden = limits_for("etl", type_limit_ms, Some(operator_limit));
        overridden.values_mut().for_each(|l| l.window = Some(window.clone()));
        let outcome =
            check_running(now, &[after_slow_streak.clone()], &overridden, &HashMap::new(), &settings);
        assert_eq!(
            outcome.alerts[0].limits.source,
            LimitSource::OverrideLimit,
            "a fixed limit is the type's"
        );

        // An operator's k is the tailored price its own limit is computed at.
        let tailored = LimitRules {
            sensitivity: Sensitivity::Price { interval_ms: 600_000.0 },
            ..LimitRules::default()
        };
        let settings = CheckSettings { rules: tailored, ..settings };
        let operator_k = Override::new(OverrideParts { k: Some(1.0), ..Default::default() }).unwrap();
        let mut overridden = limits_for("etl", type_limit_ms, Some(operator_k));
        overridden.values_mut().for_each(|l| l.window = Some(window.clone()));
        let standing =
            &assess_running(now, &[after_slow_streak.clone()], &overridden, &HashMap::new(), &settings)[0];
        let Standing::Judged(judgement) = standing else { panic!("judged: {standing:?}") };
        let at_price_one = PerRunLimits { price: 1.0, ..per_run.unwrap() }.baseline_of_run(
            &limits[&TaskType::new("etl").unwrap()].baseline.unwrap(),
            window.values(),
            &after_slow_streak.recent_ms,
        );
        assert_eq!(judgement.limits.source, LimitSource::OverrideK(1.0));
        assert_eq!(judgement.thresholds.warning_ms, at_price_one.upper_ms);
    }

    #[test]
    fn tick_verdicts_group_the_checks_a_run_went_through_by_level() {
        let thresholds = Thresholds { warning_ms: 25_000.0, critical_ms: 50_000.0 };
        let interval = TickInterval::from_seconds(10).unwrap();
        // Started at 3 s: seen at 10, 20 (within), 30, 40, 50 (past 25 s), 60 (past 50 s).
        let spans = tick_verdicts(3_000, 60_000, true, interval, &thresholds);
        let got: Vec<_> = spans.iter().map(|s| (s.first, s.last, s.ticks, s.level)).collect();
        assert_eq!(
            got,
            vec![
                (10_000, 20_000, 2, None),
                (30_000, 50_000, 3, Some(Level::Warning)),
                (60_000, 60_000, 1, Some(Level::Critical)),
            ]
        );
        // A run that ended at 60 s was not seen by the check at 60 s.
        assert_eq!(tick_verdicts(3_000, 60_000, false, interval, &thresholds).len(), 2);
        assert!(tick_verdicts(3_000, 9_000, true, interval, &thresholds).is_empty());
    }
}
