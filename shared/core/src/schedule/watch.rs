//! The checker's judgement of one scheduled task type at a tick: on time, missed (no start since
//! a due time's grace ran out), or resumed (a start came after a missed alert).
//!
//! A missed-start incident is "nothing has started since": it opens at the first due time whose
//! grace has passed with no start at or after its early margin, counts every further due time
//! that passes the same way (the second escalates it), and ends with the first start after it —
//! its own run come late, or the next slot's run, when the missed one never came. Judging "no
//! start since" rather than slot by slot keeps a late run from raising a second alert for the
//! slot after it, and lets a type that stopped for good page twice and then wait quietly.

use crate::detect::levels::Level;
use crate::schedule::Schedule;
use crate::schedule::slots;
use crate::time::EpochMs;

/// What the checker needs of a schedule: its due times and how early or late a start may be.
/// Learned schedules and declared ones both have them.
pub trait DueTimes {
    /// The due times in `[from, to]`, oldest first.
    fn due_times(&self, from: EpochMs, to: EpochMs) -> Vec<EpochMs>;
    fn grace_ms(&self) -> i64;
    fn early_ms(&self) -> i64;
}

impl DueTimes for Schedule {
    fn due_times(&self, from: EpochMs, to: EpochMs) -> Vec<EpochMs> {
        slots::due_times(self, from, to)
    }
    fn grace_ms(&self) -> i64 {
        self.grace_ms
    }
    fn early_ms(&self) -> i64 {
        self.early_ms
    }
}

/// How far back a new incident's first due time is looked for: a checker that did not run for
/// longer than this reports only the due times since.
pub const LOOK_BACK_MS: i64 = crate::time::MS_PER_DAY;

/// The checker judges a type when one of its due times' grace ran out within this long before
/// the tick (or its incident is open): a checker that could not run for longer than this (its
/// own alarm pages) reports those due times at the type's next one.
pub const CATCH_UP_MS: i64 = 6 * crate::time::MS_PER_HOUR;

/// Due times counted per incident: beyond the escalation nothing more is owed, and a type
/// retired for months costs no more than a few due times per tick.
const MAX_COUNTED: usize = 64;

/// A type's standing at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    OnTime,
    Missed(MissedStarts),
    Resumed(Resumption),
}

/// Due times that went by without a start, all since the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedStarts {
    /// The incident: the first due time missed.
    pub first_due: EpochMs,
    /// The latest due time whose grace has passed.
    pub latest_due: EpochMs,
    /// Due times missed in a row (at least one; capped at [`MAX_COUNTED`]).
    pub missed: usize,
    /// The latest start before the first missed due time, among those read.
    pub last_start: Option<EpochMs>,
    /// The next due time after `now`.
    pub next_due: Option<EpochMs>,
}

impl MissedStarts {
    /// Warning for one missed due time, critical from the second.
    pub fn level(&self) -> Level {
        if self.missed >= 2 { Level::Critical } else { Level::Warning }
    }

    /// Past its escalation: nothing more is sent until a start comes.
    pub fn has_stopped_paging(&self) -> bool {
        self.missed > 2
    }
}

/// A start after a missed alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumption {
    pub first_due: EpochMs,
    pub start: EpochMs,
    pub came: Came,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Came {
    /// The missed run itself, this late after its due time.
    Late { by_ms: i64 },
    /// The run of a later due time: the missed ones never came.
    NextSlot { due: EpochMs, skipped: usize },
    /// No start: an operator declared the type unscheduled (`start` is when).
    Unscheduled,
    /// A start after its schedule was dropped (no longer learned, or cleared): it runs again.
    Again,
}

/// The first start (sorted `starts`) at or after an open incident's first due time, less the
/// usual early margin, once the type has no schedule any more: it started again.
pub fn started_again(first_due: EpochMs, starts: &[EpochMs], now: EpochMs) -> Option<Resumption> {
    let since = first_due - crate::schedule::watched::DECLARED_EARLY_MS;
    let start = starts[starts.partition_point(|&t| t < since)..].first().copied().filter(|&t| t <= now)?;
    Some(Resumption { first_due, start, came: Came::Again })
}

