//! The nightly function: rolls up the days whose finished runs are not all rolled up yet, then
//! recomputes every task type's baseline for the night, and learns every task type's schedule
//! from its starts, and writes only what changed.
//!
//! Idempotent: a second run of the same night finds every day rolled up and every baseline equal,
//! and writes nothing. A missed night is caught up by the next one, which rolls up every day of
//! its window that needs it.

use overrun_core::time::Day;
use std::collections::BTreeMap;

use overrun_core::limits::nightly::DayAggregate;
use overrun_core::limits::nightly::{
    aggregate_day_by_season, baseline_changes, baselines_for_night, days_to_roll_up,
    seasonal_limits_for_night,
};
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::ports::{BaselineStore, DayStore, FinishedRuns, ScheduleStore, StoreError};
use overrun_core::schedule::learn::{LearnSettings, Learned, learn_after};
use overrun_core::schedule::{Schedule, ScheduleChange, schedule_changes};
use overrun_core::time::MS_PER_DAY;
use overrun_core::{BaselinePolicy, EpochMs, TaskType};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NightlyReport {
    pub night: Day,
    pub days_rolled_up: usize,
    pub runs_rolled_up: u64,
    pub baselines: usize,
    pub baselines_written: usize,
    pub baselines_removed: usize,
    /// With seasons: the task types whose history shows a weekly season tonight.
    pub seasonal: usize,
    /// Task types with a learned schedule, and how many schedules were written and removed.
    pub schedules: usize,
    pub schedules_written: usize,
    pub schedules_removed: usize,
    /// Items that could not be read (logged with what was wrong); the rest went on.
    pub malformed_items: usize,
}

/// `exclusion_cap`: guarded exclusion of warned runs (`None`: every run counts, as the seed method does; docs/DETECTION.md).
pub async fn handle(
    now: EpochMs,
    policy: &BaselinePolicy,
    exclusion_cap: Option<ExclusionCap>,
    runs: &impl FinishedRuns,
    stats: &(impl DayStore + BaselineStore + ScheduleStore),
) -> Result<NightlyReport, StoreError> {
    handle_by_season(now, policy, exclusion_cap, None, runs, stats).await
}

/// Judging by season in the nightly job: whose weekends count, and how many days runs are kept
/// (`OVERRUN_RETENTION_DAYS`): a day older than that is never rolled up again.
#[derive(Debug, Clone, Copy)]
pub struct SeasonNights<'a> {
    pub rule: &'a SeasonRule,
    pub runs_kept_days: u32,
}

