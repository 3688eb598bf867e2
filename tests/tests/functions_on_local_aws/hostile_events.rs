//! The bad-input corpus (tests/data/hostile_events.json): malformed and implausible events,
//! each refused with an error naming its field — or ignored on purpose — and nothing written.

use overrun_ingest::IngestError;
use overrun_sources::EventError;

use super::*;

const CORPUS: &str = include_str!("../../data/hostile_events.json");
const ONE_MEGABYTE: &str = "@@1MB@@";

/// The corpus event with its placeholders expanded.
fn expanded(value: &Value) -> Value {
    match value {
        Value::String(text) if text == ONE_MEGABYTE => Value::String("x".repeat(1_000_000)),
        Value::Array(items) => Value::Array(items.iter().map(expanded).collect()),
        Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.clone(), expanded(v))).collect())
        }
        other => other.clone(),
    }
}

#[tokio::test]
async fn every_hostile_event_is_refused_naming_its_field_or_ignored_and_nothing_is_written() {
    let corpus: Value = serde_json::from_str(CORPUS).unwrap();
    let cases = corpus["events"].as_array().unwrap();
    assert!(cases.len() >= 60, "the corpus holds {} events", cases.len());
    let stack = Stack::new().await;
    let notifier = stack.notifier();
    let mut wrong = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let result = ingest_notifying(&stack, &expanded(&case["event"]), &notifier, "hostile").await;
        match (case["field"].as_str(), &result) {
            (Some(field), Err(IngestError::Malformed(EventError { field: named, problem }))) => {
                let says = case["says"].as_str().unwrap_or_default();
                if named != field || !problem.contains(says) || problem.is_empty() || problem.len() > 400 {
                    wrong.push(format!(
                        "{name}: expected an error naming {field} ({says:?}), got {named}: {problem}"
                    ));
                }
            }
            (None, Ok((IngestOutcome::Ignored(_), ShortNotice::NotApplicable))) => {}
            (expected, other) => wrong.push(format!("{name}: expected {expected:?}, got {other:?}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} events handled wrongly:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "no run written");
    assert!(stack.scan(&stack.config.stats_table).await.is_empty(), "no stats item written");
    assert!(stack.received().await.is_empty(), "nothing published");
}

#[tokio::test]
async fn an_event_naming_a_field_twice_is_refused_naming_it_and_nothing_is_written() {
    let stack = Stack::new().await;
    let notifier = stack.notifier();
    // A plain JSON reader keeps the last `state`: this start would be read as a finish.
    let text = r#"{"version": "0", "id": "d1", "detail-type": "Task State Change", "source": "acme.workflows",
        "account": "123456789012", "time": "2024-10-04T12:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"task_type": "etl", "run_id": "r1", "state": "STARTED", "state": "SUCCEEDED"}}"#;
    let event: overrun_sources::CheckedJson = serde_json::from_str(text).unwrap();
    let settings = NoticeSettings {
        rule: stack.config.short,
        claim: "twice",
        now: NOON,
        policy: &stack.config.policy,
        retention_ms: i64::from(stack.config.retention_days) * MS_PER_DAY,
        clock_skew_ms: stack.config.clock_skew_ms,
        seasons: None,
    };
    let result = overrun_ingest::handle_checked_and_notify(
        event,
        &overrun_integration_tests::home(),
        &stack.adapters,
        &notifier,
        &settings,
    )
    .await;
    match result {
        Err(IngestError::Malformed(EventError { field, problem })) => {
            assert_eq!(field, "detail.state");
            assert!(problem.contains("appears twice"), "{problem}");
        }
        other => panic!("accepted: {other:?}"),
    }
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "no run written");
}
