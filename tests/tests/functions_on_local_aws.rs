//! The three functions' handlers with the real adapters, through the real SDK over HTTP, against
//! the local AWS endpoint (moto) that scripts/test.sh starts.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use overrun_core::check::CheckSettings;
use overrun_core::moments::WindowStats;
use overrun_core::nightly::{FinishedRun, NightBaseline};
use overrun_core::ports::{RunStore, StatsStore};
use overrun_core::time::{MS_PER_DAY, MS_PER_HOUR};
use overrun_core::{Moments, TaskType};
use overrun_ingest::{IngestOutcome, NoticeSettings, ShortNotice, handle as ingest, handle_and_notify};
use overrun_integration_tests::{Stack, task_event};
use serde_json::{Value, json};

const S: i64 = 1_000;
/// Night 20 000 (2024-10-04) at 00:00 UTC, and a checker time 12 hours later.
const NIGHT: i64 = 20_000 * MS_PER_DAY;
const NOON: i64 = NIGHT + 12 * MS_PER_HOUR;

async fn run(stack: &Stack, task: &str, id: &str, start: i64, end: i64, state: &str) {
    ingest(&task_event(task, id, "STARTED", start), &stack.adapters.runs).await.unwrap();
    ingest(&task_event(task, id, state, end), &stack.adapters.runs).await.unwrap();
}

/// The durations of [`etl_history`]'s runs, newest first.
fn etl_history_durations() -> Vec<u64> {
    (1..=10).map(|day| ((600 + 30 * (day % 10)) * S) as u64).collect()
}

/// Ten days of "etl" runs of 600..870 s, one a day, ending before `NIGHT`.
async fn etl_history(stack: &Stack) -> Vec<u64> {
    let durations = etl_history_durations();
    for (day, &duration) in (1..=10).zip(&durations) {
        let start = NIGHT - day * MS_PER_DAY + 2 * MS_PER_HOUR;
        run(stack, "etl", &format!("etl-{day}"), start, start + duration as i64, "SUCCEEDED").await;
    }
    durations
}

fn settings(stack: &Stack) -> CheckSettings {
    stack.config.check_settings()
}

async fn nightly(stack: &Stack, now: i64) -> overrun_baseline::NightlyReport {
    overrun_baseline::handle(
        now,
        &stack.config.policy,
        stack.config.exclusion_cap,
        &stack.adapters.runs,
        &stack.adapters.stats,
    )
    .await
    .unwrap()
}

async fn check(stack: &Stack, now: i64, claim: &str) -> overrun_checker::CheckReport {
    let notifier = stack.notifier();
    overrun_checker::handle(
        now,
        &settings(stack),
        claim,
        &stack.adapters.runs,
        &stack.adapters.stats,
        &notifier,
    )
    .await
    .unwrap()
}

fn message(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn ingested_start_and_finish_become_one_complete_run_and_duplicates_change_nothing() {
    let stack = Stack::new().await;
    let start = NIGHT - 5 * MS_PER_HOUR;
    let started = task_event("etl", "r1", "STARTED", start);
    let finished = task_event("etl", "r1", "SUCCEEDED", start + 900 * S);
    ingest(&started, &stack.adapters.runs).await.unwrap();
    assert_eq!(stack.adapters.runs.list_running().await.unwrap().items.len(), 1);
    let first = ingest(&finished, &stack.adapters.runs).await.unwrap();
    assert!(matches!(first, IngestOutcome::Finished(r) if r.counted));
    // Duplicates, in any order.
    let again = ingest(&finished, &stack.adapters.runs).await.unwrap();
    assert!(matches!(again, IngestOutcome::Finished(r) if !r.counted));
    ingest(&started, &stack.adapters.runs).await.unwrap();

    assert!(
        stack.adapters.runs.list_running().await.unwrap().items.is_empty(),
        "a late start does not revive it"
    );
    let runs = stack.scan(&stack.config.runs_table).await;
    assert_eq!(runs.len(), 1);
    let day = stack.config.policy.bucket_of_end(start + 900 * S);
    let statuses = stack.adapters.stats.day_statuses(&[day]).await.unwrap();
    assert_eq!(statuses[0].finished, 1, "counted once despite the duplicate");
    let listed = stack.adapters.runs.finished_runs_of_day(day).await.unwrap();
    let run = FinishedRun { task_type: TaskType::new("etl").unwrap(), duration_ms: 900_000, warned: false };
    assert_eq!(listed.items, vec![run]);
}

#[tokio::test]
async fn a_finish_delivered_before_its_start_still_completes_the_run() {
    let stack = Stack::new().await;
    let start = NIGHT - 5 * MS_PER_HOUR;
    ingest(&task_event("etl", "r1", "SUCCEEDED", start + 60 * S), &stack.adapters.runs).await.unwrap();
    let late = ingest(&task_event("etl", "r1", "STARTED", start), &stack.adapters.runs).await.unwrap();
    assert!(matches!(late, IngestOutcome::Started(r) if r.late_start && r.counted), "{late:?}");
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty());
    let day = stack.config.policy.bucket_of_end(start + 60 * S);
    assert_eq!(stack.adapters.stats.day_statuses(&[day]).await.unwrap()[0].finished, 1);
}

