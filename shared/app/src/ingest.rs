//! Ingest: one event in, one run recorded; a run that succeeded far below its expected duration
//! gets one informational notice.

use overrun_core::detect::cohort::FinishedMember;
use overrun_core::detect::short::{ShortRule, ShortVerdict, judge_completed};
use overrun_core::limits::season::SeasonRule;
use overrun_core::notify::delivery::MessageKey;
use overrun_core::notify::message::short_notification;
use overrun_core::ports::TaskEvent;
use overrun_core::ports::{
    AmbiguousStart, CohortStore, LimitStore, Notifier, Outbox, Partial, Recorded, RunRecorder, StoreError,
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
    /// Nothing was recorded: the start can be told neither for a redelivery nor for a re-run.
    #[error("run_id {run_id:?} of task type {task_type:?} is refused: {reason}")]
    AmbiguousStart { task_type: TaskType, run_id: String, reason: AmbiguousStart },
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
    /// How long a cohort's finished members are kept after the member's end (and how far back an
    /// event's times may be).
    pub retention_ms: i64,
    /// How far ahead of `now` an event's times may be: the clock-skew allowance.
    pub clock_skew_ms: i64,
    /// Judging types whose history shows a weekly season by the limits of a run's season.
    pub seasons: Option<SeasonRule>,
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
    let short = match judge_completed(
        &settings.rule,
        &task_type,
        &run_id,
        span,
        (&limits, settings.seasons.as_ref()),
        settings.now,
    ) {
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

async fn record(event: TaskEvent, store: &impl RunRecorder) -> Result<RecordedRun, IngestError> {
    Ok(match event {
        TaskEvent::Started(started) => {
            let recorded = store.record_start(&started).await?;
            if let Some(reason) = recorded.refused {
                return Err(IngestError::AmbiguousStart {
                    task_type: started.task_type,
                    run_id: started.run_id.as_str().to_owned(),
                    reason,
                });
            }
            let run_id = started.run_id.at_attempt(recorded.attempt);
            (IngestOutcome::Started(recorded), Some((started.task_type, run_id)), started.cohort)
        }
        TaskEvent::Finished(finished) => {
            let recorded = store.record_finish(&finished).await?;
            let run_id = finished.run_id.at_attempt(recorded.attempt);
            (IngestOutcome::Finished(recorded), Some((finished.task_type, run_id)), finished.cohort)
        }
        TaskEvent::Ignored { reason } => (IngestOutcome::Ignored(reason), None, None),
    })
}

#[cfg(test)]
mod tests {
    use overrun_core::detect::overrides::Override;
    use overrun_core::detect::overrides::OverrideParts;
    use overrun_core::notify::delivery::{DeliveryState, LEASE_MS};
    use overrun_core::ports::{CohortStore, DayStore, FinishConflict, FinishedRuns, RunFinished};
    use overrun_core::time::Day;
    use overrun_core::{RunStatus, ShortRule};

    use super::*;
    use crate::memory::MemoryNotifier;
    use crate::memory_store::MemoryStore;
    use crate::test_support::*;

    /// "export" is expected to take an hour (σ one minute): a run under a quarter of it is too short.
    async fn store_with_baseline() -> MemoryStore {
        let store = store();
        set_baseline(&store, "export", HOUR as f64, MINUTE as f64, (HOUR + 2 * MINUTE) as f64).await;
        store
    }

    fn settings<'a>(policy: &'a BaselinePolicy, claim: &'a str, now: EpochMs) -> NoticeSettings<'a> {
        NoticeSettings {
            rule: ShortRule::default(),
            claim,
            now,
            policy,
            retention_ms: 30 * DAY,
            clock_skew_ms: 300_000,
            seasons: None,
        }
    }

    fn finish(run_id: &str, start: EpochMs, end: EpochMs, status: RunStatus) -> TaskEvent {
        TaskEvent::Finished(finished("export", run_id, start, end, status))
    }

    /// A run of "export" that took five minutes, ending at `end`.
    fn short_finish(run_id: &str, end: EpochMs) -> TaskEvent {
        finish(run_id, end - 5 * MINUTE, end, RunStatus::Succeeded)
    }

    /// Records `event` and sends its notice through `store` (its outbox too) at its end.
    async fn ingest(
        store: &MemoryStore,
        notifier: &MemoryNotifier,
        event: TaskEvent,
        claim: &str,
        now: EpochMs,
    ) -> Result<(IngestOutcome, ShortNotice), IngestError> {
        let policy = policy();
        record_and_notify(event, store, store, store, notifier, &settings(&policy, claim, now)).await
    }

    async fn counted_on(store: &MemoryStore, day: Day) -> Vec<u64> {
        let listing = store.finished_runs_of_day(day).await.unwrap();
        listing.items.into_iter().map(|run| run.duration_ms).collect()
    }

    #[tokio::test]
    async fn a_start_then_a_finish_records_a_complete_run_and_a_redelivered_finish_counts_it_once() {
        let store = store();
        let start = T0 + HOUR;
        let outcome = record_only(TaskEvent::Started(started("export", "r1", start)), &store).await.unwrap();
        assert_eq!(outcome, IngestOutcome::Started(Recorded::default()));
        let end = start + 40 * MINUTE;
        for delivery in 0..2 {
            let outcome = record_only(finish("r1", start, end, RunStatus::Succeeded), &store).await.unwrap();
            let recorded = outcome.recorded().copied().unwrap();
            assert_eq!(recorded.completed, Some((start, end)), "delivery {delivery}");
            assert_eq!(recorded.counted, delivery == 0, "counted on its first delivery only");
        }
        let day = policy().bucket_of_end(end);
        assert_eq!(counted_on(&store, day).await, [40 * MINUTE as u64]);
        assert_eq!(store.day_statuses(&[day]).await.unwrap()[0].finished, 1);
    }

    #[tokio::test]
    async fn a_finish_that_contradicts_the_first_is_reported_and_the_first_stands() {
        let store = store();
        let (start, end) = (T0 + HOUR, T0 + 2 * HOUR);
        record_only(finish("r1", start, end, RunStatus::Succeeded), &store).await.unwrap();
        let outcome =
            record_only(finish("r1", start, end + MINUTE, RunStatus::Failed), &store).await.unwrap();
        let recorded = outcome.recorded().copied().unwrap();
        let kept = FinishConflict { kept_end: end, kept_status: RunStatus::Succeeded };
        assert_eq!(recorded.conflict, Some(kept));
        assert_eq!((recorded.counted, recorded.completed), (false, None));
        assert_eq!(counted_on(&store, policy().bucket_of_end(end)).await, [HOUR as u64]);
    }

    #[tokio::test]
    async fn a_too_short_succeeded_run_gets_one_notice_per_task_type_and_day() {
        let store = store_with_baseline().await;
        set_baseline(&store, "backup", HOUR as f64, MINUTE as f64, (HOUR + 2 * MINUTE) as f64).await;
        let notifier = MemoryNotifier::default();
        let first = T0 + 2 * HOUR;
        let (outcome, notice) =
            ingest(&store, &notifier, short_finish("r1", first), "i1", first).await.unwrap();
        assert_eq!(notice, ShortNotice::Published);
        assert!(outcome.recorded().unwrap().counted);
        let redelivered = ingest(&store, &notifier, short_finish("r1", first), "i2", first + DAY).await;
        assert_eq!(redelivered.unwrap().1, ShortNotice::AlreadyClaimed, "its redelivery, even a day later");
        let later = first + 3 * HOUR;
        let second = ingest(&store, &notifier, short_finish("r2", later), "i3", later).await.unwrap();
        assert_eq!(second.1, ShortNotice::AlreadyClaimed, "the day's second too-short run of its type");
        let backup =
            TaskEvent::Finished(finished("backup", "b1", later - MINUTE, later, RunStatus::Succeeded));
        assert_eq!(ingest(&store, &notifier, backup, "i4", later).await.unwrap().1, ShortNotice::Published);
        let next_day = first + DAY;
        let third = ingest(&store, &notifier, short_finish("r3", next_day), "i5", next_day).await.unwrap();
        assert_eq!(third.1, ShortNotice::Published, "a new day");
        assert_eq!(
            notifier.alert_ids(),
            ["export/r1/too_short", "backup/b1/too_short", "export/r3/too_short"]
        );
    }

    #[tokio::test]
    async fn a_run_of_normal_length_a_failed_run_a_start_and_a_type_without_baseline_get_no_notice() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let at = T0 + 5 * HOUR;
        let normal = finish("r1", at - 50 * MINUTE, at, RunStatus::Succeeded);
        assert_eq!(ingest(&store, &notifier, normal, "i", at).await.unwrap().1, ShortNotice::Normal);
        let failed = finish("r2", at - MINUTE, at, RunStatus::Failed);
        assert_eq!(ingest(&store, &notifier, failed, "i", at).await.unwrap().1, ShortNotice::NotApplicable);
        let start = TaskEvent::Started(started("export", "r3", at));
        assert_eq!(ingest(&store, &notifier, start, "i", at).await.unwrap().1, ShortNotice::NotApplicable);
        let unknown = TaskEvent::Finished(finished("new-task", "n1", at - MINUTE, at, RunStatus::Succeeded));
        assert_eq!(ingest(&store, &notifier, unknown, "i", at).await.unwrap().1, ShortNotice::NoBaseline);
        let ignored = TaskEvent::Ignored { reason: "queued".into() };
        let (outcome, notice) = ingest(&store, &notifier, ignored, "i", at).await.unwrap();
        assert_eq!((outcome, notice), (IngestOutcome::Ignored("queued".into()), ShortNotice::NotApplicable));
        assert!(notifier.published().is_empty());
    }

    #[tokio::test]
    async fn a_muted_task_type_gets_no_notice_until_its_mute_ends_and_none_when_notices_are_off() {
        let store = store_with_baseline().await;
        let until = T0 + 6 * HOUR;
        set_override(
            &store,
            "export",
            Override::new(OverrideParts { mute_until: Some(until), ..Default::default() }).unwrap(),
        )
        .await;
        let notifier = MemoryNotifier::default();
        let at = until - HOUR;
        let muted = ingest(&store, &notifier, short_finish("r1", at), "i1", at).await.unwrap();
        assert_eq!(muted.1, ShortNotice::Muted);
        let policy = policy();
        let off = NoticeSettings { rule: ShortRule::disabled(), ..settings(&policy, "i2", until) };
        let event = short_finish("r2", until);
        let (_, notice) = record_and_notify(event, &store, &store, &store, &notifier, &off).await.unwrap();
        assert_eq!(notice, ShortNotice::NotApplicable);
        assert!(notifier.published().is_empty());
        let unmuted = ingest(&store, &notifier, short_finish("r3", until), "i3", until).await.unwrap();
        assert_eq!(unmuted.1, ShortNotice::Published);
        assert_eq!(notifier.alert_ids(), ["export/r3/too_short"]);
    }

    #[tokio::test]
    async fn a_start_delivered_after_its_finish_completes_the_run_and_gets_its_notice() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let (start, end) = (T0 + HOUR, T0 + HOUR + 5 * MINUTE);
        let without_start =
            RunFinished { start: None, ..finished("export", "r1", start, end, RunStatus::Succeeded) };
        let first = ingest(&store, &notifier, TaskEvent::Finished(without_start), "i1", end).await.unwrap();
        assert_eq!(first.1, ShortNotice::NotApplicable, "its duration is not known yet");
        assert!(!first.0.recorded().unwrap().counted);
        let late = TaskEvent::Started(started("export", "r1", start));
        let (outcome, notice) = ingest(&store, &notifier, late, "i2", end + MINUTE).await.unwrap();
        let recorded = outcome.recorded().copied().unwrap();
        assert!(recorded.late_start && recorded.counted);
        assert_eq!(notice, ShortNotice::Published);
        assert_eq!(notifier.alert_ids(), ["export/r1/too_short"]);
    }

    #[tokio::test]
    async fn a_succeeded_run_of_a_cohort_becomes_one_of_its_finished_members_but_not_when_only_recorded() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let at = T0 + 3 * HOUR;
        let member = |run_id: &str, status| {
            TaskEvent::Finished(RunFinished {
                cohort: Some(cohort("build-7")),
                ..finished("export", run_id, at - 50 * MINUTE, at, status)
            })
        };
        ingest(&store, &notifier, member("r1", RunStatus::Succeeded), "i", at).await.unwrap();
        ingest(&store, &notifier, member("r2", RunStatus::Failed), "i", at).await.unwrap();
        record_only(member("r3", RunStatus::Succeeded), &store).await.unwrap();
        let members = store.cohort_members(&[cohort("build-7")]).await.unwrap().items;
        let durations: Vec<u64> = members[&cohort("build-7")].iter().map(|m| m.duration_ms).collect();
        assert_eq!(durations, [50 * MINUTE as u64], "r1 only: r2 failed, r3 was only recorded");

        record_only(short_finish("r4", at), &store).await.unwrap();
        let key = MessageKey::TooShort { task_type: task("export"), day: policy().bucket_of_end(at) };
        assert_eq!(store.outbox().state(&key), DeliveryState::Unclaimed, "loading history claims no notice");
        assert!(notifier.published().is_empty());
    }

    #[tokio::test]
    async fn a_publish_that_fails_is_an_error_with_the_run_recorded_and_the_retry_sends_the_notice_once() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let end = T0 + 2 * HOUR;
        notifier.fail_next(1);
        let failed = ingest(&store, &notifier, short_finish("r1", end), "i1", end).await.unwrap_err();
        assert!(matches!(failed, IngestError::Notify(DeliveryError::Publish { .. })), "{failed}");
        assert_eq!(counted_on(&store, policy().bucket_of_end(end)).await.len(), 1, "the run is recorded");
        // Lambda retries the event at once: the claim was released, so the retry need not wait.
        let (outcome, notice) =
            ingest(&store, &notifier, short_finish("r1", end), "i2", end + MINUTE).await.unwrap();
        assert_eq!(notice, ShortNotice::Published);
        assert!(!outcome.recorded().unwrap().counted, "counted once");
        assert_eq!(notifier.alert_ids(), ["export/r1/too_short"]);
    }

    #[tokio::test]
    async fn a_lost_delivery_mark_is_an_error_though_the_notice_went_out() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let end = T0 + 2 * HOUR;
        store.outbox().fail_marks(1);
        let error = ingest(&store, &notifier, short_finish("r1", end), "i1", end).await.unwrap_err();
        assert!(matches!(&error, IngestError::Notify(e) if e.was_published()), "{error}");
        assert_eq!(notifier.alert_ids(), ["export/r1/too_short"]);
        let key = MessageKey::TooShort { task_type: task("export"), day: policy().bucket_of_end(end) };
        assert!(
            matches!(store.outbox().state(&key), DeliveryState::Pending(_)),
            "owed again after its lease"
        );
        let retry = ingest(&store, &notifier, short_finish("r1", end), "i2", end + LEASE_MS).await.unwrap();
        assert_eq!(retry.1, ShortNotice::Published);
        assert_eq!(
            notifier.alert_ids(),
            ["export/r1/too_short", "export/r1/too_short"],
            "a repeat, same key"
        );
    }

    #[tokio::test]
    async fn a_failed_finish_write_is_returned_and_its_retry_records_the_run_once() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let end = T0 + 2 * HOUR;
        store.fail_next_record_finish(1);
        let error = ingest(&store, &notifier, short_finish("r1", end), "i1", end).await.unwrap_err();
        assert!(matches!(error, IngestError::Store(_)), "{error}");
        assert!(counted_on(&store, policy().bucket_of_end(end)).await.is_empty());
        assert!(notifier.published().is_empty());
        let (outcome, notice) = ingest(&store, &notifier, short_finish("r1", end), "i2", end).await.unwrap();
        assert!(outcome.recorded().unwrap().counted);
        assert_eq!(notice, ShortNotice::Published);
        assert_eq!(counted_on(&store, policy().bucket_of_end(end)).await.len(), 1);
    }

    #[tokio::test]
    async fn a_failed_limits_read_or_cohort_write_is_returned_and_the_retry_still_sends_the_notice() {
        let store = store_with_baseline().await;
        let notifier = MemoryNotifier::default();
        let end = T0 + 2 * HOUR;
        let event = TaskEvent::Finished(RunFinished {
            cohort: Some(cohort("build-7")),
            ..finished("export", "r1", end - 5 * MINUTE, end, RunStatus::Succeeded)
        });
        store.fail_next_add_cohort_member(1);
        let error = ingest(&store, &notifier, event.clone(), "i1", end).await.unwrap_err();
        assert!(matches!(error, IngestError::Store(_)), "{error}");
        store.fail_next_task_limits(1);
        let error = ingest(&store, &notifier, event.clone(), "i2", end).await.unwrap_err();
        assert!(matches!(error, IngestError::Store(_)), "{error}");
        assert!(notifier.published().is_empty());
        let (_, notice) = ingest(&store, &notifier, event, "i3", end).await.unwrap();
        assert_eq!(notice, ShortNotice::Published);
        assert_eq!(counted_on(&store, policy().bucket_of_end(end)).await.len(), 1, "counted once");
        let members = store.cohort_members(&[cohort("build-7")]).await.unwrap().items;
        assert_eq!(members[&cohort("build-7")].len(), 1);
        assert_eq!(notifier.alert_ids(), ["export/r1/too_short"]);
    }
}