/// The standing of a type with schedule `schedule` at `now`, from its starts (sorted; at least
/// those since a day before the incident's first due time or [`LOOK_BACK_MS`]) and the incident
/// already open (`open`: its first due time), if any. Due times before `not_before` (when the
/// schedule was declared) are not judged.
pub fn judge(
    schedule: &impl DueTimes,
    starts: &[EpochMs],
    open: Option<EpochMs>,
    not_before: EpochMs,
    now: EpochMs,
) -> Standing {
    let last_start = |before: EpochMs| starts[..starts.partition_point(|&t| t < before)].last().copied();
    if let Some(first_due) = open {
        let since = first_due - schedule.early_ms();
        if let Some(&start) = starts[starts.partition_point(|&t| t < since)..].first().filter(|&&t| t <= now)
        {
            return Standing::Resumed(Resumption {
                first_due,
                start,
                came: came(schedule, first_due, start),
            });
        }
        return missed_since(schedule, first_due, last_start(since), now);
    }
    let latest = last_start(now + 1);
    let judged_from = (now - LOOK_BACK_MS).max(not_before);
    let unmet = schedule
        .due_times(judged_from, now - schedule.grace_ms())
        .into_iter()
        .find(|&due| latest.is_none_or(|start| start < due - schedule.early_ms()));
    match unmet {
        Some(first_due) => missed_since(schedule, first_due, latest, now),
        None => Standing::OnTime,
    }
}

fn missed_since(
    schedule: &impl DueTimes,
    first_due: EpochMs,
    last_start: Option<EpochMs>,
    now: EpochMs,
) -> Standing {
    let passed = schedule.due_times(first_due, now - schedule.grace_ms());
    let counted = &passed[..passed.len().min(MAX_COUNTED)];
    let Some(&latest_due) = passed.last() else {
        // The first due time's grace has not passed (a clock behind the one that opened it).
        return Standing::OnTime;
    };
    Standing::Missed(MissedStarts {
        first_due,
        latest_due,
        missed: counted.len(),
        last_start,
        next_due: next_due_after(schedule, now),
    })
}

/// The first due time after `after`, within eight days or two periods.
pub fn next_due_after(schedule: &impl DueTimes, after: EpochMs) -> Option<EpochMs> {
    schedule.due_times(after + 1, after + 8 * crate::time::MS_PER_DAY).into_iter().next()
}

