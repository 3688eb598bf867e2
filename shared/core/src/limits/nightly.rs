//! The nightly job's decisions, pure: which days to roll up, the baselines of the night, and what
//! to write so that a second run of the same night writes nothing.

use crate::time::Day;
use std::collections::{BTreeMap, HashMap};

use crate::limits::baseline::{Baseline, BaselinePolicy};
use crate::limits::season::{Season, SeasonLimits, SeasonRule, SeasonalLimits, seasonal_evidence};
use crate::limits::window::{ExclusionCap, WindowDay, assemble_window, keep_if_longest};
use crate::model::TaskType;
use crate::stats::histogram::DurationHistogram;
use crate::stats::moments::{LogMoments, Moments};
use crate::time::EpochMs;

/// What the store knows of one day (a bucket of end times): how many succeeded runs have finished
/// in it, and how many the last roll-up of that day included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayStatus {
    pub day: Day,
    pub finished: u64,
    pub rolled_up: Option<u64>,
}

impl DayStatus {
    /// A day needs (re)rolling when runs finished in it since its last roll-up: late or
    /// out-of-order events, a backfill, a missed night, or a roll-up that ran before an index
    /// caught up.
    pub fn needs_roll_up(&self) -> bool {
        match self.rolled_up {
            None => self.finished > 0,
            Some(rolled) => rolled != self.finished,
        }
    }
}

/// The days of the night's window that need a roll-up, oldest first.
pub fn days_to_roll_up(statuses: &[DayStatus]) -> Vec<Day> {
    let mut days: Vec<Day> = statuses.iter().filter(|s| s.needs_roll_up()).map(|s| s.day).collect();
    days.sort_unstable();
    days
}

/// A succeeded run counted for a day, as the nightly job reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedRun {
    pub task_type: TaskType,
    /// When it started: its season ([`crate::limits::season`]) goes by its start.
    pub start: EpochMs,
    pub duration_ms: u64,
    /// The checker warned about it while it ran.
    pub warned: bool,
}

/// One task type's succeeded runs of one day: exact moments and a histogram of the runs nobody
/// was warned about, and the durations of the warned ones, kept apart so that guarded exclusion
/// can leave them out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayAggregate {
    pub moments: Moments,
    /// The same runs' durations, for methods that need a window's shape (tailored). Aggregates
    /// stored before it existed have none: see [`DayAggregate::lacks_histogram`].
    pub histogram: DurationHistogram,
    pub warned_ms: Vec<u64>,
    /// The exact durations of the same runs' longest two, longest first, for the outlier rule.
    /// Aggregates stored before they were kept have none: see [`DayAggregate::lacks_longest`].
    pub longest_ms: Vec<u64>,
    /// The same runs split by season, when judging by season: weekday and weekend parts.
    /// Aggregates stored before seasons have none: see [`DayAggregate::lacks_seasons`].
    pub seasons: Option<Box<DaySeasons>>,
}

/// One season's part of a day: its runs as a day aggregate (without parts of its own), and the
/// log moments of its counted runs, from which the nightly job tells whether a type is seasonal.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeasonDay {
    pub runs: DayAggregate,
    pub log: LogMoments,
}

/// A day's runs of one type by season, indexed by [`Season::index`].
pub type DaySeasons = [SeasonDay; 2];

impl DayAggregate {
    /// Whether its histogram misses runs its moments count (an aggregate rolled up before
    /// histograms were kept): a method that needs one must roll the day up again.
    pub fn lacks_histogram(&self) -> bool {
        self.histogram.count() != self.moments.count()
    }

    /// Whether it lists fewer of its longest runs than it counts (an aggregate rolled up before
    /// they were kept): a method with an outlier rule must roll the day up again.
    pub fn lacks_longest(&self) -> bool {
        !self.window_day().knows_its_longest()
    }

    /// Whether it lacks the season parts its counted runs need (an aggregate rolled up before
    /// seasons, or without them): judging by season must roll the day up again.
    pub fn lacks_seasons(&self) -> bool {
        let runs = |aggregate: &DayAggregate| aggregate.moments.count() + aggregate.warned_ms.len() as u64;
        match &self.seasons {
            None => runs(self) > 0,
            Some(parts) => parts.iter().map(|part| runs(&part.runs)).sum::<u64>() != runs(self),
        }
    }

