//! The nightly function: rolls up the days whose finished runs are not all rolled up yet, then
//! recomputes every task type's baseline for the night and writes only what changed.
//!
//! Idempotent: a second run of the same night finds every day rolled up and every baseline equal,
//! and writes nothing. A missed night is caught up by the next one, which rolls up every day of
//! its window that needs it.

use overrun_core::time::Day;
use std::collections::BTreeMap;

use overrun_core::limits::nightly::DayAggregate;
use overrun_core::limits::nightly::{aggregate_day, baseline_changes, baselines_for_night, days_to_roll_up};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::ports::{BaselineStore, DayStore, FinishedRuns, StoreError};
use overrun_core::{BaselinePolicy, EpochMs, TaskType};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NightlyReport {
    pub night: Day,
    pub days_rolled_up: usize,
    pub runs_rolled_up: u64,
    pub baselines: usize,
    pub baselines_written: usize,
    pub baselines_removed: usize,
    /// Items that could not be read (logged with what was wrong); the rest went on.
    pub malformed_items: usize,
}

/// `exclusion_cap`: guarded exclusion of warned runs (`None`: every run counts, as the seed method does; docs/DETECTION.md).
pub async fn handle(
    now: EpochMs,
    policy: &BaselinePolicy,
    exclusion_cap: Option<ExclusionCap>,
    runs: &impl FinishedRuns,
    stats: &(impl DayStore + BaselineStore),
) -> Result<NightlyReport, StoreError> {
    let night = policy.night_at_or_before(now);
    let window: Vec<Day> = Day::each(policy.window_buckets(night)).collect();
    let mut report = NightlyReport { night, ..NightlyReport::default() };

    let statuses = stats.day_statuses(&window).await?;
    let mut days: BTreeMap<Day, BTreeMap<TaskType, DayAggregate>> = BTreeMap::new();
    for day in days_to_roll_up(&statuses) {
        days.insert(day, roll_up(day, runs, stats, &mut report).await?);
    }
    // The other days of the window were rolled up on earlier nights: read their aggregates.
    let earlier: Vec<Day> = statuses
        .iter()
        .filter(|s| s.rolled_up.is_some() && !days.contains_key(&s.day))
        .map(|s| s.day)
        .collect();
    let needs_histograms = policy.method().needs_histogram();
    for day in earlier {
        let stored = stats.read_day(day).await?;
        log_malformed(&stored.malformed, &mut report);
        let aggregates: BTreeMap<TaskType, DayAggregate> = stored.items.into_iter().collect();
        // Days rolled up before histograms were kept are rolled up again from their runs, once,
        // when the method needs them (switching to tailored needs no migration step).
        if needs_histograms && aggregates.values().any(DayAggregate::lacks_histogram) {
            days.insert(day, roll_up(day, runs, stats, &mut report).await?);
        } else {
            days.insert(day, aggregates);
        }
    }

    let baselines = baselines_for_night(policy, night, days.values(), exclusion_cap);
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
    Ok(report)
}

async fn roll_up(
    day: Day,
    runs: &impl FinishedRuns,
    stats: &impl DayStore,
    report: &mut NightlyReport,
) -> Result<BTreeMap<TaskType, DayAggregate>, StoreError> {
    let finished = runs.finished_runs_of_day(day).await?;
    log_malformed(&finished.malformed, report);
    let included = finished.items.len() as u64;
    let aggregates = aggregate_day(finished.items);
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
