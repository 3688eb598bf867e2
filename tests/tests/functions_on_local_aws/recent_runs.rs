//! Recent runs: recorded with each start through the index, and each running run's own limit.

use super::*;

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
    assert_eq!(
        used.dynamodb_requests, 4,
        "a Query of each index (its type's runs, its season's), the start's UpdateItem and its note for the schedule learner"
    );

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
    let stored = stack.adapters.stats.task_limits(&[TaskType::new("etl").unwrap()]).await.unwrap().items;
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
        warnings[0]["crossed_limit_s"],
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
        2,
        "the start's UpdateItem and its note for the schedule learner"
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

#[tokio::test]
async fn a_start_is_recorded_without_its_seasons_recent_runs_while_the_season_index_cannot_be_read() {
    let stack = Stack::with_env(&[("OVERRUN_RECENT_RUNS", "3")]).await;
    etl_history(&stack).await;
    // A deployment upgraded in place: DynamoDB builds the new index for a while.
    let delete = aws_sdk_dynamodb::types::DeleteGlobalSecondaryIndexAction::builder()
        .index_name("recent-season")
        .build()
        .unwrap();
    stack
        .dynamodb
        .update_table()
        .table_name(&stack.config.runs_table)
        .global_secondary_index_updates(
            aws_sdk_dynamodb::types::GlobalSecondaryIndexUpdate::builder().delete(delete).build(),
        )
        .send()
        .await
        .unwrap();
    let start = NIGHT + 2 * MS_PER_HOUR;
    ingest(&task_event("etl", "during-upgrade", "STARTED", start), &stack.adapters.runs).await.unwrap();
    let history: Vec<u64> = etl_history_durations().into_iter().take(3).collect();
    assert_eq!(recent_ms_of(&stack, "during-upgrade").await, history, "its type's recent runs still");
    assert_eq!(stack.adapters.runs.list_running().await.unwrap().items.len(), 1, "the run is running");
}
