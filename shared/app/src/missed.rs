//! The checker's missed starts: each tick, every scheduled type whose due time's grace ran out
//! lately, or whose incident is open, is judged from its recent starts
//! ([`overrun_core::schedule::watch::judge`]); a missed due time is paged at least once through
//! the same claims as alerts (warning, then critical at the second in a row), and the first
//! start after it resolves the incident.
//!
//! Reads stay bounded by the types due: one query of the schedules, one of the open incidents,
//! and the starts of the types judged only (three days each, in batches).

use std::collections::{BTreeMap, HashMap};

use overrun_core::notify::delivery::{DeliveryState, MessageKey};
use overrun_core::notify::missed::{ScheduleWords, missed_notification, resumed_notification};
use overrun_core::ports::{LimitStore, Listing, MissedIncident, Notifier, Outbox, ScheduleStore, StoreError};
use overrun_core::schedule::Schedule;
use overrun_core::schedule::watch::{self, CATCH_UP_MS, Came, DueTimes, MissedStarts, Resumption, Standing};
use overrun_core::schedule::watched::{Declaration, Watched, watched};
use overrun_core::time::MS_PER_DAY;
use overrun_core::{EpochMs, Level, TaskType};

use crate::check::{CheckReport, alerts_delivered_first};
use crate::delivery::Courier;

/// Days of starts read per judged type: today and the two before, enough for the day a
/// new incident looks back over and the last start before it.
const START_DAYS: i64 = 3;

/// What one tick found of the scheduled types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissedReport {
    pub scheduled: usize,
    pub judged: usize,
    /// Types with a missed due time and no start since.
    pub overdue: usize,
    /// Of those, past their escalation: they page no more until they start.
    pub stopped_paging: usize,
    pub muted: usize,
}

/// The types due a judgement at `now`: the scheduled ones with a due time whose grace ran out in
/// the last [`CATCH_UP_MS`], and those with an open incident (scheduled still or not).
pub fn types_to_judge(
    watched: &BTreeMap<TaskType, Watched<'_>>,
    open: &HashMap<TaskType, MissedIncident>,
    now: EpochMs,
) -> Vec<TaskType> {
    let due = watched.iter().filter(|(_, schedule)| {
        let grace = schedule.grace_ms();
        !schedule.due_times(now - CATCH_UP_MS - grace, now - grace).is_empty()
    });
    let mut judged: Vec<TaskType> = due.map(|(task, _)| task.clone()).chain(open.keys().cloned()).collect();
    judged.sort();
    judged.dedup();
    judged
}

/// Every type watched for missed starts, by the schedule it is judged by: its declaration, else
/// its learned schedule (a type declared unscheduled is not watched).
fn watched_types<'a>(
    learned: &'a BTreeMap<TaskType, Schedule>,
    declared: &'a BTreeMap<TaskType, Declaration>,
) -> BTreeMap<TaskType, Watched<'a>> {
    let names: std::collections::BTreeSet<&TaskType> = learned.keys().chain(declared.keys()).collect();
    names
        .into_iter()
        .filter_map(|task| watched(learned.get(task), declared.get(task)).map(|w| (task.clone(), w)))
        .collect()
}

/// Keeps a type's latest open incident, should two ever be open (an earlier "resolved" still
/// being claimed).
fn keep_latest(open: &mut HashMap<TaskType, MissedIncident>, incident: MissedIncident) {
    if open.get(&incident.task_type).is_none_or(|o| o.first_due < incident.first_due) {
        open.insert(incident.task_type.clone(), incident);
    }
}

/// The learned and the declared schedules; `None` when a read failed (then nothing is judged:
/// a declaration might silence a type, or replace its learned schedule).
async fn read_schedules<S: ScheduleStore>(
    stats: &S,
    report: &mut CheckReport,
) -> Option<(BTreeMap<TaskType, Schedule>, BTreeMap<TaskType, Declaration>)> {
    let learned = match stats.stored_schedules().await {
        Ok(listing) => {
            report.malformed_items += crate::check::log_malformed(&listing.malformed);
            listing.items.into_iter().collect()
        }
        Err(error) => {
            report.failure("cannot read the schedules; no missed start is judged", &error);
            return None;
        }
    };
    let declared = match stats.declared_schedules().await {
        Ok(listing) => {
            report.malformed_items += crate::check::log_malformed(&listing.malformed);
            listing.items.into_iter().collect()
        }
        Err(error) => {
            report.failure("cannot read the declared schedules; no missed start is judged", &error);
            return None;
        }
    };
    Some((learned, declared))
}

