//! Re-runs under the same run id: a date-named job run again the same day or a day later, and a
//! redriven Step Functions execution, are runs of their own — recorded, paged when they hang,
//! resolved when they finish, counted — and a start that can be told neither for a redelivery nor
//! for a re-run is refused naming its run id, with nothing written.

use overrun_integration_tests::rfc3339;

use super::*;

/// The day's run of "etl", named after its date as cron scripts name theirs.
const DATED: &str = "etl-2024-10-04";

/// The alerts and "resolved" messages the topic delivered since the last read, parsed.
async fn messages(stack: &Stack) -> Vec<(String, Value)> {
    stack
        .received()
        .await
        .iter()
        .map(|m| (m["MessageAttributes"]["alert_id"]["Value"].as_str().unwrap().to_owned(), message(m)))
        .collect()
}

#[tokio::test]
async fn a_date_named_job_rerun_the_same_day_is_paged_when_it_hangs_and_resolved_when_it_ends() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let first_start = NOON - 3 * MS_PER_HOUR;
    run(&stack, "etl", DATED, first_start, first_start + 200 * S, "FAILED").await;

    // Re-run by hand under the same id; it hangs for two hours.
    let rerun_start = NOON - 2 * MS_PER_HOUR;
    let started =
        ingest(&task_event("etl", DATED, "STARTED", rerun_start), &stack.adapters.runs).await.unwrap();
    let IngestOutcome::Started(recorded) = started else { panic!("{started:?}") };
    assert_eq!(recorded.attempt.get(), 2, "{recorded:?}");
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!(running.len(), 1);
    assert_eq!(
        (running[0].run_id.to_string(), running[0].start),
        (format!("{DATED} (attempt 2)"), rerun_start)
    );

    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.alerts_published, 2, "{report:?}");
    let alerts = messages(&stack).await;
    let ids: Vec<&str> = alerts.iter().map(|(id, _)| id.as_str()).collect();
    assert!(ids.contains(&"etl/etl-2024-10-04/attempt-2/warning"), "{ids:?}");
    assert!(ids.contains(&"etl/etl-2024-10-04/attempt-2/critical"), "{ids:?}");
    for (_, body) in &alerts {
        assert_eq!((body["run_id"].as_str(), body["attempt"].as_u64()), (Some(DATED), Some(2)), "{body}");
    }
    let envelopes = stack.scan(&stack.config.runs_table).await;
    assert_eq!(envelopes.len(), 12, "ten history runs and two attempts of the day's run");

    // Its finish is the re-run's, not a conflict with the failed first attempt.
    let finished = ingest(&task_event("etl", DATED, "SUCCEEDED", NOON + 300 * S), &stack.adapters.runs).await;
    let IngestOutcome::Finished(recorded) = finished.unwrap() else { panic!() };
    assert_eq!((recorded.attempt.get(), recorded.conflict, recorded.counted), (2, None, true));
    let report = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(report.resolved_published, 1, "{report:?}");
    let resolved = messages(&stack).await;
    assert_eq!(resolved[0].0, "etl/etl-2024-10-04/attempt-2/resolved");
    assert_eq!(
        (resolved[0].1["kind"].as_str(), resolved[0].1["attempt"].as_u64()),
        (Some("resolved"), Some(2))
    );
}

#[tokio::test]
async fn the_same_id_reused_a_day_later_is_paged_when_it_overruns() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    let yesterday = NOON - MS_PER_DAY;
    run(&stack, "etl", DATED, yesterday, yesterday + 700 * S, "SUCCEEDED").await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;

    let reused = NOON - 3 * MS_PER_HOUR;
    ingest(&task_event("etl", DATED, "STARTED", reused), &stack.adapters.runs).await.unwrap();
    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.alerts_published, 2, "the reused id's overrun pages: {report:?}");
    let alerts = messages(&stack).await;
    assert!(alerts.iter().all(|(id, _)| id.starts_with("etl/etl-2024-10-04/attempt-2/")), "{alerts:?}");
    // The texts people read name the attempt: the SMS and email stored with the claim.
    let items = stack.scan(&stack.config.runs_table).await;
    let second = items
        .iter()
        .find(|item| item["run_id"].as_s().unwrap() == "etl-2024-10-04\u{1F}2")
        .expect("the second attempt's item, under its own key");
    assert_eq!(second["attempt"].as_n().unwrap(), "2");
    let stored = second["alert_warning"].as_m().unwrap()["message"].as_m().unwrap();
    for text in ["sms", "email"] {
        let text = stored[text].as_s().unwrap();
        assert!(text.contains("etl-2024-10-04 (attempt 2)"), "{text}");
    }
}

