//! The messages of a missed start: what was expected and why ("runs daily at about 02:10 UTC,
//! usually within 25m; nothing has started since …"), and the "resolved" that follows the next
//! start.
//!
//! One incident per run of missed due times: its dedupe keys (`<task>/missed-<first due>/warning`,
//! `…/critical`, `…/resolved`) differ per message, and its `incident` (the keys' common part) is
//! the same for all of them, so that a pager escalates one incident and resolves it.

use crate::model::{Level, TaskType};
use crate::notify::humanize::{duration, utc_minute};
use crate::notify::message::{
    Json, MAX_SMS_CHARS, Notification, level_word, serde_free_json, sns_subject, truncate_chars,
    where_fields, where_line, where_ran,
};
use crate::schedule::watch::{Came, MissedStarts, Resumption};
use crate::time::EpochMs;

/// A schedule as messages state it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleWords {
    /// The pattern in words: "daily at 02:10 UTC".
    pub pattern: String,
    /// Where it came from: "learned from 23 starts", "declared by an operator".
    pub source: String,
    /// The lateness its starts showed (learned schedules): "usually within 25m".
    pub usually_within_ms: Option<i64>,
    pub grace_ms: i64,
}

/// The incident a missed due time opened: `<task>/missed-<YYYYMMDDTHHMMZ>`, `/` and `%` in the
/// name percent-encoded as in every dedupe key.
pub fn incident_key(task_type: &TaskType, first_due: EpochMs) -> String {
    let task = task_type.as_str().replace('%', "%25").replace('/', "%2F");
    format!("{task}/missed-{}", compact_minute(first_due))
}

/// `20240102T0210Z`.
fn compact_minute(t: EpochMs) -> String {
    let text = utc_minute(t);
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    format!("{}T{}Z", &digits[..8.min(digits.len())], &digits[8.min(digits.len())..])
}

/// "runs daily at 02:10 UTC (learned from 23 starts), usually within 25m 00s".
fn expectation(words: &ScheduleWords) -> String {
    let usually = words
        .usually_within_ms
        .map(|ms| format!(", usually within {} of its due time", duration(ms as f64)))
        .unwrap_or_default();
    format!("runs {} ({}){usually}", words.pattern, words.source)
}

fn since(missed: &MissedStarts) -> String {
    match missed.last_start {
        Some(start) => format!("nothing has started since {}", utc_minute(start)),
        None => "no start of it is on record in the day before".to_owned(),
    }
}

