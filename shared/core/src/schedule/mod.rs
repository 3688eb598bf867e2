//! Schedules: when a task type's runs are due, learned from its own starts or declared by an
//! operator, so that a run that never comes is seen (a "missed" start).
//!
//! A schedule is a few slots repeating every period (the clock's: periods that divide a day are
//! aligned to UTC midnight), on some days of the week, and the grace a start may come late by.
//! [`learn`] finds one from a type's start times, or says the type is unscheduled; [`slots`]
//! lists the due times and judges which went without a start. [`declared`] reads a schedule an
//! operator declared (an EventBridge `cron(…)` or `rate(…)`, or a crontab line, in a time zone)
//! and lists its due times.

pub mod declared;
pub mod learn;
pub mod slots;
pub mod watch;
pub mod watched;

use std::collections::BTreeMap;
use std::fmt;

use crate::model::TaskType;
use crate::time::{EpochMs, MS_PER_DAY};

pub const MINUTE_MS: i64 = 60_000;

/// Days of the week (UTC) a schedule's slots are due on: bit 0 is Monday, bit 6 Sunday.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Weekdays(u8);

const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const FULL_NAMES: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

impl Weekdays {
    pub const EVERY_DAY: Self = Self(0x7f);
    pub const MONDAY_TO_FRIDAY: Self = Self(0x1f);

    pub fn from_bits(bits: u8) -> Option<Self> {
        (bits != 0 && bits <= 0x7f).then_some(Self(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }

    /// The weekday of `at` (UTC): 0 for Monday.
    pub fn weekday_of(at: EpochMs) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (at.div_euclid(MS_PER_DAY) + 3).rem_euclid(7) as u32
    }

    pub fn contains(self, weekday: u32) -> bool {
        weekday < 7 && self.0 & (1 << weekday) != 0
    }

    pub fn includes(self, at: EpochMs) -> bool {
        self.contains(Self::weekday_of(at))
    }

    pub fn with(self, weekday: u32) -> Self {
        Self(self.0 | (1 << weekday))
    }

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    pub fn count(self) -> u32 {
        self.0.count_ones()
    }
}

impl fmt::Display for Weekdays {
    /// "every day", "Mon–Fri", "Mondays", or the days listed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::EVERY_DAY => f.write_str("every day"),
            Self::MONDAY_TO_FRIDAY => f.write_str("Mon–Fri"),
            days if days.count() == 1 => {
                let day = (0..7).find(|&d| days.contains(d)).unwrap_or(0);
                write!(f, "{}s", FULL_NAMES[day as usize])
            }
            days => {
                let listed: Vec<&str> =
                    (0..7).filter(|&d| days.contains(d)).map(|d| NAMES[d as usize]).collect();
                f.write_str(&listed.join(", "))
            }
        }
    }
}

/// When a task type's runs are due, and how late a start may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Its slots repeat every period; a period that divides a day starts at UTC midnight.
    pub period_ms: i64,
    /// Where in a period each slot is due, sorted, each below `period_ms`.
    pub offsets_ms: Vec<i64>,
    /// The days its slots are due on (every day for a period that does not divide a day).
    pub weekdays: Weekdays,
    /// How long after a due time a start still counts as on time.
    pub grace_ms: i64,
    /// How long before a due time a start counts for it (a clock ahead, a scheduler firing early).
    pub early_ms: i64,
    /// What its starts showed: the median and the largest lateness after their due time.
    pub typical_lateness_ms: i64,
    pub largest_lateness_ms: i64,
    /// The due times it was learned from that had a start.
    pub evidence: u32,
}

impl Schedule {
    /// Whether its period divides a day (slots are then times of day, on some weekdays).
    pub fn is_daily(&self) -> bool {
        MS_PER_DAY % self.period_ms == 0
    }

    /// How many slots are due per day, on average over a week.
    pub fn slots_per_day(&self) -> f64 {
        let days = if self.is_daily() { f64::from(self.weekdays.count()) / 7.0 } else { 1.0 };
        self.offsets_ms.len() as f64 * MS_PER_DAY as f64 / self.period_ms as f64 * days
    }
}