/// [`handle`], and with `seasons` each type's limits by season too (weekends by the rule's
/// zone): days are rolled up by season, and read back as far as the weekend season's look-back.
pub async fn handle_by_season(
    now: EpochMs,
    policy: &BaselinePolicy,
    exclusion_cap: Option<ExclusionCap>,
    seasons: Option<SeasonNights<'_>>,
    runs: &impl FinishedRuns,
    stats: &(impl DayStore + BaselineStore + ScheduleStore),
) -> Result<NightlyReport, StoreError> {
    let night = policy.night_at_or_before(now);
    let window_range = policy.window_buckets(night);
    let window: Vec<Day> = Day::each(window_range.clone()).collect();
    let mut report = NightlyReport { night, ..NightlyReport::default() };

    let statuses = stats.day_statuses(&window).await?;
    let mut days: BTreeMap<Day, BTreeMap<TaskType, DayAggregate>> = BTreeMap::new();
    for day in days_to_roll_up(&statuses) {
        days.insert(day, roll_up(day, runs, stats, seasons.map(|s| s.rule), &mut report).await?);
    }
    // The other days of the window were rolled up on earlier nights: read their aggregates.
    let earlier: Vec<Day> = statuses
        .iter()
        .filter(|s| s.rolled_up.is_some() && !days.contains_key(&s.day))
        .map(|s| s.day)
        .collect();
    let needs_histograms = policy.method().needs_histogram();
    let needs_longest = policy.method().outlier_rule().is_some();
    for day in earlier {
        let stored = stats.read_day(day).await?;
        log_malformed(&stored.malformed, &mut report);
        let aggregates: BTreeMap<TaskType, DayAggregate> = stored.items.into_iter().collect();
        // Days rolled up before histograms, their longest runs or their seasons were kept are
        // rolled up again from their runs, once, when the method needs them (switching to
        // tailored, to a version with the outlier rule or to seasons needs no migration step).
        let lacks = |aggregate: &DayAggregate| {
            (needs_histograms && aggregate.lacks_histogram())
                || (needs_longest && aggregate.lacks_longest())
                || (seasons.is_some() && aggregate.lacks_seasons())
        };
        if aggregates.values().any(lacks) {
            days.insert(day, roll_up(day, runs, stats, seasons.map(|s| s.rule), &mut report).await?);
        } else {
            days.insert(day, aggregates);
        }
    }
    if let Some(seasons) = seasons {
        // A season looks back further than the window. Those days are rolled up (again) only
        // while their runs are all still kept (a backfill, late runs, days rolled up before
        // seasons); older ones are read as they were rolled up.
        let rule = Some(seasons.rule);
        let look_back =
            Season::ALL.map(|season| season.look_back_days(policy.window_days())).into_iter().max();
        let from = night - i64::from(look_back.unwrap_or(0));
        let older: Vec<Day> = Day::each(from..window_range.start).collect();
        for status in stats.day_statuses(&older).await? {
            let runs_kept = status.day > night - i64::from(seasons.runs_kept_days) + 1;
            if runs_kept && status.needs_roll_up() {
                days.insert(status.day, roll_up(status.day, runs, stats, rule, &mut report).await?);
            } else if status.rolled_up.is_some() {
                let stored = stats.read_day(status.day).await?;
                log_malformed(&stored.malformed, &mut report);
                let aggregates: BTreeMap<TaskType, DayAggregate> = stored.items.into_iter().collect();
                if runs_kept && aggregates.values().any(DayAggregate::lacks_seasons) {
                    days.insert(status.day, roll_up(status.day, runs, stats, rule, &mut report).await?);
                } else {
                    days.insert(status.day, aggregates);
                }
            }
        }
    }

    let mut baselines =
        baselines_for_night(policy, night, days.range(window_range).map(|(_, day)| day), exclusion_cap);
    if seasons.is_some() {
        seasonal_limits_for_night(policy, night, &days, exclusion_cap, &mut baselines);
        report.seasonal =
            baselines.values().filter(|b| b.seasons.as_ref().is_some_and(|s| s.is_seasonal())).count();
    }
    let stored = stats.stored_baselines().await?;
    log_malformed(&stored.malformed, &mut report);
    let changes = baseline_changes(&baselines, &stored.items.into_iter().collect());
    stats.apply_baseline_changes(&changes, policy.method().name()).await?;
    report.baselines = baselines.len();
    report.baselines_removed = changes
        .iter()
        .filter(|c| matches!(c, overrun_core::limits::nightly::BaselineChange::Remove(_)))
        .count();
    report.baselines_written = changes.len() - report.baselines_removed;
    learn_schedules(policy, night, stats, &mut report).await?;
    Ok(report)
}

/// Learns each task type's schedule from its starts of the look-back before the night
/// (`overrun_core::schedule::learn`), and writes only what changed.
async fn learn_schedules(
    policy: &BaselinePolicy,
    night: Day,
    stats: &impl ScheduleStore,
    report: &mut NightlyReport,
) -> Result<(), StoreError> {
    let settings = LearnSettings::checked_every(policy.check_interval().as_ms());
    let now = policy.night_start(night);
    let first = (now - settings.look_back_ms).div_euclid(MS_PER_DAY);
    let dates: Vec<i64> = (first..=now.div_euclid(MS_PER_DAY)).collect();
    let starts = stats.starts_on(&dates).await?;
    log_malformed(&starts.malformed, report);
    let stored = stats.stored_schedules().await?;
    log_malformed(&stored.malformed, report);
    let stored: BTreeMap<TaskType, Schedule> = stored.items.into_iter().collect();
    let learned: BTreeMap<TaskType, Schedule> = starts
        .items
        .into_iter()
        .filter_map(|(task_type, mut starts)| {
            starts.sort_unstable();
            match learn_after(stored.get(&task_type), &starts, now, &settings) {
                Learned::Scheduled(schedule) => Some((task_type, schedule)),
                Learned::Unscheduled(_) => None,
            }
        })
        .collect();
    let changes = schedule_changes(&learned, &stored);
    stats.apply_schedule_changes(&changes).await?;
    report.schedules = learned.len();
    report.schedules_removed = changes.iter().filter(|c| matches!(c, ScheduleChange::Remove(_))).count();
    report.schedules_written = changes.len() - report.schedules_removed;
    Ok(())
}

