//! One contract for every store: each case below is one generic test body, run against the
//! in-memory stores (`overrun_app::memory_store::MemoryStore`, what the use cases' unit tests
//! and the deployed-path equivalence test use) and against the DynamoDB adapters on the local
//! endpoint, through the real SDK. Every port method is exercised, and every decision of the
//! recording rule (`overrun_core::recording`): starts, finishes, conflicting finishes, a start
//! after its finish, counting once, claims, lease take-overs, lost answers, releases, deliveries,
//! and the races both stores can be driven into.
//!
//! A case is named as a sentence; each runs twice, as `CASE::in_memory` and `CASE::on_dynamodb`.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use overrun_app::memory_store::MemoryStore;
use overrun_aws::{DynamoOutbox, DynamoRunStore, DynamoStatsStore};
use overrun_core::detect::cohort::FinishedMember;
use overrun_core::detect::overrides::Override;
use overrun_core::detect::overrides::OverrideParts;
use overrun_core::limits::nightly::{
    BaselineChange, FinishedRun, NightBaseline, aggregate_day, aggregate_day_by_season,
};
use overrun_core::limits::season::{Season, SeasonLimits, SeasonMode, SeasonRule, SeasonalLimits};
use overrun_core::limits::window::Outlier;
use overrun_core::notify::delivery::{DeliveryState, Lease, MessageKey};
use overrun_core::notify::message::Notification;
use overrun_core::ports::{
    BaselineStore, ClaimKind, Claimed, CohortStore, DayStore, FinishConflict, FinishedRuns, LimitStore,
    Outbox, OverrideStore, RunFinished, RunRecorder, RunStarted, RunningRuns, ScheduleStore,
};
use overrun_core::stats::histogram::DurationHistogram;
use overrun_core::{
    Baseline, BaselinePolicy, CohortId, EpochMs, Level, RecentRuns, RunId, RunStatus, TaskType,
};
use overrun_integration_tests::Stack;

/// The stores under test: the runs table's, the stats table's and the outbox's ports.
trait Stores: Sync {
    type Runs: RunRecorder + RunningRuns + FinishedRuns + Sync;
    type Stats: DayStore + BaselineStore + LimitStore + OverrideStore + CohortStore + ScheduleStore + Sync;
    type Outbox: Outbox + Sync;
    fn runs(&self) -> &Self::Runs;
    fn stats(&self) -> &Self::Stats;
    fn outbox(&self) -> &Self::Outbox;
    fn policy(&self) -> BaselinePolicy;
}

struct Memory(MemoryStore);

impl Stores for Memory {
    type Runs = MemoryStore;
    type Stats = MemoryStore;
    type Outbox = MemoryStore;
    fn runs(&self) -> &MemoryStore {
        &self.0
    }
    fn stats(&self) -> &MemoryStore {
        &self.0
    }
    fn outbox(&self) -> &MemoryStore {
        &self.0
    }
    fn policy(&self) -> BaselinePolicy {
        BaselinePolicy::default()
    }
}

struct Dynamo(Stack);

impl Stores for Dynamo {
    type Runs = DynamoRunStore;
    type Stats = DynamoStatsStore;
    type Outbox = DynamoOutbox;
    fn runs(&self) -> &DynamoRunStore {
        &self.0.adapters.runs
    }
    fn stats(&self) -> &DynamoStatsStore {
        &self.0.adapters.stats
    }
    fn outbox(&self) -> &DynamoOutbox {
        &self.0.adapters.outbox
    }
    fn policy(&self) -> BaselinePolicy {
        self.0.config.policy
    }
}

/// The in-memory stores with the deployed defaults (the policy, its method's recent runs).
fn memory() -> Memory {
    let policy = BaselinePolicy::default();
    let store = MemoryStore::new(policy, RecentRuns::default_for(policy.method()).count);
    Memory(store.with_seasons(SeasonRule::default()))
}

/// New tables on the local endpoint, with the deployed defaults.
async fn dynamodb() -> Dynamo {
    Dynamo(Stack::new().await)
}

macro_rules! contract {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn in_memory() {
                super::$case(&super::memory()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_dynamodb() {
                super::$case(&super::dynamodb().await).await;
            }
        }
    )*};
}

contract!(
    a_start_lists_the_run_as_running_with_its_cohort,
    a_redelivered_start_keeps_the_first_start,
    a_succeeded_finish_ends_the_run_and_counts_it_once_for_its_day,
    a_contradicting_finish_changes_nothing_and_names_the_finish_kept,
    a_start_after_its_finish_completes_the_run_without_listing_it_running,
    a_failed_run_is_never_counted,
    starts_record_their_types_latest_succeeded_runs_newest_first,
    an_alerted_run_is_owed_its_resolved_once_it_finishes_until_that_is_delivered,
    an_alert_is_never_first_claimed_after_its_run_finished,
    a_resolved_is_never_claimed_before_its_run_is_flagged,
    a_claim_is_its_owners_until_taken_over_as_exactly_that_stale_claim,
    a_claim_whose_answer_was_lost_is_won_again_by_the_same_lease,
    only_the_owner_releases_a_claim_and_a_delivered_one_stays_delivered,
    a_warned_run_is_told_apart_in_its_days_runs,
    an_undelivered_too_short_notice_is_listed_until_delivered,
    two_racing_claims_of_one_message_are_won_once,
    two_racing_deliveries_of_one_finish_count_it_once,
    days_baselines_overrides_and_cohorts_read_back_as_written,
    seasons_read_back_as_written_and_starts_record_their_seasons_recent_runs,
    a_start_after_its_ids_run_finished_is_a_new_attempt_that_runs_alerts_and_counts,
    a_redelivered_start_of_an_earlier_attempt_changes_nothing,
    a_start_inside_a_finished_attempt_is_refused_and_nothing_is_written,
    a_finish_carrying_a_start_after_the_last_attempt_is_a_new_finished_attempt,
    a_numbered_attempt_is_recorded_on_its_own_item,
    every_start_is_noted_once_by_its_utc_date_for_the_schedule_learner,
    learned_schedules_read_back_as_written_and_go_when_removed,
    the_starts_of_chosen_types_and_dates_are_read_alone,
    a_missed_start_incident_is_listed_until_its_resolved_is_delivered,
    no_missed_start_alert_is_first_claimed_after_its_incidents_resolved,
    declared_schedules_read_back_as_declared_and_go_when_cleared,
    a_home_run_id_spelling_an_origin_and_that_origins_runs_are_attempts_of_neither,
);

