//! Configuration from environment variables, read once at cold start. A missing or malformed
//! variable stops the function at start with a message that names it.

use std::str::FromStr;

use overrun_core::defaults;
use overrun_core::detect::check::CheckSettings;
use overrun_core::detect::overrides::{LimitRules, Sensitivity};
use overrun_core::limits::baseline::MethodName;
use overrun_core::limits::recent::RecentRuns;
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::limits::window::ExclusionCap;
use overrun_core::schedule::declared::Zone;
use overrun_core::settings::{Choices, Detection, Setting};
use overrun_core::{BaselinePolicy, DetectionConfig, Origin, Qualify, ShortRule};
use thiserror::Error;

pub const RUNS_TABLE: &str = "OVERRUN_RUNS_TABLE";
pub const STATS_TABLE: &str = "OVERRUN_STATS_TABLE";
pub const TOPIC_ARN: &str = "OVERRUN_TOPIC_ARN";
pub const METHOD: &str = "OVERRUN_METHOD";
pub const K: &str = "OVERRUN_K";
pub const WINDOW_DAYS: &str = "OVERRUN_WINDOW_DAYS";
pub const MIN_SAMPLES: &str = "OVERRUN_MIN_SAMPLES";
pub const NIGHTLY_HOUR: &str = "OVERRUN_NIGHTLY_HOUR";
pub const CRITICAL_FACTOR: &str = "OVERRUN_CRITICAL_FACTOR";
pub const FALLBACK_LIMIT_S: &str = "OVERRUN_FALLBACK_LIMIT_S";
pub const RETENTION_DAYS: &str = "OVERRUN_RETENTION_DAYS";
pub const SHORT_FRACTION: &str = "OVERRUN_SHORT_FRACTION";
pub const EXCLUSION_CAP: &str = "OVERRUN_EXCLUSION_CAP";
pub const CHECK_INTERVAL_MINUTES: &str = "OVERRUN_CHECK_INTERVAL_MINUTES";
pub const RECENT_RUNS: &str = "OVERRUN_RECENT_RUNS";
pub const RECENT_WEIGHT: &str = "OVERRUN_RECENT_WEIGHT";
/// The checker's deployed schedule (`rate(N minutes)`), set by the templates from the same
/// parameter as the interval: a mismatch stops the function at start.
pub const CHECK_SCHEDULE: &str = "OVERRUN_CHECK_SCHEDULE";
pub const CLOCK_SKEW_S: &str = "OVERRUN_CLOCK_SKEW_S";
/// Whether task types carry where they ran: `none` (the default), `account` or
/// `account-region`.
pub const QUALIFY: &str = "OVERRUN_QUALIFY";
/// The deployment's own AWS account (the templates set it): with the region, where events are
/// local; a run from anywhere else keeps where it ran in its key.
pub const HOME_ACCOUNT: &str = "OVERRUN_HOME_ACCOUNT";
/// Whether a task type whose own history shows a weekly season is judged by season: `on` (the
/// default) or `off`.
pub const SEASONS: &str = "OVERRUN_SEASONS";
/// The IANA time zone whose weekends count for seasons (`UTC` by default; daylight saving
/// followed).
pub const SEASON_ZONE: &str = "OVERRUN_SEASON_ZONE";
/// The SDK's region; checked only for being empty.
pub const REGION: &str = "AWS_REGION";

