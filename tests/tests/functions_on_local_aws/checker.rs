//! The checker: alerts claimed once, published, retried, resolved, overridden, and what a tick costs.

use super::*;

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
async fn a_failed_publish_fails_the_tick_and_the_next_tick_sends_the_alert_claimed_then() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    // At NOON it is past the warning limit (≈ 900 s with its recent runs, 953 s without) and, ten
    // minutes later, still short of the critical one (twice that): one alert to deliver.
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs).await.unwrap();
    let broken = stack.broken_notifier();
    let failed = check_with(&stack, NOON, "tick-1", &broken).await;
    assert_eq!((failed.alerts_published, failed.publish_failures, failed.failures), (0, 1, 1));
    assert!(failed.failed(), "the invocation fails, so that Lambda retries it");
    assert!(stack.received().await.is_empty());
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!(running[0].undelivered.len(), 1, "claimed, released, not delivered");
    assert_eq!(running[0].undelivered[0].1.claimed_at, overrun_core::notify::delivery::Lease::RELEASED);

    // Lambda's retry a minute later sends it at once.
    let retried = check(&stack, NOON + 60 * S, "tick-1-retry").await;
    assert_eq!(retried.resent, 1, "{retried:?}");
    let received = stack.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["MessageAttributes"]["alert_id"]["Value"], "etl/slow/warning");
    assert_eq!(check(&stack, NOON + 600 * S, "tick-2").await.alerts_published, 0, "delivered once");
    assert!(stack.received().await.is_empty());
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
        overrun_core::detect::overrides::Override::new(overrun_core::detect::overrides::OverrideParts {
            mute_until: Some(NOON + MS_PER_HOUR),
            ..Default::default()
        })
        .unwrap();
    stats.set_override(&etl, &mute).await.unwrap();
    let muted = check(&stack, NOON, "tick-1").await;
    assert_eq!((muted.muted, muted.alerts_published), (1, 0));

    let fixed =
        overrun_core::detect::overrides::Override::new(overrun_core::detect::overrides::OverrideParts {
            limit_ms: Some(7_200_000.0),
            ..Default::default()
        })
        .unwrap();
    stats.set_override(&etl, &fixed).await.unwrap();
    assert_eq!(
        check(&stack, NOON + 600 * S, "tick-2").await.alerts_published,
        0,
        "30 min is within a 2 h limit"
    );
    let k = overrun_core::detect::overrides::Override::new(overrun_core::detect::overrides::OverrideParts {
        k: Some(1.0),
        ..Default::default()
    })
    .unwrap();
    stats.set_override(&etl, &k).await.unwrap();
    check(&stack, NOON + 1_200 * S, "tick-3").await;
    let received = stack.received().await;
    let email_body = &received[0]["Message"];
    assert!(email_body.as_str().unwrap().contains("override: k = 1"), "{email_body}");
    // The nightly keeps the override when it rewrites the baseline.
    nightly(&stack, NIGHT + MS_PER_DAY + MS_PER_HOUR).await;
    let limits = stats.task_limits(std::slice::from_ref(&etl)).await.unwrap().items;
    assert_eq!(limits[&etl].task_override.unwrap().k(), Some(1.0));
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
async fn checker_tick_stays_within_fifteen_plus_two_per_hundred_running_plus_one_per_hundred_cohorts_plus_two_per_alert_requests()
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
    // Two index queries and one for each kept day's undelivered notices (the retention, and
    // today); the running runs' items for their cohorts and their types' limits, a hundred keys a
    // call each; the cohorts' members; a claim and a delivery mark per alert.
    // And the missed starts': the learned and declared schedules and the open incidents (no
    // type is scheduled here, so no starts are read).
    let notice_days = u64::from(stack.config.retention_days) + 1;
    let budget =
        5 + notice_days + 2 * (running as u64 + 1).div_ceil(100) + cohorts.div_ceil(100) + 2 * alerts;
    println!(
        "checker tick: {} running in {cohorts} cohorts, {alerts} alerts, {} DynamoDB requests (budget {budget})",
        running + 1,
        used.dynamodb_requests
    );
    assert_eq!(alerts, 1);
    assert!(used.dynamodb_requests <= budget, "{} requests > {budget}", used.dynamodb_requests);
}

#[tokio::test]
async fn an_unknown_season_mode_on_a_limits_item_is_left_out_and_reported_and_its_baseline_still_judges() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    use aws_sdk_dynamodb::types::AttributeValue::S as Str;
    // A mode a later version may write, on the nightly job's own item.
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.config.stats_table)
        .key("pk", Str("LIMITS".into()))
        .key("sk", Str("etl".into()))
        .update_expression("SET override_seasons = :mode")
        .expression_attribute_values(":mode", Str("by-day".into()))
        .send()
        .await
        .unwrap();
    let etl = TaskType::new("etl").unwrap();
    let limits = stack.adapters.stats.task_limits(std::slice::from_ref(&etl)).await.unwrap();
    assert!(limits.items[&etl].baseline.is_some(), "the baseline still reads");
    assert_eq!(limits.items[&etl].task_override, None);
    assert!(limits.malformed[0].to_string().contains("plain or seasonal"), "{:?}", limits.malformed);
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_500 * S), &stack.adapters.runs).await.unwrap();
    let report = check(&stack, NOON, "tick-1").await;
    assert!(report.alerts_published >= 1, "judged by its baseline: {report:?}");
}
