//! Wiring only. Triggered every 10 minutes by an EventBridge schedule; the time comes from the
//! clock, whatever the payload.
// The checker's future (a tick over four ports, each call an SDK future) nests deeper than the
// compiler's default layout depth.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_app::check::{CheckPorts, Tick};
use overrun_aws::{Adapters, Config, SnsNotifier, SystemClock, metrics};
use overrun_core::ports::Clock;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let topic = config.require_topic()?.to_owned();
    let adapters = Adapters::new(&overrun_aws::sdk_config().await, &config);
    let notifier = SnsNotifier::new(adapters.sns.clone(), topic, adapters.counters.clone());
    let settings = config.check_settings();
    let (adapters, notifier, settings) = (&adapters, &notifier, &settings);
    let policy = config.policy;
    let notice_days = config.retention_days;
    let (policy, settings) = (&policy, settings);
    run(service_fn(|event: LambdaEvent<Value>| async move {
        let before = adapters.counters.snapshot();
        let tick =
            Tick { now: SystemClock.now(), owner: &event.context.request_id, settings, policy, notice_days };
        let ports =
            CheckPorts { runs: &adapters.runs, stats: &adapters.stats, outbox: &adapters.outbox, notifier };
        let report = overrun_app::check::handle(&tick, &ports).await;
        let used = adapters.counters.snapshot().since(&before);
        metrics::emit(
            "checker",
            &[
                ("RunsChecked", report.runs_checked as u64),
                ("AlertsPublished", report.alerts_published as u64),
                ("Resent", report.resent as u64),
                ("ClaimsLost", report.claims_lost as u64),
                ("PublishFailures", report.publish_failures as u64),
                ("Failures", report.failures as u64),
                ("ResolvedPublished", report.resolved_published as u64),
                ("NoticesPublished", report.notices_published as u64),
                ("MalformedItems", report.malformed_items as u64),
                ("CohortsStretched", report.cohorts_stretched as u64),
                ("OwnLimits", report.own_limits as u64),
                ("MissedPublished", report.missed_published as u64),
                ("OverdueTypes", report.missed.overdue as u64),
                ("ScheduledTypes", report.missed.scheduled as u64),
                ("DynamoDBRequests", used.dynamodb_requests),
            ],
        );
        tracing::info!(?report, dynamodb_requests = used.dynamodb_requests, "check done");
        if report.failed() {
            // Failing the invocation makes Lambda retry it soon; every claim keeps the retry
            // from sending anything twice.
            return Err(Error::from(format!(
                "{} reads, claims or publishes failed this tick (see the log); retrying",
                report.failures
            )));
        }
        Ok::<_, Error>(serde_json::json!({
            "runs_checked": report.runs_checked,
            "alerts_published": report.alerts_published,
            "resent": report.resent,
            "claims_lost": report.claims_lost,
            "resolved_published": report.resolved_published,
            "notices_published": report.notices_published,
            "cohorts_stretched": report.cohorts_stretched,
            "own_limits": report.own_limits,
            "missed_published": report.missed_published,
            "overdue_types": report.missed.overdue,
            "stopped_paging": report.missed.stopped_paging,
        }))
    }))
    .await
}
