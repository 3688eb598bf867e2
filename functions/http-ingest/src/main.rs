//! Wiring only: config, clients and the secrets' cache once at cold start, then one HTTP request
//! per invocation.

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_app::ingest::NoticeSettings;
use overrun_aws::{Adapters, Config, SnsNotifier, SystemClock, metrics};
use overrun_core::ports::Clock;
use overrun_http_ingest::{
    CachedSecrets, Deps, Handled, HttpRequest, HttpResponse, SecretsManagerSource, handle,
};

/// The Secrets Manager secret (ARN or name) holding the sources' secrets.
const SECRET_ID: &str = "OVERRUN_SOURCES_SECRET";

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = Config::from_env()?;
    let secret_id = std::env::var(SECRET_ID).ok().filter(|id| !id.trim().is_empty()).ok_or_else(|| {
        format!("{SECRET_ID} is not set: it names the Secrets Manager secret of the sources' tokens")
    })?;
    let topic = config.short_notice_topic()?;
    let sdk = overrun_aws::sdk_config().await;
    let adapters = Adapters::new(&sdk, &config);
    let notifier = SnsNotifier::new(adapters.sns.clone(), topic, adapters.counters.clone());
    let secrets = CachedSecrets::new(SecretsManagerSource::new(&sdk, secret_id));
    let deps = Deps { adapters: &adapters, notifier: &notifier, secrets: &secrets, qualify: config.qualify };
    let (deps, rule, policy) = (&deps, config.short, &config.policy);
    let retention_ms = config.retention_ms();
    let clock_skew_ms = config.clock_skew_ms;
    let seasons = config.seasons;
    run(service_fn(|event: LambdaEvent<HttpRequest>| async move {
        let settings = NoticeSettings {
            rule,
            claim: &event.context.request_id,
            now: SystemClock.now(),
            policy,
            retention_ms,
            clock_skew_ms,
            seasons,
        };
        let handled = handle(&event.payload, deps, &settings).await;
        let response = handled.response();
        log(&event.payload, &handled, &response);
        Ok::<HttpResponse, Error>(response)
    }))
    .await
}

fn log(request: &HttpRequest, handled: &Handled, response: &HttpResponse) {
    let (recorded, refused) = match handled {
        Handled::Recorded { source, outcome, .. } => {
            tracing::info!(path = %request.raw_path, %source, ?outcome, "request recorded");
            (1, 0)
        }
        Handled::RecordedNoticePending { source } => {
            tracing::info!(path = %request.raw_path, %source, "request recorded; notice pending");
            (1, 0)
        }
        Handled::Nothing { reason, .. } => {
            tracing::info!(path = %request.raw_path, %reason, "request answered, nothing to record");
            (0, 0)
        }
        Handled::Refused(refusal) => {
            tracing::warn!(path = %request.raw_path, status = refusal.status, reason = %refusal.reason, "request refused");
            (0, 1)
        }
    };
    let unavailable = u64::from(response.status_code == 503);
    metrics::emit(
        "http-ingest",
        &[("RequestsRecorded", recorded), ("RequestsRefused", refused), ("Unavailable", unavailable)],
    );
}
