//! Wiring only: config and clients once at cold start, then one event per invocation.

// The handler's future, checked JSON and all, nests deeper than the default limit allows.
#![recursion_limit = "256"]

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_aws::{Adapters, Config, SnsNotifier, SystemClock, metrics};
use overrun_core::ports::Clock;
use overrun_ingest::{IngestError, NoticeSettings, ShortNotice, handle_checked_and_notify};
use overrun_sources::{Accounts, CheckedJson};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    // Too-short notices are published from here: with them on, the topic is required at start.
    let topic = config.short_notice_topic()?;
    let adapters = Adapters::new(&overrun_aws::sdk_config().await, &config);
    let notifier = SnsNotifier::new(adapters.sns.clone(), topic, adapters.counters.clone());
    let (adapters, notifier, rule) = (&adapters, &notifier, config.short);
    let retention_ms = config.retention_ms();
    let clock_skew_ms = config.clock_skew_ms;
    let seasons = config.seasons;
    let policy = &config.policy;
    let accounts = &Accounts { home: Some(config.require_home()?), qualify: config.qualify };
    run(service_fn(|event: LambdaEvent<CheckedJson>| async move {
        let settings = NoticeSettings {
            rule,
            claim: &event.context.request_id,
            now: SystemClock.now(),
            policy,
            retention_ms,
            clock_skew_ms,
            seasons,
        };
        let result = handle_checked_and_notify(event.payload, accounts, adapters, notifier, &settings).await;
        let recorded = result.as_ref().ok().and_then(|(outcome, _)| outcome.recorded().copied());
        let conflict = recorded.and_then(|recorded| recorded.conflict);
        if let Some(conflict) = conflict {
            tracing::warn!(?conflict, "a finish contradicting the run's first was ignored; the first finish stands");
        }
        let bad = u64::from(matches!(result, Err(IngestError::Malformed(_))));
        let counted = recorded.map_or(0, |recorded| u64::from(recorded.counted));
        let notices = u64::from(matches!(result, Ok((_, ShortNotice::Published))));
        metrics::emit(
            "ingest",
            &[
                ("EventsIngested", u64::from(result.is_ok())),
                ("BadEvents", bad),
                ("RunsCompleted", counted),
                ("ShortNotices", notices),
                ("ConflictingFinishes", u64::from(conflict.is_some())),
            ],
        );
        match result {
            Ok((outcome, notice)) => {
                tracing::info!(?outcome, ?notice, "event recorded");
                Ok(serde_json::json!({ "outcome": format!("{outcome:?}"), "short_notice": format!("{notice:?}") }))
            }
            Err(error) => {
                tracing::error!(%error, "event rejected");
                Err(Error::from(error.to_string()))
            }
        }
    }))
    .await
}
