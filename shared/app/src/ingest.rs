//! Ingest: one event in, one run recorded; a run that succeeded far below its expected duration
//! gets one informational notice.

use overrun_core::detect::cohort::FinishedMember;
use overrun_core::detect::short::{ShortRule, ShortVerdict, judge_completed};
use overrun_core::notify::delivery::MessageKey;
use overrun_core::notify::message::short_notification;
use overrun_core::ports::TaskEvent;
use overrun_core::ports::{
    CohortStore, LimitStore, Notifier, Outbox, Partial, Recorded, RunRecorder, StoreError,
};
use overrun_core::{BaselinePolicy, CohortId, EpochMs, RunId, TaskType};
use thiserror::Error;

use crate::delivery::{Courier, DeliveryError, Sent};

#[derive(Debug, Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run is recorded; its notice is claimed and not delivered. Failing the invocation
    /// makes Lambda retry the event, which records nothing twice and sends the notice then; if
    /// every retry fails, the checker sends it once its claim's lease has run out.
    #[error("the run is recorded but its too-short notice was not sent: {0}")]
    Notify(#[from] DeliveryError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Started(Recorded),
    Finished(Recorded),
    Ignored(String),
}

impl IngestOutcome {
    /// What recording did, for a start or a finish.
    pub fn recorded(&self) -> Option<&Recorded> {
        match self {
            IngestOutcome::Started(recorded) | IngestOutcome::Finished(recorded) => Some(recorded),
            IngestOutcome::Ignored(_) => None,
        }
    }
}

/// What became of the too-short check of the event's run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShortNotice {
    /// The run is not a complete succeeded run (yet), or notices are off.
    NotApplicable,
    Normal,
    NoBaseline,
    Muted,
    Published,
    /// Its type's notice of the day was sent before (for this run, redelivered, or an earlier
    /// too-short run of the day) or is being sent by a concurrent invocation.
    AlreadyClaimed,
}

/// How the too-short check runs for one invocation.
#[derive(Debug, Clone, Copy)]
pub struct NoticeSettings<'a> {
    pub rule: ShortRule,
    /// Identifies this invocation (the Lambda request id): the owner of the claim it takes.
    pub claim: &'a str,
    pub now: EpochMs,
    /// Which day a finish falls in (one notice per task type and day).
    pub policy: &'a BaselinePolicy,
    /// How long a cohort's finished members are kept after the member's end.
    pub retention_ms: i64,
}

/// Records the event's run only (no notice, no cohort membership): for loading history.
pub async fn record_only(event: TaskEvent, store: &impl RunRecorder) -> Result<IngestOutcome, IngestError> {
    Ok(record(event, store).await?.0)
}

/// Records the event's run; a succeeded run of a cohort becomes one of its finished members (which
/// the checker judges the cohort's running members by); then, if it finished too soon and is the
/// first of its task type to do so that day, sends the day's too-short notice.
pub async fn record_and_notify(
    event: TaskEvent,
    store: &impl RunRecorder,
    stats: &(impl LimitStore + CohortStore),
    outbox: &impl Outbox,
    notifier: &impl Notifier,
    settings: &NoticeSettings<'_>,
) -> Result<(IngestOutcome, ShortNotice), IngestError> {
    let (outcome, run, cohort) = record(event, store).await?;
    let completed = outcome.recorded().and_then(|recorded| recorded.completed);
    if let (Some((task_type, run_id)), Some((start, end)), Some(cohort)) = (&run, completed, &cohort) {
        let member = FinishedMember { task_type: task_type.clone(), duration_ms: end.abs_diff(start) };
        stats.add_cohort_member(cohort, run_id, &member, end.saturating_add(settings.retention_ms)).await?;
    }
    let (Some((task_type, run_id)), Some(span), true) = (run, completed, settings.rule.is_enabled()) else {
        return Ok((outcome, ShortNotice::NotApplicable));
    };
    let Partial { items: mut limits, malformed } =
        stats.task_limits(std::slice::from_ref(&task_type)).await?;
    if let Some(error) = malformed.into_iter().next() {
        return Err(error.into());
    }
    let limits = limits.remove(&task_type).unwrap_or_default();
    let short = match judge_completed(&settings.rule, &task_type, &run_id, span, &limits, settings.now) {
        ShortVerdict::TooShort(short) => short,
        ShortVerdict::Normal => return Ok((outcome, ShortNotice::Normal)),
        ShortVerdict::NoBaseline => return Ok((outcome, ShortNotice::NoBaseline)),
        ShortVerdict::Muted => return Ok((outcome, ShortNotice::Muted)),
    };
    let key = MessageKey::TooShort { task_type, day: settings.policy.bucket_of_end(short.at) };
    let courier = Courier::new(outbox, notifier, settings.claim, settings.now);
    match courier.send_new(&key, &short_notification(&short)).await? {
        Sent::Delivered => Ok((outcome, ShortNotice::Published)),
        Sent::NotOurs => Ok((outcome, ShortNotice::AlreadyClaimed)),
    }
}

/// What recording did, the run it was about, and the cohort its event named.
type RecordedRun = (IngestOutcome, Option<(TaskType, RunId)>, Option<CohortId>);

async fn record(event: TaskEvent, store: &impl RunRecorder) -> Result<RecordedRun, StoreError> {
    Ok(match event {
        TaskEvent::Started(started) => {
            let recorded = store.record_start(&started).await?;
            (IngestOutcome::Started(recorded), Some((started.task_type, started.run_id)), started.cohort)
        }
        TaskEvent::Finished(finished) => {
            let recorded = store.record_finish(&finished).await?;
            (IngestOutcome::Finished(recorded), Some((finished.task_type, finished.run_id)), finished.cohort)
        }
        TaskEvent::Ignored { reason } => (IngestOutcome::Ignored(reason), None, None),
    })
}
