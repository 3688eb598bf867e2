//! The ports the functions talk through, every one of them: the stores, the notifier and the
//! clock here; the secrets port in [`secrets`]; the forwarder's HTTP port in [`http`]. Adapters
//! (DynamoDB, SNS, Secrets Manager, the system clock) implement them in `overrun-aws`, the HTTP
//! poster in the forwarder; in-memory ones are in `overrun-app`. Handlers are generic over
//! them, so the same handler runs against AWS in production and in memory or against a local
//! endpoint in tests.

pub mod http;
pub mod secrets;

pub use http::{Answer, PostError, Poster};
pub use secrets::{SecretReadError, SecretSource};

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use thiserror::Error;

use crate::detect::check::{RunningRun, TaskLimits};
use crate::detect::cohort::FinishedMember;
use crate::detect::levels::Level;
use crate::detect::overrides::Override;
use crate::limits::nightly::{BaselineChange, DayAggregate, DayStatus, FinishedRun, NightBaseline};
use crate::model::{Attempt, CohortId, ModelError, Origin, Qualifier, RunId, RunStatus, TaskType};
use crate::notify::delivery::{DeliveryState, Lease, MessageKey};
use crate::notify::message::{Notification, Resolution};
use crate::schedule::watched::Declaration;
use crate::schedule::{Schedule, ScheduleChange};
use crate::time::{Day, EpochMs};

/// What kind of failure a store met: what the operator has to do differs for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StoreErrorKind {
    /// No connection or no answer in time (the endpoint is down, the network, a timeout).
    Unreachable,
    /// No credentials could be found.
    NoCredentials,
    /// Credentials were found but refused: an unknown key, a bad signature, an expired token.
    InvalidToken,
    /// The credentials may not do this (IAM).
    AccessDenied,
    /// The table (or its index) does not exist.
    NoSuchTable,
    /// The table exists but is not Overrun's table of that name (its keys or indexes differ:
    /// swapped table names, say).
    WrongTableShape,
    /// The service refused for throughput: retried, and still refused.
    Throttled,
    Other,
}

impl StoreErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreErrorKind::Unreachable => "unreachable",
            StoreErrorKind::NoCredentials => "no credentials",
            StoreErrorKind::InvalidToken => "invalid or expired token",
            StoreErrorKind::AccessDenied => "access denied",
            StoreErrorKind::NoSuchTable => "no such table",
            StoreErrorKind::WrongTableShape => "wrong table shape",
            StoreErrorKind::Throttled => "throttled",
            StoreErrorKind::Other => "other",
        }
    }
}

impl std::fmt::Display for StoreErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error behind a service failure, kept whole for whoever walks the chain.
pub type ErrorSource = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The service failed the call. `message` is the whole chain of causes as one line; `code`
    /// the service's own error code when it sent one.
    #[error("{operation} failed: {message}")]
    Service {
        operation: &'static str,
        kind: StoreErrorKind,
        code: Option<String>,
        message: String,
        #[source]
        source: Option<ErrorSource>,
    },
    #[error("stored item {key} is malformed: {problem}")]
    BadItem { key: String, problem: String },
}

impl StoreError {
    /// A failure of `operation` of `kind`, told in `message`, with no underlying error to keep.
    pub fn service(operation: &'static str, kind: StoreErrorKind, message: impl Into<String>) -> Self {
        StoreError::Service { operation, kind, code: None, message: message.into(), source: None }
    }

    /// The kind of a service failure; `None` for a malformed item.
    pub fn kind(&self) -> Option<StoreErrorKind> {
        match self {
            StoreError::Service { kind, .. } => Some(*kind),
            StoreError::BadItem { .. } => None,
        }
    }
}

#[derive(Debug, Error)]
#[error("publishing to the topic failed: {0}")]
pub struct NotifyError(pub String);

/// The one shape of a partial result: what a read found good, and an error for each malformed
/// item (which is logged and counted, never allowed to sink the good ones beside it).
#[derive(Debug)]
pub struct Partial<T> {
    pub items: T,
    pub malformed: Vec<StoreError>,
}

/// Items read from a store, the malformed ones apart.
pub type Listing<T> = Partial<Vec<T>>;