async fn roll_up(
    day: Day,
    runs: &impl FinishedRuns,
    stats: &impl DayStore,
    seasons: Option<&SeasonRule>,
    report: &mut NightlyReport,
) -> Result<BTreeMap<TaskType, DayAggregate>, StoreError> {
    let finished = runs.finished_runs_of_day(day).await?;
    log_malformed(&finished.malformed, report);
    let included = finished.items.len() as u64;
    let aggregates = aggregate_day_by_season(finished.items, seasons);
    stats.write_day(day, &aggregates, included).await?;
    report.days_rolled_up += 1;
    report.runs_rolled_up += included;
    Ok(aggregates)
}

fn log_malformed(malformed: &[StoreError], report: &mut NightlyReport) {
    for error in malformed {
        tracing::error!(%error, "skipping a malformed item");
    }
    report.malformed_items += malformed.len();
}

#[cfg(test)]
mod tests {
    use overrun_core::detect::check::CheckSettings;
    use overrun_core::detect::overrides::{LimitRules, Sensitivity};
    use overrun_core::limits::baseline::Baseline;
    use overrun_core::limits::nightly::{FinishedRun, NightBaseline, aggregate_day};
    use overrun_core::ports::RunRecorder;
    use overrun_core::stats::moments::Moments;
    use overrun_core::time::MS_PER_DAY;
    use overrun_core::{DetectionConfig, RecentRuns};
    use overrun_core::{Method, RunStatus};

    use super::*;
    use crate::check::{CheckPorts, Tick};
    use crate::memory::MemoryNotifier;
    use crate::memory_store::MemoryStore;
    use crate::test_support::*;
    use overrun_core::limits::season::{Season, SeasonRule};

    /// Night 20 000, which starts at `T0` and reads days 19 986 to 19 999.
    const NIGHT: Day = Day::new(20_000);

    /// A run of `task_type` that took `minutes` and ended `hours` into `day`.
    async fn ran(store: &MemoryStore, task_type: &str, run_id: &str, day: Day, hours: i64, minutes: i64) {
        let end = day.number() * MS_PER_DAY + hours * HOUR;
        record_succeeded(store, task_type, run_id, end - minutes * MINUTE, end).await;
    }

    async fn night(store: &MemoryStore, at: EpochMs) -> Result<NightlyReport, StoreError> {
        handle(at, &policy(), None, store, store).await
    }

    fn baseline_of(store: &MemoryStore, task_type: &str) -> Baseline {
        store.baselines()[&task(task_type)].baseline
    }

    /// Three "etl" runs (10, 20 and 30 minutes) two days before the night, two "tiny" ones the
    /// day before it, and a failed run.
    async fn history() -> MemoryStore {
        let store = store();
        for (i, minutes) in [10, 20, 30].into_iter().enumerate() {
            ran(&store, "etl", &format!("e{i}"), NIGHT - 2, 3 + i as i64, minutes).await;
        }
        ran(&store, "tiny", "t1", NIGHT - 1, 3, 1).await;
        ran(&store, "tiny", "t2", NIGHT - 1, 4, 1).await;
        let failed = finished("etl", "e-failed", T0 - 5 * HOUR, T0 - 4 * HOUR, RunStatus::Failed);
        store.record_finish(&failed).await.unwrap();
        store
    }

