//! What people receive: an alert or a "resolved" notice, rendered per SNS protocol.
//!
//! Email gets a subject and a body that explain the alert; SMS gets one line of at most 160
//! characters; everything else (SQS, Lambda, HTTP subscribers) gets a JSON document.

use crate::detect::check::Alert;
use crate::detect::levels::Level;
use crate::detect::overrides::LimitSource;
use crate::detect::short::ShortFinish;
use crate::model::{RunId, RunStatus, TaskType};
use crate::notify::delivery::dedupe_key;
use crate::notify::humanize::{duration, utc_minute};
use crate::time::EpochMs;

pub const MAX_SUBJECT_CHARS: usize = 100;
pub const MAX_SMS_CHARS: usize = 160;

/// One message, ready for SNS `Publish` with `MessageStructure=json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub subject: String,
    /// JSON document for machine subscribers.
    pub default: String,
    pub email: String,
    pub sms: String,
    /// Message attributes subscribers can filter on.
    pub severity: String,
    pub kind: String,
    pub task_type: String,
    /// The same for every delivery of this message, different for any other: subscribers drop
    /// repeats by it (see [`crate::notify::delivery::dedupe_key`]).
    pub alert_id: String,
    /// The AWS account the run or task type is from, when known ([`where_ran`]): subscribers
    /// route by it.
    pub account: Option<String>,
}

/// Where a message's run ran, as far as Overrun knows: the account and region of a run from
/// another account, else the account (and region) its task type is qualified by; neither for a
/// run at home of an unqualified type.
pub fn where_ran(task_type: &TaskType, run_id: Option<&RunId>) -> (Option<String>, Option<String>) {
    if let Some(origin) = run_id.and_then(RunId::origin) {
        return (Some(origin.account().to_owned()), Some(origin.region().to_owned()));
    }
    match task_type.qualifier() {
        Some(qualifier) => (qualifier.account().map(str::to_owned), qualifier.region().map(str::to_owned)),
        None => (None, None),
    }
}

/// The email's line saying where the run ran, when known.
pub(crate) fn where_line(account: &Option<String>, region: &Option<String>) -> String {
    match (account, region) {
        (Some(account), Some(region)) => format!("Account:   {account} ({region})\n"),
        (Some(account), None) => format!("Account:   {account}\n"),
        _ => String::new(),
    }
}

/// The JSON fields saying where the run ran (`null` when not known).
pub(crate) fn where_fields<'a>(
    account: &'a Option<String>,
    region: &'a Option<String>,
) -> [(&'static str, Json<'a>); 2] {
    let field = |value: &'a Option<String>| value.as_deref().map_or(Json::Null, Json::Str);
    [("account", field(account)), ("region", field(region))]
}

/// An SNS subject: ASCII only, no control characters, under 100 characters (SNS rejects others).
pub fn sns_subject(text: &str) -> String {
    let ascii: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else if c == '…' {
                '.'
            } else {
                '?'
            }
        })
        .collect();
    if ascii.len() < MAX_SUBJECT_CHARS { ascii } else { format!("{}...", &ascii[..MAX_SUBJECT_CHARS - 4]) }
}

/// Cuts `text` to at most `max` characters, marking the cut with an ellipsis.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{kept}…")
}

pub(crate) fn level_word(level: Level) -> &'static str {
    match level {
        Level::Warning => "WARNING",
        Level::Critical => "CRITICAL",
    }
}