#[tokio::test]
async fn step_functions_and_batch_events_are_recorded_as_runs() {
    let stack = Stack::new().await;
    let sfn = |status: &str, stop: Value| {
        json!({"detail-type": "Step Functions Execution Status Change", "source": "aws.states", "time": "2024-10-03T00:00:00Z",
               "detail": {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:etl-machine:exec-1",
                          "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:etl-machine",
                          "name": "exec-1", "status": status, "startDate": NIGHT - MS_PER_DAY, "stopDate": stop}})
    };
    ingest(&sfn("RUNNING", Value::Null), &stack.adapters.runs).await.unwrap();
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!((running[0].task_type.as_str(), running[0].run_id.as_str()), ("etl-machine", "exec-1"));
    ingest(&sfn("SUCCEEDED", json!(NIGHT - MS_PER_DAY + 3_600_000)), &stack.adapters.runs).await.unwrap();

    let batch = json!({"detail-type": "Batch Job State Change", "source": "aws.batch", "time": "2024-10-03T00:00:00Z",
        "detail": {"jobName": "export-1", "jobId": "job-9", "status": "FAILED", "startedAt": NIGHT - 10 * MS_PER_HOUR,
                   "stoppedAt": NIGHT - 9 * MS_PER_HOUR, "jobDefinition": "arn:aws:batch:us-east-1:123456789012:job-definition/export:3"}});
    ingest(&batch, &stack.adapters.runs).await.unwrap();
    let items = stack.scan(&stack.config.runs_table).await;
    let statuses: BTreeMap<String, String> = items
        .iter()
        .map(|i| (i["task_type"].as_s().unwrap().clone(), i["status"].as_s().unwrap().clone()))
        .collect();
    assert_eq!(statuses.get("etl-machine").map(String::as_str), Some("succeeded"));
    assert_eq!(statuses.get("export").map(String::as_str), Some("failed"));
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty());
}

#[tokio::test]
async fn malformed_events_fail_naming_the_field_and_write_nothing() {
    let stack = Stack::new().await;
    let cases = [
        (
            json!({"detail-type": "Task State Change", "detail": {"run_id": "r", "state": "STARTED", "time": 1}}),
            "detail.task_type: is missing",
        ),
        (
            json!({"detail-type": "Task State Change", "detail": {"task_type": "t", "run_id": "r", "state": "PAUSED", "time": 1}}),
            "detail.state",
        ),
        (
            json!({"detail-type": "Task State Change", "detail": {"task_type": "t", "run_id": "r", "state": "SUCCEEDED", "time": "later"}}),
            "detail.time",
        ),
        (
            json!({"detail-type": "Batch Job State Change", "detail": {"jobId": "j", "status": "RUNNING", "jobDefinition": "nope"}}),
            "detail.jobDefinition",
        ),
        (json!({"source": "x"}), "detail-type: is missing"),
    ];
    for (event, field) in cases {
        let error = ingest(&event, &stack.adapters.runs).await.unwrap_err().to_string();
        assert!(error.contains(field), "{error} should name {field}");
    }
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "no stray run items");
    assert!(stack.scan(&stack.config.stats_table).await.is_empty(), "no stray counters");
}

/// Sixteen days of three task types, three runs a day, plus a failed run of each and a run ending
/// exactly at `NIGHT`; returns the durations of each type's window for that night.
async fn sixteen_days_of_three_tasks(stack: &Stack) -> BTreeMap<&'static str, Vec<u64>> {
    let mut expected: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (t, task) in ["build", "test", "deploy"].into_iter().enumerate() {
        for day in 0..16i64 {
            for k in 0..3i64 {
                let start = NIGHT - (day + 1) * MS_PER_DAY + (k * 5 + t as i64) * MS_PER_HOUR;
                let duration = (300 + 37 * ((day * 7 + k * 13 + t as i64 * 5) % 23)) * S;
                run(stack, task, &format!("{task}-{day}-{k}"), start, start + duration, "SUCCEEDED").await;
                if start + duration >= NIGHT - 14 * MS_PER_DAY {
                    expected.entry(task).or_default().push(duration as u64);
                }
            }
        }
        // Failed runs never enter a baseline, however long.
        run(stack, task, &format!("{task}-failed"), NIGHT - 2 * MS_PER_DAY, NIGHT - MS_PER_DAY, "FAILED")
            .await;
    }
    // Ends exactly at the night: not in its window.
    run(stack, "build", "build-edge", NIGHT - 100 * S, NIGHT, "SUCCEEDED").await;
    expected
}

#[tokio::test]
async fn nightly_baselines_equal_the_core_computation_on_the_same_runs() {
    // The default method, tailored, from the window's histogram.
    let stack = Stack::new().await;
    let expected = sixteen_days_of_three_tasks(&stack).await;
    let report = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(report.days_rolled_up, 14, "the window's days, once each");
    let stored: BTreeMap<TaskType, _> =
        stack.adapters.stats.stored_baselines().await.unwrap().items.into_iter().collect();
    assert_eq!(stored.len(), 3);
    let policy = stack.config.policy;
    let night_start = policy.night_start(policy.night_at_or_before(NIGHT));
    for (task, durations) in &expected {
        let mut window = WindowStats::new(true);
        for &d in durations {
            window.push(d);
        }
        let core = policy.baseline_from(&window, night_start).unwrap();
        let stored = &stored[&TaskType::new(task).unwrap()];
        assert_eq!(stored.baseline, core, "{task}");
        assert_eq!(stored.window, window.histogram, "{task}: the window kept for each run's own limit");
    }

    // Guarded, from the window's moments.
    let guarded = Stack::with_env(&[("OVERRUN_METHOD", "guarded")]).await;
    sixteen_days_of_three_tasks(&guarded).await;
    nightly(&guarded, NIGHT + MS_PER_HOUR).await;
    let stored: BTreeMap<TaskType, _> =
        guarded.adapters.stats.stored_baselines().await.unwrap().items.into_iter().collect();
    let policy = guarded.config.policy;
    for (task, durations) in expected {
        let core = policy.baseline(&Moments::of(durations), night_start).unwrap();
        assert_eq!(stored[&TaskType::new(task).unwrap()].baseline, core, "guarded {task}");
        assert_eq!(stored[&TaskType::new(task).unwrap()].window, None, "guarded {task}: moments suffice");
    }
}