/// Judges the scheduled types and sends what they owe.
pub async fn watch_schedules<S, O, N>(
    now: EpochMs,
    stats: &S,
    outbox: &O,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) where
    S: ScheduleStore + LimitStore,
    O: Outbox,
    N: Notifier,
{
    let Some((learned, declared)) = read_schedules(stats, report).await else { return };
    let schedules = watched_types(&learned, &declared);
    let incidents = match outbox.missed_incidents().await {
        Ok(listing) => {
            report.malformed_items += crate::check::log_malformed(&listing.malformed);
            listing.items
        }
        Err(error) => {
            // Without them an open incident could be paged again as new: judge nothing.
            return report
                .failure("cannot list the missed-start incidents; no missed start is judged", &error);
        }
    };
    report.missed.scheduled = schedules.len();
    let mut open: HashMap<TaskType, MissedIncident> = HashMap::new();
    for incident in incidents {
        if incident.is_open() {
            keep_latest(&mut open, incident);
        } else {
            let key =
                MessageKey::Resumed { task_type: incident.task_type.clone(), first_due: incident.first_due };
            let sent = courier.resend_if_stale(&key, &incident.resumed).await;
            report.count(sent, |r| &mut r.resolved_published);
        }
    }
    // An operator declared the type unscheduled: its open incident ends there.
    for (task_type, declaration) in &declared {
        if let (&Declaration::Unscheduled { since }, Some(incident)) = (declaration, open.remove(task_type)) {
            let silenced =
                Resumption { first_due: incident.first_due, start: since, came: Came::Unscheduled };
            resolve(task_type, &silenced, &incident, courier, report).await;
        }
    }
    let judged = types_to_judge(&schedules, &open, now);
    report.missed.judged = judged.len();
    if judged.is_empty() {
        return;
    }
    let today = now.div_euclid(MS_PER_DAY);
    let dates: Vec<i64> = (today - START_DAYS + 1..=today).collect();
    let mut starts = match stats.starts_of(&judged, &dates).await {
        Ok(partial) => {
            report.malformed_items += crate::check::log_malformed(&partial.malformed);
            partial.items
        }
        Err(error) => return report.failure("cannot read the starts of the scheduled types due", &error),
    };
    let muted: HashMap<TaskType, bool> = match stats.task_limits(&judged).await {
        Ok(limits) => limits
            .items
            .into_iter()
            .map(|(task, limits)| (task, limits.task_override.is_some_and(|o| o.mutes_at(now))))
            .collect(),
        Err(error) => return report.failure("cannot read the scheduled types' overrides", &error),
    };
    for task_type in judged {
        let incident = open.get(&task_type);
        let Some(schedule) = schedules.get(&task_type) else {
            // Its schedule was dropped while its incident was open: the first start resolves it.
            let mut own = starts.remove(&task_type).unwrap_or_default();
            own.sort_unstable();
            if let (Some(incident), Some(again)) =
                (incident, incident.and_then(|i| watch::started_again(i.first_due, &own, now)))
            {
                resolve(&task_type, &again, incident, courier, report).await;
            }
            continue;
        };
        let mut own = starts.remove(&task_type).unwrap_or_default();
        own.sort_unstable();
        own.dedup();
        match watch::judge(schedule, &own, incident.map(|i| i.first_due), schedule.not_before(), now) {
            Standing::OnTime => {}
            Standing::Missed(missed) => {
                report.missed.overdue += 1;
                if missed.has_stopped_paging() {
                    report.missed.stopped_paging += 1;
                }
                let muted = muted.get(&task_type).copied().unwrap_or(false);
                if muted {
                    report.missed.muted += 1;
                }
                let words = schedule.words();
                page(&task_type, &missed, &words, incident, muted, now, courier, report).await;
            }
            Standing::Resumed(resumed) => {
                if let Some(incident) = incident {
                    resolve(&task_type, &resumed, incident, courier, report).await;
                }
            }
        }
    }
}

/// A scheduled type with a missed due time and no start since, as the checker judges it now.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub task_type: TaskType,
    pub missed: MissedStarts,
    pub words: ScheduleWords,
    /// Its incident's messages, when one is open.
    pub incident: Option<MissedIncident>,
    pub muted: bool,
}

