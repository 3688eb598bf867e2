//! The missed-start replay runs beside the duration replay, on the other cores. Runs arrive in
//! start order, so once a start of a later night has arrived, every start before it is known and
//! every type's nights before it can be replayed ([`TypeReplay`], the one implementation). The
//! messages found are exactly those of replaying each type after the last run; the duration
//! replay no longer waits for them at the end.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use crate::BaselinePolicy;
use crate::evaluation::replay::missed_starts::{MissedEvent, TypeReplay};
use crate::model::TaskType;
use crate::time::{Day, EpochMs};

/// The most workers: the duration replay hands out the starts on one core, and past a few
/// workers it, not they, sets the pace.
const MAX_WORKERS: usize = 3;

/// The missed-start workers of one replay, and the starts not yet handed to them.
pub(super) struct MissedWorkers {
    policy: BaselinePolicy,
    workers: Vec<Worker>,
    /// The instant of the night after the latest start's: a start at or after it completes the
    /// nights before it.
    next_night_at: Option<EpochMs>,
}

struct Worker {
    sender: Sender<Message>,
    handle: JoinHandle<Found>,
    pending: Pending,
}

/// What the main thread gathered for one worker since its last message.
#[derive(Default)]
struct Pending {
    new_types: Vec<TaskType>,
    starts: Vec<(u32, EpochMs)>,
}

enum Message {
    /// New types (in index order), starts, and the instant before which every start is known.
    Starts { pending: Pending, complete_before: EpochMs },
    /// The last ones, and the history's end (none when no run arrived).
    Finish { pending: Pending, horizon: Option<EpochMs> },
}

/// One worker's messages and how many of its types ever had a schedule.
type Found = (Vec<MissedEvent>, u64);

impl MissedWorkers {
    /// Workers on the cores the duration replay leaves free (one at least).
    pub(super) fn new(policy: BaselinePolicy) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_workers(policy, cores.saturating_sub(1).clamp(1, MAX_WORKERS))
    }

    fn with_workers(policy: BaselinePolicy, count: usize) -> Self {
        let count = count.max(1);
        let workers = (0..count)
            .map(|_| {
                let (sender, receiver) = channel();
                let handle = std::thread::spawn(move || replay_missed_starts(&receiver, &policy, count));
                Worker { sender, handle, pending: Pending::default() }
            })
            .collect();
        MissedWorkers { policy, workers, next_night_at: None }
    }

    /// A type seen for the first time: its index is the next one.
    pub(super) fn add_type(&mut self, index: u32, task_type: TaskType) {
        let count = self.workers.len();
        self.workers[index as usize % count].pending.new_types.push(task_type);
    }

    /// A start of type `index`; starts come in order.
    pub(super) fn record(&mut self, index: u32, start: EpochMs) {
        if self.next_night_at.is_some_and(|next| start >= next) {
            for worker in &mut self.workers {
                let pending = std::mem::take(&mut worker.pending);
                // A worker that stopped has panicked: its join says so.
                let _ = worker.sender.send(Message::Starts { pending, complete_before: start });
            }
        }
        if self.next_night_at.is_none_or(|next| start >= next) {
            self.next_night_at = Some(self.policy.night_start(self.policy.night_at_or_before(start) + 1));
        }
        let count = self.workers.len();
        self.workers[index as usize % count].pending.starts.push((index, start));
    }

    /// Every missed-start message, in no particular order, and how many types ever had a
    /// schedule.
    pub(super) fn finish(self, horizon: Option<EpochMs>) -> Found {
        let handles: Vec<JoinHandle<Found>> = self
            .workers
            .into_iter()
            .map(|worker| {
                let _ = worker.sender.send(Message::Finish { pending: worker.pending, horizon });
                worker.handle
            })
            .collect();
        let mut events = Vec::new();
        let mut scheduled = 0;
        for handle in handles {
            let (found, ever) = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            events.extend(found);
            scheduled += ever;
        }
        (events, scheduled)
    }
}