#[tokio::test]
async fn nightly_run_twice_writes_nothing_the_second_time_and_missed_nights_are_caught_up() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    // No nightly ran for ten days: the first one rolls up every day of its window.
    let first = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(first.days_rolled_up, 10);
    assert_eq!(first.baselines_written, 1);
    let before = stack.scan(&stack.config.stats_table).await;

    let second = nightly(&stack, NIGHT + 2 * MS_PER_HOUR).await;
    assert_eq!((second.days_rolled_up, second.baselines_written, second.baselines_removed), (0, 0, 0));
    let mut after = stack.scan(&stack.config.stats_table).await;
    let mut before = before;
    let key = |i: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
        format!("{:?}{:?}", i["pk"], i["sk"])
    };
    before.sort_by_key(key);
    after.sort_by_key(key);
    assert_eq!(before, after, "identical items after the second run");
}

#[tokio::test]
async fn a_late_run_for_a_rolled_up_day_is_included_the_next_night() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let start = NIGHT - 3 * MS_PER_DAY + 5 * MS_PER_HOUR;
    run(&stack, "etl", "etl-late", start, start + 5_000 * S, "SUCCEEDED").await;
    let next = nightly(&stack, NIGHT + MS_PER_DAY + MS_PER_HOUR).await;
    assert_eq!(next.days_rolled_up, 1, "only the day that changed");
    let stored = stack.adapters.stats.stored_baselines().await.unwrap().items;
    assert_eq!(stored[0].1.baseline.n, 11);
}

#[tokio::test]
async fn checker_publishes_an_alert_that_explains_itself_to_the_topic() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 2 * MS_PER_HOUR), &stack.adapters.runs)
        .await
        .unwrap();
    ingest(&task_event("etl", "fine", "STARTED", NOON - 60 * S), &stack.adapters.runs).await.unwrap();

    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!((report.runs_checked, report.alerts_published), (2, 2), "{report:?}");
    let received = stack.received().await;
    assert_eq!(received.len(), 2, "a warning and a critical for the slow run");
    let warning = received.iter().find(|e| e["MessageAttributes"]["severity"]["Value"] == "warning").unwrap();
    assert!(
        warning["Subject"].as_str().unwrap().starts_with("[Overrun WARNING] etl running 2h 00m"),
        "{warning}"
    );
    assert_eq!(warning["MessageAttributes"]["task_type"]["Value"], "etl");
    assert_eq!(warning["MessageAttributes"]["kind"]["Value"], "overrun");
    let body = message(warning);
    assert_eq!(body["run_id"], "slow");
    assert_eq!(body["elapsed_s"], 7200.0);
    assert_eq!(body["n"], 10.0);

    // The next tick sends nothing new.
    let again = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(again.alerts_published, 0);
    assert!(stack.received().await.is_empty());
}

#[tokio::test]
async fn checker_alerts_once_when_two_invocations_race() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();
    let (a, b) = tokio::join!(check(&stack, NOON, "invocation-a"), check(&stack, NOON, "invocation-b"));
    assert_eq!(a.alerts_published + b.alerts_published, 1, "{a:?} {b:?}");
    assert_eq!(a.claims_lost + b.claims_lost, 1);
    assert_eq!(stack.received().await.len(), 1, "exactly one message");
}

#[tokio::test]
async fn a_failed_publish_releases_the_claim_and_the_next_tick_retries() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    // At NOON it is past the warning limit (≈ 900 s with its recent runs, 953 s without) and, ten
    // minutes later, still short of the critical one (twice that): one alert to deliver.
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs).await.unwrap();
    let broken = stack.broken_notifier();
    let failed = overrun_checker::handle(
        NOON,
        &settings(&stack),
        "tick-1",
        &stack.adapters.runs,
        &stack.adapters.stats,
        &broken,
    )
    .await
    .unwrap();
    assert_eq!((failed.alerts_published, failed.publish_failures), (0, 1));
    assert!(stack.received().await.is_empty());
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert!(!running[0].alerted.contains(overrun_core::Level::Warning), "claim released");

    let retried = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(retried.alerts_published, 1);
    assert_eq!(stack.received().await.len(), 1);
}

#[tokio::test]
async fn a_resolved_message_follows_when_an_alerted_run_finishes() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let start = NOON - 1_500 * S;
    ingest(&task_event("etl", "slow", "STARTED", start), &stack.adapters.runs).await.unwrap();
    check(&stack, NOON, "tick-1").await;
    assert_eq!(stack.received().await.len(), 1);

    let finished =
        ingest(&task_event("etl", "slow", "FAILED", NOON + 300 * S), &stack.adapters.runs).await.unwrap();
    assert!(matches!(finished, IngestOutcome::Finished(r) if r.resolution_pending));
    let report = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(report.resolved_published, 1);
    let received = stack.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["MessageAttributes"]["kind"]["Value"], "resolved");
    assert_eq!(received[0]["Subject"], "[Overrun resolved] etl failed after 30m 00s");
    // Once only.
    assert_eq!(check(&stack, NOON + 1_200 * S, "tick-3").await.resolved_published, 0);
}

