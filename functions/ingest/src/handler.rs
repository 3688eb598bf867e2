//! The function's handler: parse the event, then hand it to the ingest use case.

use overrun_app::ingest::{self, IngestOutcome, NoticeSettings, ShortNotice};
use overrun_aws::Adapters;
use overrun_core::ports::{Notifier, RunRecorder};
use serde_json::Value;
use thiserror::Error;

use overrun_sources::{Accounts, CheckedJson, EventError, TimeWindow, parse, parse_live};

#[derive(Debug, Error)]
pub enum IngestError {
    /// Fails the invocation so that the function's failure destination keeps the event.
    #[error("malformed event: {0}")]
    Malformed(#[from] EventError),
    #[error(transparent)]
    Failed(#[from] ingest::IngestError),
}

/// Records the event's run only (no notice, no cohort membership): for loading history.
pub async fn handle(event: &Value, store: &impl RunRecorder) -> Result<IngestOutcome, IngestError> {
    Ok(ingest::record_only(parse(event)?, store).await?)
}

/// Records the event's run, its cohort membership, and sends the day's too-short notice; an
/// event that names a field twice is refused, naming it, before anything is read from it.
pub async fn handle_checked_and_notify(
    event: CheckedJson,
    accounts: &Accounts,
    adapters: &Adapters,
    notifier: &impl Notifier,
    settings: &NoticeSettings<'_>,
) -> Result<(IngestOutcome, ShortNotice), IngestError> {
    handle_and_notify(&event.into_value()?, accounts, adapters, notifier, settings).await
}

/// Records the event's run (keyed by where it ran, as `accounts` says), its cohort membership,
/// and sends the day's too-short notice.
pub async fn handle_and_notify(
    event: &Value,
    accounts: &Accounts,
    adapters: &Adapters,
    notifier: &impl Notifier,
    settings: &NoticeSettings<'_>,
) -> Result<(IngestOutcome, ShortNotice), IngestError> {
    let window = TimeWindow {
        now: settings.now,
        retention_ms: settings.retention_ms,
        ahead_ms: settings.clock_skew_ms,
    };
    let event = parse_live(event, window, accounts)?;
    Ok(ingest::record_and_notify(
        event,
        &adapters.runs,
        &adapters.stats,
        &adapters.outbox,
        notifier,
        settings,
    )
    .await?)
}
