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
    CohortStore, LimitStore, Notifier, Outbox, PendingResolution, RunningRuns, ScheduleStore, StoreError,
};
use overrun_core::time::Day;
use overrun_core::{BaselinePolicy, EpochMs};

use crate::delivery::{Courier, DeliveryError, Sent};
use crate::missed::{MissedReport, watch_schedules};
use crate::situation::{ReadProblems, Situation, read_situation};

/// One invocation of the checker.
#[derive(Debug, Clone, Copy)]
pub struct Tick<'a> {
    pub now: EpochMs,
    /// Identifies this invocation (the Lambda request id): the owner of the claims it takes.
    pub owner: &'a str,
    pub settings: &'a CheckSettings,
    pub policy: &'a BaselinePolicy,
    /// How many days back owed too-short notices are looked for: the retention, so a notice is
    /// retried until delivered however long the outage, as long as its run is kept.
    pub notice_days: u32,
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
    /// Missed-start alerts delivered (warnings and criticals).
    pub missed_published: usize,
    /// What the scheduled types showed.
    pub missed: MissedReport,
}

impl CheckReport {
    pub fn failed(&self) -> bool {
        self.failures > 0
    }

    pub(crate) fn failure(&mut self, what: &str, error: &dyn std::fmt::Display) {
        tracing::error!(%error, "{what}");
        self.failures += 1;
    }