fn now() -> EpochMs {
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is past 1970").as_millis();
    // A whole minute, two days back: every time below is inside the retention and in the past.
    (i64::try_from(ms).expect("a 2020s clock") / 60_000) * 60_000 - 2 * 86_400_000
}

fn task(name: &str) -> TaskType {
    TaskType::new(name).expect("a valid task type")
}

fn run(name: &str) -> RunId {
    RunId::new(name).expect("a valid run id")
}

fn started(task_type: &str, run_id: &str, start: EpochMs) -> RunStarted {
    RunStarted { task_type: task(task_type), run_id: run(run_id), numbered: false, start, cohort: None }
}

fn finished(
    task_type: &str,
    run_id: &str,
    start: Option<EpochMs>,
    end: EpochMs,
    status: RunStatus,
) -> RunFinished {
    RunFinished {
        task_type: task(task_type),
        run_id: run(run_id),
        numbered: false,
        start,
        end,
        status,
        cohort: None,
    }
}

fn message(subject: &str) -> Notification {
    Notification {
        subject: subject.into(),
        default: format!("{{\"subject\":\"{subject}\"}}"),
        email: subject.into(),
        sms: subject.into(),
        severity: "warning".into(),
        kind: "alert".into(),
        task_type: "etl".into(),
        alert_id: format!("etl/{subject}/warning"),
        // Kept with the claim, so a retried message still carries where its run ran.
        account: Some("111111111111".into()),
    }
}

fn alert(task_type: &str, run_id: &str, level: Level) -> MessageKey {
    MessageKey::Alert { task_type: task(task_type), run_id: run(run_id), level }
}

fn lease(owner: &str, claimed_at: EpochMs) -> Lease {
    Lease { owner: owner.into(), claimed_at }
}

async fn running_ids(stores: &impl Stores) -> Vec<String> {
    let listing = stores.runs().list_running().await.expect("listing running runs");
    assert!(listing.malformed.is_empty(), "{:?}", listing.malformed);
    let mut ids: Vec<String> = listing.items.iter().map(|r| r.run_id.as_str().to_owned()).collect();
    ids.sort();
    ids
}

async fn day_runs(stores: &impl Stores, end: EpochMs) -> Vec<FinishedRun> {
    let day = stores.policy().bucket_of_end(end);
    let listing = stores.runs().finished_runs_of_day(day).await.expect("listing a day's runs");
    assert!(listing.malformed.is_empty(), "{:?}", listing.malformed);
    listing.items
}

async fn finished_count(stores: &impl Stores, end: EpochMs) -> u64 {
    let day = stores.policy().bucket_of_end(end);
    let statuses = stores.stats().day_statuses(&[day]).await.expect("reading day statuses");
    statuses[0].finished
}

async fn a_start_lists_the_run_as_running_with_its_cohort(stores: &impl Stores) {
    let t = now();
    let mut start = started("etl", "r1", t);
    start.cohort = Some(CohortId::new("build-7").unwrap());
    let recorded = stores.runs().record_start(&start).await.unwrap();
    assert_eq!((recorded.counted, recorded.late_start, recorded.completed), (false, false, None));
    let mut listing = stores.runs().list_running().await.unwrap().items;
    assert_eq!(listing.len(), 1);
    assert_eq!(
        (listing[0].task_type.as_str(), listing[0].run_id.as_str(), listing[0].start),
        ("etl", "r1", t)
    );
    assert_eq!(listing[0].alerted, Default::default());
    let malformed = stores.runs().fill_details(&mut listing).await.unwrap();
    assert!(malformed.is_empty());
    assert_eq!(listing[0].cohort.as_ref().map(CohortId::as_str), Some("build-7"));
}

async fn a_redelivered_start_keeps_the_first_start(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    stores.runs().record_start(&started("etl", "r1", t + 5_000)).await.unwrap();
    let listing = stores.runs().list_running().await.unwrap().items;
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].start, t, "the first start stands");
}

async fn a_succeeded_finish_ends_the_run_and_counts_it_once_for_its_day(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let finish = finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded);
    let first = stores.runs().record_finish(&finish).await.unwrap();
    assert!(first.counted);
    assert_eq!(first.completed, Some((t, t + 60_000)));
    let again = stores.runs().record_finish(&finish).await.unwrap();
    assert!(!again.counted, "a redelivered finish is not counted again");
    assert_eq!(again.completed, Some((t, t + 60_000)), "but it is still complete, for its notice");
    assert_eq!(again.conflict, None);
    assert!(running_ids(stores).await.is_empty());
    let runs = day_runs(stores, t + 60_000).await;
    assert_eq!(
        runs,
        vec![FinishedRun { task_type: task("etl"), start: t, duration_ms: 60_000, warned: false }]
    );
    assert_eq!(finished_count(stores, t + 60_000).await, 1);
}

async fn a_contradicting_finish_changes_nothing_and_names_the_finish_kept(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    stores
        .runs()
        .record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded))
        .await
        .unwrap();
    let contradicting = finished("etl", "r1", None, t + 90_000, RunStatus::Failed);
    let recorded = stores.runs().record_finish(&contradicting).await.unwrap();
    let kept = FinishConflict { kept_end: t + 60_000, kept_status: RunStatus::Succeeded };
    assert_eq!(recorded.conflict, Some(kept));
    assert!(!recorded.counted);
    let kept = day_runs(stores, t + 60_000).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].duration_ms, 60_000, "the first finish's end stands");
    assert_eq!(finished_count(stores, t + 60_000).await, 1);
    let first = finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded);
    let redelivered = stores.runs().record_finish(&first).await.unwrap();
    assert_eq!(redelivered.conflict, None, "the first finish itself is no conflict");
}

async fn a_start_after_its_finish_completes_the_run_without_listing_it_running(stores: &impl Stores) {
    let t = now();
    let early =
        stores.runs().record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded)).await;
    assert!(!early.unwrap().counted, "no start yet: not complete");
    let late = stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    assert!(late.late_start);
    assert!(late.counted);
    assert_eq!(late.completed, Some((t, t + 60_000)));
    assert!(running_ids(stores).await.is_empty());
    assert_eq!(day_runs(stores, t + 60_000).await.len(), 1);
}

async fn a_failed_run_is_never_counted(stores: &impl Stores) {
    let t = now();
    let recorded = stores
        .runs()
        .record_finish(&finished("etl", "r1", Some(t), t + 60_000, RunStatus::Failed))
        .await
        .unwrap();
    assert_eq!((recorded.counted, recorded.completed), (false, None));
    assert!(day_runs(stores, t + 60_000).await.is_empty());
    assert_eq!(finished_count(stores, t + 60_000).await, 0);
}