#[derive(Debug, Error, PartialEq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name}={value:?} is invalid: {reason}")]
    Invalid { name: &'static str, value: String, reason: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub runs_table: String,
    pub stats_table: String,
    /// Only the checker publishes; see [`Config::require_topic`].
    pub topic_arn: Option<String>,
    pub policy: BaselinePolicy,
    pub detection: DetectionConfig,
    pub fallback_limit_ms: Option<f64>,
    /// How long finished runs are kept (DynamoDB TTL); at least the window plus a week.
    pub retention_days: u32,
    /// Too-short completions (ingest): off when the fraction is 0.
    pub short: ShortRule,
    /// Guarded exclusion (nightly): warned runs stay out of baselines up to this share of a
    /// window: OVERRUN_EXCLUSION_CAP, or the method's own (0.1 for guarded). `None`: every run
    /// counts, the seed method exactly (docs/DETECTION.md, "The seed method").
    pub exclusion_cap: Option<ExclusionCap>,
    /// Recent runs (tailored only; its three latest by default): ingest records each start's
    /// latest succeeded runs of its type, the checker weighs them into that run's own limit.
    /// Off when the count is 0.
    pub recent: RecentRuns,
    /// How far ahead of its arrival an event's times may be (`OVERRUN_CLOCK_SKEW_S`).
    pub clock_skew_ms: i64,
    /// How task types say where they ran (`OVERRUN_QUALIFY`): the ingest functions name them.
    pub qualify: Qualify,
    /// `OVERRUN_HOME_ACCOUNT` in `AWS_REGION`; only the ingest function needs it
    /// ([`Config::require_home`]).
    pub home: Option<Origin>,
    /// Seasons (`OVERRUN_SEASONS`, `OVERRUN_SEASON_ZONE`): `None` when off.
    pub seasons: Option<SeasonRule>,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The same, from any lookup (tests pass a map). Variables are checked in a fixed order, so
    /// the first wrong one is the one named.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required = |name: &'static str| {
            lookup(name).filter(|v| !v.trim().is_empty()).ok_or(ConfigError::Missing(name))
        };
        let settings = detection_from(&lookup)?;
        let policy = settings.policy;
        let retention_days = retention_from(&lookup, policy.window_days())?;
        let table = |name| required(name).and_then(|value| table_name(name, value));
        region(lookup(REGION))?;
        Ok(Self {
            runs_table: table(RUNS_TABLE)?,
            stats_table: table(STATS_TABLE)?,
            topic_arn: topic_arn(lookup(TOPIC_ARN))?,
            policy,
            detection: settings.detection,
            fallback_limit_ms: settings.fallback_limit_ms,
            retention_days,
            short: settings.short,
            exclusion_cap: settings.exclusion,
            recent: settings.recent,
            clock_skew_ms: clock_skew_from(&lookup)?,
            qualify: parsed(&lookup, QUALIFY)?.unwrap_or_default(),
            home: home_from(&lookup)?,
            seasons: seasons_from(&lookup)?,
        })
    }

    /// What the checker checks running runs with.
    pub fn check_settings(&self) -> CheckSettings {
        CheckSettings {
            rules: LimitRules {
                detection: self.detection,
                fallback_limit_ms: self.fallback_limit_ms,
                sensitivity: Sensitivity::of(&self.policy.method(), self.policy.check_interval()),
            },
            // Checked in `from_lookup`: recent runs are on only with a method that can weigh them.
            per_run: self.recent.for_policy(&self.policy).ok().flatten(),
            seasons: self.seasons,
        }
    }

    /// How long day aggregates (and each day's counters) are kept: the retention, or as long
    /// as the weekend season looks back when seasons are on, whichever is longer.
    pub fn day_retention_days(&self) -> u32 {
        let seasons =
            self.seasons.map_or(0, |_| Season::Weekend.look_back_days(self.policy.window_days()) + 2);
        self.retention_days.max(seasons)
    }

    /// The topic, for the functions that publish: its absence is a start-up error for them.
    pub fn require_topic(&self) -> Result<&str, ConfigError> {
        self.topic_arn.as_deref().ok_or(ConfigError::Missing(TOPIC_ARN))
    }

    /// Where a function that records runs publishes too-short notices: with notices on, the
    /// topic is required (checked at start); with them off, none is needed (empty).
    pub fn short_notice_topic(&self) -> Result<String, ConfigError> {
        if self.short.is_enabled() { self.require_topic().map(str::to_owned) } else { Ok(String::new()) }
    }

    /// The deployment's own account and region, required by the ingest function: events from
    /// any other keep where they ran in their run's key.
    pub fn require_home(&self) -> Result<Origin, ConfigError> {
        self.home.clone().ok_or(ConfigError::Missing(HOME_ACCOUNT))
    }

    /// How long finished runs are kept, in milliseconds.
    pub fn retention_ms(&self) -> i64 {
        i64::from(self.retention_days) * overrun_core::time::MS_PER_DAY
    }
}