#[tokio::test]
async fn overrides_mute_a_task_type_or_fix_its_limit_and_the_alert_says_so() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let etl = TaskType::new("etl").unwrap();
    let stats = &stack.adapters.stats;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();

    let mute =
        overrun_core::overrides::Override { mute_until: Some(NOON + MS_PER_HOUR), ..Default::default() };
    stats.set_override(&etl, &mute).await.unwrap();
    let muted = check(&stack, NOON, "tick-1").await;
    assert_eq!((muted.muted, muted.alerts_published), (1, 0));

    let fixed = overrun_core::overrides::Override { limit_ms: Some(7_200_000.0), ..Default::default() };
    stats.set_override(&etl, &fixed).await.unwrap();
    assert_eq!(
        check(&stack, NOON + 600 * S, "tick-2").await.alerts_published,
        0,
        "30 min is within a 2 h limit"
    );
    let k = overrun_core::overrides::Override { k: Some(1.0), ..Default::default() };
    stats.set_override(&etl, &k).await.unwrap();
    check(&stack, NOON + 1_200 * S, "tick-3").await;
    let received = stack.received().await;
    let email_body = &received[0]["Message"];
    assert!(email_body.as_str().unwrap().contains("override: k = 1"), "{email_body}");
    // The nightly keeps the override when it rewrites the baseline.
    nightly(&stack, NIGHT + MS_PER_DAY + MS_PER_HOUR).await;
    let (limits, _) = stats.task_limits(std::slice::from_ref(&etl)).await.unwrap();
    assert_eq!(limits[&etl].task_override.unwrap().k, Some(1.0));
    assert!(limits[&etl].baseline.is_some());
}

#[tokio::test]
async fn a_malformed_table_item_is_reported_and_the_good_runs_are_still_checked() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();
    use aws_sdk_dynamodb::types::AttributeValue::S as Str;
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.config.runs_table)
        // A task type with a control character: no ingest writes one, but an operator could.
        .item("task_type", Str("etl\u{7}".into()))
        .item("run_id", Str("broken".into()))
        .item("running", Str("running".into()))
        .item("start_ms", aws_sdk_dynamodb::types::AttributeValue::N("0".into()))
        .send()
        .await
        .unwrap();
    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.malformed_items, 1, "{report:?}");
    assert!(report.alerts_published >= 1, "the good run still alerts: {report:?}");
}

#[tokio::test]
async fn checker_tick_stays_within_two_plus_two_per_hundred_running_plus_one_per_hundred_cohorts_plus_alerts_requests()
 {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let running = 250;
    for i in 0..running {
        let task = format!("task-{}", i % 120);
        // Builds of ten runs each.
        let mut started = task_event(&task, &format!("r{i}"), "STARTED", NOON - 60 * S);
        started["detail"]["cohort"] = json!(format!("build-{}", i / 10));
        ingest(&started, &stack.adapters.runs).await.unwrap();
    }
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();
    let before = stack.adapters.counters.snapshot();
    let report = check(&stack, NOON, "tick").await;
    let used = stack.adapters.counters.snapshot().since(&before);
    let alerts = report.alerts_published as u64;
    let cohorts = (running as u64).div_ceil(10);
    // Two queries; the running runs' items for their cohorts and their types' limits, a hundred
    // keys a call each; the cohorts' members; one claim per alert.
    let budget = 2 + 2 * (running as u64 + 1).div_ceil(100) + cohorts.div_ceil(100) + alerts;
    println!(
        "checker tick: {} running in {cohorts} cohorts, {alerts} alerts, {} DynamoDB requests (budget {budget})",
        running + 1,
        used.dynamodb_requests
    );
    assert_eq!(alerts, 1);
    assert!(used.dynamodb_requests <= budget, "{} requests > {budget}", used.dynamodb_requests);
}

#[tokio::test]
async fn nightly_reads_each_finished_run_about_once() {
    let stack = Stack::new().await;
    let mut finished = 0u64;
    for day in 0..14i64 {
        for i in 0..60i64 {
            let start = NIGHT - (day + 1) * MS_PER_DAY + i * 60 * S;
            run(
                &stack,
                &format!("job-{}", i % 6),
                &format!("d{day}-{i}"),
                start,
                start + (100 + i) * S,
                "SUCCEEDED",
            )
            .await;
            finished += 1;
        }
    }
    let before = stack.adapters.counters.snapshot();
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let used = stack.adapters.counters.snapshot().since(&before);
    let per_run = used.items_read as f64 / finished as f64;
    println!(
        "nightly: {finished} finished runs, {} run items read, {} items read in all ({per_run:.3} per run), {} requests",
        used.run_items_rolled_up, used.items_read, used.dynamodb_requests
    );
    assert_eq!(used.run_items_rolled_up, finished, "each finished run read exactly once");
    assert!(per_run <= 1.05, "{per_run} items read per finished run");
}

async fn ingest_notifying(
    stack: &Stack,
    event: &Value,
    notifier: &overrun_aws::SnsNotifier,
    claim: &str,
) -> Result<(IngestOutcome, ShortNotice), overrun_ingest::IngestError> {
    let retention_ms = i64::from(stack.config.retention_days) * MS_PER_DAY;
    let settings = NoticeSettings { rule: stack.config.short, claim, now: NOON, retention_ms };
    handle_and_notify(event, &stack.adapters.runs, &stack.adapters.stats, notifier, &settings).await
}

