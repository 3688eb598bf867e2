//! Task events become run items: starts and finishes in any order, Step Functions and Batch, malformed events.

use overrun_integration_tests::{fixture, rfc3339};

use super::*;

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
    let run =
        FinishedRun { task_type: TaskType::new("etl").unwrap(), start, duration_ms: 900_000, warned: false };
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

#[tokio::test]
async fn a_second_finish_that_contradicts_the_first_changes_nothing_and_is_reported() {
    let stack = Stack::new().await;
    let start = NIGHT - 5 * MS_PER_HOUR;
    ingest(&task_event("etl", "r1", "STARTED", start), &stack.adapters.runs).await.unwrap();
    ingest(&task_event("etl", "r1", "SUCCEEDED", start + 700 * S), &stack.adapters.runs).await.unwrap();
    // Another end, then another status: the first finish stands.
    for (state, end) in [("SUCCEEDED", start + 7_000 * S), ("FAILED", start + 700 * S)] {
        let second = ingest(&task_event("etl", "r1", state, end), &stack.adapters.runs).await.unwrap();
        let IngestOutcome::Finished(recorded) = second else { panic!("{second:?}") };
        let conflict = recorded.conflict.expect("the contradiction is reported");
        assert_eq!(
            (conflict.kept_end, conflict.kept_status),
            (start + 700 * S, overrun_core::RunStatus::Succeeded)
        );
        assert!(!recorded.counted && recorded.completed.is_none());
    }
    let day = stack.config.policy.bucket_of_end(start + 700 * S);
    let listed = stack.adapters.runs.finished_runs_of_day(day).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].duration_ms, 700_000, "the nightly job reads the first finish's 700 s");
    let statuses = stack.adapters.stats.day_statuses(&[day]).await.unwrap();
    assert_eq!(statuses[0].finished, 1);
}

#[tokio::test]
async fn glue_ecs_codebuild_and_sagemaker_events_are_recorded_as_complete_runs() {
    let stack = Stack::new().await;
    for name in [
        "glue-job-run-status-running",
        "ecs-task-state-change-running",
        "codebuild-build-state-change-in-progress",
        "sagemaker-training-job-state-change-in-progress",
    ] {
        let event = job_fixture(name);
        assert!(
            matches!(ingest(&event, &stack.adapters.runs).await.unwrap(), IngestOutcome::Started(_)),
            "{name}"
        );
    }
    assert_eq!(stack.adapters.runs.list_running().await.unwrap().items.len(), 4);
    for name in [
        "glue-job-state-change-succeeded",
        "ecs-task-state-change-stopped",
        "codebuild-build-state-change-succeeded",
        "sagemaker-training-job-state-change-completed",
    ] {
        let event = job_fixture(name);
        let outcome = ingest(&event, &stack.adapters.runs).await.unwrap();
        assert!(matches!(outcome, IngestOutcome::Finished(r) if r.counted), "{name}: {outcome:?}");
    }
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty());
    // 2025-01-31: every run ended that day.
    let day = stack.config.policy.bucket_of_end(1_738_331_999_000);
    let mut listed: Vec<(String, u64)> = stack
        .adapters
        .runs
        .finished_runs_of_day(day)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|run| (run.task_type.as_str().to_owned(), run.duration_ms))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        vec![
            ("api-integration-tests".to_owned(), 1_201_000),
            ("churn-model".to_owned(), 7_193_877),
            ("invoice-export".to_owned(), 3_583_147),
            ("nightly-orders-etl".to_owned(), 3_604_059),
        ]
    );
}

/// A job service's events for one run, from the real-shaped fixtures: (start, finish).
type JobEvents = fn(&str, i64, i64) -> (Value, Value);

fn job_fixture(name: &str) -> Value {
    fixture(&format!("eventbridge/{name}"))
}

fn glue(run: &str, start: i64, end: i64) -> (Value, Value) {
    let mut running = job_fixture("glue-job-run-status-running");
    running["detail"]["jobRunId"] = run.into();
    running["detail"]["startedOn"] = rfc3339(start).into();
    let mut done = job_fixture("glue-job-state-change-succeeded");
    done["detail"]["jobRunId"] = run.into();
    done["time"] = rfc3339(end).into();
    (running, done)
}