/// A missed start at `missed.level()`, checked at `at`.
pub fn missed_notification(
    task_type: &TaskType,
    missed: &MissedStarts,
    words: &ScheduleWords,
    at: EpochMs,
) -> Notification {
    let level = missed.level();
    let word = level_word(level);
    let subject = sns_subject(&match level {
        Level::Warning => {
            format!("[Overrun {word}] {task_type} did not start: due {}", utc_minute(missed.first_due))
        }
        Level::Critical => {
            format!("[Overrun {word}] {task_type} missed {} starts in a row", missed.missed.min(2))
        }
    });
    let sms = truncate_chars(
        &format!(
            "Overrun {word}: {task_type} did not start, due {}: {}; {}",
            utc_minute(missed.first_due),
            expectation(words),
            since(missed)
        ),
        MAX_SMS_CHARS,
    );
    let mut email = format!(
        "Task type {task_type} was due to start at {} and has not started (checked {}).\n\n",
        utc_minute(missed.first_due),
        utc_minute(at)
    );
    email += &format!("Expected:   it {}.\n", expectation(words));
    email +=
        &format!("Grace:      a start up to {} after its due time counts\n", duration(words.grace_ms as f64));
    email += &format!(
        "Last start: {}\n",
        missed.last_start.map_or("none in the day before".to_owned(), utc_minute)
    );
    if let Some(next) = missed.next_due {
        email += &format!("Next due:   {}\n", utc_minute(next));
    }
    email += &match level {
        Level::Warning => format!(
            "Level:      {word}: one due start missed. If the next one is missed too, this becomes CRITICAL.\n"
        ),
        Level::Critical => format!(
            "Level:      {word}: due starts missed in a row since {} (the latest due {}). Nothing more is sent\n\
             about this type until it starts again: a type retired or renamed on purpose stays quiet now\n\
             (`overrun schedule set {task_type} --unscheduled` tells Overrun so).\n",
            utc_minute(missed.first_due),
            utc_minute(missed.latest_due)
        ),
    };
    let (account, region) = where_ran(task_type, None);
    email += &where_line(&account, &region);
    email += "\nYou will get a \"resolved\" message when it starts.\n";
    let incident = incident_key(task_type, missed.first_due);
    let alert_id = format!("{incident}/{}", level.as_str());
    let [account_field, region_field] = where_fields(&account, &region);
    let default = serde_free_json(&[
        ("version", Json::Num(f64::from(super::message::JSON_VERSION))),
        ("kind", Json::Str("missed")),
        ("alert_id", Json::Str(&alert_id)),
        ("incident", Json::Str(&incident)),
        ("severity", Json::Str(level.as_str())),
        ("task_type", Json::Str(task_type.as_str())),
        ("at", Json::Num(at as f64 / 1_000.0)),
        ("due", Json::Num(missed.first_due as f64 / 1_000.0)),
        ("latest_due", Json::Num(missed.latest_due as f64 / 1_000.0)),
        ("missed", Json::Num(missed.missed as f64)),
        ("last_start", missed.last_start.map_or(Json::Null, |t| Json::Num(t as f64 / 1_000.0))),
        ("next_due", missed.next_due.map_or(Json::Null, |t| Json::Num(t as f64 / 1_000.0))),
        ("schedule", Json::Str(&words.pattern)),
        ("schedule_from", Json::Str(&words.source)),
        ("grace_s", Json::Num(words.grace_ms as f64 / 1_000.0)),
        ("usually_within_s", words.usually_within_ms.map_or(Json::Null, |ms| Json::Num(ms as f64 / 1_000.0))),
        account_field,
        region_field,
    ]);
    Notification {
        subject,
        default,
        email,
        sms,
        severity: level.as_str().to_owned(),
        kind: "missed".to_owned(),
        task_type: task_type.to_string(),
        alert_id,
        account,
    }
}

