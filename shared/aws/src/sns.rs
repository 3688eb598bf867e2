//! The notifier on SNS: one `Publish` per message, with per-protocol bodies and filterable
//! attributes.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use overrun_core::notify::message::Notification;
use overrun_core::ports::{Notifier, NotifyError};

use crate::counters::SharedCounters;

#[derive(Clone)]
pub struct SnsNotifier {
    client: Client,
    topic_arn: String,
    counters: SharedCounters,
}

impl SnsNotifier {
    pub fn new(client: Client, topic_arn: impl Into<String>, counters: SharedCounters) -> Self {
        Self { client, topic_arn: topic_arn.into(), counters }
    }
}

/// The `Message` of a `MessageStructure=json` publish: one body per protocol.
pub fn message_json(notification: &Notification) -> String {
    serde_json::json!({
        "default": notification.default,
        "email": notification.email,
        "email-json": notification.default,
        "sms": notification.sms,
    })
    .to_string()
}

fn attribute(value: &str) -> Result<MessageAttributeValue, NotifyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| NotifyError(e.to_string()))
}

impl Notifier for SnsNotifier {
    async fn publish(&self, notification: &Notification) -> Result<(), NotifyError> {
        self.counters.sns_publishes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut publish = self
            .client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(message_json(notification))
            .subject(&notification.subject)
            .message_attributes("severity", attribute(&notification.severity)?)
            .message_attributes("kind", attribute(&notification.kind)?)
            .message_attributes("task_type", attribute(&notification.task_type)?)
            .message_attributes("alert_id", attribute(&notification.alert_id)?);
        // SNS refuses an empty attribute: a message with no known account has none.
        if let Some(account) = &notification.account {
            publish = publish.message_attributes("account", attribute(account)?);
        }
        publish.send().await.map_err(|e| NotifyError(DisplayErrorContext(e).to_string()))?;
        Ok(())
    }
}
