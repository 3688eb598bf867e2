//! The recording rule: what a start, a finish, a claim, a lease's end and a delivery do to a
//! stored run and its messages, decided here once.
//!
//! Both stores apply it: the in-memory store (`overrun_app::memory_store`) calls these
//! functions on its records; the DynamoDB adapters (`overrun_aws`) express the same decisions as
//! write conditions (so that two writers racing get them atomically) and call [`settle`],
//! [`finish`] and [`is_ours`] on what a write returns. The store contract suite runs one set of
//! tests against both, so neither can drift from this module.

use thiserror::Error;

use crate::detect::check::RunningRun;
use crate::model::{Attempt, DeliveryState, Lease, Level, RunStatus};
use crate::notify::delivery::MessageKey;
use crate::time::EpochMs;

/// What the rule reads of a stored run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunRecord {
    pub start: Option<EpochMs>,
    pub end: Option<EpochMs>,
    pub status: Option<RunStatus>,
    /// Already counted for its end's day.
    pub counted: bool,
    /// Its warning was claimed (the nightly roll-up tells warned runs apart).
    pub warned: bool,
    /// An alert of any level was claimed.
    pub alerted: bool,
    /// Its "resolved" was delivered.
    pub resolved: bool,
}

impl RunRecord {
    /// Started and not finished: listed as running, its alerts may be claimed.
    pub fn is_running(&self) -> bool {
        self.start.is_some() && self.end.is_none()
    }
}

/// What a start does to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartEffect {
    /// The run is running: its start is kept if it had none (a redelivery keeps the first), it
    /// is listed as running, and its recent runs are fixed if it had none.
    Running,
    /// The finish came first: the start is kept if it had none, the run is not listed as
    /// running, and it is [`settle`]d, since it may now be complete.
    AfterFinish,
}

/// What a start does to `record`.
pub fn start(record: &RunRecord) -> StartEffect {
    if record.end.is_some() { StartEffect::AfterFinish } else { StartEffect::Running }
}

/// Which attempt of its run id an event is about, among the attempts stored (the run id's
/// re-runs: see [`place_start`] and [`place_finish`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A stored attempt (the first when none is stored): the start or finish applies to it as
    /// [`start`] and [`finish`] say.
    Existing(Attempt),
    /// A new attempt, after the latest stored one.
    New(Attempt),
}

impl Placement {
    pub fn attempt(self) -> Attempt {
        match self {
            Placement::Existing(attempt) | Placement::New(attempt) => attempt,
        }
    }
}

/// A start that can be told neither for a redelivery nor for a re-run: it is not the start
/// recorded for any attempt of its run id, and it lies before the end of the latest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "its start ({start} ms) is neither the recorded start of attempt {attempt} ({recorded_start} ms) nor after that attempt's end ({end} ms): a redelivery would repeat the start, a re-run would start after the end; give the run a new id or its attempt number"
)]
pub struct AmbiguousStart {
    pub attempt: Attempt,
    pub recorded_start: EpochMs,
    pub end: EpochMs,
    pub start: EpochMs,
}

/// Where a start at `start` lands among its run id's stored attempts (any order), when its
/// source does not number attempts:
/// - the attempt whose recorded start it repeats (a redelivery: nothing changes);
/// - otherwise the latest attempt while it runs (a start that differs keeps the first, as ever),
///   or when its finish came first and this start is not after that finish (a late start);
/// - a new attempt when it starts at or after the latest attempt's end (a re-run under the same
///   id: a date-named cron job run again, an execution redriven under its old name);
/// - refused otherwise.
pub fn place_start(attempts: &[(Attempt, RunRecord)], start: EpochMs) -> Result<Placement, AmbiguousStart> {
    if let Some((attempt, _)) = attempts.iter().find(|(_, record)| record.start == Some(start)) {
        return Ok(Placement::Existing(*attempt));
    }
    let Some((latest, record)) = attempts.iter().max_by_key(|(attempt, _)| *attempt) else {
        return Ok(Placement::Existing(Attempt::FIRST));
    };
    let Some(end) = record.end else { return Ok(Placement::Existing(*latest)) };
    match record.start {
        None if start <= end => Ok(Placement::Existing(*latest)),
        _ if start >= end => Ok(latest.next().map_or(Placement::Existing(*latest), Placement::New)),
        recorded => {
            Err(AmbiguousStart { attempt: *latest, recorded_start: recorded.unwrap_or(start), end, start })
        }
    }
}

