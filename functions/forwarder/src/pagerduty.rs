//! PagerDuty Events API v2: an overrun triggers an incident keyed by run and level (PagerDuty
//! drops a repeated trigger of the same key, so redelivered alerts page once); "resolved"
//! resolves both of the run's levels; too-short notices do not page. A missed start pages one
//! incident per run of missed due times (keyed by its `incident`), escalated to critical by the
//! second, and resolved by the next start. Overrun's own alarms (a
//! function failing or not running) page too: when Overrun cannot watch, someone must know.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::message::{Kind, OverrunMessage};

pub const DEFAULT_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// PagerDuty's limits: dedup keys and summaries longer than these are refused.
const MAX_DEDUP_KEY: usize = 255;
const MAX_SUMMARY: usize = 1024;

/// The events to send for `message`, in order.
pub fn events(message: &OverrunMessage, routing_key: &str) -> Vec<Value> {
    match message.kind {
        Kind::Overrun => {
            let severity = if message.severity == "critical" { "critical" } else { "warning" };
            vec![trigger(message, routing_key, severity, (&message.task_type, "overrun"))]
        }
        Kind::Missed => {
            // One incident for the warning and its escalation: keyed by the incident, the
            // critical updates the open alert instead of paging a second one.
            let severity = if message.severity == "critical" { "critical" } else { "warning" };
            let key = message.incident.as_deref().unwrap_or(&message.alert_id);
            vec![trigger_keyed(message, routing_key, severity, (&message.task_type, "missed-start"), key)]
        }
        Kind::Resolved if message.incident.is_some() => {
            let key = message.incident.as_deref().unwrap_or_default();
            vec![json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key(key)})]
        }
        Kind::Resolved => {
            // The resolved message's key is `<task>/<run>/resolved`; the alerts' end in their level.
            let run = message.alert_id.strip_suffix("/resolved").unwrap_or(&message.alert_id);
            ["warning", "critical"]
                .iter()
                .map(|level| {
                    json!({
                        "routing_key": routing_key,
                        "event_action": "resolve",
                        "dedup_key": dedup_key(&format!("{run}/{level}")),
                    })
                })
                .collect()
        }
        Kind::TooShort => Vec::new(),
        Kind::Alarm => vec![trigger(message, routing_key, "critical", ("overrun", "overrun-health"))],
    }
}

/// A trigger keyed by the message's `alert_id`; `(component, class)` say what it is about.
fn trigger(message: &OverrunMessage, routing_key: &str, severity: &str, about: (&str, &str)) -> Value {
    trigger_keyed(message, routing_key, severity, about, &message.alert_id)
}

/// A trigger keyed by `key`.
fn trigger_keyed(
    message: &OverrunMessage,
    routing_key: &str,
    severity: &str,
    (component, class): (&str, &str),
    key: &str,
) -> Value {
    json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key(key),
        "payload": {
            "summary": truncated(&message.subject),
            "source": "overrun",
            "severity": severity,
            "component": component,
            "class": class,
            "custom_details": message.details,
        },
    })
}

/// The alert's dedupe key, or its SHA-256 when PagerDuty would find it too long.
pub fn dedup_key(alert_id: &str) -> String {
    if alert_id.len() <= MAX_DEDUP_KEY {
        alert_id.to_owned()
    } else {
        format!("overrun-sha256-{}", hex::encode(Sha256::digest(alert_id.as_bytes())))
    }
}

fn truncated(text: &str) -> String {
    if text.len() <= MAX_SUMMARY {
        return text.to_owned();
    }
    let mut end = MAX_SUMMARY - 3;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::message;

    #[test]
    fn an_overrun_triggers_keyed_by_run_and_level_and_resolved_resolves_both_levels() {
        let critical = message("overrun", "critical", "etl/r-1/critical");
        let [trigger] = events(&critical, "rk").try_into().unwrap();
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["dedup_key"], "etl/r-1/critical");
        assert_eq!(trigger["payload"]["severity"], "critical");
        assert_eq!(trigger["payload"]["component"], "etl");
        assert_eq!(trigger["routing_key"], "rk");
        let resolved = events(&message("resolved", "info", "etl/r-1/resolved"), "rk");
        let keys: Vec<&str> = resolved.iter().map(|e| e["dedup_key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["etl/r-1/warning", "etl/r-1/critical"]);
        assert!(resolved.iter().all(|e| e["event_action"] == "resolve"));
        assert!(events(&message("too_short", "info", "etl/r-1/too_short"), "rk").is_empty());
    }

    #[test]
    fn keys_and_summaries_are_kept_within_pagerdutys_limits() {
        let long = "t".repeat(400);
        let key = dedup_key(&long);
        assert!(key.len() <= MAX_DEDUP_KEY && key.starts_with("overrun-sha256-"));
        assert_eq!(dedup_key(&long), key, "the same alert, the same key");
        assert_eq!(truncated(&"é".repeat(1000)).len(), 1023);
    }
}
