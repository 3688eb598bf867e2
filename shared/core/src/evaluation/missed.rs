//! How well missed starts are caught: the learner replayed night by night over each type's
//! starts, its alerts scored against the truth of a generated trace ([`super::scheduled`]) and
//! against a hand-configured monitor (the anchor: the true schedule, and a grace at the 99th
//! percentile of the type's own lateness), both checked at the same ticks.

use crate::evaluation::scheduled::{Due, TypeTrace};
use crate::schedule::learn::{LearnSettings, Learned, learn_after};
use crate::schedule::slots::{due_times, is_met};
use crate::time::{EpochMs, MS_PER_DAY, TickInterval};

/// A "missed" alert: the due time it is about and the tick that raised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissedAlert {
    pub due: EpochMs,
    pub at: EpochMs,
}

/// The learner over `starts` (sorted) from `first_night` to `last_night` (epoch ms of nights at
/// 00:00 UTC): each night it learns from the starts before it; during the day, a due time whose
/// deadline falls in it and that had no start is alerted at the first tick at or after its
/// deadline.
pub fn replay_missed(
    starts: &[EpochMs],
    first_night: EpochMs,
    last_night: EpochMs,
    settings: &LearnSettings,
    ticks: TickInterval,
) -> Vec<MissedAlert> {
    let mut alerts = Vec::new();
    let mut night = first_night;
    let mut previous: Option<crate::schedule::Schedule> = None;
    while night < last_night {
        let known = &starts[..starts.partition_point(|&t| t < night)];
        let learned = learn_after(previous.as_ref(), known, night, settings);
        previous = match &learned {
            Learned::Scheduled(schedule) => Some(schedule.clone()),
            Learned::Unscheduled(_) => None,
        };
        if let Learned::Scheduled(schedule) = learned {
            let day_end = night + MS_PER_DAY;
            for due in due_times(&schedule, night - schedule.grace_ms, day_end - schedule.grace_ms - 1) {
                if !is_met(&schedule, starts, due) {
                    alerts
                        .push(MissedAlert { due, at: ticks.first_tick_at_or_after(due + schedule.grace_ms) });
                }
            }
        }
        night += MS_PER_DAY;
    }
    alerts
}

/// The scores of one evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MissedScore {
    pub scheduled_types: usize,
    pub unscheduled_types: usize,
    /// Due times to catch (deleted, or started past the anchor's grace), caught by the learner.
    pub to_catch: usize,
    pub caught: usize,
    /// The same for types whose lateness is under a quarter of their period.
    pub to_catch_tight: usize,
    pub caught_tight: usize,
    pub anchor_caught: usize,
    /// Alerts on due times that started within the anchor's grace, or on no due time at all.
    pub false_scheduled: usize,
    pub scheduled_type_days: f64,
    pub false_unscheduled: usize,
    pub unscheduled_type_days: f64,
    /// Each caught due time's alert minus the anchor's, ms.
    pub delays_ms: Vec<i64>,
}