#[tokio::test]
async fn a_run_succeeding_far_below_its_expected_time_gets_one_info_notice_even_when_redelivered() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    let start = NOON - 600 * S;
    ingest_notifying(&stack, &task_event("etl", "empty", "STARTED", start), &notifier, "a").await.unwrap();
    // Expected ≈ 735 s; a quarter of it is ≈ 184 s: 60 s is far below.
    let finished = task_event("etl", "empty", "SUCCEEDED", start + 60 * S);
    let (_, first) = ingest_notifying(&stack, &finished, &notifier, "a").await.unwrap();
    let (_, again) = ingest_notifying(&stack, &finished, &notifier, "b").await.unwrap();
    assert_eq!((first, again), (ShortNotice::Published, ShortNotice::AlreadyClaimed));

    // A normal run and a failed fast one get nothing.
    ingest_notifying(&stack, &task_event("etl", "normal", "STARTED", start), &notifier, "c").await.unwrap();
    let before = stack.adapters.counters.snapshot();
    let (_, normal) =
        ingest_notifying(&stack, &task_event("etl", "normal", "SUCCEEDED", start + 700 * S), &notifier, "c")
            .await
            .unwrap();
    assert_eq!(normal, ShortNotice::Normal);
    let requests = stack.adapters.counters.snapshot().since(&before).dynamodb_requests;
    println!("ingest, a succeeded finish: {requests} DynamoDB requests (record, count, limits)");
    assert_eq!(requests, 3);
    ingest_notifying(&stack, &task_event("etl", "crashed", "STARTED", start), &notifier, "d").await.unwrap();
    let (_, crashed) =
        ingest_notifying(&stack, &task_event("etl", "crashed", "FAILED", start + 5 * S), &notifier, "d")
            .await
            .unwrap();
    assert_eq!(crashed, ShortNotice::NotApplicable);

    // An operator silences this task type's notices (and only those).
    let silence = overrun_core::overrides::Override { short_fraction: Some(0.0), ..Default::default() };
    stack.adapters.stats.set_override(&TaskType::new("etl").unwrap(), &silence).await.unwrap();
    ingest_notifying(&stack, &task_event("etl", "empty-2", "STARTED", start), &notifier, "e").await.unwrap();
    let (_, silenced) =
        ingest_notifying(&stack, &task_event("etl", "empty-2", "SUCCEEDED", start + 30 * S), &notifier, "e")
            .await
            .unwrap();
    assert_eq!(silenced, ShortNotice::Normal);

    let received = stack.received().await;
    assert_eq!(received.len(), 1, "one notice for the redelivered finish");
    assert!(received[0]["Subject"].as_str().unwrap().starts_with("[Overrun info] etl finished in 1m 00s"));
    let body = message(&received[0]);
    assert_eq!((body["kind"].as_str(), body["severity"].as_str()), (Some("too_short"), Some("info")));
    assert_eq!(body["duration_s"], 60.0);
}

#[tokio::test]
async fn only_the_first_too_short_run_of_a_task_type_each_day_is_sent_and_the_next_day_sends_again() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    let mut notices = Vec::new();
    for (run, start) in [("empty-1", NOON - 600 * S), ("empty-2", NOON), ("empty-3", NOON + MS_PER_DAY)] {
        ingest_notifying(&stack, &task_event("etl", run, "STARTED", start), &notifier, run).await.unwrap();
        let finished = task_event("etl", run, "SUCCEEDED", start + 60 * S);
        notices.push(ingest_notifying(&stack, &finished, &notifier, run).await.unwrap().1);
    }
    assert_eq!(notices, [ShortNotice::Published, ShortNotice::AlreadyClaimed, ShortNotice::Published]);
    let received = stack.received().await;
    let runs: Vec<String> =
        received.iter().map(|m| message(m)["run_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(runs, ["empty-1", "empty-3"], "one notice a day per task type");
}

#[tokio::test]
async fn a_failed_notice_publish_fails_the_event_releases_the_claim_and_the_retry_sends_it() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let start = NOON - 600 * S;
    ingest(&task_event("etl", "empty", "STARTED", start), &stack.adapters.runs).await.unwrap();
    let finished = task_event("etl", "empty", "SUCCEEDED", start + 60 * S);
    let failed = ingest_notifying(&stack, &finished, &stack.broken_notifier(), "first-try").await;
    assert!(matches!(failed, Err(overrun_ingest::IngestError::Notify(_))), "{failed:?}");
    assert!(stack.received().await.is_empty());
    let day = stack.config.policy.bucket_of_end(start + 60 * S);
    assert_eq!(
        stack.adapters.stats.day_statuses(&[day]).await.unwrap()[0].finished,
        1,
        "the run is recorded"
    );

    let (_, retried) = ingest_notifying(&stack, &finished, &stack.notifier(), "retry").await.unwrap();
    assert_eq!(retried, ShortNotice::Published);
    assert_eq!(stack.received().await.len(), 1);
    assert_eq!(stack.adapters.stats.day_statuses(&[day]).await.unwrap()[0].finished, 1, "counted once");
}

#[tokio::test]
async fn a_warned_run_is_read_apart_and_stays_out_of_the_next_baseline_only_with_guarded_exclusion() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    // Warned at NOON (limit ≈ 900 s), then it succeeds after 2,100 s; a normal run the same day.
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();
    assert_eq!(check(&stack, NOON, "tick").await.alerts_published, 1);
    ingest(&task_event("etl", "slow", "SUCCEEDED", NOON + 600 * S), &stack.adapters.runs).await.unwrap();
    run(&stack, "etl", "normal", NOON, NOON + 700 * S, "SUCCEEDED").await;

    let day = stack.config.policy.bucket_of_end(NOON + 600 * S);
    let mut listed = stack.adapters.runs.finished_runs_of_day(day).await.unwrap().items;
    listed.sort_by_key(|r| r.duration_ms);
    let warned: Vec<(u64, bool)> = listed.iter().map(|r| (r.duration_ms, r.warned)).collect();
    assert_eq!(warned, vec![(700_000, false), (2_100_000, true)]);

    let next_night = NIGHT + MS_PER_DAY + MS_PER_HOUR;
    let baseline_n = |stored: Vec<(TaskType, NightBaseline)>| {
        stored.into_iter().find(|(t, _)| t.as_str() == "etl").map(|(_, b)| b.baseline.n)
    };
    let policy = stack.config.policy;
    let (runs, stats) = (&stack.adapters.runs, &stack.adapters.stats);
    overrun_baseline::handle(next_night, &policy, None, runs, stats).await.unwrap();
    assert_eq!(
        baseline_n(stats.stored_baselines().await.unwrap().items),
        Some(12),
        "the seed counts every run"
    );
    // Twelve runs, cap 0.1: one may stay out, the warned one.
    let report = overrun_baseline::handle(next_night, &policy, Some(0.1), runs, stats).await.unwrap();
    assert_eq!(report.days_rolled_up, 0, "the day aggregates kept the warned run apart");
    assert_eq!(baseline_n(stats.stored_baselines().await.unwrap().items), Some(11));
}