/// Where a finish lands among its run id's stored attempts, when its source does not number
/// attempts: the attempt whose finish it repeats (a redelivery), else the one whose start it
/// carries, else the latest — or a new attempt when it carries a start at or after the latest
/// attempt's end (a re-run whose start has not arrived yet). A finish for the latest attempt
/// that contradicts its recorded one is a conflict, as [`finish`] says.
pub fn place_finish(
    attempts: &[(Attempt, RunRecord)],
    start: Option<EpochMs>,
    end: EpochMs,
    status: RunStatus,
) -> Placement {
    let repeated = |record: &RunRecord| record.end == Some(end) && record.status == Some(status);
    let started_with = |record: &RunRecord| start.is_some() && record.start == start;
    if let Some((attempt, _)) = attempts.iter().find(|(_, record)| repeated(record)) {
        return Placement::Existing(*attempt);
    }
    if let Some((attempt, _)) = attempts.iter().find(|(_, record)| started_with(record)) {
        return Placement::Existing(*attempt);
    }
    let Some((latest, record)) = attempts.iter().max_by_key(|(attempt, _)| *attempt) else {
        return Placement::Existing(Attempt::FIRST);
    };
    match (record.end, start) {
        (Some(latest_end), Some(start)) if start >= latest_end => {
            latest.next().map_or(Placement::Existing(*latest), Placement::New)
        }
        _ => Placement::Existing(*latest),
    }
}

/// The finish a run kept when a later one contradicted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinishConflict {
    pub kept_end: EpochMs,
    pub kept_status: RunStatus,
}

/// Whether a finish (`end`, `status`) applies to `record`: the first finish stands; its
/// redelivery (the same end and status) applies again, harmlessly; a finish that contradicts it
/// changes nothing and says what was kept. An applied finish ends the run's listing as running,
/// keeps the event's start if the run had none, and is then [`settle`]d.
pub fn finish(record: &RunRecord, end: EpochMs, status: RunStatus) -> Result<(), FinishConflict> {
    match (record.end, record.status) {
        (Some(kept_end), Some(kept_status)) if (kept_end, kept_status) != (end, status) => {
            Err(FinishConflict { kept_end, kept_status })
        }
        _ => Ok(()),
    }
}

/// What a run owes after a write that applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settlement {
    /// (start, end) when the run is a complete succeeded run (on every delivery, so that a
    /// retried event still gets its too-short notice; the notice's claim keeps it to one).
    pub completed: Option<(EpochMs, EpochMs)>,
    /// Count it for its end's day now (exactly once: the count's write is conditional on the run
    /// not being counted yet), as warned or not.
    pub count: Option<Counted>,
    /// Flag it for its "resolved": it was alerted on, has finished, and its "resolved" is not
    /// delivered yet.
    pub flag_resolution: bool,
}

/// A run counted for its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub end: EpochMs,
    /// Alerts are claimed only while a run runs, so this is final once it has ended.
    pub warned: bool,
}

/// What `record`, just written, owes: its day's count and its "resolved".
pub fn settle(record: &RunRecord) -> Settlement {
    let Some(end) = record.end else { return Settlement::default() };
    let mut settlement = Settlement::default();
    if let (Some(start), Some(RunStatus::Succeeded)) = (record.start, record.status)
        && end >= start
    {
        settlement.completed = Some((start, end));
        if !record.counted {
            settlement.count = Some(Counted { end, warned: record.warned });
        }
    }
    settlement.flag_resolution = record.alerted && !record.resolved;
    settlement
}

/// Which message a claim is for, as far as whether it is due goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageKind {
    /// An alert: first claimed only while its run runs.
    Alert,
    /// A "resolved": first claimed only once its run is flagged for it.
    Resolved,
    /// A too-short notice: always due (its run was complete when it was decided).
    TooShort,
    /// A missed start: first claimed only while its incident has no "resolved".
    Missed,
    /// A missed start's "resolved": first claimed only once its incident has an alert.
    Resumed,
}