#[tokio::test]
async fn a_start_inside_a_finished_run_is_refused_naming_its_run_id_and_nothing_is_written() {
    let stack = Stack::new().await;
    let start = NOON - 3 * MS_PER_HOUR;
    run(&stack, "etl", DATED, start, start + 600 * S, "SUCCEEDED").await;
    let before = stack.scan(&stack.config.runs_table).await;

    let inside = task_event("etl", DATED, "STARTED", start + 300 * S);
    let error = ingest(&inside, &stack.adapters.runs).await.unwrap_err().to_string();
    assert!(error.contains("run_id \"etl-2024-10-04\""), "{error}");
    assert!(error.contains("attempt 1"), "{error}");
    assert_eq!(stack.scan(&stack.config.runs_table).await, before, "nothing written");
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty());
    // Its redelivery is a redelivery: no error, nothing new.
    ingest(&task_event("etl", DATED, "STARTED", start), &stack.adapters.runs).await.unwrap();
    assert_eq!(stack.scan(&stack.config.runs_table).await.len(), 1);
}

#[tokio::test]
async fn a_redriven_step_functions_execution_is_its_next_attempt_paged_and_resolved() {
    let stack = Stack::new().await;
    let machine = "arn:aws:states:us-east-1:123456789012:stateMachine:etl";
    let sfn = |status: &str, redrives: u32, start: i64, redrive: Option<i64>, stop: Option<i64>| {
        json!({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
               "time": rfc3339(stop.or(redrive).unwrap_or(start)),
               "detail": {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:etl:exec-1",
                          "stateMachineArn": machine, "name": "exec-1", "status": status,
                          "startDate": start, "stopDate": stop, "redriveCount": redrives,
                          "redriveDate": redrive, "redriveStatus": "REDRIVABLE"}})
    };
    for (day, duration) in (1..=10).zip(etl_history_durations()) {
        let start = NIGHT - day * MS_PER_DAY + 2 * MS_PER_HOUR;
        let id = format!("exec-history-{day}");
        let mut started = sfn("RUNNING", 0, start, None, None);
        started["detail"]["name"] = id.clone().into();
        let mut done = sfn("SUCCEEDED", 0, start, None, Some(start + duration as i64));
        done["detail"]["name"] = id.into();
        ingest(&started, &stack.adapters.runs).await.unwrap();
        ingest(&done, &stack.adapters.runs).await.unwrap();
    }
    nightly(&stack, NIGHT + MS_PER_HOUR).await;

    let first = NOON - 4 * MS_PER_HOUR;
    ingest(&sfn("RUNNING", 0, first, None, None), &stack.adapters.runs).await.unwrap();
    ingest(&sfn("FAILED", 0, first, None, Some(first + 120 * S)), &stack.adapters.runs).await.unwrap();
    // Redriven two hours ago: same name, same startDate, its own redriveDate.
    let redrive = NOON - 2 * MS_PER_HOUR;
    ingest(&sfn("RUNNING", 1, first, Some(redrive), None), &stack.adapters.runs).await.unwrap();
    // Delivered twice, as EventBridge may.
    ingest(&sfn("RUNNING", 1, first, Some(redrive), None), &stack.adapters.runs).await.unwrap();
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!(running.len(), 1);
    assert_eq!((running[0].run_id.to_string(), running[0].start), ("exec-1 (attempt 2)".to_owned(), redrive));

    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.alerts_published, 2, "{report:?}");
    let alerts = messages(&stack).await;
    assert!(alerts.iter().all(|(id, _)| id.starts_with("etl/exec-1/attempt-2/")), "{alerts:?}");

    let done = sfn("SUCCEEDED", 1, first, Some(redrive), Some(NOON + 60 * S));
    let IngestOutcome::Finished(recorded) = ingest(&done, &stack.adapters.runs).await.unwrap() else {
        panic!()
    };
    assert_eq!((recorded.attempt.get(), recorded.completed), (2, Some((redrive, NOON + 60 * S))));
    let report = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(report.resolved_published, 1, "{report:?}");
}
