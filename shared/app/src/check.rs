//! The checker: every running run past its limit is an alert; every alerted run that finished
//! gets a "resolved" message; every message claimed and not delivered (its sender crashed, timed
//! out or lost an answer) is sent again once its lease has run out.
//!
//! One failed read or write costs only what depends on it: the tick goes on with the other runs
//! and messages, counts the failure, and reports it, so that the invocation fails and Lambda
//! retries it (each message's claim keeps the retry from sending anything twice).

use overrun_core::detect::check::{CheckSettings, RunningRun, check_running};
use overrun_core::notify::delivery::{DeliveryState, MessageKey};
use overrun_core::notify::message::{alert_notification, resolved_notification};
use overrun_core::ports::{
    CohortStore, LimitStore, Notifier, Outbox, PendingResolution, RunningRuns, StoreError,
};
use overrun_core::{BaselinePolicy, EpochMs};

use crate::delivery::{Courier, DeliveryError, Sent};
use crate::situation::{ReadProblems, Situation, read_situation};

/// One invocation of the checker.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub now: EpochMs,
    /// Identifies this invocation (the Lambda request id): the owner of the claims it takes.
    pub owner: &'a str,
    pub settings: &'a CheckSettings,
    pub policy: &'a BaselinePolicy,
}

/// What the checker talks through.
pub struct CheckPorts<'a, R, S, O, N> {
    pub runs: &'a R,
    pub stats: &'a S,
    pub outbox: &'a O,
    pub notifier: &'a N,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub runs_checked: usize,
    pub alerts_due: usize,
    pub alerts_published: usize,
    /// Messages claimed earlier, never delivered, sent again by this tick.
    pub resent: usize,
    /// Messages another invocation delivered or holds within its lease (or no longer due).
    pub claims_lost: usize,
    pub resolved_published: usize,
    pub notices_published: usize,
    pub muted: usize,
    pub without_limits: usize,
    pub malformed_items: usize,
    /// Cohorts whose pace stretched their running members' limits this tick.
    pub cohorts_stretched: usize,
    /// Running runs judged by their own limit, from their recent runs.
    pub own_limits: usize,
    /// Reads, claims, publishes or marks that failed (each logged): the invocation then fails so
    /// that Lambda retries it.
    pub failures: usize,
    /// Of those, publishes that failed.
    pub publish_failures: usize,
}

impl CheckReport {
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    fn failure(&mut self, what: &str, error: &dyn std::fmt::Display) {
        tracing::error!(%error, "{what}");
        self.failures += 1;
    }

    /// Counts one message's outcome; `published` is the counter of its kind.
    fn count(&mut self, result: Result<Sent, DeliveryError>, published: fn(&mut Self) -> &mut usize) {
        match result {
            Ok(Sent::Delivered) => *published(self) += 1,
            Ok(Sent::NotOurs) => self.claims_lost += 1,
            Err(error) => {
                if error.was_published() {
                    *published(self) += 1;
                }
                if matches!(error, DeliveryError::Publish { .. }) {
                    self.publish_failures += 1;
                }
                self.failure("a message was not delivered; it will be sent again", &error);
            }
        }
    }
}

pub async fn handle<R, S, O, N>(tick: &Tick<'_>, ports: &CheckPorts<'_, R, S, O, N>) -> CheckReport
where
    R: RunningRuns,
    S: LimitStore + CohortStore,
    O: Outbox,
    N: Notifier,
{
    let mut report = CheckReport::default();
    let courier = Courier::new(ports.outbox, ports.notifier, tick.owner, tick.now);

    let judged = judge(ports, &mut report).await;
    send_due_alerts(tick, &judged, &courier, &mut report).await;
    resend_running_alerts(tick, &judged.running, &courier, &mut report).await;
    match ports.runs.list_pending_resolutions().await {
        Ok(pending) => {
            report.malformed_items += log_malformed(&pending.malformed);
            for run in &pending.items {
                resolve(run, &courier, &mut report).await;
            }
        }
        Err(error) => report.failure("cannot list the runs owed a \"resolved\"", &error),
    }
    resend_notices(tick, ports.outbox, &courier, &mut report).await;
    report
}