/// A task event of build 9.
fn in_build_9(task: &str, id: &str, state: &str, at: i64) -> Value {
    let mut event = task_event(task, id, state, at);
    event["detail"]["cohort"] = json!("build-9");
    event
}

#[tokio::test]
async fn a_run_whose_cohort_finished_half_again_slower_than_usual_is_judged_at_that_pace() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    for day in 1..=10 {
        let start = NIGHT - day * MS_PER_DAY + 3 * MS_PER_HOUR;
        run(&stack, "load", &format!("load-{day}"), start, start + (600 + 30 * (day % 10)) * S, "SUCCEEDED")
            .await;
    }
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    // Build 9 starts three loads and an etl 20 minutes before NOON; the loads take 1,100 s, 1.5×
    // their expected 735 s. A lone etl run starts at the same time.
    let build = NOON - 1_200 * S;
    for id in ["load-a", "load-b", "load-c"] {
        ingest_notifying(&stack, &in_build_9("load", id, "STARTED", build), &notifier, "i").await.unwrap();
        ingest_notifying(&stack, &in_build_9("load", id, "SUCCEEDED", build + 1_100 * S), &notifier, "i")
            .await
            .unwrap();
    }
    // A redelivered finish adds nothing.
    ingest_notifying(&stack, &in_build_9("load", "load-c", "SUCCEEDED", build + 1_100 * S), &notifier, "i")
        .await
        .unwrap();
    let members =
        stack.adapters.stats.cohort_members(&[overrun_core::CohortId::new("build-9").unwrap()]).await;
    let (members, malformed) = members.unwrap();
    assert!(malformed.is_empty());
    assert_eq!(members.values().map(Vec::len).sum::<usize>(), 3, "{members:?}");

    ingest_notifying(&stack, &in_build_9("etl", "etl-in-build", "STARTED", build), &notifier, "i")
        .await
        .unwrap();
    ingest(&task_event("etl", "etl-alone", "STARTED", build), &stack.adapters.runs).await.unwrap();

    // At NOON both etl runs have run 1,200 s, past etl's limit of ≈ 1,098 s; the one in build 9
    // is within 1.5 × that.
    let report = check(&stack, NOON, "tick").await;
    assert_eq!((report.alerts_published, report.cohorts_stretched), (1, 1), "{report:?}");
    let sent = stack.received().await;
    assert_eq!(sent.len(), 1);
    assert_eq!(message(&sent[0])["run_id"], "etl-alone");
}

#[tokio::test]
async fn malformed_cohort_items_are_reported_and_the_good_members_still_set_the_pace() {
    use aws_sdk_dynamodb::types::AttributeValue::{N as Num, S as Str};
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let notifier = stack.notifier();
    let build = NOON - 1_200 * S;
    for id in ["etl-a", "etl-b", "etl-c"] {
        ingest_notifying(&stack, &in_build_9("etl", id, "STARTED", build), &notifier, "i").await.unwrap();
        ingest_notifying(&stack, &in_build_9("etl", id, "SUCCEEDED", build + 1_100 * S), &notifier, "i")
            .await
            .unwrap();
    }
    ingest_notifying(&stack, &in_build_9("etl", "etl-in-build", "STARTED", build), &notifier, "i")
        .await
        .unwrap();
    // An operator's hand edits: a member whose duration is not a number, and a running run whose
    // cohort is empty.
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.config.stats_table)
        .key("pk", Str("COHORT#build-9".into()))
        .key("sk", Str("#MEMBERS".into()))
        .update_expression("SET #bad = :bad")
        .expression_attribute_names("#bad", "m\u{1f}etl\u{1f}etl-bad")
        .expression_attribute_values(":bad", Str("slow".into()))
        .send()
        .await
        .unwrap();
    stack
        .dynamodb
        .put_item()
        .table_name(&stack.config.runs_table)
        .item("task_type", Str("etl".into()))
        .item("run_id", Str("etl-odd".into()))
        .item("running", Str("running".into()))
        .item("start_ms", Num(build.to_string()))
        .item("cohort", Str(String::new()))
        .send()
        .await
        .unwrap();

    let report = check(&stack, NOON, "tick").await;
    assert_eq!(report.malformed_items, 2, "{report:?}");
    // The three good members still stretch etl-in-build's limit; etl-odd, judged alone, is paged.
    assert_eq!((report.alerts_published, report.cohorts_stretched), (1, 1), "{report:?}");
    let sent = stack.received().await;
    assert_eq!(message(&sent[0])["run_id"], "etl-odd");
}