/// A start after a missed alert: the missed run came late, or the next slot's run came.
pub fn resumed_notification(task_type: &TaskType, resumed: &Resumption, at: EpochMs) -> Notification {
    let due = utc_minute(resumed.first_due);
    let (what, came, late_by) = match resumed.came {
        Came::Late { by_ms } => {
            (format!("started {} late", duration(by_ms as f64)), "late", Json::Num(by_ms as f64 / 1_000.0))
        }
        Came::NextSlot { skipped, .. } => (
            format!("started again; its run due {due} never came"),
            if skipped > 1 { "later_slot" } else { "next_slot" },
            Json::Null,
        ),
        Came::Again => (format!("started again; its run due {due} never came"), "again", Json::Null),
        Came::Unscheduled => {
            ("is no longer expected: declared unscheduled".to_owned(), "unscheduled", Json::Null)
        }
    };
    let subject = sns_subject(&format!("[Overrun resolved] {task_type} {what}"));
    let sms = truncate_chars(&format!("Overrun resolved: {task_type} {what}"), MAX_SMS_CHARS);
    let started = utc_minute(resumed.start);
    let when = match resumed.came {
        Came::Late { .. } => format!("Started:    {started}"),
        Came::NextSlot { due: next, .. } => {
            format!("Started:    {started}, the run due {}", utc_minute(next))
        }
        Came::Unscheduled => format!("Declared:   unscheduled at {started}"),
        Came::Again => format!("Started:    {started} (its schedule had been dropped meanwhile)"),
    };
    let (account, region) = where_ran(task_type, None);
    let email = format!(
        "Task type {task_type}, which Overrun reported as not started (due {due}), {what}.\n\n{when}\n{}",
        where_line(&account, &region)
    );
    let incident = incident_key(task_type, resumed.first_due);
    let alert_id = format!("{incident}/resolved");
    let [account_field, region_field] = where_fields(&account, &region);
    let default = serde_free_json(&[
        ("version", Json::Num(f64::from(super::message::JSON_VERSION))),
        ("kind", Json::Str("resolved")),
        ("alert_id", Json::Str(&alert_id)),
        ("incident", Json::Str(&incident)),
        ("severity", Json::Str("info")),
        ("task_type", Json::Str(task_type.as_str())),
        ("at", Json::Num(at as f64 / 1_000.0)),
        ("due", Json::Num(resumed.first_due as f64 / 1_000.0)),
        ("run_start", Json::Num(resumed.start as f64 / 1_000.0)),
        ("came", Json::Str(came)),
        ("late_by_s", late_by),
        account_field,
        region_field,
    ]);
    Notification {
        subject,
        default,
        email,
        sms,
        severity: "info".to_owned(),
        kind: "resolved".to_owned(),
        task_type: task_type.to_string(),
        alert_id,
        account,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{MS_PER_DAY, MS_PER_HOUR};

    const HOUR_MS: EpochMs = MS_PER_HOUR;
    const DUE: EpochMs = 19_724 * MS_PER_DAY + 2 * MS_PER_HOUR + 10 * 60_000;

    fn words() -> ScheduleWords {
        ScheduleWords {
            pattern: "daily at 02:10 UTC".into(),
            source: "learned from 23 starts".into(),
            usually_within_ms: Some(25 * 60_000),
            grace_ms: 40 * 60_000,
        }
    }

    fn missed(count: usize) -> MissedStarts {
        MissedStarts {
            first_due: DUE,
            latest_due: DUE + (count as i64 - 1) * MS_PER_DAY,
            missed: count,
            last_start: Some(DUE - MS_PER_DAY - 15 * 60_000),
            next_due: Some(DUE + count as i64 * MS_PER_DAY),
        }
    }

    #[test]
    fn a_missed_start_says_what_was_expected_and_since_when_nothing_started() {
        let task = TaskType::new("nightly-export").unwrap();
        let message = missed_notification(&task, &missed(1), &words(), DUE + 40 * 60_000);
        assert_eq!(
            message.subject,
            "[Overrun WARNING] nightly-export did not start: due 2024-01-02 02:10 UTC"
        );
        assert!(
            message.sms.contains("runs daily at 02:10 UTC (learned from 23 starts), usually within 25m 00s"),
            "{}",
            message.sms
        );
        assert!(message.email.contains("Last start: 2024-01-01 01:55 UTC"), "{}", message.email);
        assert!(message.sms.chars().count() <= MAX_SMS_CHARS);
        assert_eq!(message.alert_id, "nightly-export/missed-20240102T0210Z/warning");
        assert!(message.default.contains(r#""incident":"nightly-export/missed-20240102T0210Z""#));
        assert!(message.default.contains(r#""kind":"missed""#));
    }

    #[test]
    fn the_escalation_keeps_the_incident_and_says_nothing_more_will_be_sent() {
        let task = TaskType::new("nightly-export").unwrap();
        let warning = missed_notification(&task, &missed(1), &words(), DUE + 40 * 60_000);
        let critical = missed_notification(&task, &missed(2), &words(), DUE + MS_PER_DAY + 40 * 60_000);
        assert_eq!(critical.severity, "critical");
        assert_ne!(warning.alert_id, critical.alert_id);
        assert_eq!(critical.alert_id, "nightly-export/missed-20240102T0210Z/critical");
        assert!(critical.email.contains("Nothing more is sent"), "{}", critical.email);
    }

    #[test]
    fn the_resolution_says_how_late_the_run_came_or_that_it_never_came() {
        let task = TaskType::new("a/b").unwrap();
        let late =
            Resumption { first_due: DUE, start: DUE + 50 * 60_000, came: Came::Late { by_ms: 50 * 60_000 } };
        let message = resumed_notification(&task, &late, DUE + HOUR_MS);
        assert_eq!(message.subject, "[Overrun resolved] a/b started 50m 00s late");
        assert_eq!(message.alert_id, "a%2Fb/missed-20240102T0210Z/resolved");
        let next = Resumption {
            first_due: DUE,
            start: DUE + MS_PER_DAY,
            came: Came::NextSlot { due: DUE + MS_PER_DAY, skipped: 1 },
        };
        let message = resumed_notification(&task, &next, DUE + MS_PER_DAY + HOUR_MS);
        assert!(
            message.subject.contains("its run due 2024-01-02 02:10 UTC never came"),
            "{}",
            message.subject
        );
        assert!(message.default.contains(r#""came":"next_slot""#));
    }
}