async fn starts_record_their_types_latest_succeeded_runs_newest_first(stores: &impl Stores) {
    let t = now();
    for (i, minutes) in [10, 20, 30, 40].into_iter().enumerate() {
        let start = t + i as i64 * 3_600_000;
        let id = format!("done-{i}");
        stores.runs().record_start(&started("etl", &id, start)).await.unwrap();
        let end = start + minutes * 60_000;
        stores.runs().record_finish(&finished("etl", &id, None, end, RunStatus::Succeeded)).await.unwrap();
    }
    stores
        .runs()
        .record_finish(&finished("other", "x", Some(t), t + 1_000, RunStatus::Succeeded))
        .await
        .unwrap();
    let start = t + 5 * 3_600_000;
    stores.runs().record_start(&started("etl", "new", start)).await.unwrap();
    stores.runs().record_start(&started("etl", "new", start + 1)).await.unwrap();
    let mut listing = stores.runs().list_running().await.unwrap().items;
    stores.runs().fill_details(&mut listing).await.unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(listing[0].recent_ms, vec![2_400_000, 1_800_000, 1_200_000], "the latest three, newest first");
}

async fn claim_alert_while_running(
    stores: &impl Stores,
    run_id: &str,
    level: Level,
    owner: &str,
    at: EpochMs,
) {
    let claimed = stores
        .outbox()
        .claim(&alert("etl", run_id, level), &lease(owner, at), ClaimKind::Fresh(&message(run_id)))
        .await;
    assert_eq!(claimed.unwrap(), Claimed::Won(message(run_id)));
}

async fn an_alerted_run_is_owed_its_resolved_once_it_finishes_until_that_is_delivered(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    claim_alert_while_running(stores, "r1", Level::Warning, "checker-1", t + 600_000).await;
    let key = alert("etl", "r1", Level::Warning);
    stores.outbox().mark_delivered(&key, t + 601_000).await.unwrap();
    let listing = stores.runs().list_running().await.unwrap().items;
    assert!(listing[0].alerted.contains(Level::Warning), "a delivered alert is not raised again");
    assert!(stores.runs().list_pending_resolutions().await.unwrap().items.is_empty(), "still running");

    let recorded = stores
        .runs()
        .record_finish(&finished("etl", "r1", None, t + 900_000, RunStatus::Succeeded))
        .await
        .unwrap();
    assert!(recorded.resolution_pending);
    let pending = stores.runs().list_pending_resolutions().await.unwrap().items;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0].resolution.end, pending[0].resolution.status),
        (t + 900_000, RunStatus::Succeeded)
    );
    assert!(pending[0].alerts.contains(&(Level::Warning, DeliveryState::Delivered)));
    assert!(pending[0].alerts.contains(&(Level::Critical, DeliveryState::Unclaimed)));
    assert_eq!(pending[0].resolved, DeliveryState::Unclaimed);

    let resolved = MessageKey::Resolved { task_type: task("etl"), run_id: run("r1") };
    let claimed = stores
        .outbox()
        .claim(&resolved, &lease("checker-2", t + 1_200_000), ClaimKind::Fresh(&message("ok")))
        .await
        .unwrap();
    assert_eq!(claimed, Claimed::Won(message("ok")));
    stores.outbox().mark_delivered(&resolved, t + 1_201_000).await.unwrap();
    assert!(stores.runs().list_pending_resolutions().await.unwrap().items.is_empty());
    let redelivered = finished("etl", "r1", None, t + 900_000, RunStatus::Succeeded);
    assert!(!stores.runs().record_finish(&redelivered).await.unwrap().resolution_pending, "resolved already");
}

async fn an_alert_is_never_first_claimed_after_its_run_finished(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    stores.runs().record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Failed)).await.unwrap();
    let key = alert("etl", "r1", Level::Warning);
    let claimed = stores
        .outbox()
        .claim(&key, &lease("late", t + 600_000), ClaimKind::Fresh(&message("r1")))
        .await
        .unwrap();
    assert_eq!(claimed, Claimed::Held(DeliveryState::Unclaimed));
    let never_started = alert("etl", "ghost", Level::Warning);
    let claimed = stores
        .outbox()
        .claim(&never_started, &lease("late", t), ClaimKind::Fresh(&message("ghost")))
        .await
        .unwrap();
    assert_eq!(claimed, Claimed::Held(DeliveryState::Unclaimed));
}

async fn a_resolved_is_never_claimed_before_its_run_is_flagged(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let resolved = MessageKey::Resolved { task_type: task("etl"), run_id: run("r1") };
    let claimed =
        stores.outbox().claim(&resolved, &lease("early", t), ClaimKind::Fresh(&message("ok"))).await.unwrap();
    assert_eq!(claimed, Claimed::Held(DeliveryState::Unclaimed));
}

async fn a_claim_is_its_owners_until_taken_over_as_exactly_that_stale_claim(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let key = alert("etl", "r1", Level::Critical);
    let first = lease("crashed", t + 600_000);
    claim_alert_while_running(stores, "r1", Level::Critical, "crashed", t + 600_000).await;
    let other = stores
        .outbox()
        .claim(&key, &lease("other", t + 601_000), ClaimKind::Fresh(&message("other")))
        .await
        .unwrap();
    assert_eq!(other, Claimed::Held(DeliveryState::Pending(first.clone())));
    let wrong_stale = lease("someone", t + 600_000);
    let taken = stores
        .outbox()
        .claim(&key, &lease("next", t + 1_200_000), ClaimKind::TakeOver(&wrong_stale))
        .await
        .unwrap();
    assert_eq!(taken, Claimed::Held(DeliveryState::Pending(first.clone())));
    let next = lease("next", t + 1_200_000);
    let taken = stores.outbox().claim(&key, &next, ClaimKind::TakeOver(&first)).await.unwrap();
    assert_eq!(taken, Claimed::Won(message("r1")), "the very message stored with the first claim");
    let listing = stores.runs().list_running().await.unwrap().items;
    assert_eq!(listing[0].undelivered, vec![(Level::Critical, next)]);
}

async fn a_claim_whose_answer_was_lost_is_won_again_by_the_same_lease(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    claim_alert_while_running(stores, "r1", Level::Warning, "checker-1", t + 600_000).await;
    claim_alert_while_running(stores, "r1", Level::Warning, "checker-1", t + 600_000).await;
}