/// Every overdue type at `now` (for `overrun status`): the checker's reads for every scheduled
/// type, not only those due, and its judgement.
pub async fn overdue_types<S, O>(stats: &S, outbox: &O, now: EpochMs) -> Result<Listing<Overdue>, StoreError>
where
    S: ScheduleStore + LimitStore,
    O: Outbox,
{
    let mut listing: Listing<Overdue> = Listing::default();
    let learned = stats.stored_schedules().await?;
    let declared = stats.declared_schedules().await?;
    let incidents = outbox.missed_incidents().await?;
    listing
        .malformed
        .extend(learned.malformed.into_iter().chain(declared.malformed).chain(incidents.malformed));
    let learned: BTreeMap<TaskType, Schedule> = learned.items.into_iter().collect();
    let declared: BTreeMap<TaskType, Declaration> = declared.items.into_iter().collect();
    let mut open: HashMap<TaskType, MissedIncident> = HashMap::new();
    incidents.items.into_iter().filter(MissedIncident::is_open).for_each(|i| keep_latest(&mut open, i));
    let schedules = watched_types(&learned, &declared);
    let types: Vec<TaskType> = schedules.keys().cloned().collect();
    if types.is_empty() {
        return Ok(listing);
    }
    let today = now.div_euclid(MS_PER_DAY);
    let dates: Vec<i64> = (today - START_DAYS + 1..=today).collect();
    let mut starts = stats.starts_of(&types, &dates).await?;
    listing.malformed.append(&mut starts.malformed);
    let limits = stats.task_limits(&types).await?;
    for (task_type, schedule) in &schedules {
        let mut own = starts.items.remove(task_type).unwrap_or_default();
        own.sort_unstable();
        own.dedup();
        let incident = open.get(task_type);
        if let Standing::Missed(missed) =
            watch::judge(schedule, &own, incident.map(|i| i.first_due), schedule.not_before(), now)
        {
            let muted =
                limits.items.get(task_type).and_then(|l| l.task_override).is_some_and(|o| o.mutes_at(now));
            listing.items.push(Overdue {
                task_type: task_type.clone(),
                missed,
                words: schedule.words(),
                incident: incident.cloned(),
                muted,
            });
        }
    }
    Ok(listing)
}

/// The incident's alerts owed at `missed.level()`: the warning, then the critical. A muted type
/// gets no new one; one already claimed is still delivered.
#[allow(clippy::too_many_arguments)]
async fn page<O: Outbox, N: Notifier>(
    task_type: &TaskType,
    missed: &MissedStarts,
    words: &ScheduleWords,
    incident: Option<&MissedIncident>,
    muted: bool,
    now: EpochMs,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    let levels: &[Level] = if missed.level() == Level::Critical {
        &[Level::Warning, Level::Critical]
    } else {
        &[Level::Warning]
    };
    for &level in levels {
        let key = MessageKey::Missed { task_type: task_type.clone(), first_due: missed.first_due, level };
        let state = incident.map_or(&DeliveryState::Unclaimed, |i| i.alert_state(level));
        let sent = match state {
            DeliveryState::Delivered => continue,
            DeliveryState::Unclaimed if muted => continue,
            DeliveryState::Unclaimed => {
                // The message at its own level: a warning sent late says one due time.
                let at_level = MissedStarts {
                    missed: if level == Level::Warning { 1 } else { missed.missed },
                    ..missed.clone()
                };
                courier.send_new(&key, &missed_notification(task_type, &at_level, words, now)).await
            }
            pending => courier.resend_if_stale(&key, pending).await,
        };
        report.count(sent, |r| &mut r.missed_published);
    }
}

/// The incident's "resolved", once one of its alerts went out (an alert still owed goes first).
async fn resolve<O: Outbox, N: Notifier>(
    task_type: &TaskType,
    resumed: &Resumption,
    incident: &MissedIncident,
    courier: &Courier<'_, O, N>,
    report: &mut CheckReport,
) {
    let alerts: Vec<(MessageKey, &DeliveryState)> = [Level::Warning, Level::Critical]
        .into_iter()
        .map(|level| {
            let key =
                MessageKey::Missed { task_type: task_type.clone(), first_due: incident.first_due, level };
            (key, incident.alert_state(level))
        })
        .collect();
    if !alerts_delivered_first(&alerts, courier, report).await {
        return;
    }
    let key = MessageKey::Resumed { task_type: task_type.clone(), first_due: incident.first_due };
    let sent = courier.send_new(&key, &resumed_notification(task_type, resumed, courier.now())).await;
    report.count(sent, |r| &mut r.resolved_published);
}