    /// Counts one message's outcome; `published` is the counter of its kind.
    pub(crate) fn count(
        &mut self,
        result: Result<Sent, DeliveryError>,
        published: fn(&mut Self) -> &mut usize,
    ) {
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
    S: LimitStore + CohortStore + ScheduleStore,
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
    watch_schedules(tick.now, ports.stats, ports.outbox, &courier, &mut report).await;
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
    let alerts: Vec<(MessageKey, &DeliveryState)> = run
        .alerts
        .iter()
        .map(|(level, state)| {
            let key = MessageKey::Alert {
                task_type: resolution.task_type.clone(),
                run_id: resolution.run_id.clone(),
                level: *level,
            };
            (key, state)
        })
        .collect();
    if !alerts_delivered_first(&alerts, courier, report).await {
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

/// Whether a "resolved" may go now: the alerts it follows that are still undelivered are sent
/// first (once past their lease), and it follows only a delivered alert — else not yet (a later
/// tick), or never (none was delivered).
pub(crate) async fn alerts_delivered_first<O: Outbox, N: Notifier>(
    alerts: &[(MessageKey, &DeliveryState)],
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) -> bool {
    let mut any_delivered = false;
    let mut any_owed = false;
    for (key, state) in alerts {
        match state {
            DeliveryState::Delivered => any_delivered = true,
            DeliveryState::Unclaimed => {}
            DeliveryState::Pending(_) => match courier.resend_if_stale(key, state).await {
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
    any_delivered && !any_owed
}

/// Too-short notices of the days still kept (`notice_days` back) whose sender (an ingest
/// invocation, or an earlier tick) never marked them delivered.
async fn resend_notices<O: Outbox, N: Notifier>(
    tick: &Tick<'_>,
    outbox: &O,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    let today = tick.policy.bucket_of_end(tick.now);
    let tick_number = tick.now.div_euclid(tick.policy.check_interval().as_ms());
    let days = notice_days_to_check(today, tick.notice_days, tick_number);
    match outbox.undelivered_notices(&days).await {
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

/// Older kept days looked at per tick, beside today and yesterday.
pub const OLDER_NOTICE_DAYS_PER_TICK: i64 = 8;

/// The days whose undelivered too-short notices tick number `tick_number` looks at: today and
/// yesterday every tick, and the older days kept (`notice_days` back) eight at a time in turn, so
/// every kept day is looked at within a few ticks whatever the outage's length, at a cost per
/// tick that does not grow with the retention (35 days: every day within five ticks).
pub fn notice_days_to_check(today: Day, notice_days: u32, tick_number: i64) -> Vec<Day> {
    let mut days = vec![today - 1, today];
    let older = i64::from(notice_days).saturating_sub(1);
    if older > 0 {
        let slices = (older + OLDER_NOTICE_DAYS_PER_TICK - 1) / OLDER_NOTICE_DAYS_PER_TICK;
        let first = 2 + tick_number.rem_euclid(slices) * OLDER_NOTICE_DAYS_PER_TICK;
        let last = (first + OLDER_NOTICE_DAYS_PER_TICK - 1).min(i64::from(notice_days));
        days.extend((first..=last).map(|back| today - back));
    }
    days
}

pub(crate) fn log_malformed(errors: &[StoreError]) -> usize {
    for error in errors {
        tracing::error!(%error, "skipping a malformed item");
    }
    errors.len()
}

#[cfg(test)]
mod tests {
    use overrun_core::detect::cohort::FinishedMember;
    use overrun_core::detect::overrides::Override;
    use overrun_core::detect::overrides::OverrideParts;
    use overrun_core::notify::delivery::LEASE_MS;
    use overrun_core::ports::{CohortStore, RunRecorder, RunStarted, TaskEvent};
    use overrun_core::{RunStatus, ShortRule};

    use super::*;
    use crate::ingest::{IngestError, NoticeSettings, record_and_notify};
    use crate::memory::MemoryNotifier;
    use crate::memory_store::MemoryStore;
    use crate::test_support::*;

    /// The operator's limit of "etl": warning past 10 minutes, critical past 20.
    const LIMIT: i64 = 10 * MINUTE;
    /// The first check past the limit of an "etl" run started at `T0`.
    const PAST: EpochMs = T0 + LIMIT + MINUTE;

    struct World {
        store: MemoryStore,
        notifier: MemoryNotifier,
        settings: CheckSettings,
        policy: BaselinePolicy,
    }

    impl World {
        /// "etl" with a fixed limit.
        async fn new() -> Self {
            let world = Self::without_limits();
            set_override(&world.store, "etl", fixed_limit(LIMIT)).await;
            world
        }

        fn without_limits() -> Self {
            Self {
                store: store(),
                notifier: MemoryNotifier::default(),
                settings: CheckSettings::default(),
                policy: policy(),
            }
        }

        async fn tick(&self, owner: &str, now: EpochMs) -> CheckReport {
            let tick = Tick { now, owner, settings: &self.settings, policy: &self.policy, notice_days: 35 };
            let ports = CheckPorts {
                runs: &self.store,
                stats: &self.store,
                outbox: &self.store,
                notifier: &self.notifier,
            };
            handle(&tick, &ports).await
        }

        async fn start(&self, task_type: &str, run_id: &str, at: EpochMs) {
            self.store.record_start(&started(task_type, run_id, at)).await.unwrap();
        }

        /// Finishes a run started at `T0`; whether it now awaits its "resolved".
        async fn finish(&self, task_type: &str, run_id: &str, end: EpochMs) -> bool {
            let event = finished(task_type, run_id, T0, end, RunStatus::Succeeded);
            self.store.record_finish(&event).await.unwrap().resolution_pending
        }

        fn sent(&self) -> Vec<String> {
            self.notifier.alert_ids()
        }
    }

    /// What a tick that only looked at `runs` running runs reports.
    fn quiet(runs: usize) -> CheckReport {
        CheckReport { runs_checked: runs, ..CheckReport::default() }
    }

    #[tokio::test]
    async fn a_run_past_its_limit_is_alerted_once_at_warning_then_once_at_critical() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        assert_eq!(world.tick("c1", T0 + LIMIT).await, quiet(1), "at its limit, not past it");
        let warned = world.tick("c2", PAST).await;
        assert_eq!((warned.alerts_due, warned.alerts_published, warned.failed()), (1, 1, false));
        assert_eq!(world.tick("c3", T0 + 2 * LIMIT).await, quiet(1), "warned, not yet critical");
        let critical = world.tick("c4", T0 + 2 * LIMIT + MINUTE).await;
        assert_eq!((critical.alerts_due, critical.alerts_published), (1, 1));
        assert_eq!(world.tick("c5", T0 + 10 * LIMIT).await, quiet(1));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/critical"]);
    }

    #[tokio::test]
    async fn a_finished_alerted_run_gets_its_resolved_once() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.tick("c1", PAST).await;
        assert!(world.finish("etl", "r1", PAST + MINUTE).await);
        let resolved = world.tick("c2", PAST + 2 * MINUTE).await;
        assert_eq!(resolved, CheckReport { resolved_published: 1, ..CheckReport::default() });
        assert_eq!(world.tick("c3", PAST + 3 * MINUTE).await, quiet(0));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/resolved"]);
    }

    #[tokio::test]
    async fn a_run_is_alerted_only_while_it_runs_and_one_never_alerted_gets_no_resolved() {
        let world = World::new().await;
        world.start("etl", "within", T0).await;
        world.start("etl", "unseen", T0).await;
        assert!(!world.finish("etl", "within", T0 + LIMIT / 2).await);
        assert!(!world.finish("etl", "unseen", T0 + 3 * LIMIT).await, "past its limit between two ticks");
        assert_eq!(world.tick("c1", T0 + 3 * LIMIT + MINUTE).await, quiet(0));
        assert!(world.sent().is_empty());
    }

    #[tokio::test]
    async fn a_muted_task_type_does_not_page_until_its_mute_ends() {
        let world = World::without_limits();
        let until = T0 + 3 * LIMIT;
        set_override(
            &world.store,
            "etl",
            Override::new(OverrideParts {
                limit_ms: fixed_limit(LIMIT).limit_ms(),
                mute_until: Some(until),
                ..Default::default()
            })
            .unwrap(),
        )
        .await;
        world.start("etl", "r1", T0).await;
        let muted = world.tick("c1", until - MINUTE).await;
        assert_eq!(muted, CheckReport { runs_checked: 1, muted: 1, ..CheckReport::default() });
        let unmuted = world.tick("c2", until).await;
        assert_eq!((unmuted.muted, unmuted.alerts_published), (0, 2));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/critical"]);
    }

    #[tokio::test]
    async fn an_overridden_k_raises_the_limit_its_baseline_would_page_at() {
        let world = World::without_limits();
        // Expected 10 minutes, σ 1 minute: the baseline's limit is 12 minutes, at k = 5 it is 15.
        for task_type in ["etl", "load"] {
            set_baseline(&world.store, task_type, LIMIT as f64, MINUTE as f64, (LIMIT + 2 * MINUTE) as f64)
                .await;
            world.start(task_type, "r1", T0).await;
        }
        set_override(
            &world.store,
            "etl",
            Override::new(OverrideParts { k: Some(5.0), ..Default::default() }).unwrap(),
        )
        .await;
        let first = world.tick("c1", T0 + 14 * MINUTE).await;
        assert_eq!((first.runs_checked, first.alerts_published), (2, 1));
        assert_eq!(world.sent(), ["load/r1/warning"]);
        world.tick("c2", T0 + 15 * MINUTE + 1).await;
        assert_eq!(world.sent(), ["load/r1/warning", "etl/r1/warning"]);
    }

    #[tokio::test]
    async fn a_type_without_any_limit_is_not_paged_unless_a_fallback_limit_is_set() {
        let mut world = World::without_limits();
        world.start("new-task", "r1", T0).await;
        let without = world.tick("c1", T0 + 10 * HOUR).await;
        assert_eq!(without, CheckReport { runs_checked: 1, without_limits: 1, ..CheckReport::default() });
        world.settings.rules.fallback_limit_ms = Some(HOUR as f64);
        let fallback = world.tick("c2", T0 + 10 * HOUR).await;
        assert_eq!((fallback.without_limits, fallback.alerts_published), (0, 2));
        assert_eq!(world.sent(), ["new-task/r1/warning", "new-task/r1/critical"]);
    }

    #[tokio::test]
    async fn a_slow_cohort_stretches_its_running_members_limits_by_its_pace() {
        let world = World::without_limits();
        set_baseline(&world.store, "build", LIMIT as f64, MINUTE as f64, (LIMIT + 2 * MINUTE) as f64).await;
        let slow = cohort("pipeline-9");
        for i in 0..3 {
            let member = FinishedMember { task_type: task("build"), duration_ms: 15 * MINUTE as u64 };
            world.store.add_cohort_member(&slow, &run(&format!("m{i}")), &member, T0 + HOUR).await.unwrap();
        }
        let in_cohort = RunStarted { cohort: Some(slow.clone()), ..started("build", "member", T0) };
        world.store.record_start(&in_cohort).await.unwrap();
        world.start("build", "alone", T0).await;
        let report = world.tick("c1", T0 + 15 * MINUTE).await;
        assert_eq!((report.cohorts_stretched, report.alerts_published), (1, 1));
        assert_eq!(
            world.sent(),
            ["build/alone/warning"],
            "at 1.5 times the pace, the member's limit is 18 minutes"
        );
        world.tick("c2", T0 + 18 * MINUTE + 1).await;
        assert_eq!(world.sent(), ["build/alone/warning", "build/member/warning"]);
    }

    #[tokio::test]
    async fn an_alert_claimed_by_a_crashed_checker_is_sent_again_once_its_lease_runs_out() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.store.outbox().crash_after_claim(1);
        let crashed = world.tick("c1", PAST).await;
        assert_eq!((crashed.alerts_due, crashed.alerts_published, crashed.failures), (1, 0, 1));
        assert_eq!(world.tick("c2", PAST + LEASE_MS - 1).await, quiet(1), "its lease still holds");
        let taken_over = world.tick("c3", PAST + LEASE_MS).await;
        assert_eq!(taken_over, CheckReport { runs_checked: 1, resent: 1, ..CheckReport::default() });
        assert_eq!(world.tick("c4", PAST + 2 * LEASE_MS).await, quiet(1));
        assert_eq!(world.sent(), ["etl/r1/warning"]);
    }

    #[tokio::test]
    async fn a_publish_that_fails_releases_its_claim_so_the_next_tick_sends_it_within_the_lease() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.notifier.fail_next(1);
        let failed = world.tick("c1", PAST).await;
        assert_eq!((failed.alerts_published, failed.publish_failures, failed.failures), (0, 1, 1));
        assert!(failed.failed(), "the invocation fails so that Lambda retries it");
        let retried = world.tick("c2", PAST + MINUTE).await;
        assert_eq!(retried, CheckReport { runs_checked: 1, resent: 1, ..CheckReport::default() });
        assert_eq!(world.sent(), ["etl/r1/warning"]);
    }

    #[tokio::test]
    async fn a_lost_delivery_mark_sends_the_alert_again_after_its_lease_with_the_same_alert_id() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.store.outbox().fail_marks(1);
        let unmarked = world.tick("c1", PAST).await;
        assert_eq!((unmarked.alerts_published, unmarked.publish_failures, unmarked.failures), (1, 0, 1));
        assert_eq!(world.tick("c2", PAST + MINUTE).await, quiet(1));
        let repeat = world.tick("c3", PAST + LEASE_MS).await;
        assert_eq!((repeat.resent, repeat.failures), (1, 0));
        assert_eq!(world.tick("c4", PAST + 2 * LEASE_MS).await, quiet(1));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/warning"]);
    }

    #[tokio::test]
    async fn one_failed_publish_does_not_keep_the_other_runs_of_the_tick_from_being_alerted() {
        let world = World::new().await;
        for run_id in ["r1", "r2", "r3"] {
            world.start("etl", run_id, T0).await;
        }
        world.notifier.fail_next(1);
        let report = world.tick("c1", PAST).await;
        assert_eq!((report.alerts_due, report.alerts_published, report.publish_failures), (3, 2, 1));
        let next = world.tick("c2", PAST + MINUTE).await;
        assert_eq!((next.resent, next.alerts_published, next.failures), (1, 0, 0));
        let mut sent = world.sent();
        sent.sort();
        assert_eq!(sent, ["etl/r1/warning", "etl/r2/warning", "etl/r3/warning"]);
    }

    #[tokio::test]
    async fn a_failed_running_runs_listing_still_sends_the_owed_resolved_and_the_next_tick_alerts() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.tick("c1", PAST).await;
        assert!(world.finish("etl", "r1", PAST + MINUTE).await);
        world.start("etl", "r2", PAST).await;
        world.store.fail_next_list_running(1);
        let at = PAST + LIMIT + MINUTE;
        let failed = world.tick("c2", at).await;
        assert_eq!((failed.failures, failed.runs_checked, failed.resolved_published), (1, 0, 1));
        let next = world.tick("c3", at + MINUTE).await;
        assert_eq!((next.failures, next.alerts_published), (0, 1));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/resolved", "etl/r2/warning"]);
    }

    #[tokio::test]
    async fn a_failed_limits_read_judges_no_run_not_even_by_the_fallback_and_the_next_tick_does() {
        let mut world = World::new().await;
        world.settings.rules.fallback_limit_ms = Some(MINUTE as f64);
        world.start("etl", "r1", T0).await;
        world.store.fail_next_task_limits(1);
        let failed = world.tick("c1", PAST).await;
        assert_eq!((failed.failures, failed.runs_checked, failed.alerts_due), (1, 0, 0));
        assert!(world.sent().is_empty(), "a fallback limit must not stand in for limits that exist");
        let next = world.tick("c2", PAST + MINUTE).await;
        assert_eq!((next.failures, next.alerts_published), (0, 1));
        assert_eq!(world.sent(), ["etl/r1/warning"]);
    }

    #[tokio::test]
    async fn a_failed_resolutions_listing_still_alerts_the_running_runs_and_the_resolved_follows() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.tick("c1", PAST).await;
        assert!(world.finish("etl", "r1", PAST + MINUTE).await);
        world.start("etl", "r2", PAST).await;
        world.store.fail_next_list_pending_resolutions(1);
        let at = PAST + LIMIT + MINUTE;
        let failed = world.tick("c2", at).await;
        assert_eq!((failed.failures, failed.alerts_published, failed.resolved_published), (1, 1, 0));
        let next = world.tick("c3", at + MINUTE).await;
        assert_eq!((next.failures, next.resolved_published), (0, 1));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r2/warning", "etl/r1/resolved"]);
    }

    #[tokio::test]
    async fn a_resolved_waits_for_its_undelivered_alert_which_is_sent_first_once_its_lease_runs_out() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.store.outbox().crash_after_claim(1);
        world.tick("c1", PAST).await;
        assert!(world.finish("etl", "r1", PAST + MINUTE / 2).await, "claimed, so owed a resolved");
        let within = world.tick("c2", PAST + MINUTE).await;
        assert_eq!(within, CheckReport { claims_lost: 1, ..CheckReport::default() });
        assert!(world.sent().is_empty(), "no resolved before its alert");
        let after = world.tick("c3", PAST + LEASE_MS).await;
        assert_eq!((after.resent, after.resolved_published, after.failures), (1, 1, 0));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/resolved"]);
    }

