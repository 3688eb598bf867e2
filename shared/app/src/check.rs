//! The checker: every running run past its limit is an alert, claimed once per (run, level)
//! with a conditional write and published to SNS; a failed publish gives the claim back so the
//! next tick retries. Runs that were alerted on and have finished get a "resolved" message.

use std::collections::{BTreeSet, HashMap};

use overrun_core::check::{CheckSettings, check_running};
use overrun_core::cohort;
use overrun_core::message::{alert_notification, resolved_notification};
use overrun_core::ports::{Notifier, RunStore, StatsStore, StoreError};
use overrun_core::{CohortId, EpochMs, TaskType};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub runs_checked: usize,
    pub alerts_due: usize,
    pub alerts_published: usize,
    /// Claims another invocation held first (or the run finished meanwhile).
    pub claims_lost: usize,
    /// Publishes that failed; their claims were released for the next tick.
    pub publish_failures: usize,
    pub resolved_published: usize,
    pub muted: usize,
    pub without_limits: usize,
    pub malformed_items: usize,
    /// Cohorts whose pace stretched their running members' limits this tick.
    pub cohorts_stretched: usize,
    /// Running runs judged by their own limit, from their recent runs.
    pub own_limits: usize,
}

/// `claim` identifies this invocation (the Lambda request id): a claim is released only by its
/// owner.
pub async fn handle(
    now: EpochMs,
    settings: &CheckSettings,
    claim: &str,
    runs: &impl RunStore,
    stats: &impl StatsStore,
    notifier: &impl Notifier,
) -> Result<CheckReport, StoreError> {
    let mut running = runs.list_running().await?;
    let pending = runs.list_pending_resolutions().await?;
    let malformed_details = runs.fill_details(&mut running.items).await?;
    let cohorts: Vec<CohortId> =
        running.items.iter().filter_map(|r| r.cohort.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let (members, malformed_members) = stats.cohort_members(&cohorts).await?;
    // Limits of the running runs' types and of their cohorts' finished members' types.
    let task_types: Vec<TaskType> = running
        .items
        .iter()
        .map(|r| r.task_type.clone())
        .chain(members.values().flatten().map(|m| m.task_type.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let (limits, malformed_limits) =
        if task_types.is_empty() { Default::default() } else { stats.task_limits(&task_types).await? };
    let malformed: Vec<&StoreError> = running
        .malformed
        .iter()
        .chain(&pending.malformed)
        .chain(&malformed_details)
        .chain(&malformed_members)
        .chain(&malformed_limits)
        .collect();
    for error in &malformed {
        tracing::error!(%error, "skipping a malformed item");
    }
    let stretches: HashMap<CohortId, f64> = members
        .iter()
        .map(|(cohort, finished)| (cohort.clone(), cohort::stretch(finished, &limits)))
        .filter(|&(_, stretch)| stretch > 1.0)
        .collect();

    let outcome = check_running(now, &running.items, &limits, &stretches, settings);
    let mut report = CheckReport {
        runs_checked: outcome.checked,
        alerts_due: outcome.alerts.len(),
        muted: outcome.muted,
        without_limits: outcome.without_limits,
        malformed_items: malformed.len(),
        cohorts_stretched: stretches.len(),
        own_limits: outcome.own_limits,
        ..CheckReport::default()
    };
    for alert in &outcome.alerts {
        if !runs.claim_alert(&alert.task_type, &alert.run_id, alert.level, claim).await? {
            report.claims_lost += 1;
            continue;
        }
        match notifier.publish(&alert_notification(alert)).await {
            Ok(()) => report.alerts_published += 1,
            Err(error) => {
                tracing::error!(%error, task_type = %alert.task_type, run_id = %alert.run_id, "publish failed; releasing the claim");
                runs.release_alert(&alert.task_type, &alert.run_id, alert.level, claim).await?;
                report.publish_failures += 1;
            }
        }
    }
    for resolution in &pending.items {
        if !runs.claim_resolution(resolution, now).await? {
            report.claims_lost += 1;
            continue;
        }
        match notifier.publish(&resolved_notification(resolution)).await {
            Ok(()) => report.resolved_published += 1,
            Err(error) => {
                tracing::error!(%error, run_id = %resolution.run_id, "publish failed; releasing the claim");
                runs.release_resolution(resolution).await?;
                report.publish_failures += 1;
            }
        }
    }
    Ok(report)
}