#[cfg(test)]
mod tests {
    use overrun_core::notify::delivery::LEASE_MS;
    use overrun_core::ports::{RunRecorder, ScheduleStore};
    use overrun_core::schedule::{ScheduleChange, Weekdays};
    use overrun_core::time::TickInterval;
    use overrun_core::{BaselinePolicy, detect::check::CheckSettings};

    use super::*;
    use crate::check::{CheckPorts, Tick, handle};
    use crate::memory::MemoryNotifier;
    use crate::memory_store::MemoryStore;
    use crate::test_support::*;

    /// "export" runs daily at 02:00 UTC, within 30 minutes.
    const DUE: EpochMs = T0 + 2 * HOUR;

    struct World {
        store: MemoryStore,
        notifier: MemoryNotifier,
        settings: CheckSettings,
        policy: BaselinePolicy,
    }

    impl World {
        async fn new() -> Self {
            let world = Self {
                store: store(),
                notifier: MemoryNotifier::default(),
                settings: CheckSettings::default(),
                policy: policy(),
            };
            let schedule = Schedule {
                period_ms: DAY,
                offsets_ms: vec![2 * HOUR],
                weekdays: Weekdays::EVERY_DAY,
                grace_ms: 30 * MINUTE,
                early_ms: 2 * MINUTE,
                typical_lateness_ms: 3 * MINUTE,
                largest_lateness_ms: 20 * MINUTE,
                evidence: 14,
            };
            world
                .store
                .apply_schedule_changes(&[ScheduleChange::Set(task("export"), schedule)])
                .await
                .unwrap();
            world.start("yesterday", DUE - DAY + 4 * MINUTE).await;
            world
        }

        async fn start(&self, run_id: &str, at: EpochMs) {
            self.store.record_start(&started("export", run_id, at)).await.unwrap();
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

        /// Every 10-minute tick in `[from, to)`.
        async fn ticks(&self, from: EpochMs, to: EpochMs) {
            let ticks = TickInterval::default();
            let mut at = ticks.first_tick_at_or_after(from);
            while at < to {
                let report = self.tick("checker", at).await;
                assert!(!report.failed(), "{report:?}");
                at += ticks.as_ms();
            }
        }

        fn sent(&self) -> Vec<String> {
            self.notifier.alert_ids()
        }
    }

    #[tokio::test]
    async fn a_type_that_stops_starting_is_warned_once_escalated_once_then_left_quiet() {
        let world = World::new().await;
        world.ticks(T0, T0 + 5 * DAY).await;
        assert_eq!(
            world.sent(),
            ["export/missed-20241004T0200Z/warning", "export/missed-20241004T0200Z/critical"],
            "one incident, escalated at the second due time, nothing after"
        );
        let report = world.tick("checker", T0 + 5 * DAY).await;
        assert_eq!((report.missed.overdue, report.missed.stopped_paging), (1, 1));
    }

    #[tokio::test]
    async fn a_start_within_its_grace_keeps_the_type_quiet() {
        let world = World::new().await;
        world.start("today", DUE + 25 * MINUTE).await;
        world.ticks(T0, DUE + 12 * HOUR).await;
        assert!(world.sent().is_empty(), "{:?}", world.sent());
    }

    #[tokio::test]
    async fn a_late_start_resolves_the_missed_alert_saying_how_late_it_came() {
        let world = World::new().await;
        world.ticks(T0, DUE + 50 * MINUTE).await;
        world.start("today", DUE + 55 * MINUTE).await;
        world.ticks(DUE + 50 * MINUTE, DUE + DAY).await;
        let subjects = world.notifier.subjects();
        assert_eq!(subjects.len(), 2, "{subjects:?}");
        assert_eq!(subjects[1], "[Overrun resolved] export started 55m 00s late");
        assert_eq!(world.sent()[1], "export/missed-20241004T0200Z/resolved");
    }

    #[tokio::test]
    async fn the_next_slots_start_resolves_an_escalated_incident_saying_the_missed_run_never_came() {
        let world = World::new().await;
        world.ticks(T0, DUE + DAY + HOUR).await;
        world.start("day-after", DUE + 2 * DAY + MINUTE).await;
        world.ticks(DUE + DAY + HOUR, DUE + 3 * DAY).await;
        let subjects = world.notifier.subjects();
        assert_eq!(subjects.len(), 3, "{subjects:?}");
        assert!(subjects[2].contains("its run due 2024-10-04 02:00 UTC never came"), "{}", subjects[2]);
    }

