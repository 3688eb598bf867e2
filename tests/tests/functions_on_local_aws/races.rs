//! Invocations racing each other over a slow, lossy network (the fault proxy): one message per
//! message, one count per run.

use std::time::Duration;

use overrun_integration_tests::endpoint;
use overrun_integration_tests::fault_proxy::{Fault, FaultProxy, Rule};

use super::crash_windows::fast_limits;
use super::*;

#[tokio::test]
async fn two_checkers_racing_over_a_slow_network_send_the_alert_and_the_resolved_once_each() {
    let stack = Stack::new().await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs).await.unwrap();
    let proxy = FaultProxy::start(&endpoint()).await;
    proxy.random(0.5, 42, &[Fault::Latency(Duration::from_millis(40))]);
    let (a, notifier_a) = stack.through(&proxy.url, fast_limits()).await;
    let (b, notifier_b) = stack.through(&proxy.url, fast_limits()).await;

    let (first, second) = tokio::join!(
        tick_through(&stack, &a, &notifier_a, NOON, "a"),
        tick_through(&stack, &b, &notifier_b, NOON, "b")
    );
    assert_eq!(first.alerts_published + second.alerts_published, 1, "{first:?} {second:?}");
    ingest(&task_event("etl", "slow", "FAILED", NOON + 300 * S), &stack.adapters.runs).await.unwrap();
    let later = NOON + 600 * S;
    let (first, second) = tokio::join!(
        tick_through(&stack, &a, &notifier_a, later, "c"),
        tick_through(&stack, &b, &notifier_b, later, "d")
    );
    assert_eq!(first.resolved_published + second.resolved_published, 1, "{first:?} {second:?}");

    let ids: Vec<String> = stack
        .received()
        .await
        .iter()
        .map(|envelope| envelope["MessageAttributes"]["alert_id"]["Value"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["etl/slow/warning", "etl/slow/resolved"]);
}

#[tokio::test]
async fn the_same_finish_ingested_twice_at_once_with_a_lost_answer_counts_the_run_once() {
    let stack = Stack::new().await;
    let start = NOON - 600 * S;
    ingest(&task_event("etl", "r1", "STARTED", start), &stack.adapters.runs).await.unwrap();
    let proxy = FaultProxy::start(&endpoint()).await;
    proxy.random(0.5, 7, &[Fault::Latency(Duration::from_millis(40))]);
    // The day's count and the run's mark are one transaction: its answer is lost once.
    proxy.add(Rule::new("TransactWriteItems", Fault::ResetAfter));
    let (adapters, _) = stack.through(&proxy.url, fast_limits()).await;
    let finished = task_event("etl", "r1", "SUCCEEDED", NOON);
    let (first, second) = tokio::join!(ingest(&finished, &adapters.runs), ingest(&finished, &adapters.runs));
    let counted = [first.unwrap(), second.unwrap()]
        .iter()
        .filter(|outcome| outcome.recorded().is_some_and(|recorded| recorded.counted))
        .count();
    assert!(counted <= 1, "counted by both deliveries");
    assert_eq!(proxy.count("TransactWriteItems", Fault::ResetAfter, &[]), 1);
    let day = stack.config.policy.bucket_of_end(NOON);
    let statuses = stack.adapters.stats.day_statuses(&[day]).await.unwrap();
    assert_eq!(statuses.iter().map(|status| status.finished).sum::<u64>(), 1, "the day counts the run once");
}