    /// The part of `season`, when split.
    pub fn season(&self, season: Season) -> Option<&SeasonDay> {
        self.seasons.as_ref().map(|parts| &parts[season.index()])
    }

    /// The day as a window reads it.
    pub fn window_day(&self) -> WindowDay<'_> {
        WindowDay {
            counted: &self.moments,
            log: None,
            histogram: &self.histogram,
            warned_ms: &self.warned_ms,
            longest_ms: &self.longest_ms,
        }
    }
}

/// Per-task aggregates of one day's succeeded runs.
pub fn aggregate_day(runs: impl IntoIterator<Item = FinishedRun>) -> BTreeMap<TaskType, DayAggregate> {
    aggregate_day_by_season(runs, None)
}

/// Per-task aggregates of one day's succeeded runs, each also split by season when `seasons`
/// says whose weekends count.
pub fn aggregate_day_by_season(
    runs: impl IntoIterator<Item = FinishedRun>,
    seasons: Option<&SeasonRule>,
) -> BTreeMap<TaskType, DayAggregate> {
    let mut per_task: BTreeMap<TaskType, DayAggregate> = BTreeMap::new();
    for run in runs {
        let aggregate = per_task.entry(run.task_type).or_default();
        add_run(aggregate, run.duration_ms, run.warned);
        if let Some(rule) = seasons {
            let part =
                &mut aggregate.seasons.get_or_insert_with(Box::default)[rule.season_of(run.start).index()];
            add_run(&mut part.runs, run.duration_ms, run.warned);
            if !run.warned {
                part.log.push(run.duration_ms);
            }
        }
    }
    for aggregate in per_task.values_mut() {
        aggregate.warned_ms.sort_unstable();
        for part in aggregate.seasons.iter_mut().flat_map(|parts| parts.iter_mut()) {
            part.runs.warned_ms.sort_unstable();
        }
    }
    per_task
}

fn add_run(aggregate: &mut DayAggregate, duration_ms: u64, warned: bool) {
    if warned {
        aggregate.warned_ms.push(duration_ms);
    } else {
        aggregate.moments.push(duration_ms);
        aggregate.histogram.push(duration_ms);
        keep_if_longest(&mut aggregate.longest_ms, duration_ms);
    }
}

/// A task type's baseline for a night and, with the tailored method, the histogram of the window
/// it came from: the checker computes each run's own limit from it and the run's recent runs.
#[derive(Debug, Clone, PartialEq)]
pub struct NightBaseline {
    pub baseline: Baseline,
    pub window: Option<DurationHistogram>,
    /// With seasons, for a type with enough runs in each season: how strongly its history shows
    /// one, and each season's limits ([`seasonal_limits_for_night`]).
    pub seasons: Option<SeasonalLimits>,
}

/// Merges the window's daily aggregates and computes each task type's baseline for `night`.
/// Task types with too few runs get none. Without `exclusion` every run counts (the seed
/// method, docs/DETECTION.md); with it, warned runs stay out up to that share of the window. A
/// lone outlier stays out as the policy's method says ([`Method::outlier_rule`]).
///
/// [`Method::outlier_rule`]: crate::limits::baseline::Method::outlier_rule
pub fn baselines_for_night<'a>(
    policy: &BaselinePolicy,
    night: Day,
    days: impl IntoIterator<Item = &'a BTreeMap<TaskType, DayAggregate>>,
    exclusion: Option<ExclusionCap>,
) -> BTreeMap<TaskType, NightBaseline> {
    let keep_histogram = policy.method().needs_histogram();
    let outliers = policy.method().outlier_rule();
    let mut per_task: HashMap<&TaskType, Vec<&DayAggregate>> = HashMap::new();
    for day in days {
        for (task, aggregate) in day {
            per_task.entry(task).or_default().push(aggregate);
        }
    }
    let computed_at = policy.night_start(night);
    per_task
        .into_iter()
        .filter_map(|(task, aggregates)| {
            let days = aggregates.iter().map(|a| a.window_day());
            let stats = assemble_window(days, keep_histogram, exclusion, outliers);
            let baseline = policy.baseline_from(&stats, computed_at)?;
            Some((task.clone(), NightBaseline { baseline, window: stats.histogram, seasons: None }))
        })
        .collect()
}

