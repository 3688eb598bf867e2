//! The schedule a type is watched by: the one an operator declared, else the one the nightly job
//! learned; a type declared unscheduled is never watched.

use crate::notify::missed::ScheduleWords;
use crate::schedule::Schedule;
use crate::schedule::declared::Declared;
use crate::schedule::watch::DueTimes;
use crate::time::EpochMs;

/// How early a start may come for a declared due time and still count for it: a clock a little
/// ahead, a scheduler firing a few seconds early.
pub const DECLARED_EARLY_MS: i64 = 2 * crate::schedule::MINUTE_MS;

/// An operator's word on a type's schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum Declaration {
    Scheduled(Box<Declared>),
    /// Never paged for a missed start, whatever its starts show (`since`: when this was said).
    Unscheduled {
        since: EpochMs,
    },
}

impl Declaration {
    pub fn since(&self) -> EpochMs {
        match self {
            Declaration::Scheduled(declared) => declared.since(),
            Declaration::Unscheduled { since } => *since,
        }
    }
}

/// A type's schedule as the checker watches it.
#[derive(Debug, Clone, Copy)]
pub enum Watched<'a> {
    Learned(&'a Schedule),
    Declared(&'a Declared),
}

/// Declared beats learned; declared unscheduled beats both.
pub fn watched<'a>(learned: Option<&'a Schedule>, declared: Option<&'a Declaration>) -> Option<Watched<'a>> {
    match declared {
        Some(Declaration::Scheduled(declared)) => Some(Watched::Declared(declared)),
        Some(Declaration::Unscheduled { .. }) => None,
        None => learned.map(Watched::Learned),
    }
}

impl Watched<'_> {
    /// Due times before this are not judged: a schedule declared now owes nothing for the past.
    pub fn not_before(&self) -> EpochMs {
        match self {
            Watched::Learned(_) => EpochMs::MIN,
            Watched::Declared(declared) => declared.since(),
        }
    }

    /// How messages state it.
    pub fn words(&self) -> ScheduleWords {
        match self {
            Watched::Learned(schedule) => ScheduleWords {
                pattern: schedule.to_string(),
                source: format!("learned from {} starts", schedule.evidence),
                usually_within_ms: Some(schedule.largest_lateness_ms),
                grace_ms: schedule.grace_ms,
            },
            Watched::Declared(declared) => ScheduleWords {
                pattern: declared.to_string(),
                source: format!("declared as {}", declared.expression()),
                usually_within_ms: None,
                grace_ms: declared.grace_ms(),
            },
        }
    }
}

impl DueTimes for Watched<'_> {
    fn due_times(&self, from: EpochMs, to: EpochMs) -> Vec<EpochMs> {
        match self {
            Watched::Learned(schedule) => schedule.due_times(from, to),
            Watched::Declared(declared) => declared.due_times(from, to),
        }
    }
    fn grace_ms(&self) -> i64 {
        match self {
            Watched::Learned(schedule) => schedule.grace_ms,
            Watched::Declared(declared) => declared.grace_ms(),
        }
    }
    fn early_ms(&self) -> i64 {
        match self {
            Watched::Learned(schedule) => schedule.early_ms,
            Watched::Declared(declared) => DECLARED_EARLY_MS.min(declared.grace_ms()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::Weekdays;
    use crate::schedule::declared::Zone;
    use crate::schedule::watch::{Standing, judge};
    use crate::time::{MS_PER_DAY, MS_PER_HOUR};

    const MONDAY: EpochMs = 19_723 * MS_PER_DAY;

    fn learned() -> Schedule {
        Schedule {
            period_ms: MS_PER_DAY,
            offsets_ms: vec![2 * MS_PER_HOUR],
            weekdays: Weekdays::EVERY_DAY,
            grace_ms: 1_800_000,
            early_ms: 120_000,
            typical_lateness_ms: 1_000,
            largest_lateness_ms: 60_000,
            evidence: 20,
        }
    }

    fn at_six(since: EpochMs) -> Declaration {
        Declaration::Scheduled(Box::new(
            Declared::new("cron(0 6 * * ? *)", Zone::utc(), 900_000, since).unwrap(),
        ))
    }

    #[test]
    fn a_declared_schedule_beats_the_learned_one_and_unscheduled_beats_both() {
        let schedule = learned();
        let declared = at_six(MONDAY);
        assert!(matches!(watched(Some(&schedule), None), Some(Watched::Learned(_))));
        assert!(matches!(watched(Some(&schedule), Some(&declared)), Some(Watched::Declared(_))));
        let silenced = Declaration::Unscheduled { since: MONDAY };
        assert!(watched(Some(&schedule), Some(&silenced)).is_none());
        assert!(watched(None, None).is_none());
    }

    #[test]
    fn a_declared_schedule_owes_nothing_from_before_it_was_declared() {
        let declared = at_six(MONDAY + 7 * MS_PER_HOUR);
        let watched = watched(None, Some(&declared)).unwrap();
        let evening = MONDAY + 20 * MS_PER_HOUR;
        assert_eq!(judge(&watched, &[], None, watched.not_before(), evening), Standing::OnTime);
        let next_morning = MONDAY + MS_PER_DAY + 7 * MS_PER_HOUR;
        let Standing::Missed(missed) = judge(&watched, &[], None, watched.not_before(), next_morning) else {
            panic!("missed")
        };
        assert_eq!(missed.first_due, MONDAY + MS_PER_DAY + 6 * MS_PER_HOUR);
        assert_eq!(watched.words().source, "declared as cron(0 6 * * ? *)");
    }
}