impl fmt::Display for Schedule {
    /// In words: "daily at 02:10 UTC", "every 3 h at :15 from 00:15 UTC", "every 90 min", with
    /// its days.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = |offset: i64| {
            let minutes = offset / MINUTE_MS;
            format!("{:02}:{:02}", minutes / 60 % 24, minutes % 60)
        };
        if self.period_ms == MS_PER_DAY {
            let times: Vec<String> = self.offsets_ms.iter().map(|&o| clock(o)).collect();
            let days = if self.weekdays == Weekdays::EVERY_DAY {
                "daily".to_owned()
            } else {
                self.weekdays.to_string()
            };
            write!(f, "{days} at {} UTC", times.join(", "))?;
        } else if self.is_daily() && self.period_ms >= 3_600_000 && self.period_ms % 3_600_000 == 0 {
            let minutes: Vec<String> =
                self.offsets_ms.iter().map(|&o| format!(":{:02}", (o / MINUTE_MS) % 60)).collect();
            let hours = self.period_ms / 3_600_000;
            let every = if hours == 1 { "hourly".to_owned() } else { format!("every {hours} h") };
            write!(f, "{every} at {} from {} UTC", minutes.join(", "), clock(self.offsets_ms[0]))?;
            if self.weekdays != Weekdays::EVERY_DAY {
                write!(f, ", {}", self.weekdays)?;
            }
        } else {
            write!(f, "every {}", period_words(self.period_ms))?;
            if self.offsets_ms.len() > 1 {
                write!(f, " ({} slots)", self.offsets_ms.len())?;
            }
            if self.is_daily() && self.weekdays != Weekdays::EVERY_DAY {
                write!(f, ", {}", self.weekdays)?;
            }
        }
        Ok(())
    }
}

/// "90 min", "7 h", "2 d": a period in its largest whole unit.
fn period_words(ms: i64) -> String {
    if ms % MS_PER_DAY == 0 {
        format!("{} d", ms / MS_PER_DAY)
    } else if ms % 3_600_000 == 0 {
        format!("{} h", ms / 3_600_000)
    } else {
        format!("{} min", ms / MINUTE_MS)
    }
}

/// What the nightly job writes of the schedules it learned: only what changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleChange {
    Set(TaskType, Schedule),
    /// The type is unscheduled now (or its starts aged out).
    Remove(TaskType),
}

/// The changes that turn `stored` into `learned`: a second night with the same starts writes
/// nothing.
pub fn schedule_changes(
    learned: &BTreeMap<TaskType, Schedule>,
    stored: &BTreeMap<TaskType, Schedule>,
) -> Vec<ScheduleChange> {
    let set = learned
        .iter()
        .filter(|(task, schedule)| stored.get(*task) != Some(*schedule))
        .map(|(task, schedule)| ScheduleChange::Set(task.clone(), schedule.clone()));
    let removed = stored
        .keys()
        .filter(|task| !learned.contains_key(*task))
        .map(|task| ScheduleChange::Remove(task.clone()));
    set.chain(removed).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(offset_minutes: i64) -> Schedule {
        Schedule {
            period_ms: MS_PER_DAY,
            offsets_ms: vec![offset_minutes * MINUTE_MS],
            weekdays: Weekdays::EVERY_DAY,
            grace_ms: 10 * MINUTE_MS,
            early_ms: 5 * MINUTE_MS,
            typical_lateness_ms: 1_000,
            largest_lateness_ms: 20_000,
            evidence: 20,
        }
    }

    #[test]
    fn only_changed_learned_and_no_longer_learned_schedules_are_written() {
        let task = |name: &str| TaskType::new(name).unwrap();
        let stored = BTreeMap::from([
            (task("same"), daily(120)),
            (task("moved"), daily(60)),
            (task("gone"), daily(5)),
        ]);
        let learned =
            BTreeMap::from([(task("same"), daily(120)), (task("moved"), daily(61)), (task("new"), daily(0))]);
        assert_eq!(
            schedule_changes(&learned, &stored),
            vec![
                ScheduleChange::Set(task("moved"), daily(61)),
                ScheduleChange::Set(task("new"), daily(0)),
                ScheduleChange::Remove(task("gone")),
            ]
        );
        assert!(schedule_changes(&learned, &learned).is_empty());
    }

    #[test]
    fn weekdays_read_as_people_say_them() {
        assert_eq!(Weekdays::EVERY_DAY.to_string(), "every day");
        assert_eq!(Weekdays::MONDAY_TO_FRIDAY.to_string(), "Mon–Fri");
        assert_eq!(Weekdays::from_bits(0b101).unwrap().to_string(), "Mon, Wed");
        assert_eq!(Weekdays::from_bits(0), None);
        assert_eq!(Weekdays::weekday_of(0), 3, "1970-01-01 was a Thursday");
    }
}