/// Adds each season's limits to the baselines of `night` of the types with enough runs in each
/// season to tell (their evidence says whether they are judged by them): each season's window
/// is its own look-back ([`Season::look_back_days`]) of `days`, assembled as the plain window
/// is. Days without season parts count for neither season.
pub fn seasonal_limits_for_night(
    policy: &BaselinePolicy,
    night: Day,
    days: &BTreeMap<Day, BTreeMap<TaskType, DayAggregate>>,
    exclusion: Option<ExclusionCap>,
    baselines: &mut BTreeMap<TaskType, NightBaseline>,
) {
    let keep_histogram = policy.method().needs_histogram();
    let outliers = policy.method().outlier_rule();
    let computed_at = policy.night_start(night);
    for (task, night_baseline) in baselines.iter_mut() {
        let parts_of = |season: Season| {
            let from = night - i64::from(season.look_back_days(policy.window_days()));
            days.range(from..night).filter_map(move |(_, day)| day.get(task)?.season(season))
        };
        // The runs a window counts: without exclusion every warned run counts too, as in the
        // window itself (the replay's decision reads the same runs).
        let log_of = |season: Season| {
            let mut log = LogMoments::default();
            for part in parts_of(season) {
                log.merge(&part.log);
                if exclusion.is_none() {
                    part.runs.warned_ms.iter().for_each(|&duration_ms| log.push(duration_ms));
                }
            }
            log
        };
        let Some(evidence) = seasonal_evidence(&log_of(Season::Weekday), &log_of(Season::Weekend)) else {
            continue;
        };
        let limits_of = |season: Season| {
            let window_days = parts_of(season).map(|part| part.runs.window_day());
            let stats = assemble_window(window_days, keep_histogram, exclusion, outliers);
            SeasonLimits { baseline: policy.baseline_from(&stats, computed_at), window: stats.histogram }
        };
        night_baseline.seasons = Some(SeasonalLimits { evidence, seasons: Season::ALL.map(limits_of) });
    }
}

#[derive(Debug, Clone, PartialEq)]
// One change per task type a night: boxing the large variant would buy nothing measurable.
#[allow(clippy::large_enum_variant)]
pub enum BaselineChange {
    Set(TaskType, NightBaseline),
    /// The task type had a baseline and no longer has enough runs for one.
    Remove(TaskType),
}