    #[tokio::test]
    async fn the_night_learns_each_types_schedule_from_every_start_and_writes_it_once() {
        let store = store();
        // "export" starts daily at 02:10 (failed runs too), "adhoc" whenever.
        for day in 1..=14 {
            let start = (NIGHT.number() - day) * MS_PER_DAY + 2 * HOUR + 10 * MINUTE + day * 1_000;
            if day % 4 == 0 {
                store.record_start(&started("export", &format!("e{day}"), start)).await.unwrap();
                let failed = finished("export", &format!("e{day}"), start, start + MINUTE, RunStatus::Failed);
                store.record_finish(&failed).await.unwrap();
            } else {
                record_succeeded(&store, "export", &format!("e{day}"), start, start + 10 * MINUTE).await;
            }
            let hours = [3, 17, 9, 22, 11, 5, 14, 1, 19, 8, 23, 12, 6, 16];
            let adhoc =
                (NIGHT.number() - day) * MS_PER_DAY + hours[day as usize - 1] * HOUR + day * 7 * MINUTE;
            record_succeeded(&store, "adhoc", &format!("a{day}"), adhoc, adhoc + MINUTE).await;
        }
        let at = NIGHT.number() * MS_PER_DAY + HOUR;
        let report = night(&store, at).await.unwrap();
        assert_eq!((report.schedules, report.schedules_written, report.schedules_removed), (1, 1, 0));
        let schedules = store.stored_schedules().await.unwrap().items;
        assert_eq!(schedules.len(), 1);
        assert_eq!(
            (schedules[0].0.as_str(), schedules[0].1.to_string()),
            ("export", "daily at 02:10 UTC".to_owned())
        );
        let again = night(&store, at).await.unwrap();
        assert_eq!((again.schedules, again.schedules_written), (1, 0), "the same night writes nothing again");
    }

    #[tokio::test]
    async fn days_with_finished_runs_are_rolled_up_and_only_types_with_enough_runs_get_a_baseline() {
        let store = history().await;
        let report = night(&store, T0 + 5 * MINUTE).await.unwrap();
        let expected = NightlyReport {
            night: NIGHT,
            days_rolled_up: 2,
            runs_rolled_up: 5,
            baselines: 1,
            baselines_written: 1,
            baselines_removed: 0,
            malformed_items: 0,
            ..NightlyReport::default()
        };
        assert_eq!(report, expected);
        assert_eq!(
            store.baselines().keys().cloned().collect::<Vec<_>>(),
            [task("etl")],
            "tiny has 2 runs of 3"
        );
        let etl = baseline_of(&store, "etl");
        assert_eq!((etl.n, etl.expected_ms, etl.sigma_ms), (3, 20.0 * MINUTE as f64, 10.0 * MINUTE as f64));
        assert_eq!((etl.upper_ms, etl.computed_at), (40.0 * MINUTE as f64, T0));
    }

    #[tokio::test]
    async fn a_second_run_the_same_night_rolls_nothing_up_and_writes_nothing() {
        let store = history().await;
        night(&store, T0).await.unwrap();
        let before = store.baselines();
        let again = night(&store, T0 + 6 * HOUR).await.unwrap();
        let expected = NightlyReport { night: NIGHT, baselines: 1, ..NightlyReport::default() };
        assert_eq!(again, expected);
        assert_eq!(store.baselines(), before);
    }

    #[tokio::test]
    async fn a_run_recorded_late_for_a_rolled_up_day_gets_that_day_rolled_up_again_the_next_night() {
        let store = history().await;
        night(&store, T0).await.unwrap();
        ran(&store, "etl", "e-late", NIGHT - 2, 9, 40).await;
        let next = night(&store, T0 + MS_PER_DAY).await.unwrap();
        assert_eq!((next.night, next.days_rolled_up, next.runs_rolled_up), (NIGHT + 1, 1, 4));
        assert_eq!(next.baselines_written, 1);
        let etl = baseline_of(&store, "etl");
        assert_eq!((etl.n, etl.expected_ms), (4, 25.0 * MINUTE as f64));
    }

    #[tokio::test]
    async fn a_task_type_that_drops_below_min_samples_loses_its_baseline() {
        let store = store();
        for i in 0..3 {
            ran(&store, "etl", &format!("old{i}"), NIGHT - 14, 1 + i, 10).await;
        }
        ran(&store, "etl", "recent", NIGHT - 1, 1, 10).await;
        assert_eq!(night(&store, T0).await.unwrap().baselines, 1);
        assert_eq!(baseline_of(&store, "etl").n, 4);
        let next = night(&store, T0 + MS_PER_DAY).await.unwrap();
        assert_eq!((next.baselines, next.baselines_written, next.baselines_removed), (0, 0, 1));
        assert!(store.baselines().is_empty(), "one run left in the window, three needed");
    }

