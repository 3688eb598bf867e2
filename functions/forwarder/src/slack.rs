//! Slack incoming webhooks: every message, as its subject and the facts a reader acts on.

use serde_json::{Value, json};

use crate::message::{Kind, OverrunMessage};

pub fn payload(message: &OverrunMessage) -> Value {
    let details = &message.details;
    let seconds = |key: &str| details[key].as_f64().map(humanize).unwrap_or_else(|| "?".to_owned());
    let facts = match message.kind {
        Kind::Overrun => format!(
            "Run `{}` has been running {}; its {} limit is {} (usually {}).",
            message.run_id,
            seconds("elapsed_s"),
            message.severity,
            // Version 1 messages (still in flight during an upgrade) name it `limit_s`.
            if details.get("crossed_limit_s").is_some() {
                seconds("crossed_limit_s")
            } else {
                seconds("limit_s")
            },
            seconds("expected_s")
        ),
        Kind::Missed => format!(
            "`{}` {}: it runs {}{}. Last start: {}.",
            message.task_type,
            if message.severity == "critical" {
                "missed its due starts in a row"
            } else {
                "did not start when due"
            },
            details["schedule"].as_str().unwrap_or("on a schedule"),
            details["usually_within_s"]
                .as_f64()
                .map(|s| format!(", usually within {}", humanize(s)))
                .unwrap_or_default(),
            details["last_start"].as_f64().map(utc).unwrap_or_else(|| "none in the day before".to_owned())
        ),
        Kind::Resolved if message.incident.is_some() => format!(
            "`{}` started at {}.",
            message.task_type,
            details["run_start"].as_f64().map(utc).unwrap_or_else(|| "?".to_owned())
        ),
        Kind::Resolved => format!(
            "Run `{}` {} after {}.",
            message.run_id,
            details["status"].as_str().unwrap_or("finished"),
            seconds("duration_s")
        ),
        Kind::TooShort => format!(
            "Run `{}` succeeded in {}, usually {}: did it do its work?",
            message.run_id,
            seconds("duration_s"),
            seconds("expected_s")
        ),
        Kind::Alarm => format!(
            "{} {}",
            details["AlarmDescription"].as_str().unwrap_or("One of Overrun's alarms fired."),
            details["NewStateReason"].as_str().unwrap_or_default()
        ),
    };
    let icon = match (message.kind, message.severity.as_str()) {
        (Kind::Overrun | Kind::Missed, "critical") => ":rotating_light:",
        (Kind::Missed, _) => ":hourglass:",
        (Kind::Overrun, _) => ":warning:",
        (Kind::Resolved, _) => ":white_check_mark:",
        (Kind::TooShort, _) => ":information_source:",
        (Kind::Alarm, _) => ":fire:",
    };
    json!({
        "text": format!("{icon} {}", message.subject),
        "blocks": [{
            "type": "section",
            "text": { "type": "mrkdwn", "text": format!("{icon} *{}*\n{facts}", escape(&message.subject)) },
        }],
    })
}

/// Slack's three control characters in text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn utc(seconds: f64) -> String {
    overrun_core::notify::humanize::utc_minute((seconds * 1_000.0) as i64)
}

fn humanize(seconds: f64) -> String {
    overrun_core::notify::humanize::duration(seconds * 1_000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::tests::message;

    #[test]
    fn an_overrun_reads_as_its_subject_and_its_elapsed_time_against_its_limit() {
        let mut overrun = message("overrun", "warning", "etl/r-1/warning");
        overrun.details =
            json!({"elapsed_s": 7200.0, "crossed_limit_s": 953.0, "limit_s": 953.0, "expected_s": 735.0});
        overrun.subject = "[Overrun WARNING] etl running 2h 00m <x>".to_owned();
        let body = payload(&overrun);
        assert_eq!(body["text"], ":warning: [Overrun WARNING] etl running 2h 00m <x>");
        let text = body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(text.contains("*[Overrun WARNING] etl running 2h 00m &lt;x&gt;*"), "{text}");
        assert!(text.contains("Run `r-1` has been running 2h 00m; its warning limit is 15m 53s"), "{text}");
        // A version 1 message, still in flight during an upgrade, names only `limit_s`.
        overrun.details = json!({"elapsed_s": 7200.0, "limit_s": 953.0, "expected_s": 735.0});
        let text = payload(&overrun)["blocks"][0]["text"]["text"].as_str().unwrap().to_owned();
        assert!(text.contains("its warning limit is 15m 53s"), "{text}");
    }
}