/// The writes that take the stored baselines to the new ones; none when they already match.
pub fn baseline_changes(
    new: &BTreeMap<TaskType, NightBaseline>,
    stored: &BTreeMap<TaskType, NightBaseline>,
) -> Vec<BaselineChange> {
    let sets = new
        .iter()
        .filter(|(task, baseline)| stored.get(*task) != Some(*baseline))
        .map(|(task, baseline)| BaselineChange::Set(task.clone(), baseline.clone()));
    let removals = stored
        .keys()
        .filter(|task| !new.contains_key(*task))
        .map(|task| BaselineChange::Remove(task.clone()));
    sets.chain(removals).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::baseline::Method;
    use crate::stats::moments::WindowStats;

    fn task(name: &str) -> TaskType {
        TaskType::new(name).unwrap()
    }

    #[test]
    fn days_are_rolled_up_when_new_runs_finished_in_them() {
        let statuses = [
            DayStatus { day: Day::new(3), finished: 5, rolled_up: Some(5) },
            DayStatus { day: Day::new(1), finished: 2, rolled_up: None },
            DayStatus { day: Day::new(2), finished: 0, rolled_up: None },
            DayStatus { day: Day::new(4), finished: 7, rolled_up: Some(6) },
        ];
        assert_eq!(days_to_roll_up(&statuses), vec![Day::new(1), Day::new(4)]);
    }

    fn run(name: &str, duration_ms: u64, warned: bool) -> FinishedRun {
        FinishedRun { task_type: task(name), start: 0, duration_ms, warned }
    }

    #[test]
    fn window_baselines_equal_a_baseline_over_all_the_runs() {
        let policy = BaselinePolicy::new(Method::Guarded { k: 4.0 }, 14, 3, 0).unwrap();
        let day1 = aggregate_day([run("a", 1_000, false), run("a", 2_000, true), run("b", 5, false)]);
        let day2 = aggregate_day([run("a", 3_000, false), run("b", 6, false)]);
        let baselines = baselines_for_night(&policy, Day::new(10), [&day1, &day2], None);
        let direct =
            policy.baseline(&Moments::of([1_000, 2_000, 3_000]), policy.night_start(Day::new(10))).unwrap();
        assert_eq!(baselines.get(&task("a")).map(|b| b.baseline), Some(direct));
        assert_eq!(baselines[&task("a")].window, None, "the seed's formulas need no histogram");
        assert!(!baselines.contains_key(&task("b")), "two runs are below min_samples");
    }

    #[test]
    fn guarded_exclusion_leaves_out_the_slowest_warned_runs_up_to_the_cap() {
        let policy = BaselinePolicy::new(Method::Guarded { k: 4.0 }, 14, 3, 0).unwrap();
        let mut runs: Vec<FinishedRun> = (0..8).map(|i| run("a", 1_000 + i, false)).collect();
        runs.extend([run("a", 9_000, true), run("a", 5_000, true)]);
        let day = aggregate_day(runs);
        assert_eq!(day[&task("a")].warned_ms, vec![5_000, 9_000]);
        let baseline = |cap: Option<f64>| {
            baselines_for_night(&policy, Day::new(10), [&day], cap.and_then(|c| ExclusionCap::new(c).ok()))
                [&task("a")]
                .baseline
        };
        // 10 runs, cap 0.1: one may stay out (the 9 s one); the 5 s one counts again.
        assert_eq!(baseline(Some(0.1)).n, 9);
        let expected: Vec<u64> = (0..8).map(|i| 1_000 + i).chain([5_000]).collect();
        assert_eq!(
            baseline(Some(0.1)),
            policy.baseline(&Moments::of(expected), policy.night_start(Day::new(10))).unwrap()
        );
        assert_eq!(baseline(Some(1.0)).n, 8, "no cap: every warned run stays out");
        assert_eq!(baseline(None).n, 10, "no exclusion: the seed method counts every run");
    }

    #[test]
    fn tailored_window_baselines_equal_a_tailored_baseline_over_all_the_runs_counted() {
        let policy = BaselinePolicy::new(Method::Tailored { k: 5.0 }, 14, 3, 0).unwrap();
        let mut runs: Vec<FinishedRun> = (0..8).map(|i| run("a", 3_600_000 + i * 60_000, false)).collect();
        runs.push(run("a", 9_000_000, true));
        let day1 = aggregate_day(runs);
        let day2 = aggregate_day([run("a", 3_700_000, false), run("a", 3_500_000, true)]);
        assert!(!day1[&task("a")].lacks_histogram());
        let baseline = |cap: Option<f64>| {
            baselines_for_night(
                &policy,
                Day::new(10),
                [&day1, &day2],
                cap.and_then(|c| ExclusionCap::new(c).ok()),
            )[&task("a")]
                .clone()
        };
        let direct = |durations: Vec<u64>| {
            let mut stats = WindowStats::new(true);
            for d in durations {
                stats.push(d);
            }
            let baseline = policy.baseline_from(&stats, policy.night_start(Day::new(10))).unwrap();
            NightBaseline { baseline, window: stats.histogram, seasons: None }
        };
        let healthy: Vec<u64> = (0..8).map(|i| 3_600_000 + i * 60_000).chain([3_700_000]).collect();
        // 11 runs, cap 0.1: the 9,000 s one stays out, the 3,500 s one counts again; the window
        // kept for the checker holds exactly the runs the baseline counted.
        assert_eq!(baseline(Some(0.1)), direct(healthy.iter().copied().chain([3_500_000]).collect()));
        assert_eq!(baseline(None), direct(healthy.iter().copied().chain([3_500_000, 9_000_000]).collect()));
        assert_eq!(baseline(None).window.map(|w| w.count()), Some(11));
    }

    #[test]
    fn a_day_rolled_up_before_histograms_has_no_tailored_baseline() {
        let policy = BaselinePolicy::new(Method::Tailored { k: 5.0 }, 14, 3, 0).unwrap();
        let mut day = aggregate_day((0..5).map(|i| run("a", 1_000 + i, false)));
        day.get_mut(&task("a")).unwrap().histogram = DurationHistogram::default();
        assert!(day[&task("a")].lacks_histogram());
        assert!(baselines_for_night(&policy, Day::new(10), [&day], None).is_empty());
        let seed = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 3, 0).unwrap();
        assert_eq!(
            baselines_for_night(&seed, Day::new(10), [&day], None).len(),
            1,
            "the seed needs moments only"
        );
    }

    const SECOND: u64 = 1_000;
    /// A run whose start lay 30 days back, finished as succeeded: never seen running.
    const BOGUS_MS: u64 = 30 * 86_400 * SECOND;

    /// Fourteen days of one "export" run a day around 735 s, and the night after them.
    fn fortnight_of_735_s() -> (Vec<BTreeMap<TaskType, DayAggregate>>, Day) {
        let days =
            (0..14u64).map(|i| aggregate_day([run("export", (700 + 5 * i + 7 * (i % 3)) * SECOND, false)]));
        (days.collect(), Day::new(20_000))
    }

    fn night_baseline(
        policy: &BaselinePolicy,
        night: Day,
        days: &[BTreeMap<TaskType, DayAggregate>],
    ) -> Baseline {
        baselines_for_night(policy, night, days, None)[&task("export")].baseline
    }

    #[test]
    fn a_bogus_finish_thirty_days_long_barely_moves_the_limits_of_a_735_s_type_after_the_next_night() {
        for method in [Method::Tailored { k: 6.0 }, Method::Guarded { k: 4.0 }] {
            let policy = BaselinePolicy::new(method, 14, 5, 0).unwrap();
            let (mut days, night) = fortnight_of_735_s();
            let before = night_baseline(&policy, night, &days);
            // The next day: one normal run and the bogus finish; the window moves on a day.
            days.remove(0);
            days.push(aggregate_day([run("export", 735 * SECOND, false), run("export", BOGUS_MS, false)]));
            let after = night_baseline(&policy, night + 1, &days);
            assert_eq!(after.outlier.map(|o| o.duration_ms), Some(BOGUS_MS), "{method:?}");
            assert_eq!(after.n, 14, "{method:?}: the bogus run is not counted");
            assert!(
                (after.expected_ms / before.expected_ms - 1.0).abs() < 0.02,
                "{method:?}: {before:?} → {after:?}"
            );
            assert!(after.upper_ms < 1.2 * before.upper_ms, "{method:?}: {before:?} → {after:?}");
            assert!(after.upper_ms < 3.0 * 3_600_000.0, "{method:?}: a 3-hour hang is past the limit");
        }
    }

    #[test]
    fn the_seed_method_counts_a_lone_outlier() {
        let policy = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).unwrap();
        let (mut days, night) = fortnight_of_735_s();
        days.push(aggregate_day([run("export", BOGUS_MS, false)]));
        let seed = night_baseline(&policy, night + 1, &days);
        assert_eq!(
            (seed.n, seed.outlier),
            (15, None),
            "mean + k·σ of every run, as the seed article states it"
        );
        // The measured bug: the expected duration grows from minutes to days.
        assert!(seed.expected_ms > 40.0 * 3_600_000.0, "{seed:?}");
    }

    #[test]
    fn a_lasting_change_to_two_long_runs_comes_in_with_every_method() {
        let (mut days, night) = fortnight_of_735_s();
        days.push(aggregate_day([
            run("export", 3 * 3_600 * SECOND, false),
            run("export", 4 * 3_600 * SECOND, false),
        ]));
        for method in [Method::Tailored { k: 6.0 }, Method::Guarded { k: 4.0 }, Method::Seed { k: 2.0 }] {
            let policy = BaselinePolicy::new(method, 14, 5, 0).unwrap();
            let baseline = night_baseline(&policy, night + 1, &days[1..]);
            assert_eq!((baseline.n, baseline.outlier), (15, None), "{method:?}");
        }
    }

    #[test]
    fn a_day_keeps_the_exact_durations_of_its_two_longest_counted_runs() {
        let day = aggregate_day([
            run("a", 3_000, false),
            run("a", 9_000, true),
            run("a", 1_000, false),
            run("a", 5_000, false),
        ]);
        assert_eq!(day[&task("a")].longest_ms, vec![5_000, 3_000], "the warned run is kept apart");
        assert!(!day[&task("a")].lacks_longest());
        let mut old = day[&task("a")].clone();
        old.longest_ms.clear();
        assert!(old.lacks_longest(), "rolled up before the longest runs were kept");
        let single = aggregate_day([run("b", 7, false)]);
        assert_eq!(single[&task("b")].longest_ms, vec![7]);
        assert!(!single[&task("b")].lacks_longest());
    }

    #[test]
    fn a_types_season_counts_its_warned_runs_unless_warned_runs_stay_out_of_its_windows() {
        const SATURDAY_NOON: EpochMs = 1_738_411_200_000;
        const MONDAY_NOON: EpochMs = SATURDAY_NOON + 2 * 86_400_000;
        let policy = BaselinePolicy::new(Method::Tailored { k: 6.0 }, 14, 5, 0).unwrap();
        let run = |start: EpochMs, duration_ms: u64, warned: bool| FinishedRun {
            task_type: task("etl"),
            start,
            duration_ms,
            warned,
        };
        // Twelve hour-long weekday runs; twelve 6-minute weekend runs, five of them warned.
        let runs = (0..12u64)
            .map(|i| run(MONDAY_NOON, 3_600_000 + i * 1_000, false))
            .chain((0..12u64).map(|i| run(SATURDAY_NOON, 360_000 + i * 1_000, i < 5)));
        let night = Day::new(20_200);
        let days = BTreeMap::from([(night - 1, aggregate_day_by_season(runs, Some(&SeasonRule::default())))]);
        let seasons = |exclusion: Option<ExclusionCap>| {
            let mut baselines = baselines_for_night(&policy, night, days.values(), exclusion);
            seasonal_limits_for_night(&policy, night, &days, exclusion, &mut baselines);
            baselines[&task("etl")].seasons.clone()
        };
        let counted = seasons(None).expect("every run counts: 12 in each season");
        assert!(counted.is_seasonal(), "{}", counted.evidence);
        assert_eq!(counted.of(Season::Weekend).baseline.map(|b| b.n), Some(12));
        assert_eq!(seasons(Some(ExclusionCap::EVERY_WARNED_RUN)), None, "7 weekend runs counted, 10 needed");
    }

    #[test]
    fn unchanged_baselines_produce_no_writes_and_vanished_ones_a_removal() {
        let baseline =
            Baseline { n: 5, expected_ms: 1.0, sigma_ms: 0.0, upper_ms: 1.0, computed_at: 0, outlier: None };
        let b = NightBaseline { baseline, window: None, seasons: None };
        let newer = NightBaseline {
            baseline: Baseline { computed_at: 86_400_000, ..baseline },
            window: None,
            seasons: None,
        };
        let reshaped =
            NightBaseline { window: Some(DurationHistogram::from_bins([(7, 5)]).unwrap()), ..b.clone() };
        let stored = BTreeMap::from([
            (task("same"), b.clone()),
            (task("gone"), b.clone()),
            (task("moved"), b.clone()),
            (task("reshaped"), b.clone()),
        ]);
        let new = BTreeMap::from([
            (task("same"), b.clone()),
            (task("moved"), newer.clone()),
            (task("fresh"), b.clone()),
            (task("reshaped"), reshaped.clone()),
        ]);
        let changes = baseline_changes(&new, &stored);
        assert_eq!(
            changes,
            vec![
                BaselineChange::Set(task("fresh"), b),
                BaselineChange::Set(task("moved"), newer),
                BaselineChange::Set(task("reshaped"), reshaped),
                BaselineChange::Remove(task("gone")),
            ]
        );
        assert!(baseline_changes(&new, &new).is_empty());
    }
}
