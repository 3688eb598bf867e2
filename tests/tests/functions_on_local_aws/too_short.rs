//! Too-short notices from ingest: one per task type and day, claimed, released on a failed publish.

use super::*;

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
    let silence =
        overrun_core::detect::overrides::Override::new(overrun_core::detect::overrides::OverrideParts {
            short_fraction: Some(0.0),
            ..Default::default()
        })
        .unwrap();
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
        // Each event ingested as it happens (the last one a day later).
        let started = task_event("etl", run, "STARTED", start);
        ingest_notifying_at(&stack, &started, &notifier, run, start).await.unwrap();
        let finished = task_event("etl", run, "SUCCEEDED", start + 60 * S);
        notices.push(ingest_notifying_at(&stack, &finished, &notifier, run, start + 60 * S).await.unwrap().1);
    }
    assert_eq!(notices, [ShortNotice::Published, ShortNotice::AlreadyClaimed, ShortNotice::Published]);
    let received = stack.received().await;
    let runs: Vec<String> =
        received.iter().map(|m| message(m)["run_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(runs, ["empty-1", "empty-3"], "one notice a day per task type");
}

/// A stack with a baseline for `etl`, and a too-short run of it ingested while publishing fails
/// (the release answered, so the claim is free): the finish event and what ingesting it gave.
async fn a_short_run_whose_notice_publish_failed(
    claim: &str,
) -> (Stack, Value, Result<(IngestOutcome, ShortNotice), overrun_ingest::IngestError>, i64) {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    let start = NOON - 600 * S;
    ingest(&task_event("etl", "empty", "STARTED", start), &stack.adapters.runs).await.unwrap();
    let finished = task_event("etl", "empty", "SUCCEEDED", start + 60 * S);
    let failed = ingest_notifying(&stack, &finished, &stack.broken_notifier(), claim).await;
    (stack, finished, failed, start)
}

#[tokio::test]
async fn a_failed_notice_publish_fails_the_event_releases_the_claim_and_the_retry_sends_it() {
    let (stack, finished, failed, start) = a_short_run_whose_notice_publish_failed("first-try").await;
    assert!(
        matches!(
            failed,
            Err(overrun_ingest::IngestError::Failed(overrun_app::ingest::IngestError::Notify(_)))
        ),
        "{failed:?}"
    );
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
async fn a_notice_owed_since_an_outage_days_long_is_sent_by_the_checker_when_it_ends() {
    // Publishing fails, and no retry comes.
    let (stack, _, failed, _) = a_short_run_whose_notice_publish_failed("outage").await;
    assert!(failed.is_err(), "{failed:?}");
    // Fifty hours later the topic works again: the checker, not just today's and yesterday's
    // notices, finds it and sends it.
    // Older days are looked at eight a tick in turn: within five ticks with 35 days kept.
    let mut published = 0;
    for tick in 0..5 {
        let at = NOON + 50 * MS_PER_HOUR + tick * 10 * 60 * S;
        published += check(&stack, at, &format!("after-outage-{tick}")).await.notices_published;
    }
    assert_eq!(published, 1);
    let received = stack.received().await;
    assert_eq!(received.len(), 1);
    assert_eq!(message(&received[0])["run_id"], "empty");
    // `overrun alerts` says how late it went out: from its first claim to its delivery.
    let inspector = overrun_aws::DynamoInspector::new(
        stack.dynamodb.clone(),
        &stack.config.runs_table,
        &stack.config.stats_table,
    );
    let messages = inspector.messages_since(NOON - MS_PER_DAY, NOON + 51 * MS_PER_HOUR).await.unwrap();
    let late = messages.items.iter().find_map(|m| m.claim.lateness()).expect("a delivered notice");
    assert!((49 * MS_PER_HOUR..=51 * MS_PER_HOUR).contains(&late), "{late}");
}