#[tokio::test]
async fn tailored_baselines_come_from_stored_histograms_and_days_stored_without_them_are_rolled_up_again() {
    let stack = Stack::with_env(&[("OVERRUN_METHOD", "tailored")]).await;
    let durations = etl_history(&stack).await;
    let policy = stack.config.policy;
    let first = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(first.days_rolled_up, 10);
    let mut window = WindowStats::new(true);
    for &d in &durations {
        window.push(d);
    }
    let core = policy.baseline_from(&window, policy.night_start(policy.night_at_or_before(NIGHT))).unwrap();
    let core = NightBaseline { baseline: core, window: window.histogram };
    let stored = || async { stack.adapters.stats.stored_baselines().await.unwrap().items };
    assert_eq!(stored().await, vec![(TaskType::new("etl").unwrap(), core.clone())]);
    assert!(
        core.baseline.upper_ms < 1_000_000.0,
        "a steady 600–870 s task gets a limit near its slowest run"
    );

    // A day aggregate as an older version wrote it: no histogram.
    let day_items: Vec<_> = stack
        .scan(&stack.config.stats_table)
        .await
        .into_iter()
        .filter(|item| item.contains_key("hist_bins"))
        .filter(|item| item["pk"].as_s().is_ok_and(|pk| pk.starts_with("DAY#")))
        .collect();
    assert_eq!(day_items.len(), 10, "one aggregate a day, each with its histogram");
    let old = &day_items[0];
    let rewrite_old_day = |expression: &str, values: Option<(&str, AttributeValue)>| {
        stack
            .dynamodb
            .update_item()
            .table_name(&stack.config.stats_table)
            .key("pk", old["pk"].clone())
            .key("sk", old["sk"].clone())
            .update_expression(expression)
            .set_expression_attribute_values(
                values.map(|(name, value)| HashMap::from([(name.to_owned(), value)])),
            )
            .send()
    };
    rewrite_old_day("REMOVE hist_bins, hist_counts", None).await.unwrap();
    let healed = nightly(&stack, NIGHT + 2 * MS_PER_HOUR).await;
    assert_eq!((healed.days_rolled_up, healed.runs_rolled_up), (1, 1), "that day again, from its run");
    assert_eq!(stored().await, vec![(TaskType::new("etl").unwrap(), core)]);
    let after = nightly(&stack, NIGHT + 3 * MS_PER_HOUR).await;
    assert_eq!((after.days_rolled_up, after.baselines_written), (0, 0), "healed once, for good");

    // A histogram whose two lists disagree is reported and that day left out; the rest count.
    let two_counts = AttributeValue::L(vec![AttributeValue::N("1".into()), AttributeValue::N("1".into())]);
    rewrite_old_day("SET hist_counts = :two", Some((":two", two_counts))).await.unwrap();
    let reported = nightly(&stack, NIGHT + 4 * MS_PER_HOUR).await;
    assert_eq!(reported.malformed_items, 1);
    assert_eq!(stored().await[0].1.baseline.n, 9, "the other nine days still make the baseline");

    // So is one that holds more runs than the day's count (the day had one run, in one bin).
    let five = AttributeValue::L(vec![AttributeValue::N("5".into())]);
    rewrite_old_day("SET hist_counts = :five", Some((":five", five))).await.unwrap();
    let overfull = nightly(&stack, NIGHT + 5 * MS_PER_HOUR).await;
    assert_eq!(overfull.malformed_items, 1, "{overfull:?}");
    assert_eq!(stored().await[0].1.baseline.n, 9);
}

/// The bodies of the warnings the topic delivered since the last read.
async fn warnings_received(stack: &Stack) -> Vec<Value> {
    stack.received().await.iter().map(message).filter(|m| m["severity"] == "warning").collect()
}

/// Overwrites one attribute of an item, as a bad write or an older version might have left it.
async fn set_attribute(
    stack: &Stack,
    table: &str,
    key: [(&str, &str); 2],
    name: &str,
    value: AttributeValue,
) {
    let mut request = stack.dynamodb.update_item().table_name(table);
    for (key_name, key_value) in key {
        request = request.key(key_name, AttributeValue::S(key_value.into()));
    }
    request
        .update_expression("SET #name = :value")
        .expression_attribute_names("#name", name)
        .expression_attribute_values(":value", value)
        .send()
        .await
        .unwrap();
}