impl<T: Default> Default for Partial<T> {
    fn default() -> Self {
        Self { items: T::default(), malformed: Vec::new() }
    }
}

impl<T> Partial<Vec<T>> {
    pub fn push(&mut self, parsed: Result<T, StoreError>) {
        match parsed {
            Ok(item) => self.items.push(item),
            Err(error) => self.malformed.push(error),
        }
    }
}

/// The succeeded members of each cohort.
pub type CohortMembers = HashMap<CohortId, Vec<FinishedMember>>;

/// A run has started.
#[derive(Debug, Clone, PartialEq)]
pub struct RunStarted {
    pub task_type: TaskType,
    pub run_id: RunId,
    /// `run_id`'s attempt is the source's own number (a Step Functions redrive, an operator's
    /// `--attempt`); otherwise the store tells a re-run from a redelivery itself
    /// ([`crate::recording::place_start`]).
    pub numbered: bool,
    pub start: EpochMs,
    /// The runs it belongs with (a build, a workflow run), when the event names them.
    pub cohort: Option<CohortId>,
}

/// A run has finished. `start` is known when the event carries it (Step Functions, Batch).
#[derive(Debug, Clone, PartialEq)]
pub struct RunFinished {
    pub task_type: TaskType,
    pub run_id: RunId,
    /// As [`RunStarted::numbered`] ([`crate::recording::place_finish`] otherwise).
    pub numbered: bool,
    pub start: Option<EpochMs>,
    pub end: EpochMs,
    pub status: RunStatus,
    pub cohort: Option<CohortId>,
}

/// A task state-change event, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskEvent {
    Started(RunStarted),
    Finished(RunFinished),
    /// A state Overrun has no use for (a Batch job still queued, say).
    Ignored {
        reason: String,
    },
}

impl TaskEvent {
    /// This event as told from elsewhere: its run from `origin` (another account or region than
    /// the deployment's own; `None`: home), its task type qualified by `qualifier`. A foreign
    /// run's cohort is named `cohort@origin`, so two accounts' builds named alike never set
    /// each other's pace.
    pub fn placed(self, origin: Option<&Origin>, qualifier: Option<&Qualifier>) -> Result<Self, ModelError> {
        let task_type = |task_type: TaskType| match qualifier {
            Some(qualifier) => task_type.qualified(qualifier),
            None => Ok(task_type),
        };
        let cohort = |cohort: Option<CohortId>| match (cohort, origin) {
            (Some(cohort), Some(origin)) => CohortId::new(&format!("{cohort}@{origin}")).map(Some),
            (cohort, _) => Ok(cohort),
        };
        Ok(match self {
            Self::Started(started) => Self::Started(RunStarted {
                task_type: task_type(started.task_type)?,
                run_id: started.run_id.from_origin(origin.cloned()),
                cohort: cohort(started.cohort)?,
                ..started
            }),
            Self::Finished(finished) => Self::Finished(RunFinished {
                task_type: task_type(finished.task_type)?,
                run_id: finished.run_id.from_origin(origin.cloned()),
                cohort: cohort(finished.cohort)?,
                ..finished
            }),
            ignored @ Self::Ignored { .. } => ignored,
        })
    }
}

/// What recording an event did, for logs and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recorded {
    /// Which attempt of its run id the event was recorded on.
    pub attempt: Attempt,
    /// A start refused, nothing written: it was neither a redelivery nor a re-run.
    pub refused: Option<AmbiguousStart>,
    /// The run is now complete (start and end known, succeeded) and counted for its day, for the
    /// first time.
    pub counted: bool,
    /// The run had been alerted on and now awaits its "resolved" message.
    pub resolution_pending: bool,
    /// The event was a start for a run already finished: delivered out of order, or a start
    /// redelivered after its run's finish.
    pub late_start: bool,
    /// (start, end) when the run is now a complete succeeded run (on every delivery, so that a
    /// retried event still gets its too-short notice; the notice's claim keeps it to one).
    pub completed: Option<(EpochMs, EpochMs)>,
    /// A finish that contradicts the run's first (another end or status): nothing was changed,
    /// the first finish stands.
    pub conflict: Option<FinishConflict>,
}

pub use crate::recording::{AmbiguousStart, FinishConflict};