    #[tokio::test]
    async fn a_warned_run_stays_out_of_its_types_baseline_only_with_an_exclusion_cap() {
        let store = store();
        for i in 0..3 {
            ran(&store, "etl", &format!("e{i}"), NIGHT - 1, 1 + i, 10).await;
        }
        // A slow run past an operator's 30-minute limit, warned about by the checker.
        set_override(&store, "etl", fixed_limit(30 * MINUTE)).await;
        let start = T0 - 10 * HOUR;
        store.record_start(&started("etl", "slow", start)).await.unwrap();
        let (settings, policy, notifier) = (CheckSettings::default(), policy(), MemoryNotifier::default());
        let tick = Tick {
            now: start + 31 * MINUTE,
            owner: "checker",
            settings: &settings,
            policy: &policy,
            notice_days: 35,
        };
        let ports = CheckPorts { runs: &store, stats: &store, outbox: &store, notifier: &notifier };
        assert_eq!(crate::check::handle(&tick, &ports).await.alerts_published, 1);
        let slow = finished("etl", "slow", start, start + HOUR, RunStatus::Succeeded);
        store.record_finish(&slow).await.unwrap();

        night(&store, T0).await.unwrap();
        assert_eq!(baseline_of(&store, "etl").n, 4, "without a cap every run counts");
        let capped = handle(T0 + MINUTE, &policy, Some(ExclusionCap::EVERY_WARNED_RUN), &store, &store);
        let report = capped.await.unwrap();
        assert_eq!((report.days_rolled_up, report.baselines_written), (0, 1));
        let etl = baseline_of(&store, "etl");
        assert_eq!((etl.n, etl.expected_ms), (3, 10.0 * MINUTE as f64), "the warned run stays out");
    }

    #[tokio::test]
    async fn a_day_rolled_up_before_histograms_were_kept_is_rolled_up_again_only_when_the_method_needs_them()
    {
        let durations = [10, 11, 12, 13, 14].map(|minutes| minutes * MINUTE as u64);
        let tailored = BaselinePolicy::new(Method::Tailored { k: 6.0 }, 14, 3, 0).unwrap();
        for policy in [policy(), tailored] {
            let store = MemoryStore::new(policy, 0);
            for (i, &duration) in durations.iter().enumerate() {
                ran(&store, "etl", &format!("e{i}"), NIGHT - 1, 1 + i as i64, (duration as i64) / MINUTE)
                    .await;
            }
            let moments_only = DayAggregate { moments: Moments::of(durations), ..DayAggregate::default() };
            let old = BTreeMap::from([(task("etl"), moments_only)]);
            store.write_day(NIGHT - 1, &old, 5).await.unwrap();

            let report = handle(T0, &policy, None, &store, &store).await.unwrap();
            let rolled_again = policy.method().needs_histogram();
            assert_eq!(report.days_rolled_up, usize::from(rolled_again), "{policy:?}");
            assert_eq!(report.baselines, 1, "{policy:?}");
            let stored = store.read_day(NIGHT - 1).await.unwrap().items;
            assert_eq!(stored[0].1.histogram.count(), if rolled_again { 5 } else { 0 });
            let again = handle(T0 + MINUTE, &policy, None, &store, &store).await.unwrap();
            assert_eq!((again.days_rolled_up, again.baselines_written), (0, 0), "{policy:?}");
        }
    }