/// The `recent_ms` a run item holds (empty when it has none).
async fn recent_ms_of(stack: &Stack, run_id: &str) -> Vec<u64> {
    let items = stack.scan(&stack.config.runs_table).await;
    let item = items.iter().find(|i| i["run_id"].as_s().is_ok_and(|id| id == run_id)).unwrap();
    item.get("recent_ms")
        .map(|list| list.as_l().unwrap().iter().map(|n| n.as_n().unwrap().parse().unwrap()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn with_recent_runs_a_start_records_the_runs_ended_before_it_and_the_checker_judges_it_by_its_own_limit()
 {
    let stack = Stack::with_env(&[("OVERRUN_RECENT_RUNS", "3")]).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let before_streak = NIGHT + 2 * MS_PER_HOUR;
    ingest(&task_event("etl", "before-streak", "STARTED", before_streak), &stack.adapters.runs)
        .await
        .unwrap();
    // This morning etl runs 25 minutes, not 10–15: three such runs, and a failed one, which is no
    // measure of a duration.
    for (i, minutes) in [24, 25, 26].into_iter().enumerate() {
        let start = before_streak + i as i64 * MS_PER_HOUR;
        run(&stack, "etl", &format!("streak-{i}"), start, start + minutes * 60 * S, "SUCCEEDED").await;
    }
    let after_streak = before_streak + 3 * MS_PER_HOUR;
    run(&stack, "etl", "failed", after_streak - 10 * 60 * S, after_streak - 60 * S, "FAILED").await;
    // Ends at the very instant the next run starts: not one of its recent runs.
    run(&stack, "etl", "edge", after_streak - 30 * 60 * S, after_streak, "SUCCEEDED").await;
    let started = task_event("etl", "after-streak", "STARTED", after_streak);
    let before = stack.adapters.counters.snapshot();
    ingest(&started, &stack.adapters.runs).await.unwrap();
    let used = stack.adapters.counters.snapshot().since(&before);
    assert_eq!(used.dynamodb_requests, 2, "one Query of the index and the start's UpdateItem");

    assert_eq!(
        recent_ms_of(&stack, "after-streak").await,
        vec![1_560_000, 1_500_000, 1_440_000],
        "newest first"
    );
    let history: Vec<u64> = etl_history_durations().into_iter().take(3).collect();
    assert_eq!(recent_ms_of(&stack, "before-streak").await, history, "the latest three of the history");
    // A redelivered start keeps what its first delivery saw.
    run(&stack, "etl", "later", after_streak + 60 * S, after_streak + 120 * S, "SUCCEEDED").await;
    ingest(&started, &stack.adapters.runs).await.unwrap();
    assert_eq!(recent_ms_of(&stack, "after-streak").await[0], 1_560_000);

    // 20 minutes in, both runs are past their type's limit (steady 10–15 minute runs); only the
    // one that started before the streak is late by its own recent runs.
    let stored = stack.adapters.stats.task_limits(&[TaskType::new("etl").unwrap()]).await.unwrap().0;
    let limits = &stored[&TaskType::new("etl").unwrap()];
    let type_limit_ms = limits.baseline.unwrap().upper_ms;
    assert!(type_limit_ms < 20.0 * 60_000.0, "type limit {type_limit_ms} ms");
    let now = after_streak + 20 * 60 * S;
    let report = check(&stack, now, "tick-1").await;
    let warnings = warnings_received(&stack).await;
    let warned: Vec<&str> = warnings.iter().map(|m| m["run_id"].as_str().unwrap()).collect();
    assert_eq!(warned, vec!["before-streak"], "{report:?}");
    let per_run = settings(&stack).per_run.unwrap();
    let own_limit = |recent: &[u64]| {
        per_run.baseline_of_run(&limits.baseline.unwrap(), limits.window.as_ref().unwrap().values(), recent)
    };
    let before_streak_limit = own_limit(&history).upper_ms;
    assert_eq!(
        warnings[0]["limit_s"],
        before_streak_limit / 1_000.0,
        "the core's limit for its own recent runs"
    );
    let named: Vec<f64> =
        warnings[0]["recent_s"].as_array().unwrap().iter().map(|s| s.as_f64().unwrap()).collect();
    assert_eq!(named, vec![630.0, 660.0, 690.0], "the alert names the runs its limit weighed");
    let own = own_limit(&[1_560_000, 1_500_000, 1_440_000]);
    assert!(
        own.upper_ms > (now - after_streak) as f64,
        "its own limit {} ms is past 20 minutes",
        own.upper_ms
    );
}

#[tokio::test]
async fn with_recent_runs_off_starts_record_none_and_runs_keep_their_types_limit() {
    let stack = Stack::with_env(&[("OVERRUN_RECENT_RUNS", "0")]).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let before = stack.adapters.counters.snapshot();
    ingest(&task_event("etl", "plain", "STARTED", NOON), &stack.adapters.runs).await.unwrap();
    assert_eq!(
        stack.adapters.counters.snapshot().since(&before).dynamodb_requests,
        1,
        "the start's UpdateItem"
    );
    assert!(recent_ms_of(&stack, "plain").await.is_empty());
    assert_eq!(settings(&stack).per_run, None);
}

#[tokio::test]
async fn a_run_whose_stored_recent_runs_are_malformed_is_reported_and_still_checked_by_its_types_limit() {
    let stack = Stack::with_env(&[("OVERRUN_RECENT_RUNS", "3")]).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "odd", "STARTED", NOON - 2 * MS_PER_HOUR), &stack.adapters.runs).await.unwrap();
    ingest(&task_event("etl", "good", "STARTED", NOON - 2 * MS_PER_HOUR), &stack.adapters.runs)
        .await
        .unwrap();
    let not_numbers = AttributeValue::L(vec![AttributeValue::S("ten minutes".into())]);
    let key = [("task_type", "etl"), ("run_id", "odd")];
    set_attribute(&stack, &stack.config.runs_table, key, "recent_ms", not_numbers).await;
    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.malformed_items, 1, "{report:?}");
    let warned = warnings_received(&stack).await;
    assert_eq!(warned.len(), 2, "both two-hour runs are past any limit of a 10–15 minute task: {warned:?}");
}

#[tokio::test]
async fn a_malformed_window_on_a_limits_item_is_reported_its_type_keeps_its_limit_and_the_next_night_rewrites_it()
 {
    let stack = Stack::with_env(&[("OVERRUN_RECENT_RUNS", "3")]).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let one_count = AttributeValue::L(vec![AttributeValue::N("1".into())]);
    let key = [("pk", "LIMITS"), ("sk", "etl")];
    set_attribute(&stack, &stack.config.stats_table, key, "hist_counts", one_count).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 2 * MS_PER_HOUR), &stack.adapters.runs)
        .await
        .unwrap();
    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!((report.malformed_items, report.without_limits), (1, 0), "{report:?}");
    assert_eq!(report.alerts_published, 2, "checked against its type's limit: {report:?}");

    let healed = nightly(&stack, NIGHT + 2 * MS_PER_HOUR).await;
    assert_eq!((healed.malformed_items, healed.baselines_written), (1, 1), "{healed:?}");
    let again = nightly(&stack, NIGHT + 3 * MS_PER_HOUR).await;
    assert_eq!((again.malformed_items, again.baselines_written), (0, 0), "{again:?}");
}