async fn only_the_owner_releases_a_claim_and_a_delivered_one_stays_delivered(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let key = alert("etl", "r1", Level::Warning);
    claim_alert_while_running(stores, "r1", Level::Warning, "owner", t + 600_000).await;
    stores.outbox().release(&key, "stranger").await.unwrap();
    let undelivered = stores.runs().list_running().await.unwrap().items.remove(0).undelivered;
    assert_eq!(undelivered, vec![(Level::Warning, lease("owner", t + 600_000))]);
    stores.outbox().release(&key, "owner").await.unwrap();
    let undelivered = stores.runs().list_running().await.unwrap().items.remove(0).undelivered;
    assert_eq!(undelivered, vec![(Level::Warning, lease("owner", Lease::RELEASED))]);
    assert!(undelivered[0].1.has_expired(t), "released: the next attempt takes it over at once");
    let released = lease("owner", Lease::RELEASED);
    let taken = stores
        .outbox()
        .claim(&key, &lease("next", t + 601_000), ClaimKind::TakeOver(&released))
        .await
        .unwrap();
    assert_eq!(taken, Claimed::Won(message("r1")));
    stores.outbox().mark_delivered(&key, t + 602_000).await.unwrap();
    stores.outbox().release(&key, "next").await.unwrap();
    let run = stores.runs().list_running().await.unwrap().items.remove(0);
    assert!(run.undelivered.is_empty() && run.alerted.contains(Level::Warning), "delivered stays delivered");
}

async fn a_warned_run_is_told_apart_in_its_days_runs(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "slow", t)).await.unwrap();
    stores.runs().record_start(&started("etl", "fine", t)).await.unwrap();
    claim_alert_while_running(stores, "slow", Level::Warning, "checker", t + 600_000).await;
    let end = t + 900_000;
    for id in ["slow", "fine"] {
        stores.runs().record_finish(&finished("etl", id, None, end, RunStatus::Succeeded)).await.unwrap();
    }
    let mut warned: Vec<bool> = day_runs(stores, end).await.iter().map(|r| r.warned).collect();
    warned.sort();
    assert_eq!(warned, vec![false, true]);
}

async fn an_undelivered_too_short_notice_is_listed_until_delivered(stores: &impl Stores) {
    let t = now();
    let day = stores.policy().bucket_of_end(t);
    let key = MessageKey::TooShort { task_type: task("etl"), day };
    let notice = lease("ingest-1", t);
    let claimed = stores.outbox().claim(&key, &notice, ClaimKind::Fresh(&message("short"))).await.unwrap();
    assert_eq!(claimed, Claimed::Won(message("short")));
    let again = stores
        .outbox()
        .claim(&key, &lease("ingest-2", t + 1), ClaimKind::Fresh(&message("short")))
        .await
        .unwrap();
    assert_eq!(again, Claimed::Held(DeliveryState::Pending(notice.clone())), "one a type and day");
    let listed = stores.outbox().undelivered_notices(&[day, day + 1]).await.unwrap();
    assert_eq!(listed.items, vec![(key.clone(), notice)]);
    stores.outbox().mark_delivered(&key, t + 2).await.unwrap();
    assert!(stores.outbox().undelivered_notices(&[day]).await.unwrap().items.is_empty());
}

async fn two_racing_claims_of_one_message_are_won_once(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let key = alert("etl", "r1", Level::Warning);
    let (a, b) = (lease("checker-a", t + 600_000), lease("checker-b", t + 600_001));
    let (message_a, message_b) = (message("a"), message("b"));
    let (first, second) = tokio::join!(
        stores.outbox().claim(&key, &a, ClaimKind::Fresh(&message_a)),
        stores.outbox().claim(&key, &b, ClaimKind::Fresh(&message_b)),
    );
    let won = [first.unwrap(), second.unwrap()].into_iter().filter(|c| matches!(c, Claimed::Won(_))).count();
    assert_eq!(won, 1);
}

async fn two_racing_deliveries_of_one_finish_count_it_once(stores: &impl Stores) {
    let t = now();
    stores.runs().record_start(&started("etl", "r1", t)).await.unwrap();
    let finish = finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded);
    let (first, second) =
        tokio::join!(stores.runs().record_finish(&finish), stores.runs().record_finish(&finish));
    let counted = [first.unwrap(), second.unwrap()].into_iter().filter(|r| r.counted).count();
    assert_eq!(counted, 1);
    assert_eq!(finished_count(stores, t + 60_000).await, 1);
}

async fn days_baselines_overrides_and_cohorts_read_back_as_written(stores: &impl Stores) {
    let t = now();
    let day = stores.policy().bucket_of_end(t);
    let runs = [60_000, 61_000, 59_000].map(|duration_ms| FinishedRun {
        task_type: task("etl"),
        start: t,
        duration_ms,
        warned: false,
    });
    let aggregates = aggregate_day(runs);
    stores.stats().write_day(day, &aggregates, 3).await.unwrap();
    assert_eq!(stores.stats().day_statuses(&[day]).await.unwrap()[0].rolled_up, Some(3));
    let read: BTreeMap<_, _> = stores.stats().read_day(day).await.unwrap().items.into_iter().collect();
    assert_eq!(read, aggregates);
    assert_eq!(read[&task("etl")].longest_ms, vec![61_000, 60_000], "the day's two longest, exactly");

    let outlier = Outlier { duration_ms: 2_592_000_000, next_longest_ms: 61_000 };
    let with_outlier = Baseline {
        n: 3,
        expected_ms: 60_000.0,
        sigma_ms: 1_000.0,
        upper_ms: 62_000.0,
        computed_at: t,
        outlier: Some(outlier),
    };
    let night = NightBaseline { baseline: with_outlier, window: None, seasons: None };
    let set =
        [BaselineChange::Set(task("etl"), night.clone()), BaselineChange::Set(task("gone"), night.clone())];
    stores.stats().apply_baseline_changes(&set, "tailored").await.unwrap();
    stores.stats().apply_baseline_changes(&[BaselineChange::Remove(task("gone"))], "seed").await.unwrap();
    let stored = stores.stats().stored_baselines().await.unwrap().items;
    assert_eq!(stored, vec![(task("etl"), night)], "the outlier kept out reads back with its baseline");
    // The next night's window holds no outlier: the baseline written then has none.
    let baseline = Baseline { outlier: None, ..with_outlier };
    let night = NightBaseline { baseline, window: None, seasons: None };
    stores
        .stats()
        .apply_baseline_changes(&[BaselineChange::Set(task("etl"), night.clone())], "seed")
        .await
        .unwrap();
    let stored = stores.stats().stored_baselines().await.unwrap().items;
    assert_eq!(stored, vec![(task("etl"), night)]);

    let task_override =
        Override::new(OverrideParts { limit_ms: Some(90_000.0), ..Default::default() }).unwrap();
    stores.stats().set_override(&task("manual"), &task_override).await.unwrap();
    let limits = stores.stats().task_limits(&[task("etl"), task("manual"), task("unknown")]).await.unwrap();
    assert_eq!(limits.items.len(), 2, "a type with neither baseline nor override has no limits");
    assert_eq!(limits.items[&task("etl")].baseline, Some(baseline));
    assert_eq!(limits.items[&task("manual")].task_override, Some(task_override));

    let cohort = CohortId::new("build-1").unwrap();
    let member = FinishedMember { task_type: task("etl"), duration_ms: 60_000 };
    for _ in 0..2 {
        stores.stats().add_cohort_member(&cohort, &run("r1"), &member, t + 86_400_000).await.unwrap();
    }
    let members =
        stores.stats().cohort_members(&[cohort.clone(), CohortId::new("empty").unwrap()]).await.unwrap();
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[&cohort], vec![member], "recorded again, changed nothing");
}