pub fn alert_notification(alert: &Alert) -> Notification {
    let word = level_word(alert.level);
    let (account, region) = where_ran(&alert.task_type, Some(&alert.run_id));
    let elapsed = duration(alert.elapsed_ms as f64);
    let limit = duration(alert.limit_ms);
    let source = alert.limits.source;
    // A limit that is not the type's learned one says so: an operator's, or the fallback of a type
    // with no baseline yet (on-call should know a generic limit from a learned one).
    let fallback = source == LimitSource::Fallback;
    let subject = sns_subject(&format!(
        "[Overrun {word}] {} running {elapsed}, limit {limit}{}",
        alert.task_type,
        if fallback { " (no baseline yet)" } else { "" }
    ));
    let override_note = if source.is_override() || fallback { format!(" ({source})") } else { String::new() };
    let sms = truncate_chars(
        &format!(
            "Overrun {word}: {} run {} running {elapsed}, limit {limit}{override_note}",
            alert.task_type, alert.run_id
        ),
        MAX_SMS_CHARS,
    );

    let mut email = format!(
        "Task {} run {} has been running for {elapsed} (started {}, checked {}).\n\n",
        alert.task_type,
        alert.run_id,
        utc_minute(alert.run_start),
        utc_minute(alert.at),
    );
    let why = match alert.level {
        Level::Warning => "it is past the longest duration still considered normal".to_owned(),
        Level::Critical => format!("it is past {limit}, a multiple of its normal limit"),
    };
    email += &format!("Level:     {word}: {why}.\n");
    email += &format!("Limit:     {limit}\n");
    if let Some(b) = &alert.limits.baseline {
        email += &format!(
            "Expected:  {} (mean of {} succeeded runs), σ {}; normal limit {}\n",
            duration(b.expected_ms),
            b.n,
            duration(b.sigma_ms),
            duration(b.upper_ms)
        );
        email += &format!("Baseline:  computed {}\n", utc_minute(b.computed_at));
    }
    email += &format!("Limits:    {}\n", source_sentence(source));
    if let Some(season) = alert.season {
        email += &format!(
            "Season:    its type's {0} runs differ from its others, so its limits are those of its {0} runs\n",
            season.as_str()
        );
    }
    email += &where_line(&account, &region);
    if !alert.recent_ms.is_empty() {
        let took: Vec<String> = alert.recent_ms.iter().map(|&ms| duration(ms as f64)).collect();
        email += &format!(
            "Recent:    its limit is its own: its type's {} latest runs before it started took {} (newest first) and weigh {:.0} % in it\n",
            alert.recent_ms.len(),
            took.join(", "),
            alert.recent_weight * 100.0
        );
    }
    if alert.cohort_stretch > 1.0 {
        email += &format!(
            "Cohort:    the runs started with it ran {:.2}× their usual time, so its limit was stretched as much\n",
            alert.cohort_stretch
        );
    }
    email += "\nYou will get a \"resolved\" message when this run finishes.\n";

    let alert_id = dedupe_key(&alert.task_type, &alert.run_id, alert.level.as_str());
    let [account_field, region_field] = where_fields(&account, &region);
    let season_field = ("season", alert.season.map_or(Json::Null, |season| Json::Str(season.as_str())));
    let default = serde_free_json(&[
        ("version", Json::Num(f64::from(JSON_VERSION))),
        ("kind", Json::Str("overrun")),
        ("alert_id", Json::Str(&alert_id)),
        ("severity", Json::Str(alert.level.as_str())),
        ("task_type", Json::Str(alert.task_type.as_str())),
        ("run_id", Json::Str(alert.run_id.as_str())),
        ("attempt", Json::Num(f64::from(alert.run_id.attempt().get()))),
        ("at", Json::Num(alert.at as f64 / 1_000.0)),
        ("run_start", Json::Num(alert.run_start as f64 / 1_000.0)),
        ("elapsed_s", Json::Num(alert.elapsed_ms as f64 / 1_000.0)),
        ("warning_limit_s", Json::Num(alert.thresholds.warning_ms / 1_000.0)),
        ("critical_limit_s", Json::Num(alert.thresholds.critical_ms / 1_000.0)),
        ("crossed_limit_s", Json::Num(alert.limit_ms / 1_000.0)),
        ("limit_s", Json::Num(alert.limit_ms / 1_000.0)),
        ("expected_s", alert.limits.baseline.map_or(Json::Null, |b| Json::Num(b.expected_ms / 1_000.0))),
        ("baseline_limit_s", alert.limits.baseline.map_or(Json::Null, |b| Json::Num(b.upper_ms / 1_000.0))),
        ("upper_s", alert.limits.baseline.map_or(Json::Null, |b| Json::Num(b.upper_ms / 1_000.0))),
        ("sigma_s", alert.limits.baseline.map_or(Json::Null, |b| Json::Num(b.sigma_ms / 1_000.0))),
        ("n", alert.limits.baseline.map_or(Json::Null, |b| Json::Num(b.n as f64))),
        ("limits_from", Json::Owned(source.to_string())),
        ("cohort_stretch", Json::Num(alert.cohort_stretch)),
        ("recent_s", Json::Nums(alert.recent_ms.iter().map(|&ms| ms as f64 / 1_000.0).collect())),
        ("recent_weight", Json::Num(alert.recent_weight)),
        account_field,
        region_field,
        season_field,
        ("deprecated", Json::Strs(DEPRECATED_ALERT_FIELDS)),
    ]);
    Notification {
        subject,
        default,
        email,
        sms,
        severity: alert.level.as_str().to_owned(),
        kind: "overrun".to_owned(),
        task_type: alert.task_type.to_string(),
        alert_id,
        account,
    }
}