/// Whether `start` is the missed run come late, or a later due time's run.
fn came(schedule: &impl DueTimes, first_due: EpochMs, start: EpochMs) -> Came {
    let later = schedule.due_times(first_due + 1, start + schedule.early_ms());
    match later.last() {
        Some(&due) => Came::NextSlot { due, skipped: later.len() },
        None => Came::Late { by_ms: start - first_due },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{MINUTE_MS, Weekdays};
    use crate::time::{MS_PER_DAY, MS_PER_HOUR};

    /// 2024-01-01 (a Monday) at 00:00 UTC.
    const MONDAY: EpochMs = 19_723 * MS_PER_DAY;
    const DUE: EpochMs = MONDAY + 2 * MS_PER_HOUR;

    fn daily_at_two() -> Schedule {
        Schedule {
            period_ms: MS_PER_DAY,
            offsets_ms: vec![2 * MS_PER_HOUR],
            weekdays: Weekdays::EVERY_DAY,
            grace_ms: 30 * MINUTE_MS,
            early_ms: 2 * MINUTE_MS,
            typical_lateness_ms: MINUTE_MS,
            largest_lateness_ms: 20 * MINUTE_MS,
            evidence: 20,
        }
    }

    fn yesterdays() -> Vec<EpochMs> {
        vec![DUE - MS_PER_DAY + 3 * MINUTE_MS]
    }

    #[test]
    fn a_type_is_on_time_until_its_grace_runs_out_and_missed_after() {
        let schedule = daily_at_two();
        assert_eq!(judge(&schedule, &yesterdays(), None, 0, DUE + 29 * MINUTE_MS), Standing::OnTime);
        let Standing::Missed(missed) = judge(&schedule, &yesterdays(), None, 0, DUE + 30 * MINUTE_MS) else {
            panic!("missed")
        };
        assert_eq!((missed.first_due, missed.missed, missed.level()), (DUE, 1, Level::Warning));
        assert_eq!(missed.last_start, Some(DUE - MS_PER_DAY + 3 * MINUTE_MS));
        assert_eq!(missed.next_due, Some(DUE + MS_PER_DAY));
    }

    #[test]
    fn a_start_within_the_early_margin_or_the_grace_meets_its_due_time() {
        let schedule = daily_at_two();
        for start in [DUE - MINUTE_MS, DUE + 25 * MINUTE_MS] {
            let starts = [yesterdays(), vec![start]].concat();
            assert_eq!(judge(&schedule, &starts, None, 0, DUE + MS_PER_HOUR), Standing::OnTime);
        }
        let too_early = [yesterdays(), vec![DUE - 10 * MINUTE_MS]].concat();
        assert!(matches!(judge(&schedule, &too_early, None, 0, DUE + MS_PER_HOUR), Standing::Missed(_)));
    }

    #[test]
    fn the_second_due_time_missed_in_a_row_escalates_and_the_third_stops_paging() {
        let schedule = daily_at_two();
        let at = |n: i64| judge(&schedule, &yesterdays(), Some(DUE), 0, DUE + n * MS_PER_DAY + MS_PER_HOUR);
        let Standing::Missed(second) = at(1) else { panic!("missed") };
        assert_eq!(
            (second.first_due, second.latest_due, second.level()),
            (DUE, DUE + MS_PER_DAY, Level::Critical)
        );
        assert!(!second.has_stopped_paging());
        let Standing::Missed(third) = at(2) else { panic!("missed") };
        assert_eq!((third.first_due, third.missed), (DUE, 3));
        assert!(third.has_stopped_paging());
    }

    #[test]
    fn a_late_start_resumes_the_incident_saying_how_late_and_a_next_slot_start_says_it_never_came() {
        let schedule = daily_at_two();
        let late = [yesterdays(), vec![DUE + 50 * MINUTE_MS]].concat();
        assert_eq!(
            judge(&schedule, &late, Some(DUE), 0, DUE + MS_PER_HOUR),
            Standing::Resumed(Resumption {
                first_due: DUE,
                start: DUE + 50 * MINUTE_MS,
                came: Came::Late { by_ms: 50 * MINUTE_MS }
            })
        );
        let next_day = [yesterdays(), vec![DUE + MS_PER_DAY + MINUTE_MS]].concat();
        let Standing::Resumed(resumed) =
            judge(&schedule, &next_day, Some(DUE), 0, DUE + MS_PER_DAY + MS_PER_HOUR)
        else {
            panic!("resumed")
        };
        assert_eq!(resumed.came, Came::NextSlot { due: DUE + MS_PER_DAY, skipped: 1 });
    }

    #[test]
    fn a_late_run_does_not_make_the_slot_after_it_missed_too() {
        let schedule = daily_at_two();
        let late = [yesterdays(), vec![DUE + 50 * MINUTE_MS]].concat();
        let next_day_within_grace = DUE + MS_PER_DAY + 10 * MINUTE_MS;
        assert_eq!(judge(&schedule, &late, None, 0, next_day_within_grace), Standing::OnTime);
    }

    #[test]
    fn due_times_before_the_schedule_was_declared_or_a_day_back_are_not_judged() {
        let schedule = daily_at_two();
        assert_eq!(judge(&schedule, &[], None, DUE + MINUTE_MS, DUE + MS_PER_HOUR), Standing::OnTime);
        let Standing::Missed(missed) = judge(&schedule, &[], None, 0, DUE + 3 * MS_PER_DAY + MS_PER_HOUR)
        else {
            panic!("missed")
        };
        assert_eq!(missed.first_due, DUE + 3 * MS_PER_DAY, "only the last day is looked at");
        assert_eq!(missed.last_start, None);
    }

    #[test]
    fn a_weekday_schedule_is_not_missed_on_the_weekend() {
        let schedule = Schedule { weekdays: Weekdays::MONDAY_TO_FRIDAY, ..daily_at_two() };
        let friday = DUE + 4 * MS_PER_DAY;
        let saturday_noon = friday + MS_PER_DAY + 10 * MS_PER_HOUR;
        assert_eq!(judge(&schedule, &[friday], None, 0, saturday_noon), Standing::OnTime);
        assert_eq!(judge(&schedule, &[friday], None, 0, saturday_noon + MS_PER_DAY), Standing::OnTime);
    }
}