/// Noon of the latest Saturday (UTC) at least a week before [`now`].
fn a_saturday_noon() -> EpochMs {
    let day = now().div_euclid(86_400_000) - 7;
    // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays, 5 on Saturdays.
    let saturday = day - (day + 3 - 5).rem_euclid(7);
    saturday * 86_400_000 + 12 * 3_600_000
}

async fn seasons_read_back_as_written_and_starts_record_their_seasons_recent_runs(stores: &impl Stores) {
    let saturday = a_saturday_noon();
    assert_eq!(SeasonRule::default().season_of(saturday), Season::Weekend);
    let hour = 3_600_000;
    // Friday's, Saturday's and Monday's runs, then a start on Sunday and one on Tuesday.
    for (id, start, minutes) in
        [("fri", saturday - 24 * hour, 30), ("sat", saturday, 5), ("mon", saturday + 48 * hour, 31)]
    {
        stores.runs().record_start(&started("etl", id, start)).await.unwrap();
        let end = start + minutes * 60_000;
        stores.runs().record_finish(&finished("etl", id, None, end, RunStatus::Succeeded)).await.unwrap();
    }
    stores.runs().record_start(&started("etl", "sun", saturday + 24 * hour)).await.unwrap();
    stores.runs().record_start(&started("etl", "tue", saturday + 72 * hour)).await.unwrap();
    let mut listing = stores.runs().list_running().await.unwrap().items;
    stores.runs().fill_details(&mut listing).await.unwrap();
    listing.sort_by_key(|run| run.start);
    let recent: Vec<(&str, Vec<u64>, Vec<u64>)> = listing
        .iter()
        .map(|run| (run.run_id.as_str(), run.recent_ms.clone(), run.season_recent_ms.clone()))
        .collect();
    assert_eq!(
        recent,
        vec![
            ("sun", vec![300_000, 1_800_000], vec![300_000]),
            ("tue", vec![1_860_000, 300_000, 1_800_000], vec![1_860_000, 1_800_000]),
        ],
        "every run, and its own season's, newest first"
    );

    let rule = SeasonRule::default();
    let runs = [
        ("fri", saturday - 24 * hour, 60_000, false),
        ("sat", saturday, 61_000, false),
        ("sat2", saturday, 90_000, true),
    ]
    .map(|(_, start, duration_ms, warned)| FinishedRun {
        task_type: task("etl"),
        start,
        duration_ms,
        warned,
    });
    let day = stores.policy().bucket_of_end(saturday);
    let aggregates = aggregate_day_by_season(runs, Some(&rule));
    assert!(!aggregates[&task("etl")].lacks_seasons());
    stores.stats().write_day(day, &aggregates, 3).await.unwrap();
    let read: BTreeMap<_, _> = stores.stats().read_day(day).await.unwrap().items.into_iter().collect();
    assert_eq!(read, aggregates, "each season's runs, warned ones and log moments read back exactly");

    let baseline = Baseline {
        n: 30,
        expected_ms: 60_000.0,
        sigma_ms: 1_000.0,
        upper_ms: 62_000.0,
        computed_at: saturday,
        outlier: None,
    };
    let weekend = SeasonLimits {
        baseline: Some(Baseline { expected_ms: 6_000.0, upper_ms: 7_000.0, n: 12, ..baseline }),
        window: DurationHistogram::from_bins([(7, 12)]),
    };
    let seasons = SeasonalLimits { evidence: 41.5, seasons: [SeasonLimits::default(), weekend] };
    let night = NightBaseline { baseline, window: None, seasons: Some(seasons.clone()) };
    stores
        .stats()
        .apply_baseline_changes(&[BaselineChange::Set(task("etl"), night.clone())], "tailored")
        .await
        .unwrap();
    assert_eq!(stores.stats().stored_baselines().await.unwrap().items, vec![(task("etl"), night)]);
    let forced =
        Override::new(OverrideParts { seasons: Some(SeasonMode::Plain), ..Default::default() }).unwrap();
    stores.stats().set_override(&task("etl"), &forced).await.unwrap();
    let limits = stores.stats().task_limits(&[task("etl")]).await.unwrap().items;
    assert_eq!(limits[&task("etl")].seasons, Some(seasons), "a season without a baseline reads back as one");
    assert_eq!(limits[&task("etl")].task_override, Some(forced));

    let plain = NightBaseline { baseline, window: None, seasons: None };
    stores
        .stats()
        .apply_baseline_changes(&[BaselineChange::Set(task("etl"), plain.clone())], "tailored")
        .await
        .unwrap();
    assert_eq!(
        stores.stats().stored_baselines().await.unwrap().items,
        vec![(task("etl"), plain)],
        "seasons gone"
    );
}

/// The adapters' errors keep their kind, read from what the local endpoint really answered.
mod errors_from_the_local_endpoint {
    use overrun_aws::{Adapters, CallLimits};
    use overrun_core::ports::{RunningRuns, StoreErrorKind};
    use overrun_integration_tests::{Stack, sdk_config_at, unique};