fn source_sentence(source: LimitSource) -> String {
    match source {
        LimitSource::Baseline => "from the nightly baseline".to_owned(),
        LimitSource::Fallback => {
            "the configured fallback limit: this task type has no baseline yet".to_owned()
        }
        other => format!("{other}, set by an operator with `overrun override`"),
    }
}

/// A run that was alerted on has finished.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    pub task_type: TaskType,
    pub run_id: RunId,
    pub start: EpochMs,
    pub end: EpochMs,
    pub status: RunStatus,
}

pub fn resolved_notification(resolution: &Resolution) -> Notification {
    let took = duration((resolution.end - resolution.start) as f64);
    let status = resolution.status;
    let subject = sns_subject(&format!("[Overrun resolved] {} {status} after {took}", resolution.task_type));
    let sms = truncate_chars(
        &format!(
            "Overrun resolved: {} run {} {status} after {took}",
            resolution.task_type, resolution.run_id
        ),
        MAX_SMS_CHARS,
    );
    let (account, region) = where_ran(&resolution.task_type, Some(&resolution.run_id));
    let email = format!(
        "Task {} run {}, which Overrun alerted on, has finished.\n\nStatus:    {status}\nDuration:  {took} ({} to {})\n{}",
        resolution.task_type,
        resolution.run_id,
        utc_minute(resolution.start),
        utc_minute(resolution.end),
        where_line(&account, &region),
    );
    let alert_id = dedupe_key(&resolution.task_type, &resolution.run_id, "resolved");
    let [account_field, region_field] = where_fields(&account, &region);
    let default = serde_free_json(&[
        ("version", Json::Num(f64::from(JSON_VERSION))),
        ("kind", Json::Str("resolved")),
        ("alert_id", Json::Str(&alert_id)),
        ("severity", Json::Str("info")),
        ("task_type", Json::Str(resolution.task_type.as_str())),
        ("run_id", Json::Str(resolution.run_id.as_str())),
        ("attempt", Json::Num(f64::from(resolution.run_id.attempt().get()))),
        ("status", Json::Str(status.as_str())),
        ("run_start", Json::Num(resolution.start as f64 / 1_000.0)),
        ("run_end", Json::Num(resolution.end as f64 / 1_000.0)),
        ("duration_s", Json::Num((resolution.end - resolution.start) as f64 / 1_000.0)),
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
        task_type: resolution.task_type.to_string(),
        alert_id,
        account,
    }
}

/// An informational notice: a run succeeded in far less time than usual (did its work shrink?).
pub fn short_notification(short: &ShortFinish) -> Notification {
    let took = duration(short.duration_ms as f64);
    let expected = duration(short.baseline.expected_ms);
    let (account, region) = where_ran(&short.task_type, Some(&short.run_id));
    let subject =
        sns_subject(&format!("[Overrun info] {} finished in {took}, expected {expected}", short.task_type));
    let sms = truncate_chars(
        &format!(
            "Overrun info: {} run {} finished in {took}, expected {expected}",
            short.task_type, short.run_id
        ),
        MAX_SMS_CHARS,
    );
    let email = format!(
        "Task {} run {} succeeded in {took} ({} to {}), far below its usual duration.\n\n\
         Expected:  {expected} (mean of {} succeeded runs), σ {}\n\
         Floor:     {} (runs shorter than this are reported)\n\n\
         A task that suddenly finishes this fast often did less work than usual: an empty input,\n\
         a skipped step, data no longer exported. Nothing is wrong if the work really shrank;\n\
         the baseline will follow within its window. Other runs of this task type that finish\n\
         this fast before the next nightly baseline get no notice of their own.\n{}{}",
        short.task_type,
        short.run_id,
        utc_minute(short.run_start),
        utc_minute(short.at),
        short.baseline.n,
        duration(short.baseline.sigma_ms),
        duration(short.floor_ms),
        short.season.map_or(String::new(), |season| format!(
            "Season:    its type's {0} runs differ from its others, so it was judged by its {0} runs\n",
            season.as_str()
        )),
        where_line(&account, &region),
    );
    let alert_id = dedupe_key(&short.task_type, &short.run_id, "too_short");
    let [account_field, region_field] = where_fields(&account, &region);
    let default = serde_free_json(&[
        ("version", Json::Num(f64::from(JSON_VERSION))),
        ("kind", Json::Str("too_short")),
        ("alert_id", Json::Str(&alert_id)),
        ("severity", Json::Str("info")),
        ("task_type", Json::Str(short.task_type.as_str())),
        ("run_id", Json::Str(short.run_id.as_str())),
        ("attempt", Json::Num(f64::from(short.run_id.attempt().get()))),
        ("run_start", Json::Num(short.run_start as f64 / 1_000.0)),
        ("run_end", Json::Num(short.at as f64 / 1_000.0)),
        ("duration_s", Json::Num(short.duration_ms as f64 / 1_000.0)),
        ("expected_s", Json::Num(short.baseline.expected_ms / 1_000.0)),
        ("floor_s", Json::Num(short.floor_ms / 1_000.0)),
        ("n", Json::Num(short.baseline.n as f64)),
        ("season", short.season.map_or(Json::Null, |season| Json::Str(season.as_str()))),
        account_field,
        region_field,
    ]);
    Notification {
        subject,
        default,
        email,
        sms,
        severity: "info".to_owned(),
        kind: "too_short".to_owned(),
        task_type: short.task_type.to_string(),
        alert_id,
        account,
    }
}

/// A flat JSON object without a serialisation dependency in the pure core.
pub(crate) enum Json<'a> {
    Str(&'a str),
    Strs(&'a [&'a str]),
    Owned(String),
    Num(f64),
    Nums(Vec<f64>),
    Null,
}