    #[tokio::test]
    async fn a_missed_alert_whose_sender_crashed_after_claiming_is_sent_once_its_lease_runs_out() {
        let world = World::new().await;
        world.store.outbox().crash_after_claim(1);
        let first = DUE + 30 * MINUTE;
        let report = world.tick("crashed", first).await;
        assert!(report.failed());
        assert!(world.sent().is_empty());
        world.tick("later", first + LEASE_MS - 1).await;
        assert!(world.sent().is_empty(), "within the lease");
        world.tick("later", first + LEASE_MS).await;
        assert_eq!(world.sent(), ["export/missed-20241004T0200Z/warning"]);
    }

    #[tokio::test]
    async fn two_checkers_racing_page_a_missed_start_once() {
        let world = World::new().await;
        let at = DUE + 30 * MINUTE;
        let (a, b) = tokio::join!(world.tick("a", at), world.tick("b", at));
        assert!(!a.failed() && !b.failed());
        assert_eq!(world.sent(), ["export/missed-20241004T0200Z/warning"]);
    }

    #[tokio::test]
    async fn a_muted_type_is_not_paged_for_a_missed_start() {
        let world = World::new().await;
        set_override(
            &world.store,
            "export",
            overrun_core::detect::overrides::Override::muted_until(T0 + 3 * DAY),
        )
        .await;
        world.ticks(T0, T0 + 2 * DAY).await;
        assert!(world.sent().is_empty(), "{:?}", world.sent());
        let report = world.tick("checker", DUE + DAY + 40 * MINUTE).await;
        assert_eq!((report.missed.overdue, report.missed.muted), (1, 1));
    }

    #[tokio::test]
    async fn a_failed_publish_of_a_missed_alert_is_sent_again_at_the_next_tick() {
        let world = World::new().await;
        world.notifier.fail_next(1);
        let report = world.tick("checker", DUE + 30 * MINUTE).await;
        assert_eq!(report.publish_failures, 1);
        world.tick("checker", DUE + 40 * MINUTE).await;
        assert_eq!(world.sent(), ["export/missed-20241004T0200Z/warning"]);
    }

    async fn declare(world: &World, declaration: Option<Declaration>) {
        world.store.declare_schedule(&task("export"), declaration.as_ref()).await.unwrap();
    }

    #[tokio::test]
    async fn a_declared_schedule_replaces_the_learned_one_from_when_it_was_declared() {
        use overrun_core::schedule::declared::{Declared, Zone};
        let world = World::new().await;
        world.start("today", DUE + MINUTE).await;
        let at_six = Declared::new("0 6 * * *", Zone::utc(), 15 * MINUTE, T0 + 3 * HOUR).unwrap();
        declare(&world, Some(Declaration::Scheduled(Box::new(at_six)))).await;
        world.ticks(T0 + 3 * HOUR, T0 + DAY).await;
        assert_eq!(world.sent(), ["export/missed-20241004T0600Z/warning"]);
        let subject = &world.notifier.subjects()[0];
        assert_eq!(subject, "[Overrun WARNING] export did not start: due 2024-10-04 06:00 UTC");
        assert!(
            world.notifier.published()[0].sms.contains("declared as 0 6 * * *"),
            "{:?}",
            world.notifier.published()
        );
    }

    #[tokio::test]
    async fn declaring_a_type_unscheduled_silences_it_and_ends_its_open_incident() {
        let world = World::new().await;
        world.ticks(T0, DUE + HOUR).await;
        assert_eq!(world.sent(), ["export/missed-20241004T0200Z/warning"]);
        declare(&world, Some(Declaration::Unscheduled { since: DUE + HOUR })).await;
        world.ticks(DUE + HOUR, DUE + 3 * DAY).await;
        assert_eq!(world.sent().len(), 2, "{:?}", world.sent());
        assert_eq!(
            world.notifier.subjects()[1],
            "[Overrun resolved] export is no longer expected: declared unscheduled"
        );
        declare(&world, None).await;
        world.ticks(DUE + 3 * DAY, DUE + 3 * DAY + 2 * HOUR).await;
        assert_eq!(world.sent().len(), 3, "cleared, the learned schedule applies again: {:?}", world.sent());
    }
}
