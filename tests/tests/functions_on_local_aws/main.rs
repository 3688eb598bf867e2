//! The three functions' handlers with the real adapters, through the real SDK over HTTP, against
//! the local AWS endpoint (moto) that scripts/test.sh starts. One module per capability; the
//! helpers they share are here.

mod accounts;
mod checker;
mod cohorts;
mod crash_windows;
mod events;
mod forwarding;
mod hostile_events;
mod http_sources;
mod missed_starts;
mod nightly;
mod races;
mod recent_runs;
mod reruns;
mod too_short;
mod workload;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;

use overrun_core::detect::check::CheckSettings;
use overrun_core::limits::nightly::{FinishedRun, NightBaseline};
use overrun_core::ports::{
    BaselineStore, CohortStore, DayStore, FinishedRuns, LimitStore, OverrideStore, RunningRuns,
};
use overrun_core::stats::moments::WindowStats;
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

async fn nightly(stack: &Stack, now: i64) -> overrun_app::nightly::NightlyReport {
    overrun_app::nightly::handle_by_season(
        now,
        &stack.config.policy,
        stack.config.exclusion_cap,
        stack.config.seasons.as_ref().map(|rule| overrun_app::nightly::SeasonNights {
            rule,
            runs_kept_days: stack.config.retention_days,
        }),
        &stack.adapters.runs,
        &stack.adapters.stats,
    )
    .await
    .unwrap()
}

/// One checker tick, which must succeed.
async fn check(stack: &Stack, now: i64, claim: &str) -> overrun_app::check::CheckReport {
    let report = check_with(stack, now, claim, &stack.notifier()).await;
    assert!(!report.failed(), "the tick failed: {report:?}");
    report
}

/// One checker tick publishing through `notifier`, whatever its outcome.
async fn check_with(
    stack: &Stack,
    now: i64,
    claim: &str,
    notifier: &overrun_aws::SnsNotifier,
) -> overrun_app::check::CheckReport {
    tick_through(stack, &stack.adapters, notifier, now, claim).await
}

/// One checker tick through `adapters` (a fault proxy's, say), whatever its outcome.
async fn tick_through(
    stack: &Stack,
    adapters: &overrun_aws::Adapters,
    notifier: &overrun_aws::SnsNotifier,
    now: i64,
    owner: &str,
) -> overrun_app::check::CheckReport {
    let settings = settings(stack);
    let tick = overrun_app::check::Tick {
        now,
        owner,
        settings: &settings,
        policy: &stack.config.policy,
        notice_days: stack.config.retention_days,
    };
    let ports = overrun_app::check::CheckPorts {
        runs: &adapters.runs,
        stats: &adapters.stats,
        outbox: &adapters.outbox,
        notifier,
    };
    overrun_app::check::handle(&tick, &ports).await
}

fn message(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
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

/// `ingest` of `event` at NOON, with too-short notices.
async fn ingest_notifying(
    stack: &Stack,
    event: &Value,
    notifier: &overrun_aws::SnsNotifier,
    claim: &str,
) -> Result<(IngestOutcome, ShortNotice), overrun_ingest::IngestError> {
    ingest_notifying_at(stack, event, notifier, claim, NOON).await
}

/// The same at `now`.
async fn ingest_notifying_at(
    stack: &Stack,
    event: &Value,
    notifier: &overrun_aws::SnsNotifier,
    claim: &str,
    now: i64,
) -> Result<(IngestOutcome, ShortNotice), overrun_ingest::IngestError> {
    let retention_ms = i64::from(stack.config.retention_days) * MS_PER_DAY;
    let settings = NoticeSettings {
        rule: stack.config.short,
        claim,
        now,
        policy: &stack.config.policy,
        retention_ms,
        clock_skew_ms: stack.config.clock_skew_ms,
        seasons: None,
    };
    handle_and_notify(event, &overrun_integration_tests::home(), &stack.adapters, notifier, &settings).await
}
