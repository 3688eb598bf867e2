//! Wiring only. Triggered nightly by an EventBridge schedule; the payload (a scheduled event or a
//! Scheduler's own) is not read: the time comes from the clock.

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_app::nightly::SeasonNights;
use overrun_aws::{Adapters, Config, SystemClock, metrics};
use overrun_core::ports::Clock;
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let adapters = Adapters::new(&overrun_aws::sdk_config().await, &config);
    let (config, adapters) = (&config, &adapters);
    run(service_fn(|_event: LambdaEvent<Value>| async move {
        let report = overrun_app::nightly::handle_by_season(
            SystemClock.now(),
            &config.policy,
            config.exclusion_cap,
            config.seasons.as_ref().map(|rule| SeasonNights { rule, runs_kept_days: config.retention_days }),
            &adapters.runs,
            &adapters.stats,
        )
        .await?;
        let counters = adapters.counters.snapshot();
        metrics::emit(
            "baseline",
            &[
                ("DaysRolledUp", report.days_rolled_up as u64),
                ("RunsRolledUp", report.runs_rolled_up),
                ("BaselinesWritten", report.baselines_written as u64),
                ("SeasonalTypes", report.seasonal as u64),
                ("MalformedItems", report.malformed_items as u64),
            ],
        );
        tracing::info!(
            ?report,
            dynamodb_requests = counters.dynamodb_requests,
            items_read = counters.items_read,
            "nightly done"
        );
        Ok::<_, Error>(serde_json::json!({
            "night": report.night.number(),
            "days_rolled_up": report.days_rolled_up,
            "runs_rolled_up": report.runs_rolled_up,
            "baselines": report.baselines,
            "baselines_written": report.baselines_written,
            "baselines_removed": report.baselines_removed,
            "seasonal": report.seasonal,
        }))
    }))
    .await
}
