//! The forwarder: alerts the checker published, as SNS hands them to a Lambda subscriber, sent to
//! PagerDuty (triggered, then resolved, keyed by run and level) and Slack, with their secrets in
//! Secrets Manager and the destinations played by a local recording server.

use std::sync::Arc;
use std::time::Duration;

use overrun_aws::secrets::{CachedSecret, SecretsManagerSource};
use overrun_forwarder::{Destinations, HttpPoster, PagerDuty, Poster, Retries, Slack, SnsEvent, handle};
use overrun_integration_tests::recording_server::RecordingServer;

use super::*;

const FAST: Retries = Retries { attempts: 3, first_backoff: Duration::from_millis(5) };

async fn secret(stack: &Stack, value: &str) -> String {
    let name = overrun_integration_tests::unique("forwarding");
    aws_sdk_secretsmanager::Client::new(&stack.sdk)
        .create_secret()
        .name(&name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    name
}

async fn destinations(stack: &Stack, server: &RecordingServer) -> Destinations<SecretsManagerSource> {
    let routing_key = secret(stack, "R0UT1NGKEY0123456789abcdef012345").await;
    let webhook = secret(stack, &format!("{}/services/T000/B000/XXXX", server.url)).await;
    Destinations {
        pagerduty: Some(PagerDuty {
            events_url: format!("{}/v2/enqueue", server.url),
            routing_key: CachedSecret::new(SecretsManagerSource::new(&stack.sdk, routing_key)),
        }),
        slack: Some(Slack { webhook_url: CachedSecret::new(SecretsManagerSource::new(&stack.sdk, webhook)) }),
    }
}

/// The notifications the topic delivered since the last read, as SNS would invoke a Lambda
/// subscriber with them.
async fn sns_event(stack: &Stack) -> SnsEvent {
    let records: Vec<Value> = stack
        .received()
        .await
        .into_iter()
        .map(|envelope| {
            json!({"EventSource": "aws:sns", "EventVersion": "1.0",
                   "EventSubscriptionArn": format!("{}:forwarder", stack.topic_arn), "Sns": envelope})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn poster() -> Arc<dyn Poster> {
    Arc::new(HttpPoster::new(Duration::from_secs(5)))
}

#[tokio::test]
async fn an_overrun_pages_pagerduty_and_slack_and_its_resolution_resolves_the_incidents() {
    let stack = Stack::new().await;
    let server = RecordingServer::start();
    let destinations = destinations(&stack, &server).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 2 * MS_PER_HOUR), &stack.adapters.runs)
        .await
        .unwrap();
    check(&stack, NOON, "tick-1").await;

    let alerts = sns_event(&stack).await;
    assert_eq!(alerts.records.len(), 2, "a warning and a critical");
    let forwarded = handle(&alerts, &destinations, &poster(), FAST, NOON).await;
    assert!(forwarded.failures.is_empty(), "{forwarded:?}");
    assert_eq!((forwarded.pagerduty_events, forwarded.slack_posts), (2, 2));
    let received = server.take();
    let triggers: Vec<&Value> =
        received.iter().filter(|r| r.path == "/v2/enqueue").map(|r| &r.body).collect();
    let mut keys: Vec<&str> = triggers.iter().map(|t| t["dedup_key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["etl/slow/critical", "etl/slow/warning"]);
    assert!(triggers.iter().all(|t| t["event_action"] == "trigger" && t["routing_key"] == "R0UT1NGKEY0123456789abcdef012345"));
    assert!(
        triggers.iter().all(|t| t["payload"]["summary"].as_str().unwrap().contains("etl running 2h")),
        "{triggers:?}"
    );
    let slack: Vec<&Value> =
        received.iter().filter(|r| r.path == "/services/T000/B000/XXXX").map(|r| &r.body).collect();
    assert_eq!(slack.len(), 2);
    assert!(
        slack
            .iter()
            .any(|s| s["text"].as_str().unwrap().starts_with(":rotating_light: [Overrun CRITICAL] etl")),
        "{slack:?}"
    );

    // Redelivered by SNS: PagerDuty gets the same keys again, so it pages once.
    handle(&alerts, &destinations, &poster(), FAST, NOON).await;
    let again: Vec<String> = server
        .take()
        .iter()
        .filter(|r| r.path == "/v2/enqueue")
        .map(|r| r.body["dedup_key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|key| keys.contains(&key.as_str())));

    ingest(&task_event("etl", "slow", "SUCCEEDED", NOON + 300 * S), &stack.adapters.runs).await.unwrap();
    check(&stack, NOON + 600 * S, "tick-2").await;
    let resolved = sns_event(&stack).await;
    let forwarded = handle(&resolved, &destinations, &poster(), FAST, NOON + 600 * S).await;
    assert!(forwarded.failures.is_empty(), "{forwarded:?}");
    let received = server.take();
    let resolves: Vec<&Value> =
        received.iter().filter(|r| r.path == "/v2/enqueue").map(|r| &r.body).collect();
    let mut resolved_keys: Vec<&str> = resolves.iter().map(|r| r["dedup_key"].as_str().unwrap()).collect();
    resolved_keys.sort();
    assert_eq!(resolved_keys, keys, "both incidents resolved");
    assert!(resolves.iter().all(|r| r["event_action"] == "resolve"));
    assert!(received.iter().any(|r| {
        r.body["text"].as_str().is_some_and(|t| t.starts_with(":white_check_mark: [Overrun resolved] etl"))
    }));
}

#[tokio::test]
async fn a_destination_that_keeps_failing_fails_the_delivery_so_lambda_retries_it() {
    let stack = Stack::new().await;
    let server = RecordingServer::start();
    let destinations = destinations(&stack, &server).await;
    etl_history(&stack).await;
    nightly(&stack, NIGHT + MS_PER_HOUR).await;
    ingest(&task_event("etl", "slow", "STARTED", NOON - 1_000 * S), &stack.adapters.runs).await.unwrap();
    check(&stack, NOON, "tick-1").await;
    let alert = sns_event(&stack).await;
    assert_eq!(alert.records.len(), 1);

    // PagerDuty answers 500 three times: given up, named; Slack still gets its post.
    server.answer_next_with(&[500, 500, 500]);
    let forwarded = handle(&alert, &destinations, &poster(), FAST, NOON).await;
    assert_eq!(forwarded.failures.len(), 1, "{forwarded:?}");
    assert!(
        forwarded.failures[0].contains("PagerDuty did not take the message after 3 attempts"),
        "{forwarded:?}"
    );
    assert_eq!(forwarded.slack_posts, 1);
    // A 503 then success: delivered on the retry.
    server.take();
    server.answer_next_with(&[503]);
    let forwarded = handle(&alert, &destinations, &poster(), FAST, NOON).await;
    assert!(forwarded.failures.is_empty(), "{forwarded:?}");
    assert_eq!(server.take().iter().filter(|r| r.path == "/v2/enqueue").count(), 2, "the 503 and the retry");
}

#[tokio::test]
async fn a_message_that_is_not_overruns_is_a_failure_not_a_silent_drop() {
    let stack = Stack::new().await;
    let server = RecordingServer::start();
    let destinations = destinations(&stack, &server).await;
    let event: SnsEvent = serde_json::from_value(json!({"Records": [{"Sns": {"MessageId": "m-1",
        "Message": "hello", "Subject": null, "MessageAttributes": {}}}]}))
    .unwrap();
    let forwarded = handle(&event, &destinations, &poster(), FAST, NOON).await;
    assert_eq!(
        forwarded.failures,
        vec![
            "SNS message m-1: not an Overrun message: not JSON (expected value at line 1 column 1)"
                .to_owned()
        ]
    );
    assert!(server.take().is_empty());
}