/// The detection settings, checked by the core's one validation ([`Detection::new`]), a refusal
/// named by its variable; and what only a deployment refuses: a method it cannot run yet, a
/// schedule that disagrees with the interval.
fn detection_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<Detection, ConfigError> {
    let method: MethodName = parsed(lookup, METHOD)?.unwrap_or_default();
    if method == MethodName::LogNormal {
        // Its baselines need log-space aggregates, which the stats table does not keep yet.
        return Err(ConfigError::Invalid {
            name: METHOD,
            value: method.to_string(),
            reason: "only `guarded`, `seed` and `tailored` can be deployed for now; `lognormal` runs in `overrun replay` and `overrun backtest`".into(),
        });
    }
    let defaults = Choices::default();
    let interval_minutes: i64 =
        parsed(lookup, CHECK_INTERVAL_MINUTES)?.unwrap_or(defaults.check_interval_seconds / 60);
    let choices = Choices {
        method,
        k: parsed(lookup, K)?,
        window_days: parsed(lookup, WINDOW_DAYS)?.unwrap_or(defaults.window_days),
        min_samples: parsed(lookup, MIN_SAMPLES)?.unwrap_or(defaults.min_samples),
        nightly_hour: parsed(lookup, NIGHTLY_HOUR)?.unwrap_or(defaults.nightly_hour),
        check_interval_seconds: interval_minutes.saturating_mul(60),
        critical_factor: parsed(lookup, CRITICAL_FACTOR)?.unwrap_or(defaults.critical_factor),
        exclusion_cap: parsed(lookup, EXCLUSION_CAP)?,
        short_fraction: parsed(lookup, SHORT_FRACTION)?.unwrap_or(defaults.short_fraction),
        recent_runs: parsed(lookup, RECENT_RUNS)?,
        recent_weight: parsed(lookup, RECENT_WEIGHT)?,
        fallback_limit_s: parsed(lookup, FALLBACK_LIMIT_S)?.unwrap_or(defaults.fallback_limit_s),
    };
    let settings = Detection::new(&choices).map_err(|error| {
        let (name, value) = match error.setting {
            Setting::Method => (METHOD, method.to_string()),
            Setting::K => (K, choices.k.map(|k| k.to_string()).unwrap_or_default()),
            Setting::WindowDays => (WINDOW_DAYS, choices.window_days.to_string()),
            Setting::MinSamples => (MIN_SAMPLES, choices.min_samples.to_string()),
            Setting::NightlyHour => (NIGHTLY_HOUR, choices.nightly_hour.to_string()),
            Setting::CheckInterval => (CHECK_INTERVAL_MINUTES, interval_minutes.to_string()),
            Setting::CriticalFactor => (CRITICAL_FACTOR, choices.critical_factor.to_string()),
            Setting::ShortFraction => (SHORT_FRACTION, choices.short_fraction.to_string()),
            Setting::RecentRuns => {
                (RECENT_RUNS, choices.recent_runs.map(|n| n.to_string()).unwrap_or_default())
            }
            Setting::RecentWeight => {
                (RECENT_WEIGHT, choices.recent_weight.map(|w| w.to_string()).unwrap_or_default())
            }
            Setting::FallbackLimit => (FALLBACK_LIMIT_S, choices.fallback_limit_s.to_string()),
        };
        let reason = match error.setting {
            Setting::CheckInterval => "must be 1 to 1440 minutes, the checker's schedule".to_owned(),
            _ => error.reason,
        };
        ConfigError::Invalid { name, value, reason }
    })?;
    check_schedule(lookup(CHECK_SCHEDULE), interval_minutes)?;
    Ok(settings)
}

/// How far ahead of its arrival an event's times may be by default: five minutes, far more than
/// a synchronised clock is off, far less than a run needs to page.
pub const DEFAULT_CLOCK_SKEW_S: i64 = 300;
/// The largest allowance: an hour.
pub const MAX_CLOCK_SKEW_S: i64 = 3_600;

fn clock_skew_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<i64, ConfigError> {
    let seconds: i64 = parsed(lookup, CLOCK_SKEW_S)?.unwrap_or(DEFAULT_CLOCK_SKEW_S);
    if !(0..=MAX_CLOCK_SKEW_S).contains(&seconds) {
        return Err(ConfigError::Invalid {
            name: CLOCK_SKEW_S,
            value: seconds.to_string(),
            reason: format!("must be 0 to {MAX_CLOCK_SKEW_S} seconds"),
        });
    }
    Ok(seconds * 1_000)
}

/// The longest retention: ten years. Longer would accept events from decades back (the event
/// window follows the retention).
pub const MAX_RETENTION_DAYS: u32 = 3_650;

