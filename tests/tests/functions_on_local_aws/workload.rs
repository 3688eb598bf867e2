//! A seeded workload — hundreds of runs over nine days, two nightly runs, a day of checker
//! ticks — played once straight against the local endpoint and again through the fault proxy
//! at 10 % and 30 % faults, with Lambda-style retries of every failed invocation. The faulty
//! runs must end with the same tables (claims' owners and times aside) and every message the
//! clean run sent; a message may repeat only where a publish's answer or its delivery mark was
//! lost.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use overrun_aws::{Adapters, SnsNotifier};
use overrun_core::evaluation::rng::SplitMix64;
use overrun_integration_tests::endpoint;
use overrun_integration_tests::fault_proxy::{Fault, FaultProxy};

use super::*;

const MINUTE: i64 = 60 * S;
const TICK: i64 = 10 * MINUTE;
/// Invocations of one event, night or tick: the first, Lambda's two retries, then the
/// failed-event queue redriven until it goes through.
const ATTEMPTS: usize = 10;

/// The functions' limits with short backoffs. No hang is injected here, and an attempt must not
/// time out merely because moto is slow under load: the SDK would retry while the first attempt
/// is still being applied, and moto — unlike DynamoDB, which deduplicates a transaction's retry
/// by its ClientRequestToken (the SDK sets one per operation) — applies a TransactWriteItems
/// twice, non-atomically, when two copies overlap.
fn workload_limits() -> overrun_aws::CallLimits {
    overrun_aws::CallLimits {
        connect: std::time::Duration::from_secs(2),
        attempt: std::time::Duration::from_secs(20),
        operation: std::time::Duration::from_secs(60),
        max_attempts: 3,
        initial_backoff: std::time::Duration::from_millis(5),
    }
}

/// A run's events: (time, event).
fn workload(seed: u64) -> Vec<(i64, Value)> {
    let mut rng = SplitMix64::new(seed);
    let mut events = Vec::new();
    let first = NIGHT - 8 * MS_PER_DAY;
    for task in 0..6 {
        let nominal = 300 + rng.below(1_200) as i64;
        let mut start = first + rng.below(3_600) as i64 * S;
        let mut index = 0;
        while start < NIGHT + MS_PER_DAY - 2 * MS_PER_HOUR {
            let jitter = 0.9 + 0.2 * rng.unit();
            let roll = rng.unit();
            // Slowed runs are kept to the live day, when the checker watches.
            let live = start >= NIGHT;
            let (factor, state) = match roll {
                r if live && r < 0.12 => (3.5, "SUCCEEDED"),
                r if live && r < 0.16 => (0.05, "SUCCEEDED"),
                r if r < 0.20 => (0.7, "FAILED"),
                _ => (1.0, "SUCCEEDED"),
            };
            let duration = (nominal as f64 * jitter * factor) as i64 * S;
            let (task_type, run_id) = (format!("job-{task}"), format!("job-{task}-{index}"));
            events.push((start, task_event(&task_type, &run_id, "STARTED", start)));
            events.push((start + duration, task_event(&task_type, &run_id, state, start + duration)));
            start += 2 * MS_PER_HOUR + rng.below(1_800) as i64 * S;
            index += 1;
        }
    }
    events.sort_by_key(|(at, _)| *at);
    events
}

/// Tries `invoke` up to [`ATTEMPTS`] times, each attempt an invocation of its own.
async fn with_retries<F, Fut>(what: &str, mut invoke: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for attempt in 0..ATTEMPTS {
        if invoke(attempt).await {
            return;
        }
    }
    panic!("{what} failed {ATTEMPTS} times in a row");
}

/// Plays the workload through `adapters`, checking every ten minutes of the live day.
async fn play(stack: &Stack, adapters: &Adapters, notifier: &SnsNotifier, events: &[(i64, Value)]) {
    let policy = stack.config.policy;
    let retention_ms = i64::from(stack.config.retention_days) * MS_PER_DAY;
    let mut pending = events.iter().peekable();
    let mut t = events[0].0 - events[0].0.rem_euclid(TICK);
    let end = NIGHT + MS_PER_DAY + 6 * MS_PER_HOUR;
    while t <= end {
        while let Some((at, event)) = pending.next_if(|(at, _)| *at <= t) {
            with_retries("an ingest", |attempt| async move {
                let owner = format!("ingest-{at}-{attempt}");
                let settings = NoticeSettings {
                    rule: stack.config.short,
                    claim: &owner,
                    now: *at + attempt as i64 * S,
                    policy: &policy,
                    retention_ms,
                    clock_skew_ms: stack.config.clock_skew_ms,
                    seasons: None,
                };
                handle_and_notify(event, &overrun_integration_tests::home(), adapters, notifier, &settings)
                    .await
                    .is_ok()
            })
            .await;
        }
        if t == NIGHT + MS_PER_HOUR || t == NIGHT + MS_PER_DAY + MS_PER_HOUR {
            with_retries("a nightly run", |_| async move {
                overrun_app::nightly::handle_by_season(
                    t,
                    &policy,
                    stack.config.exclusion_cap,
                    stack.config.seasons.as_ref().map(|rule| overrun_app::nightly::SeasonNights {
                        rule,
                        runs_kept_days: stack.config.retention_days,
                    }),
                    &adapters.runs,
                    &adapters.stats,
                )
                .await
                .is_ok()
            })
            .await;
        }
        if t > NIGHT + MS_PER_HOUR {
            with_retries("a checker tick", |attempt| async move {
                let owner = format!("tick-{t}-{attempt}");
                !tick_through(stack, adapters, notifier, t + attempt as i64 * S, &owner).await.failed()
            })
            .await;
        }
        t += TICK;
    }
}

