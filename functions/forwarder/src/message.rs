//! Overrun's messages as SNS delivers them to a Lambda subscriber: the event's records, and each
//! message's JSON document (the `default` of the published message) read back.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use thiserror::Error;

/// The SNS event Lambda receives.
#[derive(Debug, Clone, Deserialize)]
pub struct SnsEvent {
    #[serde(rename = "Records")]
    pub records: Vec<SnsRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SnsRecord {
    #[serde(rename = "Sns")]
    pub sns: SnsMessage,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SnsMessage {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "Subject", default)]
    pub subject: Option<String>,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "MessageAttributes", default)]
    pub attributes: HashMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A run past its limit: `severity` is warning or critical.
    Overrun,
    /// An alerted run finished, or a type reported missed started.
    Resolved,
    /// A scheduled type did not start: `severity` is warning, then critical for the second
    /// due time missed in a row (the same `incident`).
    Missed,
    /// A run finished far below its usual duration.
    TooShort,
    /// One of Overrun's own CloudWatch alarms (a function failing or not running, events
    /// waiting in the failure queue): Overrun itself needs someone.
    Alarm,
}

/// One of Overrun's messages.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrunMessage {
    pub kind: Kind,
    pub alert_id: String,
    pub severity: String,
    pub task_type: String,
    pub run_id: String,
    /// A missed start's incident (`<task>/missed-<first due>`): its warning, critical and
    /// "resolved" share it.
    pub incident: Option<String>,
    pub subject: String,
    /// The whole JSON document, for the destinations' details.
    pub details: Value,
}

#[derive(Debug, Error, PartialEq)]
#[error("SNS message {message_id}: {problem}")]
pub struct MessageError {
    pub message_id: String,
    pub problem: String,
}

impl OverrunMessage {
    pub fn parse(sns: &SnsMessage) -> Result<Self, MessageError> {
        let error = |problem: String| MessageError { message_id: sns.message_id.clone(), problem };
        let details: Value = serde_json::from_str(&sns.message)
            .map_err(|e| error(format!("not an Overrun message: not JSON ({e})")))?;
        if let Some(alarm) = details["AlarmName"].as_str() {
            return Ok(Self::alarm(sns, alarm, &details));
        }
        let field = |key: &str| {
            details[key]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| error(format!("{key}: is missing or not a string")))
        };
        let kind = match field("kind")?.as_str() {
            "overrun" => Kind::Overrun,
            "resolved" => Kind::Resolved,
            "too_short" => Kind::TooShort,
            "missed" => Kind::Missed,
            other => {
                return Err(error(format!("kind: {other:?} is not overrun, resolved, too_short or missed")));
            }
        };
        let alert_id = field("alert_id")?;
        // A missed start is about a type, not a run.
        let run_id = if details["incident"].is_string() {
            details["run_id"].as_str().unwrap_or_default().to_owned()
        } else {
            run_named(field("run_id")?, &details)
        };
        Ok(Self {
            kind,
            alert_id,
            severity: field("severity")?,
            task_type: field("task_type")?,
            run_id,
            incident: details["incident"].as_str().map(str::to_owned),
            subject: sns.subject.clone().unwrap_or_else(|| format!("[Overrun] {}", details["task_type"])),
            details,
        })
    }

    fn alarm(sns: &SnsMessage, name: &str, details: &Value) -> Self {
        let state = details["NewStateValue"].as_str().unwrap_or("ALARM");
        let subject = sns.subject.clone().unwrap_or_else(|| format!("{state}: \"{name}\""));
        Self {
            kind: Kind::Alarm,
            alert_id: format!("alarm/{name}"),
            severity: "critical".to_owned(),
            task_type: String::new(),
            run_id: String::new(),
            incident: None,
            subject,
            details: details.clone(),
        }
    }
}

