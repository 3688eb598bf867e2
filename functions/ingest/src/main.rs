//! Wiring only: config and clients once at cold start, then one event per invocation.

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_aws::{Adapters, Config, metrics};
use overrun_ingest::{IngestOutcome, handle};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let adapters = Adapters::new(&overrun_aws::sdk_config().await, &config);
    let store = &adapters.runs;
    run(service_fn(|event: LambdaEvent<Value>| async move {
        let outcome = handle(&event.payload, store).await;
        let (bad, counted) = match &outcome {
            Err(overrun_ingest::IngestError::Malformed(_)) => (1, 0),
            Ok(IngestOutcome::Finished(recorded) | IngestOutcome::Started(recorded)) => {
                (0, u64::from(recorded.counted))
            }
            _ => (0, 0),
        };
        metrics::emit(
            "ingest",
            &[("EventsIngested", u64::from(outcome.is_ok())), ("BadEvents", bad), ("RunsCompleted", counted)],
        );
        match outcome {
            Ok(outcome) => {
                tracing::info!(?outcome, "event recorded");
                Ok(serde_json::json!({ "outcome": format!("{outcome:?}") }))
            }
            Err(error) => {
                tracing::error!(%error, "event rejected");
                Err(Error::from(error.to_string()))
            }
        }
    }))
    .await
}
