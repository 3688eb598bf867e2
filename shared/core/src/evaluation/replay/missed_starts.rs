//! Missed starts in the replay, exactly as deployed: each night a type's schedule is learned from
//! its starts before the night ([`learn`], as the nightly job learns it), and at the checker's
//! ticks the checker's own judgement ([`judge`]) opens an incident (a warning), escalates it at
//! the second missed due time in a row (a critical) and resolves it at the first start after it.
//!
//! Only the ticks where a type's standing can change are judged — the first tick at or after a
//! due time's grace, the first tick of a night whose schedule has a grace that ran out in the
//! checker's catch-up window before it, and the first tick at or after each start while an
//! incident is open — which gives what judging every tick gives, at a cost per due time.

use crate::BaselinePolicy;
use crate::model::{Level, TaskType};
use crate::schedule::Schedule;
use crate::schedule::learn::{LearnSettings, Learned, learn_after};
use crate::schedule::watch::started_again;
use crate::schedule::watch::{
    CATCH_UP_MS, DueTimes, LOOK_BACK_MS, MissedStarts, Resumption, Standing, judge,
};
use crate::time::{Day, EpochMs};

/// What the checker would have sent about a type's starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissedEvent {
    pub task_type: TaskType,
    /// The tick that sent it.
    pub at: EpochMs,
    pub kind: MissedEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissedEventKind {
    /// A missed start at `level`, with the schedule it was judged by.
    Missed {
        level: Level,
        standing: MissedStarts,
        schedule: Schedule,
    },
    Resumed(Resumption),
}

/// Missed-start counts of a replay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MissedSummary {
    /// Types that had a learned schedule at some night.
    pub scheduled_types: u64,
    pub warnings: u64,
    pub criticals: u64,
    pub resolved: u64,
}

/// One type's missed starts, replayed night by night as its starts arrive.
pub struct TypeReplay {
    task_type: TaskType,
    /// Every start recorded so far, in order.
    starts: Vec<EpochMs>,
    previous: Option<Schedule>,
    open: Option<Incident>,
    ever_scheduled: bool,
    events: Vec<MissedEvent>,
}

impl TypeReplay {
    pub fn new(task_type: TaskType) -> Self {
        TypeReplay {
            task_type,
            starts: Vec::new(),
            previous: None,
            open: None,
            ever_scheduled: false,
            events: Vec::new(),
        }
    }

    /// Records the type's next start (starts come in order).
    pub fn record(&mut self, start: EpochMs) {
        debug_assert!(self.starts.last().is_none_or(|&last| last <= start));
        self.starts.push(start);
    }

    /// Replays `night`: the nightly job's learning at its instant, then the checker's ticks up to
    /// the next night or `horizon` (the history's end, once known). Every start before the night's
    /// end must have been recorded; later ones change nothing.
    pub fn replay_night(&mut self, night: Day, horizon: Option<EpochMs>, policy: &BaselinePolicy) {
        let ticks = policy.check_interval();
        let settings = LearnSettings::checked_every(ticks.as_ms());
        let now = policy.night_start(night);
        let night_end = policy.night_start(night + 1).min(horizon.map_or(EpochMs::MAX, |h| h + 1));
        if horizon.is_some_and(|horizon| now > horizon) {
            return;
        }
        let starts = &self.starts[..];
        let task_type = &self.task_type;
        let events = &mut self.events;
        let open = &mut self.open;
        // The nightly job reads the starts ingested before it runs at the night's instant.
        let known = &starts[starts.partition_point(|&t| t <= now - settings.look_back_ms)
            ..starts.partition_point(|&t| t < now)];
        let learned = learn_after(self.previous.as_ref(), known, now, &settings);
        self.previous = match &learned {
            Learned::Scheduled(schedule) => Some(schedule.clone()),
            Learned::Unscheduled(_) => None,
        };
        let Learned::Scheduled(schedule) = learned else {
            // No schedule tonight: an open incident ends at the first start after it, as deployed.
            if let Some(incident) = open.as_ref()
                && let Some(again) = started_again(incident.first_due, starts, night_end - 1)
            {
                let at = ticks.first_tick_at_or_after(again.start.max(now));
                if at < night_end {
                    events.push(MissedEvent {
                        task_type: task_type.clone(),
                        at,
                        kind: MissedEventKind::Resumed(again),
                    });
                    *open = None;
                }
            }
            return;
        };
        self.ever_scheduled = true;
        let grace = schedule.grace_ms;
        let dues = schedule.due_times(now - grace - LOOK_BACK_MS, night_end - grace);
        let mut moments: Vec<EpochMs> =
            dues.iter().map(|&due| ticks.first_tick_at_or_after(due + grace)).collect();
        moments.push(ticks.first_tick_at_or_after(now));
        if let Some(incident) = open.as_ref() {
            let since = incident.first_due - schedule.early_ms;
            let from = starts.partition_point(|&t| t < since.max(now - ticks.as_ms()));
            moments.extend(
                starts[from..starts.partition_point(|&t| t < night_end)]
                    .iter()
                    .map(|&t| ticks.first_tick_at_or_after(t)),
            );
        }
        moments.retain(|&at| at >= now && at < night_end);
        moments.sort_unstable();
        moments.dedup();
        for at in moments {
            // With no incident open, a type whose newest due time had a start at or after its
            // early margin is on time (the judgement's own rule), and most ticks end here.
            if open.is_none() {
                let newest = dues[..dues.partition_point(|&due| due <= at - grace)].last();
                let latest = starts[..starts.partition_point(|&t| t <= at)].last();
                let on_time = match (newest, latest) {
                    (None, _) => true,
                    (Some(&due), Some(&start)) => start >= due - schedule.early_ms,
                    (Some(_), None) => false,
                };
                if on_time || schedule.due_times(at - CATCH_UP_MS - grace, at - grace).is_empty() {
                    continue;
                }
            }
            match judge(&schedule, starts, open.as_ref().map(|i| i.first_due), EpochMs::MIN, at) {
                Standing::OnTime => {}
                Standing::Missed(standing) => {
                    let incident = open.get_or_insert_with(|| {
                        events.push(missed_event(task_type, at, Level::Warning, &standing, &schedule));
                        Incident { first_due: standing.first_due, escalated: false }
                    });
                    if standing.level() == Level::Critical && !incident.escalated {
                        incident.escalated = true;
                        events.push(missed_event(task_type, at, Level::Critical, &standing, &schedule));
                    }
                }
                Standing::Resumed(resumed) => {
                    let kind = MissedEventKind::Resumed(resumed);
                    events.push(MissedEvent { task_type: task_type.clone(), at, kind });
                    *open = None;
                }
            }
        }
    }

    /// What the checker would have sent, and whether the type ever had a schedule.
    pub fn finish(self) -> (Vec<MissedEvent>, bool) {
        (self.events, self.ever_scheduled)
    }
}

/// An incident open in the replay: its first due time, and whether it was escalated.
struct Incident {
    first_due: EpochMs,
    escalated: bool,
}

/// The message at `level`: a warning sent with a critical says one due time, as deployed.
fn missed_event(
    task_type: &TaskType,
    at: EpochMs,
    level: Level,
    standing: &MissedStarts,
    schedule: &Schedule,
) -> MissedEvent {
    let standing = MissedStarts {
        missed: if level == Level::Warning { 1 } else { standing.missed },
        ..standing.clone()
    };
    MissedEvent {
        task_type: task_type.clone(),
        at,
        kind: MissedEventKind::Missed { level, standing, schedule: schedule.clone() },
    }
}
