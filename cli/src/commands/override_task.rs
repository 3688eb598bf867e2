//! `overrun override TASK`: per-task k, fixed limit, or mute, stored where the checker reads them.

use overrun_core::notify::message::JSON_VERSION;
use serde_json::{Value, json};

use crate::commands::inspect::rfc3339;
use overrun_core::detect::overrides::{Override, OverrideError, OverrideParts};
use overrun_core::limits::season::SeasonMode;
use overrun_core::notify::humanize::utc_minute;
use overrun_core::ports::OverrideStore;
use overrun_core::time::parse_timestamp;
use overrun_core::{EpochMs, TaskType};

use crate::commands::aws::{AwsArgs, runtime, stats_store};
use crate::commands::inspect::override_words;
use crate::error::CliError;
use crate::suggest::nearest_names;

pub struct OverrideRequest {
    pub task_type: String,
    pub k: Option<f64>,
    /// A duration (`90m`, `1h30m`) or seconds.
    pub limit: Option<String>,
    pub mute_until: Option<String>,
    pub short_fraction: Option<f64>,
    /// Judge by season, or not, whatever the type's history says.
    pub seasons: Option<SeasonMode>,
    pub clear: bool,
    /// Allow a task type the table does not know.
    pub create: bool,
    /// Mute dates must be after this.
    pub now: EpochMs,
    pub aws: AwsArgs,
    /// One JSON document instead of the text.
    pub json: bool,
}

/// `2026-12-01` (midnight UTC) or an RFC 3339 timestamp; an impossible date is refused, never
/// rolled over into the next month, and so is a time already past.
pub fn parse_mute_until(text: &str, now: EpochMs) -> Result<EpochMs, CliError> {
    let invalid = |problem: String| CliError::invalid(format!("--mute-until {text:?}: {problem}"));
    let at = if text.len() == 10 && text.as_bytes()[4] == b'-' && text.as_bytes()[7] == b'-' {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        let date = time::Date::parse(text, format).map_err(|error| match error {
            time::error::Parse::TryFromParsed(error) => {
                invalid(format!("not a real date: {}", overrun_core::time::out_of_range(&error)))
            }
            _ => invalid("not a date like 2026-12-01".to_owned()),
        })?;
        date.midnight().assume_utc().unix_timestamp() * overrun_core::time::MS_PER_SECOND
    } else {
        parse_timestamp(text).map_err(|e| invalid(format!("{e}, nor a date like 2026-12-01")))?
    };
    if at <= now {
        return Err(invalid(format!("{} is in the past: a mute must end in the future", utc_minute(at))));
    }
    Ok(at)
}

/// `--limit`: a duration such as `90m` or `1h30m` (humantime's units), or plain seconds.
pub fn parse_limit(text: &str) -> Result<f64, CliError> {
    let trimmed = text.trim();
    let seconds = match trimmed.parse::<f64>() {
        Ok(seconds) => seconds,
        Err(_) => crate::durations::parse_duration(trimmed)
            .map_err(|e| CliError::invalid(format!("--limit: {e}, or seconds")))?
            .as_secs_f64(),
    };
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(CliError::invalid(format!("--limit must be a positive duration, got {text:?}")));
    }
    Ok(seconds)
}

pub fn build(request: &OverrideRequest) -> Result<(TaskType, Override), CliError> {
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    if request.clear {
        if request.k.is_some()
            || request.limit.is_some()
            || request.mute_until.is_some()
            || request.short_fraction.is_some()
            || request.seasons.is_some()
        {
            return Err(CliError::invalid(
                "--clear cannot be combined with --k, --limit, --mute-until, --short-fraction or --seasons",
            ));
        }
        return Ok((task, Override::default()));
    }
    let limit_s = request.limit.as_deref().map(parse_limit).transpose()?;
    let parts = OverrideParts {
        k: request.k,
        limit_ms: limit_s.map(|s| s * 1_000.0),
        mute_until: request
            .mute_until
            .as_deref()
            .map(|text| parse_mute_until(text, request.now))
            .transpose()?,
        short_fraction: request.short_fraction,
        seasons: request.seasons,
    };
    let task_override = Override::new(parts).map_err(|error| {
        CliError::invalid(match error {
            OverrideError::K(k) => format!("--k must be a finite number greater than 0, got {k}"),
            OverrideError::Limit(_) => format!(
                "--limit must be a positive duration of at most a year, got {:?}",
                request.limit.as_deref().unwrap_or_default()
            ),
            OverrideError::ShortFraction(error) => format!("--short-fraction: {error}"),
        })
    })?;
    if task_override.is_empty() {
        return Err(CliError::invalid(
            "say what to override: --k, --limit, --mute-until, --short-fraction, --seasons, or --clear",
        ));
    }
    Ok((task, task_override))
}

pub fn run(request: &OverrideRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let (task, task_override) = build(request)?;
    runtime()?.block_on(async {
        let store = stats_store(&request.aws).await?;
        if !request.create && !request.clear {
            let known = store.all_limits().await.map_err(|e| request.aws.error(e))?;
            let names: Vec<&str> = known.items.iter().map(|(name, _)| name.as_str()).collect();
            if !names.contains(&task.as_str()) {
                return Err(CliError::invalid(unknown_task(task.as_str(), &names)));
            }
        }
        store.set_override(&task, &task_override).await.map_err(|e| request.aws.error(e))
    })?;
    let written = if request.json {
        let set = (!task_override.is_empty()).then(|| override_json(&task_override));
        writeln!(out, "{}", json!({ "version": JSON_VERSION, "task_type": task.as_str(), "override": set }))
    } else {
        writeln!(out, "{task}: {}", describe(&task_override))
    };
    written.map_err(CliError::Output)
}