    /// The measured bug: a type of ~735 s runs, one a day for two weeks, then a succeeded finish
    /// whose start lay 30 days back (never seen running, still inside the retention).
    async fn a_fortnight_of_735_s_runs_then_a_bogus_thirty_day_finish(policy: BaselinePolicy) -> MemoryStore {
        let store = MemoryStore::new(policy, RecentRuns::default_for(policy.method()).count);
        for day in 1..=14i64 {
            let end = (NIGHT - day).number() * MS_PER_DAY + 3 * HOUR;
            let duration = (700 + 5 * day + 7 * (day % 3)) * 1_000;
            record_succeeded(&store, "export", &format!("e{day}"), end - duration, end).await;
        }
        handle(T0 + MINUTE, &policy, None, &store, &store).await.unwrap();
        record_succeeded(&store, "export", "today", T0 + 3 * HOUR - 735_000, T0 + 3 * HOUR).await;
        let end = T0 + 10 * HOUR;
        let bogus = finished("export", "bogus", end - 30 * DAY, end, RunStatus::Succeeded);
        assert!(store.record_finish(&bogus).await.unwrap().counted, "a finish with no start before it");
        store
    }

    #[tokio::test]
    async fn a_bogus_finish_of_a_run_started_thirty_days_back_barely_moves_the_limits_and_a_hang_the_next_day_pages()
     {
        let policy = BaselinePolicy::default();
        let store = a_fortnight_of_735_s_runs_then_a_bogus_thirty_day_finish(policy).await;
        let before = baseline_of(&store, "export");
        let report = handle(T0 + DAY + MINUTE, &policy, None, &store, &store).await.unwrap();
        assert_eq!(report.baselines_written, 1);
        let after = baseline_of(&store, "export");
        assert_eq!(after.outlier.map(|o| o.duration_ms), Some(30 * DAY as u64), "kept out and recorded");
        assert_eq!(after.n, 14, "the fourteen runs of the window but the bogus one");
        assert!((after.expected_ms / before.expected_ms - 1.0).abs() < 0.02, "{before:?} → {after:?}");
        assert!(after.upper_ms < 1.2 * before.upper_ms, "{before:?} → {after:?}");

        // The next day a run hangs; its own limit also weighs its type's latest runs, the bogus
        // one among them.
        let start = T0 + DAY + 2 * HOUR;
        store.record_start(&started("export", "hung", start)).await.unwrap();
        let settings = CheckSettings {
            rules: LimitRules {
                detection: DetectionConfig::default(),
                fallback_limit_ms: None,
                sensitivity: Sensitivity::of(&policy.method(), policy.check_interval()),
            },
            per_run: RecentRuns::default_for(policy.method()).for_policy(&policy).unwrap(),
            seasons: None,
        };
        let notifier = MemoryNotifier::default();
        let ports = CheckPorts { runs: &store, stats: &store, outbox: &store, notifier: &notifier };
        let tick = Tick {
            now: start + 3 * HOUR,
            owner: "checker",
            settings: &settings,
            policy: &policy,
            notice_days: 35,
        };
        let checked = crate::check::handle(&tick, &ports).await;
        assert!(checked.alerts_published >= 1, "{checked:?}");
        assert!(notifier.subjects().iter().any(|s| s.contains("export")), "{:?}", notifier.subjects());
    }

    #[tokio::test]
    async fn with_the_seed_method_the_bogus_finish_moves_the_limit_by_days() {
        let policy = BaselinePolicy::new(Method::Seed { k: 2.0 }, 14, 5, 0).unwrap();
        let store = a_fortnight_of_735_s_runs_then_a_bogus_thirty_day_finish(policy).await;
        handle(T0 + DAY + MINUTE, &policy, None, &store, &store).await.unwrap();
        let seed = baseline_of(&store, "export");
        assert_eq!((seed.n, seed.outlier), (15, None), "the seed's exact heuristic counts every run");
        assert!(seed.upper_ms > 10.0 * DAY as f64, "{seed:?}");
    }