/// Days finished runs are kept: at least the window plus a week, at most ten years.
fn retention_from(lookup: &impl Fn(&str) -> Option<String>, window_days: u32) -> Result<u32, ConfigError> {
    let minimum_retention = window_days + 7;
    let retention_days: u32 =
        parsed(lookup, RETENTION_DAYS)?.unwrap_or(minimum_retention.max(defaults::RETENTION_DAYS));
    if !(minimum_retention..=MAX_RETENTION_DAYS).contains(&retention_days) {
        return Err(ConfigError::Invalid {
            name: RETENTION_DAYS,
            value: retention_days.to_string(),
            reason: format!(
                "must be at least the window plus a week ({minimum_retention} days) and at most {MAX_RETENTION_DAYS} days"
            ),
        });
    }
    Ok(retention_days)
}

fn parsed<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => value.trim().parse().map(Some).map_err(|error: T::Err| ConfigError::Invalid {
            name,
            value,
            reason: error.to_string(),
        }),
    }
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_`, `-` or `.` (DynamoDB refuses others,
/// so every call would fail).
fn table_name(name: &'static str, value: String) -> Result<String, ConfigError> {
    valid_table_name(&value).map_err(|error| ConfigError::Invalid {
        name,
        value: value.trim().to_owned(),
        reason: error.to_string(),
    })
}

/// A name DynamoDB refuses for a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a DynamoDB table name is 3 to 255 letters, digits, _, - or .")]
pub struct InvalidTableName;

/// `value` trimmed, when DynamoDB takes it for a table name.
pub fn valid_table_name(value: &str) -> Result<String, InvalidTableName> {
    let value = value.trim();
    let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
    if (3..=255).contains(&value.len()) && value.bytes().all(allowed) {
        Ok(value.to_owned())
    } else {
        Err(InvalidTableName)
    }
}

/// The region, when the variable is there, must name one: an empty one leaves every SDK call
/// without an endpoint.
fn seasons_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<SeasonRule>, ConfigError> {
    let on = match lookup(SEASONS).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).as_deref() {
        None | Some("on") => true,
        Some("off") => false,
        Some(other) => {
            return Err(ConfigError::Invalid {
                name: SEASONS,
                value: other.to_owned(),
                reason: "must be on or off".into(),
            });
        }
    };
    let zone = match lookup(SEASON_ZONE).filter(|v| !v.trim().is_empty()) {
        None => Zone::utc(),
        Some(name) => Zone::named(name.trim()).map_err(|error| ConfigError::Invalid {
            name: SEASON_ZONE,
            value: name.clone(),
            reason: format!("{error} (an IANA time zone such as Europe/Berlin, or UTC)"),
        })?,
    };
    Ok(on.then(|| SeasonRule::in_zone(zone)))
}

fn home_from(lookup: &impl Fn(&str) -> Option<String>) -> Result<Option<Origin>, ConfigError> {
    let Some(account) = lookup(HOME_ACCOUNT).filter(|v| !v.trim().is_empty()) else { return Ok(None) };
    let region = lookup(REGION).ok_or(ConfigError::Missing(REGION))?;
    Origin::new(account.trim(), region.trim()).map(Some).map_err(|_| ConfigError::Invalid {
        name: HOME_ACCOUNT,
        value: account,
        reason: format!("must be the 12-digit AWS account the stack is in (region {region:?})"),
    })
}

fn region(value: Option<String>) -> Result<(), ConfigError> {
    match value {
        Some(region) if region.trim().is_empty() => Err(ConfigError::Invalid {
            name: REGION,
            value: region,
            reason: "is empty: set the AWS region the tables and topic are in (Lambda sets it itself)".into(),
        }),
        _ => Ok(()),
    }
}

/// The topic ARN when set: `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, checked at start so that a
/// wrong value fails the deploy's first invocation instead of every publish.
fn topic_arn(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let invalid =
        |reason: &str| ConfigError::Invalid { name: TOPIC_ARN, value: value.clone(), reason: reason.into() };
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, name] = parts[..] else {
        return Err(invalid("must be an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME"));
    };
    if arn != "arn" || !partition.starts_with("aws") || service != "sns" {
        return Err(invalid("must be an SNS topic ARN, arn:aws:sns:REGION:ACCOUNT:NAME"));
    }
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(invalid("its region is missing or malformed"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid("its account must be 12 digits"));
    }
    if name.ends_with(".fifo") {
        // A FIFO topic refuses every publish without a MessageGroupId, which Overrun's have not.
        return Err(invalid("is a FIFO topic: Overrun publishes to a standard topic"));
    }
    if name.is_empty()
        || name.len() > 256
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(invalid("its topic name must be 1 to 256 letters, digits, - or _"));
    }
    Ok(Some(value))
}

