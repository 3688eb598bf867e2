//! A schedule's due times, and which of them went without a start.

use crate::schedule::Schedule;
use crate::time::EpochMs;

/// The due times of `schedule` in `[from, to]`, oldest first.
pub fn due_times(schedule: &Schedule, from: EpochMs, to: EpochMs) -> Vec<EpochMs> {
    let mut due = Vec::new();
    if to < from {
        return due;
    }
    let period = schedule.period_ms;
    let mut period_start = from - from.rem_euclid(period);
    while period_start <= to {
        for &offset in &schedule.offsets_ms {
            let at = period_start + offset;
            if (from..=to).contains(&at) && (!schedule.is_daily() || schedule.weekdays.includes(at)) {
                due.push(at);
            }
        }
        period_start += period;
    }
    due
}

/// The first due time after `after`, looking at most eight days ahead (a week of weekdays).
pub fn next_due(schedule: &Schedule, after: EpochMs) -> Option<EpochMs> {
    let horizon = (8 * crate::time::MS_PER_DAY).max(2 * schedule.period_ms);
    due_times(schedule, after + 1, after + horizon).into_iter().next()
}

/// A due time that went without a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed {
    pub due: EpochMs,
    /// Due time plus grace: when it became missed.
    pub deadline: EpochMs,
}

/// Whether one of `starts` (sorted) counts for the slot due at `due`: it came at most
/// `early_ms` before it and at most `grace_ms` after.
pub fn is_met(schedule: &Schedule, starts: &[EpochMs], due: EpochMs) -> bool {
    let first = starts.partition_point(|&t| t < due - schedule.early_ms);
    starts.get(first).is_some_and(|&t| t <= due + schedule.grace_ms)
}

/// The due times whose deadline lies in `(since, now]` and that had no start (`starts`, sorted).
pub fn missed(schedule: &Schedule, starts: &[EpochMs], since: EpochMs, now: EpochMs) -> Vec<Missed> {
    due_times(schedule, since - schedule.grace_ms + 1, now - schedule.grace_ms)
        .into_iter()
        .filter(|&due| !is_met(schedule, starts, due))
        .map(|due| Missed { due, deadline: due + schedule.grace_ms })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::{MINUTE_MS, Weekdays};
    use crate::time::{MS_PER_DAY, MS_PER_HOUR};

    /// 2024-01-01 (a Monday) at 00:00 UTC.
    const MONDAY: EpochMs = 19_723 * MS_PER_DAY;

    fn daily_at_two(weekdays: Weekdays) -> Schedule {
        Schedule {
            period_ms: MS_PER_DAY,
            offsets_ms: vec![2 * MS_PER_HOUR],
            weekdays,
            grace_ms: 30 * MINUTE_MS,
            early_ms: 2 * MINUTE_MS,
            typical_lateness_ms: MINUTE_MS,
            largest_lateness_ms: 20 * MINUTE_MS,
            evidence: 20,
        }
    }

    #[test]
    fn due_times_fall_on_the_schedules_days_only() {
        assert_eq!(Weekdays::weekday_of(MONDAY), 0);
        let due = due_times(&daily_at_two(Weekdays::MONDAY_TO_FRIDAY), MONDAY, MONDAY + 7 * MS_PER_DAY);
        assert_eq!(due, (0..5).map(|d| MONDAY + d * MS_PER_DAY + 2 * MS_PER_HOUR).collect::<Vec<_>>());
        let friday_night = MONDAY + 4 * MS_PER_DAY + 3 * MS_PER_HOUR;
        assert_eq!(
            next_due(&daily_at_two(Weekdays::MONDAY_TO_FRIDAY), friday_night),
            Some(MONDAY + 7 * MS_PER_DAY + 2 * MS_PER_HOUR)
        );
    }

    #[test]
    fn a_due_time_is_missed_only_once_its_grace_has_passed_without_a_start() {
        let schedule = daily_at_two(Weekdays::EVERY_DAY);
        let due = MONDAY + 2 * MS_PER_HOUR;
        assert!(missed(&schedule, &[], MONDAY, due + 29 * MINUTE_MS).is_empty(), "within its grace");
        let missing = missed(&schedule, &[], MONDAY, due + 30 * MINUTE_MS);
        assert_eq!(missing, vec![Missed { due, deadline: due + 30 * MINUTE_MS }]);
        let late_but_in_grace = [due + 25 * MINUTE_MS];
        assert!(missed(&schedule, &late_but_in_grace, MONDAY, due + MS_PER_HOUR).is_empty());
        let a_bit_early = [due - MINUTE_MS];
        assert!(missed(&schedule, &a_bit_early, MONDAY, due + MS_PER_HOUR).is_empty());
        let too_early = [due - 10 * MINUTE_MS];
        assert_eq!(missed(&schedule, &too_early, MONDAY, due + MS_PER_HOUR).len(), 1);
        assert!(missed(&schedule, &[], due + 30 * MINUTE_MS, due + MS_PER_HOUR).is_empty(), "reported once");
    }
}
