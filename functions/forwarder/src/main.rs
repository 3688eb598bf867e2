//! Wiring only: the destinations named in the environment, their secrets' readers and the HTTP
//! client once at cold start, then one SNS delivery per invocation.

use std::sync::Arc;
use std::time::Duration;

use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};
use overrun_aws::secrets::{CachedSecret, SecretsManagerSource};
use overrun_aws::{SystemClock, metrics};
use overrun_core::ports::Clock;
use overrun_forwarder::pagerduty::DEFAULT_EVENTS_URL;
use overrun_forwarder::{Destinations, HttpPoster, PagerDuty, Poster, Retries, Slack, SnsEvent, handle};

const PAGERDUTY_SECRET: &str = "OVERRUN_PAGERDUTY_SECRET";
const PAGERDUTY_URL: &str = "OVERRUN_PAGERDUTY_URL";
const SLACK_SECRET: &str = "OVERRUN_SLACK_SECRET";

fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let sdk = overrun_aws::sdk_config().await;
    let destinations = Destinations {
        pagerduty: variable(PAGERDUTY_SECRET).map(|secret| PagerDuty {
            events_url: variable(PAGERDUTY_URL).unwrap_or_else(|| DEFAULT_EVENTS_URL.to_owned()),
            routing_key: CachedSecret::new(SecretsManagerSource::new(&sdk, secret)),
        }),
        slack: variable(SLACK_SECRET)
            .map(|secret| Slack { webhook_url: CachedSecret::new(SecretsManagerSource::new(&sdk, secret)) }),
    };
    if destinations.pagerduty.is_none() && destinations.slack.is_none() {
        return Err(
            format!("neither {PAGERDUTY_SECRET} nor {SLACK_SECRET} is set: nothing to forward to").into()
        );
    }
    let poster: Arc<dyn Poster> = Arc::new(HttpPoster::new(Duration::from_secs(10)));
    let retries = Retries { attempts: 3, first_backoff: Duration::from_millis(500) };
    let (destinations, poster) = (&destinations, &poster);
    run(service_fn(|event: LambdaEvent<SnsEvent>| async move {
        let forwarded = handle(&event.payload, destinations, poster, retries, SystemClock.now()).await;
        metrics::emit(
            "forwarder",
            &[
                ("PagerDutyEvents", forwarded.pagerduty_events as u64),
                ("SlackPosts", forwarded.slack_posts as u64),
                ("ForwardFailures", forwarded.failures.len() as u64),
            ],
        );
        if forwarded.failures.is_empty() {
            tracing::info!(?forwarded, "forwarded");
            Ok(serde_json::to_value(&forwarded)?)
        } else {
            tracing::error!(?forwarded, "not every message was forwarded; failing so that Lambda retries");
            Err(Error::from(forwarded.failures.join("; ")))
        }
    }))
    .await
}