/// Ports are narrow: each use case asks for what it uses. Ingest records runs
/// ([`RunRecorder`]) and reads limits and cohorts ([`LimitStore`], [`CohortStore`]); the checker
/// reads running runs ([`RunningRuns`]), limits and cohorts; operators set overrides
/// ([`OverrideStore`]); the nightly job reads finished runs
/// ([`FinishedRuns`]) and keeps days and baselines ([`DayStore`], [`BaselineStore`]). An adapter of
/// a table implements all of its table's ports ([`RunStore`], [`StatsStore`]).
pub trait RunRecorder {
    fn record_start(&self, event: &RunStarted) -> impl Future<Output = Result<Recorded, StoreError>> + Send;
    fn record_finish(&self, event: &RunFinished)
    -> impl Future<Output = Result<Recorded, StoreError>> + Send;
}

/// What the checker reads of the runs table.
pub trait RunningRuns {
    fn list_running(&self) -> impl Future<Output = Result<Listing<RunningRun>, StoreError>> + Send;
    /// Fills in what the `running` listing does not carry: each run's cohort and recent runs;
    /// returns an error for each run whose stored item is malformed (those keep neither).
    fn fill_details(
        &self,
        runs: &mut [RunningRun],
    ) -> impl Future<Output = Result<Vec<StoreError>, StoreError>> + Send;
    /// Runs owed a "resolved" message, with where their alerts and the "resolved" itself stand.
    fn list_pending_resolutions(
        &self,
    ) -> impl Future<Output = Result<Listing<PendingResolution>, StoreError>> + Send;
}

/// What the nightly job reads of the runs table.
pub trait FinishedRuns {
    /// Every succeeded run counted for `day`: task type, duration, and whether it was warned about.
    fn finished_runs_of_day(
        &self,
        day: Day,
    ) -> impl Future<Output = Result<Listing<FinishedRun>, StoreError>> + Send;
}

/// Every port of the runs table.
pub trait RunStore: RunRecorder + RunningRuns + FinishedRuns {}
impl<T: RunRecorder + RunningRuns + FinishedRuns> RunStore for T {}