/// Reads the running runs and what they are judged by; what went wrong is logged and counted.
async fn judge<R: RunningRuns, S: LimitStore + CohortStore, O, N>(
    ports: &CheckPorts<'_, R, S, O, N>,
    report: &mut CheckReport,
) -> Situation {
    let mut problems = ReadProblems::default();
    let situation = read_situation(ports.runs, ports.stats, &mut problems).await;
    report.malformed_items += log_malformed(&problems.malformed);
    for (what, error) in &problems.failures {
        report.failure(what, error);
    }
    report.cohorts_stretched = situation.stretches.len();
    situation
}

async fn send_due_alerts<O: Outbox, N: Notifier>(
    tick: &Tick<'_>,
    judged: &Situation,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    if !judged.limits_known {
        return;
    }
    let outcome = check_running(tick.now, &judged.running, &judged.limits, &judged.stretches, tick.settings);
    report.runs_checked = outcome.checked;
    report.alerts_due = outcome.alerts.len();
    report.muted = outcome.muted;
    report.without_limits = outcome.without_limits;
    report.own_limits = outcome.own_limits;
    for alert in &outcome.alerts {
        let key = MessageKey::Alert {
            task_type: alert.task_type.clone(),
            run_id: alert.run_id.clone(),
            level: alert.level,
        };
        let sent = courier.send_new(&key, &alert_notification(alert)).await;
        report.count(sent, |r| &mut r.alerts_published);
    }
}

/// Alerts of running runs claimed earlier and never delivered.
async fn resend_running_alerts<O: Outbox, N: Notifier>(
    tick: &Tick<'_>,
    running: &[RunningRun],
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    for run in running {
        for (level, lease) in &run.undelivered {
            if !lease.has_expired(tick.now) {
                continue;
            }
            let key = MessageKey::Alert {
                task_type: run.task_type.clone(),
                run_id: run.run_id.clone(),
                level: *level,
            };
            let sent = courier.resend(&key, lease).await;
            report.count(sent, |r| &mut r.resent);
        }
    }
}

/// A finished, alerted run: first any of its alerts still undelivered, then its "resolved" —
/// which only ever follows a delivered alert.
async fn resolve<O: Outbox, N: Notifier>(
    run: &PendingResolution,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    let resolution = &run.resolution;
    let mut any_delivered = false;
    let mut any_owed = false;
    for (level, state) in &run.alerts {
        let key = MessageKey::Alert {
            task_type: resolution.task_type.clone(),
            run_id: resolution.run_id.clone(),
            level: *level,
        };
        match state {
            DeliveryState::Delivered => any_delivered = true,
            DeliveryState::Unclaimed => {}
            DeliveryState::Pending(_) => match courier.resend_if_stale(&key, state).await {
                Ok(Sent::Delivered) => {
                    report.resent += 1;
                    any_delivered = true;
                }
                other => {
                    any_owed = true;
                    report.count(other, |r| &mut r.resent);
                }
            },
        }
    }
    if any_owed || !any_delivered {
        // Not yet: the alert comes first (a later tick), or none was ever delivered.
        return;
    }
    let key =
        MessageKey::Resolved { task_type: resolution.task_type.clone(), run_id: resolution.run_id.clone() };
    let sent = match &run.resolved {
        DeliveryState::Unclaimed => courier.send_new(&key, &resolved_notification(resolution)).await,
        state => courier.resend_if_stale(&key, state).await,
    };
    report.count(sent, |r| &mut r.resolved_published);
}

/// Too-short notices of today and yesterday whose sender (an ingest invocation) never marked
/// them delivered.
async fn resend_notices<O: Outbox, N: Notifier>(
    tick: &Tick<'_>,
    outbox: &O,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    let today = tick.policy.bucket_of_end(tick.now);
    match outbox.undelivered_notices(&[today - 1, today]).await {
        Ok(listing) => {
            report.malformed_items += log_malformed(&listing.malformed);
            for (key, lease) in listing.items.iter().filter(|(_, lease)| lease.has_expired(tick.now)) {
                let sent = courier.resend(key, lease).await;
                report.count(sent, |r| &mut r.notices_published);
            }
        }
        Err(error) => report.failure("cannot list the undelivered too-short notices", &error),
    }
}

fn log_malformed(errors: &[StoreError]) -> usize {
    for error in errors {
        tracing::error!(%error, "skipping a malformed item");
    }
    errors.len()
}
