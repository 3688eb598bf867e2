//! One request: admitted (authenticated, parsed), its check-in's run found, recorded exactly as
//! an EventBridge event would be, and answered with what happened.

use overrun_app::checkin::newest_open_run;
use overrun_app::ingest::{self, IngestError, IngestOutcome, NoticeSettings, ShortNotice};
use overrun_aws::Adapters;
use overrun_core::ports::{Notifier, TaskEvent};
use overrun_core::{Qualifier, Qualify};
use overrun_sources::TimeWindow;
use overrun_sources::webhooks::checkin::{CheckIn, Signal, derived_run_id};
use serde_json::json;

use crate::admit::{Admitted, admit};
use crate::refusal::Refusal;
use crate::request::{HttpRequest, HttpResponse};
use crate::secrets::{CachedSecrets, SecretSource};

/// What one request came to, for the response, the log and the metrics.
#[derive(Debug)]
pub enum Handled {
    Recorded {
        source: String,
        outcome: IngestOutcome,
        notice: ShortNotice,
    },
    /// Recorded, and its too-short notice claimed but not sent: the checker sends it once the
    /// claim's lease runs out.
    RecordedNoticePending {
        source: String,
    },
    Nothing {
        status: u16,
        reason: String,
    },
    Refused(Refusal),
}

impl Handled {
    pub fn response(&self) -> HttpResponse {
        match self {
            Handled::Recorded { outcome: IngestOutcome::Ignored(reason), .. } => {
                HttpResponse::json(202, &json!({ "ignored": reason }))
            }
            Handled::Recorded { outcome, notice, .. } => {
                let recorded = outcome.recorded();
                if let Some(conflict) = recorded.and_then(|recorded| recorded.conflict) {
                    return HttpResponse::json(
                        409,
                        &json!({ "error": format!(
                            "this finish contradicts the run's first ({} at {} ms), which stands",
                            conflict.kept_status, conflict.kept_end
                        )}),
                    );
                }
                let what = if matches!(outcome, IngestOutcome::Started(_)) { "start" } else { "finish" };
                let mut body = json!({ "recorded": what });
                if let Some(recorded) = recorded {
                    // Which run of the id it was recorded on: a re-run is the id's next attempt.
                    body["attempt"] = json!(recorded.attempt.get());
                }
                if *notice == ShortNotice::Published {
                    body["short_notice"] = json!("sent");
                }
                HttpResponse::json(200, &body)
            }
            Handled::RecordedNoticePending { .. } => {
                HttpResponse::json(200, &json!({ "recorded": "finish", "short_notice": "pending" }))
            }
            Handled::Nothing { status, reason } => HttpResponse::json(*status, &json!({ "ok": reason })),
            Handled::Refused(refusal) => {
                HttpResponse::json(refusal.status, &json!({ "error": refusal.reason }))
            }
        }
    }
}

/// What a request is recorded with.
pub struct Deps<'a, S, N> {
    pub adapters: &'a Adapters,
    pub notifier: &'a N,
    pub secrets: &'a CachedSecrets<S>,
    /// When task types say where they ran (`OVERRUN_QUALIFY`), an HTTPS source's carry its
    /// name: `backup@cron-box`.
    pub qualify: Qualify,
}

pub async fn handle<S: SecretSource, N: Notifier>(
    request: &HttpRequest,
    deps: &Deps<'_, S, N>,
    settings: &NoticeSettings<'_>,
) -> Handled {
    match admit_and_record(request, deps, settings).await {
        Ok(handled) => handled,
        Err(refusal) => Handled::Refused(refusal),
    }
}