impl MessageKey {
    /// The recording rule's kind of this message.
    pub fn kind(&self) -> MessageKind {
        match self {
            MessageKey::Alert { .. } => MessageKind::Alert,
            MessageKey::Resolved { .. } => MessageKind::Resolved,
            MessageKey::TooShort { .. } => MessageKind::TooShort,
            MessageKey::Missed { .. } => MessageKind::Missed,
            MessageKey::Resumed { .. } => MessageKind::Resumed,
        }
    }
}

/// Whether a message of `kind` may be claimed for the first time, given its run's record
/// (`flagged`: the run is flagged for its "resolved").
pub fn first_claim_due(kind: MessageKind, run: Option<&RunRecord>, flagged: bool) -> bool {
    match kind {
        MessageKind::Alert => run.is_some_and(RunRecord::is_running),
        MessageKind::Resolved => flagged,
        MessageKind::TooShort => true,
        // Decided by their incident: [`first_incident_claim_due`].
        MessageKind::Missed | MessageKind::Resumed => false,
    }
}

/// Whether a missed-start message (`kind`) may be claimed for the first time, given its
/// incident's "resolved" claim and whether any of its alerts was claimed: an alert only until
/// the incident is resolved (a tick that judged before the start came must not page after its
/// "resolved"), a "resolved" only after an alert.
pub fn first_incident_claim_due(kind: MessageKind, resumed: &DeliveryState, alerted: bool) -> bool {
    match kind {
        MessageKind::Missed => *resumed == DeliveryState::Unclaimed,
        MessageKind::Resumed => alerted,
        MessageKind::Alert | MessageKind::Resolved | MessageKind::TooShort => false,
    }
}

/// What a claim write does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEffect {
    /// The claim becomes this lease (and a first claim stores its message).
    Applies,
    /// Nothing is written, but the claim is this lease's already (an earlier try of the same
    /// write applied and its answer was lost): won all the same.
    AlreadyOurs,
    /// Someone else holds it, it was delivered, or the message is not due.
    Held,
}

/// A claim of a message whose claim stands at `current`, by `lease`: a first claim (`stale`
/// `None`, and only when `due`) or a take-over of the undelivered claim `stale` (only while the
/// claim is still exactly that one).
pub fn claim(current: &DeliveryState, due: bool, stale: Option<&Lease>, lease: &Lease) -> ClaimEffect {
    let applies = match (stale, current) {
        (None, DeliveryState::Unclaimed) => due,
        (Some(stale), DeliveryState::Pending(held)) => held == stale,
        _ => false,
    };
    if applies {
        ClaimEffect::Applies
    } else if is_ours(current, lease) {
        ClaimEffect::AlreadyOurs
    } else {
        ClaimEffect::Held
    }
}

/// The claim is `lease`'s and undelivered.
pub fn is_ours(current: &DeliveryState, lease: &Lease) -> bool {
    matches!(current, DeliveryState::Pending(held) if held == lease)
}

/// Notes on a running run where its `level` alert's claim stands: a delivered or claimed alert
/// is not raised again, and a claimed one not yet delivered is owed a resend once its lease runs
/// out.
pub fn note_alert_claim(run: &mut RunningRun, level: Level, state: DeliveryState) {
    match state {
        DeliveryState::Unclaimed => {}
        DeliveryState::Delivered => run.alerted.insert(level),
        DeliveryState::Pending(lease) => {
            run.alerted.insert(level);
            run.undelivered.push((level, lease));
        }
    }
}

/// What giving a claim back does: `owner`'s undelivered claim is released (the next attempt
/// takes it over at once); anything else is left as it is (`None`).
pub fn release(current: &DeliveryState, owner: &str) -> Option<DeliveryState> {
    match current {
        DeliveryState::Pending(lease) if lease.owner == owner => {
            Some(DeliveryState::Pending(Lease { owner: lease.owner.clone(), claimed_at: Lease::RELEASED }))
        }
        _ => None,
    }
}