    #[tokio::test]
    async fn swapped_table_names_are_a_wrong_table_shape() {
        let stack = Stack::new().await;
        let mut swapped = stack.config.clone();
        std::mem::swap(&mut swapped.runs_table, &mut swapped.stats_table);
        let adapters = Adapters::new(&stack.sdk, &swapped);
        let error = adapters.runs.list_running().await.expect_err("the stats table has no running index");
        assert_eq!(error.kind(), Some(StoreErrorKind::WrongTableShape), "{error}");
    }

    #[tokio::test]
    async fn a_table_that_does_not_exist_is_no_such_table_with_the_services_code() {
        let stack = Stack::new().await;
        let mut missing = stack.config.clone();
        missing.runs_table = unique("missing");
        let adapters = Adapters::new(&stack.sdk, &missing);
        let error = adapters.runs.list_running().await.expect_err("no such table");
        assert_eq!(error.kind(), Some(StoreErrorKind::NoSuchTable), "{error}");
        let overrun_core::ports::StoreError::Service { code, source, .. } = &error else { panic!("{error}") };
        assert_eq!(code.as_deref(), Some("ResourceNotFoundException"));
        assert!(source.is_some(), "the SDK's error is kept as the source");
    }

    #[tokio::test]
    async fn an_endpoint_nobody_answers_is_unreachable() {
        let stack = Stack::new().await;
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", closed.local_addr().unwrap());
        drop(closed);
        let millis = std::time::Duration::from_millis;
        let limits = CallLimits {
            connect: millis(200),
            attempt: millis(500),
            operation: millis(1_000),
            max_attempts: 2,
            initial_backoff: millis(1),
        };
        let adapters = Adapters::new(&sdk_config_at(&url, limits).await, &stack.config);
        let error = adapters.runs.list_running().await.expect_err("nothing listens there");
        assert_eq!(error.kind(), Some(StoreErrorKind::Unreachable), "{error}");
    }
}

fn attempt(n: u32) -> overrun_core::Attempt {
    overrun_core::Attempt::new(n).expect("an attempt number")
}

/// The run ids listed running, with their attempts.
/// Two accounts' runs and a home run whose id happens to read as the other account's origin:
/// each finish and re-run finds its own attempts only.
async fn a_home_run_id_spelling_an_origin_and_that_origins_runs_are_attempts_of_neither(
    stores: &impl Stores,
) {
    let t = now();
    let runs = stores.runs();
    let origin: overrun_core::Origin = "210987654321.us-east-1".parse().unwrap();
    let foreign = |id: &str, at: EpochMs| RunStarted {
        run_id: run(id).from_origin(Some(origin.clone())),
        ..started("etl", id, at)
    };
    runs.record_start(&foreign("x", t)).await.unwrap();
    runs.record_start(&started("etl", "210987654321.us-east-1", t)).await.unwrap();
    let home_done = finished("etl", "210987654321.us-east-1", None, t + 60_000, RunStatus::Succeeded);
    assert_eq!(runs.record_finish(&home_done).await.unwrap().attempt, attempt(1));
    // A re-run known only by its finish is the home id's attempt 2, not the end of the foreign
    // run still running (its key lies between the home id's attempts).
    let rerun =
        finished("etl", "210987654321.us-east-1", Some(t + 120_000), t + 180_000, RunStatus::Succeeded);
    let recorded = runs.record_finish(&rerun).await.unwrap();
    assert_eq!((recorded.attempt, recorded.conflict), (attempt(2), None));
    assert_eq!(running_attempts(stores).await, ["x (account 210987654321, us-east-1)"]);
}

async fn running_attempts(stores: &impl Stores) -> Vec<String> {
    let listing = stores.runs().list_running().await.expect("listing running runs");
    assert!(listing.malformed.is_empty(), "{:?}", listing.malformed);
    let mut ids: Vec<String> = listing.items.iter().map(|r| r.run_id.to_string()).collect();
    ids.sort();
    ids
}

async fn a_start_after_its_ids_run_finished_is_a_new_attempt_that_runs_alerts_and_counts(
    stores: &impl Stores,
) {
    let t = now();
    let runs = stores.runs();
    runs.record_start(&started("etl", "nightly-2025-01-31", t)).await.unwrap();
    let failed = finished("etl", "nightly-2025-01-31", None, t + 60_000, RunStatus::Failed);
    assert_eq!(runs.record_finish(&failed).await.unwrap().attempt, attempt(1));

    let rerun = runs.record_start(&started("etl", "nightly-2025-01-31", t + 120_000)).await.unwrap();
    assert_eq!((rerun.attempt, rerun.late_start, rerun.refused), (attempt(2), false, None));
    assert_eq!(running_attempts(stores).await, ["nightly-2025-01-31 (attempt 2)"]);
    let listing = runs.list_running().await.unwrap().items;
    assert_eq!(listing[0].start, t + 120_000);

    let second = run("nightly-2025-01-31").at_attempt(attempt(2));
    let key = MessageKey::Alert { task_type: task("etl"), run_id: second.clone(), level: Level::Warning };
    let claimed = stores
        .outbox()
        .claim(&key, &lease("checker-1", t + 600_000), ClaimKind::Fresh(&message("late")))
        .await
        .unwrap();
    assert_eq!(claimed, Claimed::Won(message("late")), "the re-run's alert is its own");
    stores.outbox().mark_delivered(&key, t + 601_000).await.unwrap();

    let done = finished("etl", "nightly-2025-01-31", None, t + 900_000, RunStatus::Succeeded);
    let recorded = runs.record_finish(&done).await.unwrap();
    assert_eq!((recorded.attempt, recorded.conflict), (attempt(2), None), "not a conflict with attempt 1");
    assert!(recorded.counted && recorded.resolution_pending);
    assert_eq!(recorded.completed, Some((t + 120_000, t + 900_000)));
    assert!(running_attempts(stores).await.is_empty());
    let pending = runs.list_pending_resolutions().await.unwrap().items;
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].resolution.run_id, second);
    assert_eq!(day_runs(stores, t + 900_000).await.len(), 1, "the failed first attempt is not counted");

    let third = runs.record_start(&started("etl", "nightly-2025-01-31", t + 86_400_000)).await.unwrap();
    assert_eq!(third.attempt, attempt(3), "a day later, again");
}