async fn admit_and_record<S: SecretSource, N: Notifier>(
    request: &HttpRequest,
    deps: &Deps<'_, S, N>,
    settings: &NoticeSettings<'_>,
) -> Result<Handled, Refusal> {
    let secrets = deps.secrets.get(settings.now).await.map_err(|error| {
        tracing::error!(%error, "the sources' secret cannot be read: every request is refused");
        Refusal::unavailable("Overrun cannot read its sources' secret now; retry later")
    })?;
    let window = TimeWindow {
        now: settings.now,
        retention_ms: settings.retention_ms,
        ahead_ms: settings.clock_skew_ms,
    };
    let (event, source) = match admit(request, &secrets, window)? {
        Admitted::Nothing { status, reason } => return Ok(Handled::Nothing { status, reason }),
        Admitted::Event { event, source } => {
            let qualifier = qualifier(deps.qualify, &source)?;
            let event =
                event.placed(None, qualifier.as_ref()).map_err(|e| Refusal::bad_request(e.to_string()))?;
            (event, source)
        }
        Admitted::CheckIn { mut check_in, source } => {
            if let Some(qualifier) = qualifier(deps.qualify, &source)? {
                check_in.task_type = check_in
                    .task_type
                    .qualified(&qualifier)
                    .map_err(|e| Refusal::bad_request(e.to_string()))?;
            }
            (check_in_event(check_in, deps.adapters, settings.now).await?, source)
        }
    };
    let adapters = deps.adapters;
    let recorded = ingest::record_and_notify(
        event,
        &adapters.runs,
        &adapters.stats,
        &adapters.outbox,
        deps.notifier,
        settings,
    );
    match recorded.await {
        Ok((outcome, notice)) => Ok(Handled::Recorded { source, outcome, notice }),
        // The run is recorded; the notice's claim makes the checker send it when its lease runs out.
        Err(IngestError::Notify(error)) => {
            tracing::warn!(%error, "the run is recorded; its too-short notice will be sent by the checker");
            Ok(Handled::RecordedNoticePending { source })
        }
        // Nothing recorded, and a retry would be refused the same way: the sender must say which
        // run this is.
        Err(error @ IngestError::AmbiguousStart { .. }) => {
            tracing::warn!(%error, "start refused");
            Err(Refusal::conflict(error.to_string()))
        }
        Err(IngestError::Store(error)) => {
            tracing::error!(%error, "recording failed");
            Err(Refusal::unavailable("Overrun could not record this now; retry (a retry records it once)"))
        }
    }
}

/// The qualifier of a source's task types, when task types are qualified: its name.
fn qualifier(qualify: Qualify, source: &str) -> Result<Option<Qualifier>, Refusal> {
    if !qualify.is_on() {
        return Ok(None);
    }
    Qualifier::new(source).map(Some).map_err(|error| {
        tracing::error!(%error, "a source's name cannot qualify its task types");
        Refusal::unavailable(format!(
            "task types are qualified by their source's name, and {source:?} cannot be one ({error}): rename it in the sources' secret"
        ))
    })
}

/// How long after a start without a run id another such start of the task is taken for its
/// retry (curl --retry after a lost answer) rather than a new run.
pub const START_RETRY_MS: i64 = 2 * 60 * 1000;

fn is_derived(run_id: &overrun_core::RunId) -> bool {
    run_id.as_str().starts_with(overrun_sources::webhooks::checkin::DERIVED_PREFIX)
}

/// The check-in's task event: its run named, derived (a start) or the task's newest open run
/// (a finish).
async fn check_in_event(check_in: CheckIn, adapters: &Adapters, now: i64) -> Result<TaskEvent, Refusal> {
    if let Some(run_id) = check_in.run_id.clone() {
        return Ok(check_in.event(run_id, now, None));
    }
    let open = newest_open_run(&check_in.task_type, &adapters.runs).await.map_err(|error| {
        tracing::error!(%error, "listing the open runs failed");
        Refusal::unavailable("Overrun could not look up the task's open run now; retry")
    })?;
    if check_in.signal == Signal::Start {
        // A start retried after a lost answer is the run it started, not a second one.
        let run_id = match open {
            Some((run_id, start)) if is_derived(&run_id) && now.saturating_sub(start) < START_RETRY_MS => {
                run_id
            }
            _ => derived_run_id(now),
        };
        return Ok(check_in.event(run_id, now, None));
    }
    let (run_id, start) = open.ok_or_else(|| {
        Refusal::conflict(format!(
            "no run of {:?} is open: ping /start first, or name the run with ?run_id=",
            check_in.task_type.as_str()
        ))
    })?;
    Ok(check_in.event(run_id, now, Some(start)))
}