    #[tokio::test]
    async fn a_day_rolled_up_before_its_longest_runs_were_kept_is_rolled_up_again_only_when_the_method_keeps_outliers_out()
     {
        let durations = [10, 11, 12, 13, 14].map(|minutes| minutes * MINUTE as u64);
        let guarded = BaselinePolicy::new(Method::Guarded { k: 4.0 }, 14, 3, 0).unwrap();
        for policy in [policy(), guarded] {
            let store = MemoryStore::new(policy, 0);
            for (i, &duration) in durations.iter().enumerate() {
                ran(&store, "etl", &format!("e{i}"), NIGHT - 1, 1 + i as i64, (duration as i64) / MINUTE)
                    .await;
            }
            let mut old = aggregate_day(durations.map(|duration_ms| FinishedRun {
                task_type: task("etl"),
                start: 0,
                duration_ms,
                warned: false,
            }));
            old.values_mut().for_each(|aggregate| aggregate.longest_ms.clear());
            store.write_day(NIGHT - 1, &old, 5).await.unwrap();

            let report = handle(T0, &policy, None, &store, &store).await.unwrap();
            let rolled_again = policy.method().outlier_rule().is_some();
            assert_eq!(report.days_rolled_up, usize::from(rolled_again), "{policy:?}");
            let stored = store.read_day(NIGHT - 1).await.unwrap().items;
            let longest = if rolled_again { vec![14 * MINUTE as u64, 13 * MINUTE as u64] } else { vec![] };
            assert_eq!(stored[0].1.longest_ms, longest, "{policy:?}");
            let again = handle(T0 + MINUTE, &policy, None, &store, &store).await.unwrap();
            assert_eq!((again.days_rolled_up, again.baselines_written), (0, 0), "{policy:?}");
        }
    }

    #[tokio::test]
    async fn days_before_the_window_whose_runs_are_kept_are_rolled_up_for_the_seasons_and_older_ones_are_not()
    {
        // A backfill of 45 days: two runs a day, an hour on weekdays, 6 minutes on weekends.
        let store = MemoryStore::new(policy(), 0).with_seasons(SeasonRule::default());
        for back in 1..=45 {
            let day = NIGHT - back;
            let weekend = (day.number() + 3).rem_euclid(7) >= 5;
            for (i, hours) in [6, 18].into_iter().enumerate() {
                let minutes = if weekend { 6 } else { 60 } + i as i64;
                ran(&store, "report", &format!("r{back}-{i}"), day, hours, minutes).await;
            }
        }
        let rule = SeasonRule::default();
        let seasons = Some(SeasonNights { rule: &rule, runs_kept_days: 35 });
        let report = handle_by_season(T0, &policy(), None, seasons, &store, &store).await.unwrap();
        assert_eq!(
            report.days_rolled_up, 33,
            "the window's 14 days and the 19 before it whose runs are kept"
        );
        assert_eq!(report.seasonal, 1, "{report:?}");
        let limits = store.baselines()[&task("report")].seasons.clone().unwrap();
        let weekend = limits.of(Season::Weekend).baseline.unwrap();
        assert!(weekend.expected_ms < 10.0 * MINUTE as f64 && weekend.n >= 10, "{weekend:?}");
        let again = handle_by_season(T0 + MINUTE, &policy(), None, seasons, &store, &store).await.unwrap();
        assert_eq!((again.days_rolled_up, again.baselines_written), (0, 0), "nothing twice");
    }

    #[tokio::test]
    async fn a_failed_day_write_fails_the_night_and_its_retry_ends_as_a_night_without_the_fault() {
        let (faulty, clean) = (history().await, history().await);
        faulty.fail_next_write_day(1);
        assert!(night(&faulty, T0).await.is_err());
        assert!(faulty.baselines().is_empty(), "no baseline from a night that failed");
        let retry = night(&faulty, T0 + MINUTE).await.unwrap();
        assert_eq!((retry.days_rolled_up, retry.runs_rolled_up, retry.baselines_written), (2, 5, 1));
        night(&clean, T0 + MINUTE).await.unwrap();
        assert_eq!(faulty.baselines(), clean.baselines());
    }

    #[tokio::test]
    async fn a_failed_baseline_write_fails_the_night_and_its_retry_writes_them_without_rolling_up_again() {
        let store = history().await;
        store.fail_next_apply_baseline_changes(1);
        assert!(night(&store, T0).await.is_err());
        assert!(store.baselines().is_empty());
        let retry = night(&store, T0 + MINUTE).await.unwrap();
        assert_eq!((retry.days_rolled_up, retry.runs_rolled_up, retry.baselines_written), (0, 0, 1));
        let etl: &NightBaseline = &store.baselines()[&task("etl")];
        assert_eq!(etl.baseline.n, 3);
    }
}