/// What marking a message delivered does: a claimed message is delivered; one never claimed
/// (or whose claim expired with its item) has nothing to mark (`None`).
pub fn deliver(current: &DeliveryState) -> Option<DeliveryState> {
    match current {
        DeliveryState::Unclaimed => None,
        _ => Some(DeliveryState::Delivered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(start: i64, end: i64, status: RunStatus) -> RunRecord {
        RunRecord { start: Some(start), end: Some(end), status: Some(status), ..RunRecord::default() }
    }

    fn lease(owner: &str, at: i64) -> Lease {
        Lease { owner: owner.into(), claimed_at: at }
    }

    #[test]
    fn a_start_runs_unless_the_finish_came_first() {
        assert_eq!(start(&RunRecord::default()), StartEffect::Running);
        assert_eq!(start(&finished(1, 2, RunStatus::Failed)), StartEffect::AfterFinish);
    }

    fn attempt(n: u32) -> Attempt {
        Attempt::new(n).unwrap()
    }

    #[test]
    fn a_start_after_the_latest_attempts_end_is_a_new_attempt_and_a_repeated_one_is_a_redelivery() {
        let first = (attempt(1), finished(100, 200, RunStatus::Failed));
        assert_eq!(place_start(&[], 100), Ok(Placement::Existing(attempt(1))));
        assert_eq!(place_start(&[first], 100), Ok(Placement::Existing(attempt(1))), "redelivered");
        assert_eq!(place_start(&[first], 300), Ok(Placement::New(attempt(2))), "re-run");
        assert_eq!(place_start(&[first], 200), Ok(Placement::New(attempt(2))), "re-run at once");
        let second = (attempt(2), RunRecord { start: Some(300), ..RunRecord::default() });
        assert_eq!(place_start(&[second, first], 100), Ok(Placement::Existing(attempt(1))), "old redelivery");
        assert_eq!(place_start(&[first, second], 300), Ok(Placement::Existing(attempt(2))));
        assert_eq!(
            place_start(&[first, second], 350),
            Ok(Placement::Existing(attempt(2))),
            "keeps the first"
        );
    }

    #[test]
    fn a_late_start_fills_in_the_finished_attempt_that_had_none() {
        let finish_first = (
            attempt(1),
            RunRecord { end: Some(200), status: Some(RunStatus::Succeeded), ..RunRecord::default() },
        );
        assert_eq!(place_start(&[finish_first], 150), Ok(Placement::Existing(attempt(1))));
        assert_eq!(
            place_start(&[finish_first], 250),
            Ok(Placement::New(attempt(2))),
            "no run starts after its end"
        );
    }

    #[test]
    fn a_start_inside_a_finished_attempt_that_is_not_its_start_is_refused() {
        let first = (attempt(1), finished(100, 200, RunStatus::Succeeded));
        let refusal = place_start(&[first], 150).unwrap_err();
        assert_eq!(
            refusal,
            AmbiguousStart { attempt: attempt(1), recorded_start: 100, end: 200, start: 150 }
        );
        assert!(refusal.to_string().contains("attempt 1"), "{refusal}");
    }

    #[test]
    fn a_finish_goes_to_the_attempt_it_repeats_or_started_else_the_latest_or_a_new_one() {
        let first = (attempt(1), finished(100, 200, RunStatus::Failed));
        let second = (attempt(2), RunRecord { start: Some(300), ..RunRecord::default() });
        let both = [first, second];
        assert_eq!(place_finish(&both, None, 200, RunStatus::Failed), Placement::Existing(attempt(1)));
        assert_eq!(place_finish(&both, None, 400, RunStatus::Succeeded), Placement::Existing(attempt(2)));
        assert_eq!(
            place_finish(&both, Some(300), 400, RunStatus::Succeeded),
            Placement::Existing(attempt(2))
        );
        assert_eq!(place_finish(&[first], Some(300), 400, RunStatus::Succeeded), Placement::New(attempt(2)));
        assert_eq!(
            place_finish(&[first], None, 400, RunStatus::Succeeded),
            Placement::Existing(attempt(1)),
            "a conflict"
        );
        assert_eq!(place_finish(&[], None, 400, RunStatus::Succeeded), Placement::Existing(attempt(1)));
    }

    #[test]
    fn the_first_finish_stands_and_its_redelivery_applies_again() {
        let record = finished(1, 10, RunStatus::Succeeded);
        assert_eq!(finish(&RunRecord::default(), 10, RunStatus::Succeeded), Ok(()));
        assert_eq!(finish(&record, 10, RunStatus::Succeeded), Ok(()));
        let kept = FinishConflict { kept_end: 10, kept_status: RunStatus::Succeeded };
        assert_eq!(finish(&record, 11, RunStatus::Succeeded), Err(kept));
        assert_eq!(finish(&record, 10, RunStatus::Failed), Err(kept));
    }

    #[test]
    fn a_complete_succeeded_run_is_counted_once_and_an_alerted_one_flagged_until_resolved() {
        let mut record = finished(1, 10, RunStatus::Succeeded);
        record.warned = true;
        record.alerted = true;
        let settled = settle(&record);
        assert_eq!(settled.completed, Some((1, 10)));
        assert_eq!(settled.count, Some(Counted { end: 10, warned: true }));
        assert!(settled.flag_resolution);
        record.counted = true;
        record.resolved = true;
        let settled = settle(&record);
        assert_eq!((settled.completed, settled.count, settled.flag_resolution), (Some((1, 10)), None, false));
    }

    #[test]
    fn failed_running_or_backwards_runs_are_never_counted() {
        assert_eq!(settle(&finished(1, 10, RunStatus::Failed)).count, None);
        assert_eq!(settle(&finished(10, 1, RunStatus::Succeeded)).count, None);
        assert_eq!(settle(&RunRecord { start: Some(1), ..RunRecord::default() }), Settlement::default());
        let no_start = RunRecord { end: Some(5), status: Some(RunStatus::Succeeded), ..RunRecord::default() };
        assert_eq!(settle(&no_start).completed, None);
    }

    #[test]
    fn an_alert_is_first_claimed_only_while_its_run_runs_and_a_resolved_only_once_flagged() {
        let running = RunRecord { start: Some(1), ..RunRecord::default() };
        assert!(first_claim_due(MessageKind::Alert, Some(&running), false));
        assert!(!first_claim_due(MessageKind::Alert, Some(&finished(1, 2, RunStatus::Succeeded)), false));
        assert!(!first_claim_due(MessageKind::Alert, None, false));
        assert!(!first_claim_due(MessageKind::Resolved, Some(&running), false));
        assert!(first_claim_due(MessageKind::Resolved, None, true));
        assert!(first_claim_due(MessageKind::TooShort, None, false));
    }

    #[test]
    fn a_claim_applies_when_fresh_and_due_or_taking_over_the_very_stale_claim() {
        let mine = lease("me", 5);
        let stale = lease("crashed", 1);
        assert_eq!(claim(&DeliveryState::Unclaimed, true, None, &mine), ClaimEffect::Applies);
        assert_eq!(claim(&DeliveryState::Unclaimed, false, None, &mine), ClaimEffect::Held);
        let pending = DeliveryState::Pending(stale.clone());
        assert_eq!(claim(&pending, true, Some(&stale), &mine), ClaimEffect::Applies);
        assert_eq!(claim(&pending, true, Some(&lease("other", 1)), &mine), ClaimEffect::Held);
        assert_eq!(claim(&pending, true, None, &mine), ClaimEffect::Held);
        assert_eq!(claim(&DeliveryState::Delivered, true, Some(&stale), &mine), ClaimEffect::Held);
        let ours = DeliveryState::Pending(mine.clone());
        assert_eq!(claim(&ours, true, None, &mine), ClaimEffect::AlreadyOurs, "its answer was lost");
    }

    #[test]
    fn only_the_owner_releases_and_only_a_claimed_message_is_delivered() {
        let pending = DeliveryState::Pending(lease("me", 5));
        assert_eq!(release(&pending, "me"), Some(DeliveryState::Pending(lease("me", Lease::RELEASED))));
        assert_eq!(release(&pending, "other"), None);
        assert_eq!(release(&DeliveryState::Delivered, "me"), None);
        assert_eq!(deliver(&pending), Some(DeliveryState::Delivered));
        assert_eq!(deliver(&DeliveryState::Unclaimed), None);
    }
}