/// A worker: its types (every `count`-th, so index / count is their place here), replayed night
/// by night as the nights complete.
fn replay_missed_starts(receiver: &Receiver<Message>, policy: &BaselinePolicy, count: usize) -> Found {
    let mut types: Vec<TypeReplay> = Vec::new();
    let mut next_night: Option<Day> = None;
    let take = |pending: Pending, types: &mut Vec<TypeReplay>, next_night: &mut Option<Day>| {
        types.extend(pending.new_types.into_iter().map(TypeReplay::new));
        for (index, start) in pending.starts {
            if let Some(replay) = types.get_mut(index as usize / count) {
                replay.record(start);
            }
            next_night.get_or_insert_with(|| policy.night_at_or_before(start) + 1);
        }
    };
    // A closed channel without a `Finish` is a replay dropped unfinished: nothing to return.
    while let Ok(message) = receiver.recv() {
        match message {
            Message::Starts { pending, complete_before } => {
                take(pending, &mut types, &mut next_night);
                while let Some(night) = next_night
                    && policy.night_start(night + 1) <= complete_before
                {
                    types.iter_mut().for_each(|replay| replay.replay_night(night, None, policy));
                    next_night = Some(night + 1);
                }
            }
            Message::Finish { pending, horizon } => {
                take(pending, &mut types, &mut next_night);
                if let (Some(first), Some(horizon)) = (next_night, horizon) {
                    for night in Day::each(first..policy.night_at_or_before(horizon) + 1) {
                        types.iter_mut().for_each(|replay| replay.replay_night(night, Some(horizon), policy));
                    }
                }
                break;
            }
        }
    }
    let mut events = Vec::new();
    let mut scheduled = 0;
    for replay in types {
        let (found, ever) = replay.finish();
        events.extend(found);
        scheduled += u64::from(ever);
    }
    (events, scheduled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::scheduled::{ScheduledSpec, generate};
    use crate::model::Level;

    use crate::evaluation::replay::missed_starts::MissedEventKind;

    fn sorted(mut events: Vec<MissedEvent>) -> Vec<MissedEvent> {
        events.sort_by(|a, b| (a.at, &a.task_type).cmp(&(b.at, &b.task_type)));
        events
    }

    #[test]
    fn starts_streamed_to_any_number_of_workers_find_what_replaying_each_whole_history_finds() {
        let spec =
            ScheduledSpec { seed: 5, first_day: 19_723, days: 40, per_kind: 1, drop: 0.05, delay: 0.03 };
        let traces = generate(&spec);
        let policy = BaselinePolicy::default();
        let mut all: Vec<(u32, EpochMs)> = traces
            .iter()
            .enumerate()
            .flat_map(|(index, trace)| trace.starts.iter().map(move |&start| (index as u32, start)))
            .collect();
        all.sort_by_key(|&(index, start)| (start, index));
        let horizon = all.last().map(|&(_, start)| start).unwrap_or_default() + 3 * 3_600_000;

        let mut expected = Vec::new();
        let mut scheduled = 0;
        let first_night = policy.night_at_or_before(all[0].1) + 1;
        for trace in &traces {
            let mut replay = TypeReplay::new(TaskType::new(&trace.name).unwrap());
            trace.starts.iter().for_each(|&start| replay.record(start));
            for night in Day::each(first_night..policy.night_at_or_before(horizon) + 1) {
                replay.replay_night(night, Some(horizon), &policy);
            }
            let (found, ever) = replay.finish();
            expected.extend(found);
            scheduled += u64::from(ever);
        }
        let expected = sorted(expected);
        let alerts = |level| {
            expected
                .iter()
                .filter(|e| matches!(e.kind, MissedEventKind::Missed { level: l, .. } if l == level))
                .count()
        };
        assert!(alerts(Level::Warning) > 10 && alerts(Level::Critical) > 0, "{expected:?}");

        for count in [1, 2, 3] {
            let mut workers = MissedWorkers::with_workers(policy, count);
            for (index, trace) in traces.iter().enumerate() {
                workers.add_type(index as u32, TaskType::new(&trace.name).unwrap());
            }
            for &(index, start) in &all {
                workers.record(index, start);
            }
            let (found, ever) = workers.finish(Some(horizon));
            assert_eq!(ever, scheduled, "{count} workers");
            assert_eq!(sorted(found), expected, "{count} workers");
        }
    }

    #[test]
    fn a_replay_with_no_runs_finds_no_missed_start() {
        let workers = MissedWorkers::new(BaselinePolicy::default());
        assert_eq!(workers.finish(None), (Vec::new(), 0));
    }
}
