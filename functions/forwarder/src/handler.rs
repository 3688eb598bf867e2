//! One SNS delivery: each of Overrun's messages sent to every configured destination. Any message
//! that could not be read or delivered fails the invocation, so Lambda retries it and, past its
//! retries, keeps it in the failure queue (which pages): a page is never dropped quietly.
//! Retrying is safe: PagerDuty drops a repeated trigger of the same key; Slack may show a repeat.

use std::sync::Arc;

use overrun_aws::secrets::{CachedSecret, SecretSource};
use overrun_core::EpochMs;
use serde::Serialize;
use serde_json::Value;

use crate::deliver::{Poster, Retries, deliver};
use crate::message::{OverrunMessage, SnsEvent};
use crate::{pagerduty, slack};

/// PagerDuty: the Events API URL, and the secret holding the integration's routing key.
pub struct PagerDuty<S> {
    pub events_url: String,
    pub routing_key: CachedSecret<S>,
}

/// Slack: the secret holding the incoming webhook's URL.
pub struct Slack<S> {
    pub webhook_url: CachedSecret<S>,
}

pub struct Destinations<S> {
    pub pagerduty: Option<PagerDuty<S>>,
    pub slack: Option<Slack<S>>,
}

/// What one invocation did.
#[derive(Debug, Default, Serialize)]
pub struct Forwarded {
    pub messages: usize,
    pub pagerduty_events: usize,
    pub slack_posts: usize,
    /// What could not be read or delivered, each naming the message and the destination.
    pub failures: Vec<String>,
}

pub async fn handle<S: SecretSource>(
    event: &SnsEvent,
    destinations: &Destinations<S>,
    poster: &Arc<dyn Poster>,
    retries: Retries,
    now: EpochMs,
) -> Forwarded {
    let mut forwarded = Forwarded::default();
    for record in &event.records {
        let message = match OverrunMessage::parse(&record.sns) {
            Ok(message) => message,
            Err(error) => {
                forwarded.failures.push(error.to_string());
                continue;
            }
        };
        forwarded.messages += 1;
        if let Some(pagerduty) = &destinations.pagerduty {
            match pagerduty.routing_key.get(now).await {
                Ok(key) => {
                    for body in pagerduty::events(&message, key.trim()) {
                        let sent = post(poster, "PagerDuty", &pagerduty.events_url, body, retries).await;
                        record_outcome(&mut forwarded, sent, &message, |f| f.pagerduty_events += 1);
                    }
                }
                Err(error) => {
                    forwarded.failures.push(format!("{}: PagerDuty's routing key: {error}", message.alert_id))
                }
            }
        }
        if let Some(slack) = &destinations.slack {
            match slack.webhook_url.get(now).await {
                Ok(url) => {
                    let sent = post(poster, "Slack", url.trim(), slack::payload(&message), retries).await;
                    record_outcome(&mut forwarded, sent, &message, |f| f.slack_posts += 1);
                }
                Err(error) => {
                    forwarded.failures.push(format!("{}: Slack's webhook URL: {error}", message.alert_id))
                }
            }
        }
    }
    forwarded
}

fn record_outcome(
    forwarded: &mut Forwarded,
    sent: Result<(), String>,
    message: &OverrunMessage,
    count: impl FnOnce(&mut Forwarded),
) {
    match sent {
        Ok(()) => count(forwarded),
        Err(error) => forwarded.failures.push(format!("{}: {error}", message.alert_id)),
    }
}

/// The blocking post, off the async runtime's threads.
async fn post(
    poster: &Arc<dyn Poster>,
    destination: &'static str,
    url: &str,
    body: Value,
    retries: Retries,
) -> Result<(), String> {
    let (poster, url) = (poster.clone(), url.to_owned());
    tokio::task::spawn_blocking(move || deliver(poster.as_ref(), destination, &url, &body, retries))
        .await
        .map_err(|e| format!("{destination}: the delivery task failed: {e}"))?
        .map_err(|e| e.to_string())
}