/// An item with what depends on who delivered a message and when left out: the owners and
/// times of claims, the messages stored with them (their "checked at"), `resolved_at`.
fn normalized(item: &BTreeMap<String, AttributeValue>) -> String {
    fn strip(value: &AttributeValue) -> String {
        match value {
            AttributeValue::M(map) => {
                let kept: BTreeMap<&String, String> = map
                    .iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "owner" | "claimed_at" | "first_claimed_at" | "delivered_at" | "message"
                        )
                    })
                    .map(|(k, v)| (k, strip(v)))
                    .collect();
                format!("{kept:?}")
            }
            other => format!("{other:?}"),
        }
    }
    // When an incident was resolved, and so when its item expires, is the tick that resolved it:
    // a fault on that tick's first try moves both to the next tick.
    let incident = item.get("pk").and_then(|pk| pk.as_s().ok()).is_some_and(|pk| pk == "MISSED");
    let kept: BTreeMap<&String, String> = item
        .iter()
        .filter(|(k, _)| k.as_str() != "resolved_at" && !(incident && k.as_str() == "expires_at"))
        .map(|(k, v)| (k, strip(v)))
        .collect();
    format!("{kept:?}")
}

async fn table(stack: &Stack, name: &str) -> BTreeSet<String> {
    stack.scan(name).await.iter().map(|item| normalized(&item.clone().into_iter().collect())).collect()
}

/// How many times each dedupe key was received.
async fn deliveries(stack: &Stack) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for envelope in stack.received().await {
        let id = envelope["MessageAttributes"]["alert_id"]["Value"].as_str().unwrap_or("?").to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

struct Played {
    runs: BTreeSet<String>,
    stats: BTreeSet<String>,
    delivered: BTreeMap<String, usize>,
}

async fn played(stack: &Stack) -> Played {
    Played {
        runs: table(stack, &stack.config.runs_table).await,
        stats: table(stack, &stack.config.stats_table).await,
        delivered: deliveries(stack).await,
    }
}

async fn clean_run(events: &[(i64, Value)]) -> Played {
    let stack = Stack::new().await;
    let notifier = stack.notifier();
    play(&stack, &stack.adapters, &notifier, events).await;
    played(&stack).await
}

async fn faulty_run(events: &[(i64, Value)], rate: f64, seed: u64) {
    let clean = clean_run(events).await;
    assert!(clean.delivered.values().all(|&n| n == 1), "the clean run sends each message once");
    let kinds: BTreeSet<&str> = clean.delivered.keys().filter_map(|id| id.rsplit('/').next()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from(["critical", "resolved", "too_short", "warning"]),
        "the workload sends every kind"
    );

    let stack = Stack::new().await;
    let proxy = FaultProxy::start(&endpoint()).await;
    let (adapters, notifier) = stack.through(&proxy.url, workload_limits()).await;
    proxy.random(
        rate,
        seed,
        &[
            Fault::ServerError,
            Fault::Throttle,
            Fault::ThroughputExceeded,
            Fault::ResetBefore,
            Fault::ResetAfter,
            Fault::Latency(std::time::Duration::from_millis(30)),
        ],
    );
    play(&stack, &adapters, &notifier, events).await;
    proxy.heal();
    let faulty = played(&stack).await;

    let seen = proxy.seen();
    let faults = seen.iter().filter(|s| s.fault.is_some()).count();
    let lost_publish_answers = proxy.count("Publish", Fault::ResetAfter, &[]);
    let lost_marks = seen
        .iter()
        .filter(|s| {
            s.operation == "UpdateItem" && s.body.contains("\"#delivered\"") && s.body.contains("\":now\"")
        })
        .filter(|s| s.fault.is_some())
        .count();
    let duplicates: usize = faulty.delivered.values().map(|n| n.saturating_sub(1)).sum();
    println!(
        "workload at {:.0} % faults: {} requests, {faults} faults; {} messages ({} kinds) like the clean run; {duplicates} repeats, {lost_publish_answers} publish answers and {lost_marks} delivery marks lost",
        rate * 100.0,
        seen.len(),
        clean.delivered.len(),
        kinds.len()
    );
    assert!(faults > 0);
    let lost: Vec<&String> =
        clean.delivered.keys().filter(|id| !faulty.delivered.contains_key(*id)).collect();
    assert!(lost.is_empty(), "messages lost: {lost:?}");
    let extra: Vec<&String> =
        faulty.delivered.keys().filter(|id| !clean.delivered.contains_key(*id)).collect();
    assert!(extra.is_empty(), "messages the clean run did not send: {extra:?}");
    assert!(
        duplicates <= lost_publish_answers + lost_marks,
        "{duplicates} repeats, but only {lost_publish_answers} publish answers and {lost_marks} marks were lost"
    );
    let runs_diff: Vec<_> = clean.runs.symmetric_difference(&faulty.runs).take(4).collect();
    assert!(runs_diff.is_empty(), "run items differ from the clean run's: {runs_diff:#?}");
    let stats_diff: Vec<_> = clean.stats.symmetric_difference(&faulty.stats).take(4).collect();
    assert!(
        stats_diff.is_empty(),
        "day aggregates, baselines or notices differ from the clean run's: {stats_diff:#?}"
    );
}

#[tokio::test]
async fn a_workload_at_ten_percent_faults_ends_like_the_clean_run_with_no_message_lost() {
    faulty_run(&workload(7), 0.10, 1_010).await;
}

#[tokio::test]
async fn a_workload_at_thirty_percent_faults_ends_like_the_clean_run_with_no_message_lost() {
    faulty_run(&workload(7), 0.30, 3_030).await;
}