async fn a_redelivered_start_of_an_earlier_attempt_changes_nothing(stores: &impl Stores) {
    let t = now();
    let runs = stores.runs();
    runs.record_start(&started("etl", "r1", t)).await.unwrap();
    runs.record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Failed)).await.unwrap();
    runs.record_start(&started("etl", "r1", t + 120_000)).await.unwrap();
    let again = runs.record_start(&started("etl", "r1", t)).await.unwrap();
    assert_eq!((again.attempt, again.refused), (attempt(1), None));
    let again = runs.record_start(&started("etl", "r1", t + 120_000)).await.unwrap();
    assert_eq!(again.attempt, attempt(2));
    assert_eq!(running_attempts(stores).await, ["r1 (attempt 2)"], "no third attempt, attempt 1 still over");
}

async fn a_start_inside_a_finished_attempt_is_refused_and_nothing_is_written(stores: &impl Stores) {
    let t = now();
    let runs = stores.runs();
    runs.record_start(&started("etl", "r1", t)).await.unwrap();
    runs.record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Succeeded)).await.unwrap();
    let refused = runs.record_start(&started("etl", "r1", t + 30_000)).await.unwrap();
    let refusal = refused.refused.expect("refused");
    assert_eq!((refusal.attempt, refusal.recorded_start, refusal.end), (attempt(1), t, t + 60_000));
    assert!(running_attempts(stores).await.is_empty());
    assert_eq!(day_runs(stores, t + 60_000).await[0].duration_ms, 60_000);
}

async fn a_finish_carrying_a_start_after_the_last_attempt_is_a_new_finished_attempt(stores: &impl Stores) {
    let t = now();
    let runs = stores.runs();
    runs.record_finish(&finished("etl", "r1", Some(t), t + 60_000, RunStatus::Succeeded)).await.unwrap();
    let rerun = finished("etl", "r1", Some(t + 3_600_000), t + 3_660_000, RunStatus::Succeeded);
    let recorded = runs.record_finish(&rerun).await.unwrap();
    assert_eq!((recorded.attempt, recorded.conflict, recorded.counted), (attempt(2), None, true));
    let late = runs.record_start(&started("etl", "r1", t + 3_600_000)).await.unwrap();
    assert_eq!((late.attempt, late.counted), (attempt(2), false), "its start, late, changes nothing");
    assert!(running_attempts(stores).await.is_empty());
    let (first_day, second_day) =
        (stores.policy().bucket_of_end(t + 60_000), stores.policy().bucket_of_end(t + 3_660_000));
    let counted = if first_day == second_day {
        finished_count(stores, t + 60_000).await
    } else {
        finished_count(stores, t + 60_000).await + finished_count(stores, t + 3_660_000).await
    };
    assert_eq!(counted, 2, "both attempts counted, once each");
}

async fn a_numbered_attempt_is_recorded_on_its_own_item(stores: &impl Stores) {
    let t = now();
    let runs = stores.runs();
    runs.record_start(&started("sfn", "exec-1", t)).await.unwrap();
    let redriven = RunStarted {
        run_id: run("exec-1").at_attempt(attempt(3)),
        numbered: true,
        ..started("sfn", "exec-1", t + 5_000)
    };
    assert_eq!(runs.record_start(&redriven).await.unwrap().attempt, attempt(3));
    assert_eq!(runs.record_start(&redriven).await.unwrap().attempt, attempt(3), "redelivered");
    assert_eq!(running_attempts(stores).await, ["exec-1", "exec-1 (attempt 3)"]);
    let done = RunFinished {
        run_id: run("exec-1").at_attempt(attempt(3)),
        numbered: true,
        ..finished("sfn", "exec-1", Some(t + 5_000), t + 65_000, RunStatus::Succeeded)
    };
    let recorded = runs.record_finish(&done).await.unwrap();
    assert_eq!((recorded.attempt, recorded.completed), (attempt(3), Some((t + 5_000, t + 65_000))));
    assert_eq!(running_attempts(stores).await, ["exec-1"]);
}

async fn every_start_is_noted_once_by_its_utc_date_for_the_schedule_learner(stores: &impl Stores) {
    let t = now();
    let runs = stores.runs();
    runs.record_start(&started("etl", "r1", t)).await.unwrap();
    runs.record_start(&started("etl", "r1", t)).await.unwrap();
    runs.record_finish(&finished("etl", "r1", None, t + 60_000, RunStatus::Failed)).await.unwrap();
    // A re-run under the same id, and a start whose finish came first: each noted.
    runs.record_start(&started("etl", "r1", t + 120_000)).await.unwrap();
    runs.record_finish(&finished("etl", "r2", None, t + 300_000, RunStatus::Succeeded)).await.unwrap();
    runs.record_start(&started("etl", "r2", t + 200_000)).await.unwrap();
    // A finish that brings a run's only start (its start event lost, or a history loaded).
    let only_finish = finished("etl", "r4", Some(t + 600_000), t + 660_000, RunStatus::Succeeded);
    runs.record_finish(&only_finish).await.unwrap();
    runs.record_finish(&only_finish).await.unwrap();
    // A refused start is not.
    runs.record_start(&started("etl", "r3", t + 400_000)).await.unwrap();
    runs.record_finish(&finished("etl", "r3", None, t + 500_000, RunStatus::Failed)).await.unwrap();
    assert!(runs.record_start(&started("etl", "r3", t + 450_000)).await.unwrap().refused.is_some());
    runs.record_start(&started("other", "o1", t - 86_400_000)).await.unwrap();
    let today = t.div_euclid(86_400_000);
    let listing = stores.stats().starts_on(&[today]).await.unwrap();
    assert!(listing.malformed.is_empty(), "{:?}", listing.malformed);
    let mut etl = listing.items.iter().find(|(task_type, _)| task_type.as_str() == "etl").unwrap().1.clone();
    etl.sort_unstable();
    let expected: Vec<EpochMs> = vec![t, t + 120_000, t + 200_000, t + 400_000, t + 600_000]
        .into_iter()
        .filter(|s| s.div_euclid(86_400_000) == today)
        .collect();
    assert_eq!(etl, expected);
    let yesterday = stores.stats().starts_on(&[today - 1, today]).await.unwrap().items;
    assert!(
        yesterday
            .iter()
            .any(|(task_type, starts)| task_type.as_str() == "other" && starts == &[t - 86_400_000])
    );
}