impl MissedScore {
    pub fn recall(&self) -> f64 {
        ratio(self.caught, self.to_catch)
    }
    pub fn recall_tight(&self) -> f64 {
        ratio(self.caught_tight, self.to_catch_tight)
    }
    pub fn anchor_recall(&self) -> f64 {
        ratio(self.anchor_caught, self.to_catch)
    }
    /// False alerts per scheduled type per 30 days.
    pub fn false_per_type_month(&self) -> f64 {
        self.false_scheduled as f64 * 30.0 / self.scheduled_type_days.max(1.0)
    }
    /// False alerts on unscheduled types per 1,000 type-days.
    pub fn false_per_thousand_unscheduled_days(&self) -> f64 {
        self.false_unscheduled as f64 * 1_000.0 / self.unscheduled_type_days.max(1.0)
    }
    /// The median delay behind the anchor, ms.
    pub fn median_delay_ms(&self) -> i64 {
        let mut sorted = self.delays_ms.clone();
        sorted.sort_unstable();
        sorted.get(sorted.len() / 2).copied().unwrap_or(0)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

/// Scores the learner on `traces` between `from` and `to` (nights, epoch ms): the learner trains
/// on everything before each night, scoring starts at `from`.
pub fn evaluate(
    traces: &[TypeTrace],
    from: EpochMs,
    to: EpochMs,
    settings: &LearnSettings,
    ticks: TickInterval,
) -> MissedScore {
    let mut score = MissedScore::default();
    let days = (to - from) as f64 / MS_PER_DAY as f64;
    for trace in traces {
        let alerts = replay_missed(&trace.starts, from, to, settings, ticks);
        if !trace.scheduled {
            score.unscheduled_types += 1;
            score.unscheduled_type_days += days;
            score.false_unscheduled += alerts.len();
            continue;
        }
        score.scheduled_types += 1;
        score.scheduled_type_days += days;
        score_scheduled(trace, &alerts, from, to, ticks, &mut score);
    }
    score
}

fn score_scheduled(
    trace: &TypeTrace,
    alerts: &[MissedAlert],
    from: EpochMs,
    to: EpochMs,
    ticks: TickInterval,
    score: &mut MissedScore,
) {
    let grace = trace.anchor_grace_ms;
    let in_window: Vec<(EpochMs, Due)> =
        trace.due.iter().copied().filter(|&(due, _)| due + grace >= from && due + grace < to).collect();
    // Owed: deleted or delayed on purpose. A start in the scheduler's own tail past the anchor's
    // grace (1 % by construction) is neither owed nor a false alert: the anchor itself pages it.
    let owed = |what: Due| matches!(what, Due::Missing | Due::Delayed(_));
    let on_time = |what: Due, due: EpochMs| matches!(what, Due::Started(t) if t <= due + grace);
    // Each alert is about the true due time nearest its own, within half the spacing of due
    // times; caught once.
    let mut caught = vec![None::<EpochMs>; in_window.len()];
    for alert in alerts {
        let nearest = in_window
            .iter()
            .enumerate()
            .min_by_key(|(_, (due, _))| (due - alert.due).abs())
            .filter(|(index, (due, _))| (due - alert.due).abs() <= half_spacing(&in_window, *index));
        match nearest {
            Some((index, &(_, what))) if owed(what) => {
                if caught[index].is_none() {
                    caught[index] = Some(alert.at);
                }
            }
            Some((_, &(due, what))) if !on_time(what, due) => {}
            _ => score.false_scheduled += 1,
        }
    }
    for (index, &(due, what)) in in_window.iter().enumerate() {
        if !owed(what) {
            continue;
        }
        score.to_catch += 1;
        score.anchor_caught += 1;
        if trace.tight {
            score.to_catch_tight += 1;
        }
        if let Some(at) = caught[index] {
            score.caught += 1;
            if trace.tight {
                score.caught_tight += 1;
            }
            score.delays_ms.push(at - ticks.first_tick_at_or_after(due + grace));
        }
    }
}

/// Half the time to the nearer neighbouring due time (a day for a lone one).
fn half_spacing(due: &[(EpochMs, Due)], index: usize) -> i64 {
    let at = due[index].0;
    let before = index.checked_sub(1).map(|i| at - due[i].0);
    let after = due.get(index + 1).map(|&(next, _)| next - at);
    before.into_iter().chain(after).min().unwrap_or(MS_PER_DAY) / 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::scheduled::{ScheduledSpec, generate};

    #[test]
    fn on_generated_schedules_the_learner_is_near_the_hand_configured_monitor() {
        let spec =
            ScheduledSpec { seed: 11, first_day: 19_723, days: 70, per_kind: 2, drop: 0.03, delay: 0.02 };
        let traces = generate(&spec);
        let from = (spec.first_day + 14) * MS_PER_DAY;
        let to = (spec.first_day + spec.days) * MS_PER_DAY;
        let score = evaluate(&traces, from, to, &LearnSettings::default(), TickInterval::default());
        assert!(score.to_catch > 50, "{score:?}");
        assert!(score.recall() >= score.anchor_recall() - 0.05, "recall {} {score:?}", score.recall());
        assert!(score.false_per_type_month() <= 1.0, "false {} {score:?}", score.false_per_type_month());
        assert!(score.false_per_thousand_unscheduled_days() <= 1.0, "{score:?}");
    }
}
