//! A recorded history made into the missed-start evaluation's traces ([`TypeTrace`]): each task
//! type's schedule in hindsight (learned from its starts at the end of the history), its due
//! times with what came of each, and a seeded share of its runs deleted or delayed past the
//! hand-configured anchor's grace — so that `overrun backtest --drop --delay` scores the learner
//! against the anchor on a user's own history.
//!
//! The truth is the hindsight schedule: a type whose schedule changed has its latest one judged
//! over the whole history, and due times its history already went without (an outage, a
//! holiday) are owed like the deleted ones.

use crate::evaluation::rng::SplitMix64;
use crate::evaluation::scheduled::{Due, TypeTrace};
use crate::schedule::learn::{LearnSettings, Learned, learn};
use crate::schedule::slots::due_times;
use crate::schedule::{MINUTE_MS, Schedule};
use crate::time::{EpochMs, MS_PER_DAY};

/// What to change in the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissedInjection {
    pub seed: u64,
    /// Share of due runs deleted: each a missed start to catch.
    pub drop: f64,
    /// Share of due runs moved past the anchor's grace (before the next due time): each a late
    /// start to catch, then resolved.
    pub delay: f64,
}

/// The traces of `types` (each a name and its starts, any order), changed by `injection`.
pub fn traces_from_history(
    types: Vec<(String, Vec<EpochMs>)>,
    injection: &MissedInjection,
    settings: &LearnSettings,
) -> Vec<TypeTrace> {
    let mut rng = SplitMix64::new(injection.seed);
    types
        .into_iter()
        .map(|(name, mut starts)| {
            starts.sort_unstable();
            starts.dedup();
            match hindsight_schedule(&starts, settings) {
                Some(schedule) => scheduled_trace(name, &starts, &schedule, injection, &mut rng),
                None => {
                    // Deleting runs of an unscheduled type must not make it look scheduled.
                    starts.retain(|_| rng.unit() >= injection.drop);
                    TypeTrace {
                        name,
                        due: Vec::new(),
                        starts,
                        anchor_grace_ms: 0,
                        tight: false,
                        scheduled: false,
                    }
                }
            }
        })
        .collect()
}

/// The schedule learned from every start, at the end of the history.
fn hindsight_schedule(starts: &[EpochMs], settings: &LearnSettings) -> Option<Schedule> {
    let last = *starts.last()?;
    let whole = LearnSettings {
        look_back_ms: (last - starts[0] + MS_PER_DAY).max(settings.look_back_ms),
        ..*settings
    };
    match learn(starts, last, &whole) {
        Learned::Scheduled(schedule) => Some(schedule),
        Learned::Unscheduled(_) => None,
    }
}

fn scheduled_trace(
    name: String,
    starts: &[EpochMs],
    schedule: &Schedule,
    injection: &MissedInjection,
    rng: &mut SplitMix64,
) -> TypeTrace {
    let due = due_times(schedule, starts[0], starts[starts.len() - 1]);
    // Each due time's start: the first from its early margin up to the next due time's.
    let mut outcome: Vec<(EpochMs, Due)> = due
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let until = due.get(i + 1).map_or(EpochMs::MAX, |&next| next - schedule.early_ms);
            let first = starts.partition_point(|&t| t < at - schedule.early_ms);
            let what = starts.get(first).filter(|&&t| t < until).map_or(Due::Missing, |&t| Due::Started(t));
            (at, what)
        })
        .collect();
    let mut lateness: Vec<i64> = outcome
        .iter()
        .filter_map(|&(at, what)| match what {
            Due::Started(t) => Some((t - at).max(0)),
            _ => None,
        })
        .collect();
    lateness.sort_unstable();
    let anchor = lateness.get(lateness.len() * 99 / 100).copied().unwrap_or(0);
    let spacing = smallest_spacing(&due);
    let mut kept: Vec<EpochMs> = starts.to_vec();
    for (i, (at, what)) in outcome.iter_mut().enumerate() {
        let Due::Started(t) = *what else { continue };
        let draw = rng.unit();
        let next = due.get(i + 1).copied().unwrap_or(*at + spacing);
        if draw < injection.drop {
            remove(&mut kept, t);
            *what = Due::Missing;
        } else if draw < injection.drop + injection.delay {
            // Past the anchor's grace by two ticks, before the next due time by one.
            let earliest = *at + anchor + 20 * MINUTE_MS;
            let latest = next - schedule.early_ms - 10 * MINUTE_MS;
            if latest > earliest {
                let moved = earliest + (rng.unit() * (latest - earliest) as f64) as i64;
                remove(&mut kept, t);
                let place = kept.partition_point(|&s| s < moved);
                kept.insert(place, moved);
                *what = Due::Delayed(moved);
            }
        }
    }
    TypeTrace {
        name,
        due: outcome,
        starts: kept,
        anchor_grace_ms: anchor,
        tight: lateness.last().copied().unwrap_or(0) * 4 < spacing,
        scheduled: true,
    }
}

fn remove(sorted: &mut Vec<EpochMs>, t: EpochMs) {
    if let Ok(at) = sorted.binary_search(&t) {
        sorted.remove(at);
    }
}

/// The smallest gap between consecutive due times (a day for fewer than two).
fn smallest_spacing(due: &[EpochMs]) -> i64 {
    due.windows(2).map(|pair| pair[1] - pair[0]).min().unwrap_or(MS_PER_DAY).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::missed::evaluate;
    use crate::evaluation::scheduled::{ScheduledSpec, generate};
    use crate::time::TickInterval;

    #[test]
    fn a_generated_history_read_back_finds_its_scheduled_types_and_scores_the_dropped_runs() {
        let spec = ScheduledSpec { seed: 5, first_day: 19_723, days: 60, per_kind: 1, drop: 0.0, delay: 0.0 };
        let generated = generate(&spec);
        let types: Vec<(String, Vec<EpochMs>)> =
            generated.iter().map(|t| (t.name.clone(), t.starts.clone())).collect();
        let injection = MissedInjection { seed: 7, drop: 0.05, delay: 0.03 };
        let traces = traces_from_history(types.clone(), &injection, &LearnSettings::default());
        for (trace, truth) in traces.iter().zip(&generated) {
            if !truth.scheduled {
                assert!(!trace.scheduled, "{} is unscheduled", truth.name);
            }
        }
        let scheduled = traces.iter().filter(|t| t.scheduled).count();
        assert!(scheduled * 10 >= generated.iter().filter(|t| t.scheduled).count() * 7, "{scheduled} found");
        let dropped = traces.iter().flat_map(|t| &t.due).filter(|(_, w)| matches!(w, Due::Missing)).count();
        let delayed =
            traces.iter().flat_map(|t| &t.due).filter(|(_, w)| matches!(w, Due::Delayed(_))).count();
        assert!(dropped > 20 && delayed > 5, "{dropped} dropped, {delayed} delayed");
        let again = traces_from_history(types, &injection, &LearnSettings::default());
        assert_eq!(
            again.iter().map(|t| t.starts.clone()).collect::<Vec<_>>(),
            traces.iter().map(|t| t.starts.clone()).collect::<Vec<_>>(),
            "the same seed changes the same runs"
        );
        let from = (spec.first_day + 14) * MS_PER_DAY;
        let to = (spec.first_day + spec.days) * MS_PER_DAY;
        let score = evaluate(&traces, from, to, &LearnSettings::default(), TickInterval::default());
        assert!(score.recall() > 0.8, "{score:?}");
    }
}