/// The version of the JSON vocabulary every message (and every `--json` output of the command)
/// carries as `version`. 2: warning, critical and crossed limits named as such
/// (`warning_limit_s`, `critical_limit_s`, `crossed_limit_s`).
pub const JSON_VERSION: u32 = 2;

/// Fields an overrun alert still carries beside their replacements, for subscribers written
/// against version 1; they go in the next version. `limit_s` is `crossed_limit_s`; `upper_s` is
/// `baseline_limit_s`, the nightly baseline's upper limit (not the warning limit in force: an
/// override, the run's recent runs or its cohort's stretch change that).
pub const DEPRECATED_ALERT_FIELDS: &[&str] = &["limit_s", "upper_s"];

pub(crate) fn serde_free_json(fields: &[(&str, Json<'_>)]) -> String {
    let body: Vec<String> = fields
        .iter()
        .map(|(key, value)| {
            let value = match value {
                Json::Str(text) => quote(text),
                Json::Owned(text) => quote(text),
                Json::Strs(texts) => {
                    format!("[{}]", texts.iter().map(|text| quote(text)).collect::<Vec<_>>().join(","))
                }
                Json::Num(number) if number.is_finite() => format!("{number}"),
                Json::Num(_) | Json::Null => "null".to_owned(),
                Json::Nums(numbers) => {
                    let items: Vec<String> = numbers
                        .iter()
                        .map(|n| if n.is_finite() { format!("{n}") } else { "null".to_owned() })
                        .collect();
                    format!("[{}]", items.join(","))
                }
            };
            format!("{}:{value}", quote(key))
        })
        .collect();
    format!("{{{}}}", body.join(","))
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::levels::Thresholds;
    use crate::detect::overrides::EffectiveLimits;
    use crate::limits::baseline::Baseline;

    fn decision(task: &str, level: Level, source: LimitSource) -> Alert {
        let baseline = Baseline {
            n: 12,
            expected_ms: 600_000.0,
            sigma_ms: 60_000.0,
            upper_ms: 720_000.0,
            computed_at: 0,
            outlier: None,
        };
        Alert {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new("run-42").unwrap(),
            run_start: 1_735_286_400_000,
            at: 1_735_287_600_000,
            level,
            elapsed_ms: 1_200_000,
            limit_ms: 720_000.0,
            thresholds: Thresholds { warning_ms: 720_000.0, critical_ms: 1_440_000.0 },
            limits: EffectiveLimits {
                thresholds: Thresholds { warning_ms: 720_000.0, critical_ms: 1_440_000.0 },
                source,
                baseline: Some(baseline),
            },
            cohort_stretch: 1.0,
            recent_ms: Vec::new(),
            recent_weight: 0.0,
            season: None,
        }
    }

    fn shrunk(task: &str) -> ShortFinish {
        ShortFinish {
            task_type: TaskType::new(task).unwrap(),
            run_id: RunId::new("run-7").unwrap(),
            run_start: 1_735_286_400_000,
            at: 1_735_286_442_000,
            duration_ms: 42_000,
            floor_ms: 300_000.0,
            baseline: Baseline {
                n: 30,
                expected_ms: 1_200_000.0,
                sigma_ms: 90_000.0,
                upper_ms: 1_380_000.0,
                computed_at: 0,
                outlier: None,
            },
            season: None,
        }
    }

    #[test]
    fn too_short_notice_is_info_and_says_how_short_against_what() {
        let n = short_notification(&shrunk("nightly-export"));
        assert_eq!(n.subject, "[Overrun info] nightly-export finished in 42s, expected 20m 00s");
        assert_eq!((n.severity.as_str(), n.kind.as_str()), ("info", "too_short"));
        assert_eq!(n.alert_id, "nightly-export/run-7/too_short");
        assert!(n.default.contains(r#""alert_id":"nightly-export/run-7/too_short""#), "{}", n.default);
        for part in [
            "run-7",
            "Expected:  20m 00s (mean of 30 succeeded runs)",
            "Floor:     5m 00s",
            "less work",
            "before the next nightly baseline get no notice of their own",
        ] {
            assert!(n.email.contains(part), "{part} missing from:\n{}", n.email);
        }
        assert!(
            n.default.contains("\"kind\":\"too_short\"") && n.default.contains("\"duration_s\":42"),
            "{}",
            n.default
        );
        let long = short_notification(&shrunk(&"a-very-long-task-type-name-".repeat(12)));
        assert!(long.sms.chars().count() <= MAX_SMS_CHARS && long.subject.len() < MAX_SUBJECT_CHARS);
    }

    #[test]
    fn alert_email_explains_elapsed_expected_limit_sigma_and_n() {
        let n = alert_notification(&decision("nightly-export", Level::Warning, LimitSource::Baseline));
        assert_eq!(n.subject, "[Overrun WARNING] nightly-export running 20m 00s, limit 12m 00s");
        for part in [
            "run-42",
            "20m 00s",
            "Expected:  10m 00s (mean of 12 succeeded runs), σ 1m 00s",
            "Limit:     12m 00s",
            "resolved",
        ] {
            assert!(n.email.contains(part), "{part} missing from:\n{}", n.email);
        }
        assert_eq!(n.severity, "warning");
        assert_eq!(n.kind, "overrun");
    }

    #[test]
    fn an_alert_judged_by_its_own_limit_names_the_recent_runs_it_weighed() {
        let plain = alert_notification(&decision("etl", Level::Warning, LimitSource::Baseline));
        assert!(!plain.email.contains("Recent:"), "{}", plain.email);
        assert!(plain.default.contains(r#""recent_s":[],"recent_weight":0"#), "{}", plain.default);
        let own = alert_notification(&Alert {
            recent_ms: vec![540_000, 600_000, 570_000],
            recent_weight: 0.3,
            ..decision("etl", Level::Warning, LimitSource::Baseline)
        });
        assert!(
            own.email.contains(
                "Recent:    its limit is its own: its type's 3 latest runs before it started took 9m 00s, 10m 00s, 9m 30s (newest first) and weigh 30 % in it"
            ),
            "{}",
            own.email
        );
        assert!(own.default.contains(r#""recent_s":[540,600,570],"recent_weight":0.3"#), "{}", own.default);
    }

    #[test]
    fn sms_and_subject_stay_within_their_limits_even_for_long_names() {
        let long = "a-very-long-task-type-name-".repeat(12);
        let n = alert_notification(&decision(&long, Level::Critical, LimitSource::OverrideLimit));
        assert!(n.sms.chars().count() <= MAX_SMS_CHARS, "{}", n.sms.chars().count());
        assert!(n.subject.len() < MAX_SUBJECT_CHARS);
        assert!(n.subject.is_ascii());
        assert!(n.sms.ends_with('…'));
        let short = alert_notification(&decision("etl", Level::Critical, LimitSource::OverrideK(3.0)));
        assert!(short.sms.contains("(override: k = 3)"), "{}", short.sms);
        assert!(short.email.contains("override: k = 3, set by an operator"), "{}", short.email);
    }

    #[test]
    fn default_body_is_valid_json_with_escaped_names() {
        let n = alert_notification(&decision("say \"hi\"\\now", Level::Warning, LimitSource::Baseline));
        assert!(n.default.starts_with("{\"version\":2,\"kind\":\"overrun\""), "{}", n.default);
        assert!(n.default.contains(r#""task_type":"say \"hi\"\\now""#), "{}", n.default);
        assert!(n.default.contains(r#""elapsed_s":1200"#));
    }

    #[test]
    fn an_alerts_json_names_its_warning_critical_and_crossed_limits_and_keeps_version_ones_fields_marked_deprecated()
     {
        let critical = alert_notification(&Alert {
            limit_ms: 1_440_000.0,
            ..decision("etl", Level::Critical, LimitSource::Baseline)
        });
        for field in [
            r#""warning_limit_s":720,"critical_limit_s":1440,"crossed_limit_s":1440,"limit_s":1440"#,
            r#""upper_s":720"#,
            r#""deprecated":["limit_s","upper_s"]"#,
        ] {
            assert!(critical.default.contains(field), "{field} in {}", critical.default);
        }
    }

    #[test]
    fn resolved_notice_gives_final_duration_and_status() {
        let n = resolved_notification(&Resolution {
            task_type: TaskType::new("etl").unwrap(),
            run_id: RunId::new("r1").unwrap(),
            start: 0,
            end: 5_400_000,
            status: RunStatus::Failed,
        });
        assert_eq!(n.subject, "[Overrun resolved] etl failed after 1h 30m");
        assert_eq!(n.kind, "resolved");
        assert!(n.email.contains("Status:    failed"));
        assert!(n.sms.len() <= MAX_SMS_CHARS);
    }

    #[test]
    fn subjects_are_ascii_without_control_characters() {
        assert_eq!(sns_subject("größe\tlauf"), "gr??e?lauf");
    }

    #[test]
    fn truncation_counts_characters_not_bytes() {
        assert_eq!(truncate_chars("ééééé", 3), "éé…");
        assert_eq!(truncate_chars("abc", 3), "abc");
    }
}