    #[tokio::test]
    async fn a_resolved_waits_for_every_undelivered_alert_of_its_run_not_only_the_first() {
        let world = World::new().await;
        world.start("etl", "r1", T0).await;
        world.tick("c1", PAST).await;
        world.store.outbox().crash_after_claim(1);
        let critical_at = T0 + 2 * LIMIT + MINUTE;
        assert_eq!(world.tick("c2", critical_at).await.failures, 1, "the critical's checker crashed");
        assert!(world.finish("etl", "r1", critical_at + MINUTE / 2).await);
        let within = world.tick("c3", critical_at + MINUTE).await;
        assert_eq!(within, CheckReport { claims_lost: 1, ..CheckReport::default() });
        assert_eq!(world.sent(), ["etl/r1/warning"], "no resolved while its critical is owed");
        let after = world.tick("c4", critical_at + LEASE_MS).await;
        assert_eq!((after.resent, after.resolved_published), (1, 1));
        assert_eq!(world.sent(), ["etl/r1/warning", "etl/r1/critical", "etl/r1/resolved"]);
    }

    #[tokio::test]
    async fn a_too_short_notice_claimed_by_a_crashed_ingest_is_sent_by_the_checker_once_its_lease_runs_out() {
        let world = World::without_limits();
        set_baseline(&world.store, "export", HOUR as f64, MINUTE as f64, (HOUR + 2 * MINUTE) as f64).await;
        // Just before midnight: its lease runs out the next day, when it is the day before's notice.
        let end = T0 - MINUTE;
        let short =
            TaskEvent::Finished(finished("export", "r1", end - 5 * MINUTE, end, RunStatus::Succeeded));
        let notice = NoticeSettings {
            rule: ShortRule::default(),
            claim: "ingest",
            now: end,
            policy: &world.policy,
            retention_ms: 30 * DAY,
            clock_skew_ms: 300_000,
            seasons: None,
        };
        world.store.outbox().crash_after_claim(1);
        let (store, notifier) = (&world.store, &world.notifier);
        let crashed = record_and_notify(short, store, store, store, notifier, &notice).await.unwrap_err();
        assert!(matches!(crashed, IngestError::Notify(DeliveryError::Claim { .. })), "{crashed}");
        assert_eq!(world.tick("c1", end + MINUTE).await, quiet(0), "its lease still holds");
        let resent = world.tick("c2", end + LEASE_MS).await;
        assert_eq!(resent, CheckReport { notices_published: 1, ..CheckReport::default() });
        assert_eq!(world.tick("c3", end + 2 * LEASE_MS).await, quiet(0));
        assert_eq!(world.sent(), ["export/r1/too_short"]);
    }