fn ecs(run: &str, start: i64, end: i64) -> (Value, Value) {
    let arn = format!("arn:aws:ecs:eu-west-1:123456789012:task/batch-cluster/{run}");
    let mut running = job_fixture("ecs-task-state-change-running");
    running["detail"]["taskArn"] = arn.clone().into();
    running["detail"]["startedAt"] = rfc3339(start).into();
    let mut stopped = job_fixture("ecs-task-state-change-stopped");
    stopped["detail"]["taskArn"] = arn.into();
    stopped["detail"]["startedAt"] = rfc3339(start).into();
    stopped["detail"]["executionStoppedAt"] = rfc3339(end).into();
    (running, stopped)
}

fn codebuild(run: &str, start: i64, end: i64) -> (Value, Value) {
    let arn = format!("arn:aws:codebuild:eu-west-1:123456789012:build/api-integration-tests:{run}");
    let at = time::OffsetDateTime::from_unix_timestamp(start / 1_000).unwrap();
    let format = time::macros::format_description!(
        "[month repr:short] [day padding:none], [year] [hour repr:12 padding:none]:[minute]:[second] [period]"
    );
    let started = at.format(format).unwrap();
    let mut events = [
        job_fixture("codebuild-build-state-change-in-progress"),
        job_fixture("codebuild-build-state-change-succeeded"),
    ];
    for event in &mut events {
        event["detail"]["build-id"] = arn.clone().into();
        event["detail"]["additional-information"]["build-start-time"] = started.clone().into();
    }
    events[0]["time"] = rfc3339(start).into();
    events[1]["time"] = rfc3339(end).into();
    let [in_progress, succeeded] = events;
    (in_progress, succeeded)
}

fn sagemaker(run: &str, start: i64, end: i64) -> (Value, Value) {
    let mut events = [
        job_fixture("sagemaker-training-job-state-change-in-progress"),
        job_fixture("sagemaker-training-job-state-change-completed"),
    ];
    for event in &mut events {
        event["detail"]["TrainingJobName"] = format!("churn-{run}").into();
        event["detail"]["Tags"] = json!({"overrun-task-type": "churn-model"});
        event["detail"]["CreationTime"] = start.into();
    }
    events[1]["detail"]["TrainingEndTime"] = end.into();
    let [in_progress, completed] = events;
    (in_progress, completed)
}

#[tokio::test]
async fn glue_ecs_codebuild_and_sagemaker_runs_are_paged_when_overdue_and_resolved() {
    let services: [(JobEvents, &str); 4] = [
        (glue, "nightly-orders-etl"),
        (ecs, "invoice-export"),
        (codebuild, "api-integration-tests"),
        (sagemaker, "churn-model"),
    ];
    for (events, task_type) in services {
        let stack = Stack::new().await;
        for (day, duration) in (1..=10).zip(etl_history_durations()) {
            let start = NIGHT - day * MS_PER_DAY + 2 * MS_PER_HOUR;
            let (started, finished) = events(&format!("run-{day}"), start, start + duration as i64);
            ingest(&started, &stack.adapters.runs).await.unwrap();
            let outcome = ingest(&finished, &stack.adapters.runs).await.unwrap();
            assert!(matches!(outcome, IngestOutcome::Finished(r) if r.counted), "{task_type}: {outcome:?}");
        }
        assert_eq!(nightly(&stack, NIGHT + MS_PER_HOUR).await.baselines_written, 1, "{task_type}");
        let slow_start = NOON - 2 * MS_PER_HOUR;
        let (started, finished) = events("run-slow", slow_start, NOON + 300 * S);
        ingest(&started, &stack.adapters.runs).await.unwrap();
        let report = check(&stack, NOON, "tick-1").await;
        assert_eq!(report.alerts_published, 2, "{task_type}: {report:?}");
        let alerts = stack.received().await;
        assert!(
            alerts.iter().all(|m| m["MessageAttributes"]["task_type"]["Value"] == task_type),
            "{alerts:?}"
        );
        ingest(&finished, &stack.adapters.runs).await.unwrap();
        let report = check(&stack, NOON + 600 * S, "tick-2").await;
        assert_eq!(report.resolved_published, 1, "{task_type}: {report:?}");
    }
}