/// An override's parts, as `limits --json` shows them.
pub fn override_json(o: &Override) -> Value {
    json!({
        "k": o.k(),
        "limit_s": o.limit_ms().map(|ms| ms / 1_000.0),
        "mute_until": o.mute_until().map(rfc3339),
        "short_fraction": o.short_fraction(),
        "seasons": o.seasons().map(|mode| mode.as_str()),
    })
}

/// Refusing a task type the table does not know, with the nearest known names.
fn unknown_task(task: &str, known: &[&str]) -> String {
    let hint = nearest_names(task, known).map(|names| format!(" Did you mean {names}?")).unwrap_or_default();
    format!(
        "task type {task:?} has no baseline and no override in the stats table.{hint} Pass --create to set an override for a task type that has not run yet"
    )
}

/// `override --list`: every override in force.
pub fn list(aws: &AwsArgs, as_json: bool, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let known = runtime()?.block_on(async {
        let store = stats_store(aws).await?;
        store.all_limits().await.map_err(|e| aws.error(e))
    })?;
    let mut overridden: Vec<_> = known
        .items
        .iter()
        .filter_map(|(task, limits)| limits.task_override.filter(|o| !o.is_empty()).map(|o| (task, o)))
        .collect();
    overridden.sort_by(|a, b| a.0.cmp(b.0));
    if as_json {
        let listed: Vec<Value> = overridden
            .iter()
            .map(|(task, o)| json!({ "version": JSON_VERSION, "task_type": task.as_str(), "override": override_json(o) }))
            .collect();
        return writeln!(out, "{}", Value::Array(listed)).map_err(CliError::Output);
    }
    let written = (|| {
        if overridden.is_empty() {
            return writeln!(out, "no overrides: every task type follows its nightly baseline");
        }
        for (task, task_override) in overridden {
            writeln!(out, "{task}: {}", override_words(&task_override))?;
        }
        Ok(())
    })();
    written.map_err(CliError::Output)
}

fn describe(o: &Override) -> String {
    if o.is_empty() {
        return "override cleared: the nightly baseline applies".to_owned();
    }
    format!("override set: {}", override_words(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-01-01T00:00:00Z.
    const NOW: EpochMs = 1_767_225_600_000;

    fn request(k: Option<f64>, limit: Option<&str>, mute: Option<&str>, clear: bool) -> OverrideRequest {
        OverrideRequest {
            task_type: "etl".into(),
            k,
            limit: limit.map(str::to_owned),
            mute_until: mute.map(str::to_owned),
            short_fraction: None,
            seasons: None,
            clear,
            create: false,
            now: NOW,
            aws: AwsArgs { runs_table: None, stats_table: Some("stats".into()), endpoint_url: None },
            json: false,
        }
    }

    #[test]
    fn mute_until_takes_a_future_date_or_timestamp_and_refuses_impossible_or_past_ones() {
        assert_eq!(parse_mute_until("2026-01-02", NOW).unwrap(), NOW + 86_400_000);
        assert_eq!(parse_mute_until("2026-01-01T01:00:00Z", NOW).unwrap(), NOW + 3_600_000);
        assert!(parse_mute_until("next week", NOW).unwrap_err().to_string().contains("--mute-until"));
        let impossible = parse_mute_until("2026-02-31", NOW).unwrap_err().to_string();
        assert!(impossible.contains("not a real date"), "{impossible}");
        let past = parse_mute_until("2025-12-31", NOW).unwrap_err().to_string();
        assert!(past.contains("in the past"), "{past}");
    }

    #[test]
    fn a_limit_is_a_duration_or_seconds() {
        assert_eq!(parse_limit("5400").unwrap(), 5_400.0);
        assert_eq!(parse_limit("90m").unwrap(), 5_400.0);
        assert_eq!(parse_limit("1h30m").unwrap(), 5_400.0);
        assert_eq!(parse_limit("1h 30m").unwrap(), 5_400.0);
        assert!(parse_limit("0").is_err());
        assert!(parse_limit("-5m").is_err());
        assert!(parse_limit("ninety minutes").unwrap_err().to_string().contains("90m"));
    }

    #[test]
    fn an_unknown_task_is_refused_with_the_nearest_known_names() {
        let message = unknown_task("nightly-exprot", &["nightly-export", "hourly-sync", "nightly-import"]);
        assert!(message.contains(r#"Did you mean "nightly-export", "nightly-import"?"#), "{message}");
        assert!(message.contains("--create"));
        assert!(!unknown_task("zzz", &["nightly-export"]).contains("Did you mean"));
    }

    #[test]
    fn an_override_needs_something_to_override_and_valid_values() {
        assert!(build(&request(None, None, None, false)).is_err());
        assert!(build(&request(Some(-1.0), None, None, false)).is_err());
        assert!(build(&request(None, Some("0"), None, false)).is_err());
        assert!(build(&request(Some(3.0), None, None, true)).is_err());
        let (_, o) = build(&request(Some(3.0), Some("60"), Some("2026-12-01"), false)).unwrap();
        assert_eq!((o.k(), o.limit_ms()), (Some(3.0), Some(60_000.0)));
        assert!(build(&request(None, None, None, true)).unwrap().1.is_empty());
        let silence = OverrideRequest { short_fraction: Some(0.0), ..request(None, None, None, false) };
        let (_, o) = build(&silence).unwrap();
        assert_eq!(describe(&o), "override set: no too-short notices");
        let bad = OverrideRequest { short_fraction: Some(1.5), ..request(None, None, None, false) };
        assert!(build(&bad).unwrap_err().to_string().contains("--short-fraction"));
    }
}