/// The run as people read it: a re-run's id says which attempt it is (`2025-01-31 (attempt 2)`),
/// a run from another account where it ran (`exec-1 (account 210987654321, us-east-1)`), as the
/// email does.
fn run_named(run_id: String, details: &Value) -> String {
    let attempt = details["attempt"].as_u64().filter(|&attempt| attempt > 1);
    let from_elsewhere = details["alert_id"].as_str().is_some_and(|id| id.contains("/from-"));
    let place = match (details["account"].as_str(), details["region"].as_str()) {
        (Some(account), Some(region)) if from_elsewhere => Some(format!("account {account}, {region}")),
        _ => None,
    };
    match (attempt, place) {
        (None, None) => run_id,
        (Some(attempt), None) => format!("{run_id} (attempt {attempt})"),
        (None, Some(place)) => format!("{run_id} ({place})"),
        (Some(attempt), Some(place)) => format!("{run_id} (attempt {attempt}; {place})"),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub fn message(kind: &str, severity: &str, alert_id: &str) -> OverrunMessage {
        let sns = SnsMessage {
            message_id: "m-1".to_owned(),
            subject: Some(format!("[Overrun] etl {kind}")),
            message: json!({"kind": kind, "alert_id": alert_id, "severity": severity, "task_type": "etl", "run_id": "r-1"})
                .to_string(),
            attributes: HashMap::new(),
        };
        OverrunMessage::parse(&sns).unwrap()
    }

    #[test]
    fn a_cloudwatch_alarm_on_the_topic_is_read_as_overruns_own_alarm() {
        let sns = SnsMessage {
            message_id: "m-2".into(),
            subject: Some("ALARM: \"overrun-CheckerNotRunningAlarm\" in US East (N. Virginia)".into()),
            message: json!({"AlarmName": "overrun-CheckerNotRunningAlarm", "AlarmDescription": "Overrun's checker has not run for three check intervals; no alerts are being sent.",
                "AWSAccountId": "123456789012", "NewStateValue": "INSUFFICIENT_DATA", "NewStateReason": "Insufficient Data: 3 datapoints were unknown.",
                "StateChangeTime": "2025-01-31T12:30:00.000+0000", "Region": "US East (N. Virginia)", "OldStateValue": "OK"}).to_string(),
            attributes: HashMap::new(),
        };
        let alarm = OverrunMessage::parse(&sns).unwrap();
        assert_eq!(
            (alarm.kind, alarm.alert_id.as_str()),
            (Kind::Alarm, "alarm/overrun-CheckerNotRunningAlarm")
        );
    }

    #[test]
    fn a_reruns_message_names_its_attempt_and_its_resolve_closes_that_attempts_incident() {
        let sns = |kind: &str, alert_id: &str| SnsMessage {
            message_id: "m-3".into(),
            subject: None,
            message: json!({"kind": kind, "alert_id": alert_id, "severity": "warning", "task_type": "etl",
                            "run_id": "2025-01-31", "attempt": 2})
            .to_string(),
            attributes: HashMap::new(),
        };
        let alert = OverrunMessage::parse(&sns("overrun", "etl/2025-01-31/attempt-2/warning")).unwrap();
        assert_eq!(alert.run_id, "2025-01-31 (attempt 2)");
        let resolved = OverrunMessage::parse(&sns("resolved", "etl/2025-01-31/attempt-2/resolved")).unwrap();
        let keys: Vec<String> = crate::pagerduty::events(&resolved, "key")
            .iter()
            .map(|event| event["dedup_key"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(keys, ["etl/2025-01-31/attempt-2/warning", "etl/2025-01-31/attempt-2/critical"]);
    }

    #[test]
    fn a_run_from_another_account_says_where_it_ran_and_a_qualified_types_run_does_not_repeat_it() {
        let sns = |alert_id: &str, attempt: u64| {
            SnsMessage {
            message_id: "m-5".into(),
            subject: None,
            message: json!({"kind": "overrun", "alert_id": alert_id, "severity": "warning", "task_type": "etl",
                            "run_id": "exec-1", "attempt": attempt, "account": "210987654321", "region": "us-east-1"})
            .to_string(),
            attributes: HashMap::new(),
        }
        };
        let foreign =
            OverrunMessage::parse(&sns("etl/exec-1/from-210987654321.us-east-1/warning", 1)).unwrap();
        assert_eq!(foreign.run_id, "exec-1 (account 210987654321, us-east-1)");
        let again =
            OverrunMessage::parse(&sns("etl/exec-1/attempt-2/from-210987654321.us-east-1/warning", 2))
                .unwrap();
        assert_eq!(again.run_id, "exec-1 (attempt 2; account 210987654321, us-east-1)");
        // A type qualified by account names it already; its home run's id stays bare.
        let qualified = OverrunMessage::parse(&sns("etl@210987654321/exec-1/warning", 1)).unwrap();
        assert_eq!(qualified.run_id, "exec-1");
    }

    #[test]
    fn a_missed_start_pages_one_incident_escalates_it_and_its_resolved_closes_it() {
        let sns = |kind: &str, severity: &str, level: &str| SnsMessage {
            message_id: "m-4".into(),
            subject: Some(format!("[Overrun] export {level}")),
            message: json!({"kind": kind, "alert_id": format!("export/missed-20241004T0205Z/{level}"),
                            "incident": "export/missed-20241004T0205Z", "severity": severity,
                            "task_type": "export", "schedule": "daily at 02:05 UTC", "usually_within_s": 80.0,
                            "last_start": 1_727_921_140.0, "run_start": 1_728_011_700.0})
            .to_string(),
            attributes: HashMap::new(),
        };
        let events = |message: &OverrunMessage| crate::pagerduty::events(message, "key");
        let warning = OverrunMessage::parse(&sns("missed", "warning", "warning")).unwrap();
        let critical = OverrunMessage::parse(&sns("missed", "critical", "critical")).unwrap();
        let resolved = OverrunMessage::parse(&sns("resolved", "info", "resolved")).unwrap();
        let (w, c, r) = (events(&warning), events(&critical), events(&resolved));
        assert_eq!((w.len(), c.len(), r.len()), (1, 1, 1));
        for event in [&w[0], &c[0], &r[0]] {
            assert_eq!(event["dedup_key"], "export/missed-20241004T0205Z", "one incident: {event}");
        }
        assert_eq!(
            (w[0]["payload"]["severity"].as_str(), c[0]["payload"]["severity"].as_str()),
            (Some("warning"), Some("critical"))
        );
        assert_eq!(r[0]["event_action"], "resolve");
        let slack = crate::slack::payload(&warning)["blocks"][0]["text"]["text"].as_str().unwrap().to_owned();
        assert!(slack.contains("it runs daily at 02:05 UTC, usually within 1m 20s"), "{slack}");
        assert!(slack.contains("Last start: 2024-10-03 02:05 UTC"), "{slack}");
    }

    #[test]
    fn a_message_that_is_not_overruns_is_refused_naming_what_is_wrong() {
        let sns = |message: &str| SnsMessage {
            message_id: "m-9".into(),
            subject: None,
            message: message.into(),
            attributes: HashMap::new(),
        };
        let error = OverrunMessage::parse(&sns("hello")).unwrap_err().to_string();
        assert!(error.starts_with("SNS message m-9: not an Overrun message"), "{error}");
        let error = OverrunMessage::parse(&sns(r#"{"kind": "party"}"#)).unwrap_err().to_string();
        assert!(error.contains("kind: \"party\" is not"), "{error}");
        let error = OverrunMessage::parse(&sns(r#"{"kind": "overrun"}"#)).unwrap_err().to_string();
        assert!(error.contains("alert_id: is missing"), "{error}");
    }
}