/// Days rolled up by the nightly job.
pub trait DayStore {
    fn day_statuses(&self, days: &[Day]) -> impl Future<Output = Result<Vec<DayStatus>, StoreError>> + Send;
    fn write_day(
        &self,
        day: Day,
        aggregates: &BTreeMap<TaskType, DayAggregate>,
        runs_included: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn read_day(
        &self,
        day: Day,
    ) -> impl Future<Output = Result<Listing<(TaskType, DayAggregate)>, StoreError>> + Send;
}

/// The baselines the nightly job computes.
pub trait BaselineStore {
    fn stored_baselines(
        &self,
    ) -> impl Future<Output = Result<Listing<(TaskType, NightBaseline)>, StoreError>> + Send;
    fn apply_baseline_changes(
        &self,
        changes: &[BaselineChange],
        method: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Each task type's limits as the checker and ingest read them, and operators' overrides.
pub trait LimitStore {
    fn task_limits(
        &self,
        task_types: &[TaskType],
    ) -> impl Future<Output = Result<Partial<HashMap<TaskType, TaskLimits>>, StoreError>> + Send;
}

/// Operators' per-task overrides.
pub trait OverrideStore {
    fn set_override(
        &self,
        task_type: &TaskType,
        task_override: &Override,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The succeeded members of cohorts.
pub trait CohortStore {
    /// Records a succeeded member of a cohort; recording it again changes nothing.
    fn add_cohort_member(
        &self,
        cohort: &CohortId,
        run_id: &RunId,
        member: &FinishedMember,
        expires_at_ms: EpochMs,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The succeeded members of each cohort (cohorts without any are left out).
    fn cohort_members(
        &self,
        cohorts: &[CohortId],
    ) -> impl Future<Output = Result<Partial<CohortMembers>, StoreError>> + Send;
}

/// The starts the schedule learner reads, and the schedules the nightly job learns. Every start
/// a run store records is noted by it (at most one more write per start), by its UTC date.
pub trait ScheduleStore {
    /// Every start noted on the UTC dates `dates` (days since the epoch), by task type.
    fn starts_on(
        &self,
        dates: &[i64],
    ) -> impl Future<Output = Result<Listing<(TaskType, Vec<EpochMs>)>, StoreError>> + Send;
    /// The starts of `task_types` noted on `dates` (the checker's read: only the types due).
    fn starts_of(
        &self,
        task_types: &[TaskType],
        dates: &[i64],
    ) -> impl Future<Output = Result<Partial<HashMap<TaskType, Vec<EpochMs>>>, StoreError>> + Send;
    fn stored_schedules(
        &self,
    ) -> impl Future<Output = Result<Listing<(TaskType, Schedule)>, StoreError>> + Send;
    fn apply_schedule_changes(
        &self,
        changes: &[ScheduleChange],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Operators' declarations (`overrun schedule set`), which beat learned schedules.
    fn declared_schedules(
        &self,
    ) -> impl Future<Output = Result<Listing<(TaskType, Declaration)>, StoreError>> + Send;
    /// Declares `task_type`'s schedule, or clears its declaration (`None`).
    fn declare_schedule(
        &self,
        task_type: &TaskType,
        declaration: Option<&Declaration>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Every port of the stats table.
pub trait StatsStore:
    DayStore + BaselineStore + LimitStore + OverrideStore + CohortStore + ScheduleStore
{
}
impl<T: DayStore + BaselineStore + LimitStore + OverrideStore + CohortStore + ScheduleStore> StatsStore
    for T
{
}

/// A run owed a "resolved" message, with where each of its alerts and the "resolved" stand.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingResolution {
    pub resolution: Resolution,
    pub alerts: Vec<(Level, DeliveryState)>,
    pub resolved: DeliveryState,
}

/// A missed-start incident: the first due time missed, and where its messages stand.
#[derive(Debug, Clone, PartialEq)]
pub struct MissedIncident {
    pub task_type: TaskType,
    pub first_due: EpochMs,
    pub warning: DeliveryState,
    pub critical: DeliveryState,
    pub resumed: DeliveryState,
}

impl MissedIncident {
    /// No start has ended it yet.
    pub fn is_open(&self) -> bool {
        self.resumed == DeliveryState::Unclaimed
    }

    pub fn alert_state(&self, level: Level) -> &DeliveryState {
        match level {
            Level::Warning => &self.warning,
            Level::Critical => &self.critical,
        }
    }
}

/// How a claim is taken.
#[derive(Debug, Clone, Copy)]
pub enum ClaimKind<'a> {
    /// The message was never claimed: claim it and store `message` with the claim, so that
    /// whoever takes it over later sends the very same message.
    Fresh(&'a Notification),
    /// The message's claim `stale` is past its lease and undelivered: take it over.
    TakeOver(&'a Lease),
}

/// What claiming found.
#[derive(Debug, Clone, PartialEq)]
pub enum Claimed {
    /// The claim is this invocation's (also when the write was applied but its answer lost):
    /// publish this message.
    Won(Notification),
    /// Someone else holds it, it was delivered, or the message is no longer due (a run that
    /// finished before its alert was first claimed).
    Held(DeliveryState),
}

/// Claims of messages and their delivery marks. A claim is a lease ([`Lease`]).
pub trait Outbox {
    fn claim(
        &self,
        key: &MessageKey,
        lease: &Lease,
        how: ClaimKind<'_>,
    ) -> impl Future<Output = Result<Claimed, StoreError>> + Send;
    /// The message was published: nobody sends it again.
    fn mark_delivered(
        &self,
        key: &MessageKey,
        now: EpochMs,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Ends `owner`'s lease now (its publish failed) so that the next attempt need not wait for
    /// it to run out. Not applied when the claim is no longer `owner`'s.
    fn release(&self, key: &MessageKey, owner: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The missed-start incidents still open or owed their "resolved".
    fn missed_incidents(&self) -> impl Future<Output = Result<Listing<MissedIncident>, StoreError>> + Send;
    /// The too-short notices of `days` claimed and not delivered, with their leases.
    fn undelivered_notices(
        &self,
        days: &[Day],
    ) -> impl Future<Output = Result<Listing<(MessageKey, Lease)>, StoreError>> + Send;
}

pub trait Notifier {
    fn publish(&self, notification: &Notification) -> impl Future<Output = Result<(), NotifyError>> + Send;
}

pub trait Clock {
    fn now(&self) -> EpochMs;
}