/// The deployed schedule, when given, must run the checker every `interval_minutes`.
fn check_schedule(schedule: Option<String>, interval_minutes: i64) -> Result<(), ConfigError> {
    let Some(schedule) = schedule.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let minutes = schedule
        .strip_prefix("rate(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|inner| inner.split_once(' '))
        .filter(|(_, unit)| matches!(*unit, "minute" | "minutes"))
        .and_then(|(count, _)| count.parse::<i64>().ok());
    match minutes {
        Some(minutes) if minutes == interval_minutes => Ok(()),
        Some(minutes) => Err(ConfigError::Invalid {
            name: CHECK_SCHEDULE,
            value: schedule,
            reason: format!(
                "runs the checker every {minutes} minutes but {CHECK_INTERVAL_MINUTES} is {interval_minutes}: alerts would come late or ticks be skipped"
            ),
        }),
        None => Err(ConfigError::Invalid {
            name: CHECK_SCHEDULE,
            value: schedule,
            reason: "must be rate(N minutes), the checker's EventBridge schedule".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use overrun_core::Method;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    fn with_tables(vars: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
        let mut all = vec![(RUNS_TABLE, "runs"), (STATS_TABLE, "stats")];
        all.extend_from_slice(vars);
        config(&all)
    }

    fn refused(vars: &[(&'static str, &'static str)]) -> (&'static str, String) {
        match with_tables(vars) {
            Err(ConfigError::Invalid { name, reason, .. }) => (name, reason),
            other => panic!("{vars:?} was accepted: {other:?}"),
        }
    }

    #[test]
    fn the_home_account_and_qualification_are_read_and_a_wrong_one_stops_the_start() {
        let config =
            with_tables(&[(HOME_ACCOUNT, "123456789012"), (REGION, "eu-west-1"), (QUALIFY, "account")])
                .unwrap();
        assert_eq!(config.require_home().unwrap().to_string(), "123456789012.eu-west-1");
        assert_eq!(config.qualify, Qualify::Account);
        let unset = with_tables(&[]).unwrap();
        assert_eq!(unset.qualify, Qualify::None, "off by default");
        assert_eq!(unset.require_home(), Err(ConfigError::Missing(HOME_ACCOUNT)));
        assert_eq!(refused(&[(HOME_ACCOUNT, "12345"), (REGION, "eu-west-1")]).0, HOME_ACCOUNT);
        let (name, reason) = refused(&[(QUALIFY, "accounts")]);
        assert_eq!(name, QUALIFY);
        assert!(reason.contains("none, account or account-region"), "{reason}");
    }

    #[test]
    fn seasons_are_on_in_utc_by_default_and_a_wrong_switch_or_zone_stops_the_start() {
        let config = with_tables(&[]).unwrap();
        assert_eq!(config.seasons.map(|rule| rule.zone().name().to_owned()), Some("UTC".to_owned()));
        assert_eq!(config.day_retention_days(), 51, "the 49-day weekend look-back, and two days");
        let berlin = with_tables(&[(SEASON_ZONE, "Europe/Berlin")]).unwrap();
        assert_eq!(
            berlin.seasons.map(|rule| rule.zone().name().to_owned()),
            Some("Europe/Berlin".to_owned())
        );
        let off = with_tables(&[(SEASONS, "off")]).unwrap();
        assert_eq!((off.seasons, off.day_retention_days()), (None, 35), "the runs' retention");
        assert_eq!(off.check_settings().seasons, None);
        for (name, value) in [(SEASONS, "yes"), (SEASON_ZONE, "Mars/Olympus"), (SEASON_ZONE, "CET\u{200b}")] {
            let (refused_name, reason) = refused(&[(name, value)]);
            assert_eq!(refused_name, name, "{value}: {reason}");
        }
    }

    #[test]
    fn a_topic_arn_that_is_not_an_sns_topic_arn_stops_the_start() {
        for bad in [
            "not-an-arn",
            "arn:aws:sqs:us-east-1:123456789012:alerts",
            "arn:aws:sns:us-east-1:1234:alerts",
            "arn:aws:sns::123456789012:alerts",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a b",
        ] {
            assert_eq!(refused(&[(TOPIC_ARN, bad)]).0, TOPIC_ARN, "{bad}");
        }
        let (_, fifo) = refused(&[(TOPIC_ARN, "arn:aws:sns:us-east-1:123456789012:alerts.fifo")]);
        assert!(fifo.contains("FIFO"), "{fifo}");
        for good in [
            "arn:aws:sns:eu-west-1:123456789012:overrun-alerts",
            "arn:aws-cn:sns:cn-north-1:123456789012:a_b",
        ] {
            assert_eq!(with_tables(&[(TOPIC_ARN, good)]).unwrap().topic_arn.as_deref(), Some(good));
        }
    }

    #[test]
    fn settings_that_can_never_work_stop_the_start_naming_the_variable_and_its_range() {
        for (vars, name, range) in [
            (vec![(K, "0")], K, "greater than 0"),
            (vec![(CRITICAL_FACTOR, "1e308")], CRITICAL_FACTOR, "at most 100"),
            (vec![(RETENTION_DAYS, "4294967295")], RETENTION_DAYS, "at most 3650"),
            (vec![(FALLBACK_LIMIT_S, "1e300")], FALLBACK_LIMIT_S, "at most a year"),
            (vec![(FALLBACK_LIMIT_S, "-5")], FALLBACK_LIMIT_S, "0 (none) or a positive number"),
            (vec![(REGION, " ")], REGION, "is empty"),
            (vec![(CLOCK_SKEW_S, "86400")], CLOCK_SKEW_S, "0 to 3600"),
        ] {
            let (refused_name, reason) = refused(&vars);
            assert_eq!(refused_name, name);
            assert!(reason.contains(range), "{name}: {reason}");
        }
        for bad in ["ab", "runs table", "runs/table", "ränder"] {
            let all = [(RUNS_TABLE, bad), (STATS_TABLE, "stats")];
            match config(&all) {
                Err(ConfigError::Invalid { name, reason, .. }) => {
                    assert_eq!(name, RUNS_TABLE);
                    assert!(reason.contains("3 to 255"), "{reason}");
                }
                other => panic!("{bad:?} was accepted: {other:?}"),
            }
        }
        assert!(
            with_tables(&[(RETENTION_DAYS, "3650"), (FALLBACK_LIMIT_S, "31622400"), (REGION, "eu-west-1")])
                .is_ok()
        );
    }

    #[test]
    fn a_critical_factor_of_one_or_less_stops_the_start() {
        for factor in ["1", "0.5"] {
            let (name, reason) = refused(&[(CRITICAL_FACTOR, factor)]);
            assert_eq!(name, CRITICAL_FACTOR);
            assert!(reason.contains("greater than 1"), "{reason}");
        }
        assert!(with_tables(&[(CRITICAL_FACTOR, "1.5")]).is_ok());
    }

    #[test]
    fn a_schedule_that_disagrees_with_the_check_interval_stops_the_start() {
        assert!(with_tables(&[(CHECK_SCHEDULE, "rate(10 minutes)")]).is_ok());
        assert!(with_tables(&[(CHECK_SCHEDULE, "rate(1 minute)"), (CHECK_INTERVAL_MINUTES, "1")]).is_ok());
        let (name, reason) = refused(&[(CHECK_SCHEDULE, "rate(5 minutes)")]);
        assert_eq!(name, CHECK_SCHEDULE);
        assert!(reason.contains("every 5 minutes but OVERRUN_CHECK_INTERVAL_MINUTES is 10"), "{reason}");
        let (name, _) = refused(&[(CHECK_SCHEDULE, "cron(0/10 * * * ? *)")]);
        assert_eq!(name, CHECK_SCHEDULE);
    }

    const TABLES: [(&str, &str); 2] = [(RUNS_TABLE, "runs"), (STATS_TABLE, "stats")];

    #[test]
    fn defaults_run_the_tailored_method_at_k_6_counting_every_run() {
        let c = config(&TABLES).unwrap();
        assert_eq!(c.policy, BaselinePolicy::default());
        assert_eq!(c.policy.method(), Method::Tailored { k: 6.0 });
        assert_eq!(c.detection, DetectionConfig::default());
        assert_eq!(
            c.fallback_limit_ms,
            Some(43_200_000.0),
            "a type without a baseline is judged by twelve hours"
        );
        assert_eq!(config(&[TABLES[0], TABLES[1], (FALLBACK_LIMIT_S, "0")]).unwrap().fallback_limit_ms, None);
        assert_eq!(c.retention_days, 35);
        assert_eq!(c.exclusion_cap, None);

        let guarded = config(&[TABLES[0], TABLES[1], (METHOD, "guarded")]).unwrap();
        assert_eq!(guarded.policy.method(), Method::Guarded { k: 4.0 });
        assert_eq!(
            guarded.exclusion_cap.map(ExclusionCap::share),
            Some(0.1),
            "a tenth of the window kept out"
        );
        assert_eq!(c.require_topic(), Err(ConfigError::Missing(TOPIC_ARN)));
    }

    #[test]
    fn the_seed_method_counts_every_run_at_k_2_unless_a_cap_is_set() {
        let mut vars = TABLES.to_vec();
        vars.push((METHOD, "seed"));
        let c = config(&vars).unwrap();
        assert_eq!(c.policy.method(), Method::Seed { k: 2.0 });
        assert_eq!(c.exclusion_cap, None, "every run counts, as the seed method says");
        vars.push((EXCLUSION_CAP, "0.2"));
        assert_eq!(config(&vars).unwrap().exclusion_cap.map(ExclusionCap::share), Some(0.2));
    }

    #[test]
    fn tailored_weighs_its_three_latest_runs_by_default_and_the_checker_gets_them() {
        let on = config(&TABLES).unwrap();
        assert_eq!(on.recent, RecentRuns { count: 3, weight: 0.3 });
        let per_run = on.check_settings().per_run.unwrap();
        assert_eq!((per_run.price, per_run.interval_ms), (6.0, 600_000.0), "the method's k and interval");
        let mut vars = TABLES.to_vec();
        vars.extend([(RECENT_RUNS, "5"), (RECENT_WEIGHT, "0.6")]);
        assert_eq!(config(&vars).unwrap().recent, RecentRuns { count: 5, weight: 0.6 });
        let off = config(&[TABLES[0], TABLES[1], (RECENT_RUNS, "0")]).unwrap();
        assert!(!off.recent.is_enabled());
        assert_eq!(off.check_settings().per_run, None);
        let seed = config(&[TABLES[0], TABLES[1], (METHOD, "seed")]).unwrap();
        assert_eq!(seed.check_settings().per_run, None, "the seed method has none");
    }

    #[test]
    fn recent_runs_out_of_range_or_with_another_method_are_refused_naming_the_variable() {
        let refused = |extra: &[(&'static str, &'static str)]| {
            let mut vars = TABLES.to_vec();
            vars.extend_from_slice(extra);
            config(&vars).unwrap_err().to_string()
        };
        let error = refused(&[(RECENT_RUNS, "3"), (RECENT_WEIGHT, "1")]);
        assert!(error.starts_with("environment variable OVERRUN_RECENT_WEIGHT=\"1\" is invalid"), "{error}");
        let error = refused(&[(RECENT_RUNS, "5000")]);
        assert!(error.contains("OVERRUN_RECENT_RUNS=\"5000\"") && error.contains("0 to 1000"), "{error}");
        let error = refused(&[(RECENT_RUNS, "3"), (METHOD, "guarded")]);
        assert!(error.contains("OVERRUN_RECENT_RUNS") && error.contains("not guarded"), "{error}");
        assert!(refused(&[(RECENT_RUNS, "many")]).contains("OVERRUN_RECENT_RUNS=\"many\""));
    }

    #[test]
    fn a_missing_table_name_is_named() {
        let error = config(&[(RUNS_TABLE, "runs")]).unwrap_err();
        assert_eq!(error.to_string(), "environment variable OVERRUN_STATS_TABLE is required but not set");
    }

    #[test]
    fn malformed_values_are_named_with_the_reason() {
        let mut vars = TABLES.to_vec();
        vars.push((K, "two"));
        let error = config(&vars).unwrap_err().to_string();
        assert!(error.starts_with("environment variable OVERRUN_K=\"two\" is invalid"), "{error}");

        let mut vars = TABLES.to_vec();
        vars.push((NIGHTLY_HOUR, "25"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_NIGHTLY_HOUR"));

        let mut vars = TABLES.to_vec();
        vars.push((WINDOW_DAYS, "0"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_WINDOW_DAYS=\"0\""));

        let mut vars = TABLES.to_vec();
        vars.push((FALLBACK_LIMIT_S, "-3"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_FALLBACK_LIMIT_S"));

        let mut vars = TABLES.to_vec();
        vars.push((METHOD, "lognormal"));
        assert!(
            config(&vars)
                .unwrap_err()
                .to_string()
                .contains("only `guarded`, `seed` and `tailored` can be deployed")
        );

        let mut vars = TABLES.to_vec();
        vars.push((CHECK_INTERVAL_MINUTES, "0"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_CHECK_INTERVAL_MINUTES=\"0\""));

        let mut vars = TABLES.to_vec();
        vars.push((RETENTION_DAYS, "3"));
        assert!(config(&vars).unwrap_err().to_string().contains("at least the window plus a week"));

        let mut vars = TABLES.to_vec();
        vars.push((SHORT_FRACTION, "1.5"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_SHORT_FRACTION=\"1.5\""));

        let mut vars = TABLES.to_vec();
        vars.push((EXCLUSION_CAP, "0"));
        assert!(config(&vars).unwrap_err().to_string().contains("OVERRUN_EXCLUSION_CAP=\"0\""));
    }

    #[test]
    fn every_knob_is_read() {
        let mut vars = TABLES.to_vec();
        vars.extend([
            (TOPIC_ARN, "arn:aws:sns:eu-west-1:123456789012:alerts"),
            (K, "3"),
            (WINDOW_DAYS, "7"),
            (MIN_SAMPLES, "10"),
            (NIGHTLY_HOUR, "3"),
            (CRITICAL_FACTOR, "1.5"),
            (FALLBACK_LIMIT_S, "3600"),
            (RETENTION_DAYS, "60"),
            (SHORT_FRACTION, "0.1"),
            (EXCLUSION_CAP, "0.25"),
            (CHECK_INTERVAL_MINUTES, "5"),
            (METHOD, "guarded"),
        ]);
        let c = config(&vars).unwrap();
        assert_eq!(
            c.policy,
            BaselinePolicy::new(Method::Guarded { k: 3.0 }, 7, 10, 3)
                .unwrap()
                .with_check_interval(overrun_core::TickInterval::from_seconds(300).unwrap())
        );
        assert_eq!(c.detection.critical_factor(), 1.5);
        assert_eq!(c.fallback_limit_ms, Some(3_600_000.0));
        assert_eq!(c.retention_days, 60);
        assert_eq!(c.short.fraction(), 0.1);
        assert_eq!(c.exclusion_cap.map(ExclusionCap::share), Some(0.25));
        assert_eq!(c.require_topic(), Ok("arn:aws:sns:eu-west-1:123456789012:alerts"));
    }
}

/// The SAM template's parameter defaults are the functions' own (`infra/check_defaults.py` holds
/// samconfig.toml and the CDK app to the template).
#[cfg(test)]
mod template_defaults {
    use overrun_core::defaults;

    /// The `Default:` of parameter `name` in the SAM template's `Parameters:`.
    fn template_default(template: &str, name: &str) -> String {
        let mut lines = template.lines().skip_while(|line| line.trim_end() != format!("  {name}:"));
        lines.next().unwrap_or_else(|| panic!("no parameter {name} in infra/template.yaml"));
        lines
            .take_while(|line| line.starts_with("    "))
            .find_map(|line| line.trim().strip_prefix("Default:"))
            .unwrap_or_else(|| panic!("parameter {name} has no default"))
            .trim()
            .trim_matches('"')
            .to_owned()
    }

    #[test]
    fn the_sam_template_defaults_are_the_functions_defaults() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/template.yaml");
        let template = std::fs::read_to_string(path).expect("infra/template.yaml reads");
        let expected = [
            ("Method", defaults::METHOD.to_owned()),
            ("WindowDays", defaults::WINDOW_DAYS.to_string()),
            ("MinSamples", defaults::MIN_SAMPLES.to_string()),
            ("NightlyHour", defaults::NIGHTLY_HOUR.to_string()),
            ("CheckIntervalMinutes", defaults::CHECK_INTERVAL_MINUTES.to_string()),
            ("CriticalFactor", defaults::CRITICAL_FACTOR.to_string()),
            ("RetentionDays", defaults::RETENTION_DAYS.to_string()),
            ("ShortFraction", defaults::SHORT_FRACTION.to_string()),
            ("ClockSkewSeconds", super::DEFAULT_CLOCK_SKEW_S.to_string()),
            ("FallbackLimitSeconds", defaults::FALLBACK_LIMIT_S.to_string()),
            ("RecentWeight", defaults::RECENT_WEIGHT.to_string()),
            // Empty: the method's own k, exclusion and recent runs.
            ("K", String::new()),
            ("ExclusionCap", String::new()),
            ("RecentRuns", String::new()),
        ];
        for (name, value) in expected {
            assert_eq!(template_default(&template, name), value, "parameter {name}");
        }
    }
}