    #[tokio::test]
    async fn a_too_short_notice_owed_since_days_ago_is_sent_when_the_outage_ends() {
        let world = World::without_limits();
        set_baseline(&world.store, "export", HOUR as f64, MINUTE as f64, (HOUR + 2 * MINUTE) as f64).await;
        // A run that ended three days before its event arrived: its notice is that day's.
        let end = T0 - 3 * DAY;
        let short =
            TaskEvent::Finished(finished("export", "r1", end - 5 * MINUTE, end, RunStatus::Succeeded));
        let notice = NoticeSettings {
            rule: ShortRule::default(),
            claim: "ingest",
            now: T0,
            policy: &world.policy,
            retention_ms: 30 * DAY,
            clock_skew_ms: 300_000,
            seasons: None,
        };
        world.store.outbox().crash_after_claim(1);
        let (store, notifier) = (&world.store, &world.notifier);
        record_and_notify(short, store, store, store, notifier, &notice).await.unwrap_err();
        // Publishing fails for two days on end; the ticks keep trying (each older day is looked
        // at within five ticks).
        world.notifier.fail_next(usize::MAX);
        let mut tried = 0;
        for tick in 0..12 {
            let report = world.tick(&format!("down{tick}"), T0 + LEASE_MS + tick * DAY / 6).await;
            assert_eq!(report.notices_published, 0);
            tried += report.publish_failures;
        }
        assert!(tried >= 2, "the owed notice was tried again and again: {tried}");
        world.notifier.fail_next(0);
        let mut published = 0;
        for tick in 0..5 {
            published +=
                world.tick(&format!("up{tick}"), T0 + 2 * DAY + tick * 10 * MINUTE).await.notices_published;
        }
        assert_eq!(published, 1);
        assert_eq!(world.sent(), ["export/r1/too_short"]);
    }

    #[test]
    fn every_kept_day_is_looked_at_for_owed_notices_within_a_few_ticks_at_a_bounded_cost() {
        let today = Day::new(20_000);
        for notice_days in [0u32, 1, 2, 9, 35, 3_650] {
            let older = i64::from(notice_days).saturating_sub(1);
            let ticks = ((older + 7) / 8).max(1);
            let mut seen = std::collections::BTreeSet::new();
            for tick in 0..ticks {
                let days = notice_days_to_check(today, notice_days, 1_000 + tick);
                assert!(days.len() <= 10, "{notice_days}: {} days in one tick", days.len());
                assert!(days.contains(&today) && days.contains(&(today - 1)));
                seen.extend(days);
            }
            let kept: std::collections::BTreeSet<Day> =
                (0..=i64::from(notice_days).max(1)).map(|back| today - back).collect();
            assert_eq!(seen, kept, "{notice_days} days kept, {ticks} ticks");
        }
    }
}