async fn learned_schedules_read_back_as_written_and_go_when_removed(stores: &impl Stores) {
    use overrun_core::schedule::{Schedule, ScheduleChange, Weekdays};
    let daily = Schedule {
        period_ms: 86_400_000,
        offsets_ms: vec![7_800_000, 50_400_000],
        weekdays: Weekdays::MONDAY_TO_FRIDAY,
        grace_ms: 900_000,
        early_ms: 300_000,
        typical_lateness_ms: 2_000,
        largest_lateness_ms: 240_000,
        evidence: 31,
    };
    let stats = stores.stats();
    let changes =
        [ScheduleChange::Set(task("etl"), daily.clone()), ScheduleChange::Set(task("other"), daily.clone())];
    stats.apply_schedule_changes(&changes).await.unwrap();
    let stored = stats.stored_schedules().await.unwrap();
    assert!(stored.malformed.is_empty(), "{:?}", stored.malformed);
    assert_eq!(stored.items, vec![(task("etl"), daily.clone()), (task("other"), daily.clone())]);
    stats.apply_schedule_changes(&[ScheduleChange::Remove(task("other"))]).await.unwrap();
    assert_eq!(stats.stored_schedules().await.unwrap().items, vec![(task("etl"), daily)]);
}

async fn the_starts_of_chosen_types_and_dates_are_read_alone(stores: &impl Stores) {
    let t = now();
    let today = t.div_euclid(86_400_000);
    for (task_type, at) in [("etl", t), ("etl", t - 86_400_000), ("other", t), ("etl", t - 3 * 86_400_000)] {
        stores.runs().record_start(&started(task_type, &format!("r{at}"), at)).await.unwrap();
    }
    let read = stores.stats().starts_of(&[task("etl"), task("absent")], &[today - 1, today]).await.unwrap();
    assert!(read.malformed.is_empty(), "{:?}", read.malformed);
    let mut etl = read.items.get(&task("etl")).cloned().unwrap_or_default();
    etl.sort_unstable();
    assert_eq!(etl, vec![t - 86_400_000, t]);
    assert_eq!(read.items.len(), 1, "only the types asked for: {:?}", read.items);
}

fn missed(task_type: &str, first_due: EpochMs, level: Level) -> MessageKey {
    MessageKey::Missed { task_type: task(task_type), first_due, level }
}

async fn a_missed_start_incident_is_listed_until_its_resolved_is_delivered(stores: &impl Stores) {
    let t = now();
    let outbox = stores.outbox();
    let resumed = MessageKey::Resumed { task_type: task("a/b"), first_due: t };
    let early =
        outbox.claim(&resumed, &lease("checker-0", t), ClaimKind::Fresh(&message("r"))).await.unwrap();
    assert_eq!(early, Claimed::Held(DeliveryState::Unclaimed), "no resolved before an alert");
    let warning = missed("a/b", t, Level::Warning);
    let first = lease("checker-1", t + 1);
    let won = outbox.claim(&warning, &first, ClaimKind::Fresh(&message("missed"))).await.unwrap();
    assert_eq!(won, Claimed::Won(message("missed")));
    let listed = outbox.missed_incidents().await.unwrap();
    assert!(listed.malformed.is_empty(), "{:?}", listed.malformed);
    let incident = listed.items.iter().find(|i| i.task_type == task("a/b")).unwrap();
    assert_eq!((incident.first_due, &incident.warning), (t, &DeliveryState::Pending(first)));
    assert!(incident.is_open() && incident.critical == DeliveryState::Unclaimed);
    outbox.mark_delivered(&warning, t + 2).await.unwrap();
    let critical = missed("a/b", t, Level::Critical);
    outbox.claim(&critical, &lease("checker-2", t + 3), ClaimKind::Fresh(&message("again"))).await.unwrap();
    outbox.mark_delivered(&critical, t + 4).await.unwrap();
    let listed = outbox.missed_incidents().await.unwrap().items;
    let incident = listed.iter().find(|i| i.task_type == task("a/b")).unwrap();
    assert_eq!(
        (&incident.warning, &incident.critical),
        (&DeliveryState::Delivered, &DeliveryState::Delivered)
    );
    let closing = lease("checker-3", t + 5);
    let won = outbox.claim(&resumed, &closing, ClaimKind::Fresh(&message("resolved"))).await.unwrap();
    assert_eq!(won, Claimed::Won(message("resolved")));
    let listed = outbox.missed_incidents().await.unwrap().items;
    let incident = listed.iter().find(|i| i.task_type == task("a/b")).unwrap();
    assert!(!incident.is_open(), "a resolved claimed ends the incident");
    outbox.mark_delivered(&resumed, t + 6).await.unwrap();
    let listed = outbox.missed_incidents().await.unwrap().items;
    assert!(listed.iter().all(|i| i.task_type != task("a/b")), "{listed:?}");
}

async fn no_missed_start_alert_is_first_claimed_after_its_incidents_resolved(stores: &impl Stores) {
    let t = now();
    let outbox = stores.outbox();
    outbox
        .claim(&missed("etl", t, Level::Warning), &lease("a", t), ClaimKind::Fresh(&message("w")))
        .await
        .unwrap();
    outbox.mark_delivered(&missed("etl", t, Level::Warning), t + 1).await.unwrap();
    let resumed = MessageKey::Resumed { task_type: task("etl"), first_due: t };
    outbox.claim(&resumed, &lease("b", t + 2), ClaimKind::Fresh(&message("r"))).await.unwrap();
    // A tick that judged the type before its start came, claiming the escalation late.
    let late = outbox
        .claim(&missed("etl", t, Level::Critical), &lease("c", t + 3), ClaimKind::Fresh(&message("c")))
        .await
        .unwrap();
    assert_eq!(late, Claimed::Held(DeliveryState::Unclaimed));
}

async fn declared_schedules_read_back_as_declared_and_go_when_cleared(stores: &impl Stores) {
    use overrun_core::schedule::declared::{Declared, Zone};
    use overrun_core::schedule::watched::Declaration;
    let t = now();
    let paris = Zone::named("Europe/Paris").unwrap();
    let weekdays = Declaration::Scheduled(Box::new(
        Declared::new("cron(30 6 ? * MON-FRI *)", paris, 1_200_000, t).unwrap(),
    ));
    let silenced = Declaration::Unscheduled { since: t + 1 };
    let stats = stores.stats();
    stats.declare_schedule(&task("export"), Some(&weekdays)).await.unwrap();
    stats.declare_schedule(&task("adhoc"), Some(&silenced)).await.unwrap();
    let listed = stats.declared_schedules().await.unwrap();
    assert!(listed.malformed.is_empty(), "{:?}", listed.malformed);
    assert_eq!(listed.items, vec![(task("adhoc"), silenced.clone()), (task("export"), weekdays)]);
    stats.declare_schedule(&task("export"), None).await.unwrap();
    assert_eq!(stats.declared_schedules().await.unwrap().items, vec![(task("adhoc"), silenced)]);
}
