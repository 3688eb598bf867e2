//! The nightly job: day aggregates, baselines, idempotence, guarded exclusion and histograms.

use super::*;
use overrun_core::limits::window::{ExclusionCap, Outlier};

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
    assert_eq!(
        report.days_rolled_up, 16,
        "the window's 14 days, and the two before it (their runs still kept) for the seasons' look-backs, once each"
    );
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
    // The schedule learner reads one STARTS# item per type and day started: 6 types × 14 days.
    let start_items = 6 * 14;
    let per_run = (used.items_read - start_items) as f64 / finished as f64;
    println!(
        "nightly: {finished} finished runs, {} run items read, {} items read in all ({start_items} of them starts for the schedule learner; {per_run:.3} others per run), {} requests",
        used.run_items_rolled_up, used.items_read, used.dynamodb_requests
    );
    assert_eq!(used.run_items_rolled_up, finished, "each finished run read exactly once");
    assert!(per_run <= 1.05, "{per_run} items read per finished run, beyond the learner's starts");
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
    overrun_app::nightly::handle(next_night, &policy, None, runs, stats).await.unwrap();
    assert_eq!(
        baseline_n(stats.stored_baselines().await.unwrap().items),
        Some(12),
        "the seed counts every run"
    );
    // Twelve runs, cap 0.1: one may stay out, the warned one.
    let report = overrun_app::nightly::handle(next_night, &policy, Some(ExclusionCap::TENTH), runs, stats)
        .await
        .unwrap();
    assert_eq!(report.days_rolled_up, 0, "the day aggregates kept the warned run apart");
    assert_eq!(baseline_n(stats.stored_baselines().await.unwrap().items), Some(11));
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
    let core = NightBaseline { baseline: core, window: window.histogram, seasons: None };
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

#[tokio::test]
async fn a_lone_outlier_stays_out_of_the_stored_baseline_and_days_stored_without_their_longest_runs_are_rolled_up_again()
 {
    let stack = Stack::new().await;
    let durations = etl_history(&stack).await;
    // A succeeded finish of a run whose start lay 30 days back.
    let end = NIGHT - 2 * MS_PER_DAY + 5 * MS_PER_HOUR;
    let bogus = 30 * MS_PER_DAY;
    run(&stack, "etl", "bogus", end - bogus, end, "SUCCEEDED").await;
    let first = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(first.days_rolled_up, 10);

    let policy = stack.config.policy;
    let mut window = WindowStats::new(true);
    durations.iter().for_each(|&d| window.push(d));
    let next_longest = durations.iter().copied().max().unwrap();
    window.outlier = Some(Outlier { duration_ms: bogus as u64, next_longest_ms: next_longest });
    let core = policy.baseline_from(&window, policy.night_start(policy.night_at_or_before(NIGHT))).unwrap();
    let expected = vec![(
        TaskType::new("etl").unwrap(),
        NightBaseline { baseline: core, window: window.histogram, seasons: None },
    )];
    let stored = || async { stack.adapters.stats.stored_baselines().await.unwrap().items };
    assert_eq!(stored().await, expected, "the ten runs of the window, the bogus one kept out and named");
    let limits_item = stack
        .scan(&stack.config.stats_table)
        .await
        .into_iter()
        .find(|item| item["pk"].as_s().is_ok_and(|pk| pk == "LIMITS"))
        .unwrap();
    assert_eq!(limits_item["outlier_ms"], AttributeValue::N(bogus.to_string()));

    // A day aggregate as a version before the rule wrote it: no longest runs.
    let day_items: Vec<_> = stack
        .scan(&stack.config.stats_table)
        .await
        .into_iter()
        .filter(|item| item.contains_key("longest_ms"))
        .collect();
    assert_eq!(day_items.len(), 10, "each day's aggregate lists its longest runs");
    let old = &day_items[0];
    stack
        .dynamodb
        .update_item()
        .table_name(&stack.config.stats_table)
        .key("pk", old["pk"].clone())
        .key("sk", old["sk"].clone())
        .update_expression("REMOVE longest_ms")
        .send()
        .await
        .unwrap();
    let healed = nightly(&stack, NIGHT + 2 * MS_PER_HOUR).await;
    assert_eq!(healed.days_rolled_up, 1, "that day again, from its runs");
    assert_eq!(stored().await, expected);
    let after = nightly(&stack, NIGHT + 3 * MS_PER_HOUR).await;
    assert_eq!((after.days_rolled_up, after.baselines_written), (0, 0), "healed once, for good");
}
