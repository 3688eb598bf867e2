//! `overrun override TASK`: per-task k, fixed limit, or mute, stored where the checker reads them.

use overrun_aws::DynamoStatsStore;
use overrun_core::BaselinePolicy;
use overrun_core::humanize::{duration, utc_minute};
use overrun_core::overrides::Override;
use overrun_core::ports::StatsStore;
use overrun_core::time::{days_from_civil, parse_rfc3339};
use overrun_core::{EpochMs, TaskType};

use crate::commands::aws::{AwsArgs, aws_sdk_dynamodb_client, runtime};
use crate::error::CliError;

pub struct OverrideRequest {
    pub task_type: String,
    pub k: Option<f64>,
    pub limit_s: Option<f64>,
    pub mute_until: Option<String>,
    pub short_fraction: Option<f64>,
    pub clear: bool,
    pub aws: AwsArgs,
}

/// `2026-12-01` (midnight UTC) or an RFC 3339 timestamp.
pub fn parse_mute_until(text: &str) -> Result<EpochMs, CliError> {
    let date = text.as_bytes();
    if date.len() == 10 && date[4] == b'-' && date[7] == b'-' {
        let parts: Option<(i64, u32, u32)> =
            (|| Some((text[0..4].parse().ok()?, text[5..7].parse().ok()?, text[8..10].parse().ok()?)))();
        if let Some((year, month, day)) =
            parts.filter(|&(_, m, d)| (1..=12).contains(&m) && (1..=31).contains(&d))
        {
            return Ok(days_from_civil(year, month, day) * overrun_core::time::MS_PER_DAY);
        }
    }
    parse_rfc3339(text).map_err(|e| CliError::invalid(format!("--mute-until: {e} or a date like 2026-12-01")))
}

pub fn build(request: &OverrideRequest) -> Result<(TaskType, Override), CliError> {
    let task = TaskType::new(&request.task_type).map_err(CliError::invalid)?;
    if request.clear {
        if request.k.is_some()
            || request.limit_s.is_some()
            || request.mute_until.is_some()
            || request.short_fraction.is_some()
        {
            return Err(CliError::invalid(
                "--clear cannot be combined with --k, --limit, --mute-until or --short-fraction",
            ));
        }
        return Ok((task, Override::default()));
    }
    if let Some(k) = request.k
        && !(k.is_finite() && k >= 0.0)
    {
        return Err(CliError::invalid(format!("--k must be a finite number ≥ 0, got {k}")));
    }
    if let Some(limit) = request.limit_s
        && !(limit.is_finite() && limit > 0.0)
    {
        return Err(CliError::invalid(format!("--limit must be a positive number of seconds, got {limit}")));
    }
    if let Some(fraction) = request.short_fraction {
        overrun_core::ShortRule::new(fraction)
            .map_err(|e| CliError::invalid(format!("--short-fraction: {e}")))?;
    }
    let task_override = Override {
        k: request.k,
        limit_ms: request.limit_s.map(|s| s * 1_000.0),
        mute_until: request.mute_until.as_deref().map(parse_mute_until).transpose()?,
        short_fraction: request.short_fraction,
    };
    if task_override.is_empty() {
        return Err(CliError::invalid(
            "say what to override: --k, --limit, --mute-until, --short-fraction, or --clear",
        ));
    }
    Ok((task, task_override))
}

pub fn run(request: &OverrideRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let (task, task_override) = build(request)?;
    let table = request.aws.require_stats_table()?;
    runtime()?.block_on(async {
        let client = aws_sdk_dynamodb_client(&request.aws).await;
        // The policy only shapes day-aggregate expiry, which an override never writes.
        let store = DynamoStatsStore::new(client, table, BaselinePolicy::default(), 35, Default::default());
        store.set_override(&task, &task_override).await.map_err(|e| CliError::Aws(e.to_string()))
    })?;
    writeln!(out, "{task}: {}", describe(&task_override)).map_err(CliError::Output)
}

fn describe(o: &Override) -> String {
    if o.is_empty() {
        return "override cleared: the nightly baseline applies".to_owned();
    }
    let mut parts = Vec::new();
    if let Some(k) = o.k {
        parts.push(format!("k = {k}"));
    }
    if let Some(limit) = o.limit_ms {
        parts.push(format!("fixed limit {}", duration(limit)));
    }
    if let Some(until) = o.mute_until {
        parts.push(format!("muted until {}", utc_minute(until)));
    }
    match o.short_fraction {
        Some(fraction) if fraction > 0.0 => {
            parts.push(format!("too-short notices below {fraction} × expected"))
        }
        Some(_) => parts.push("no too-short notices".to_owned()),
        None => {}
    }
    format!("override set: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(k: Option<f64>, limit_s: Option<f64>, mute: Option<&str>, clear: bool) -> OverrideRequest {
        OverrideRequest {
            task_type: "etl".into(),
            k,
            limit_s,
            mute_until: mute.map(str::to_owned),
            short_fraction: None,
            clear,
            aws: AwsArgs { runs_table: None, stats_table: Some("stats".into()), endpoint_url: None },
        }
    }

    #[test]
    fn mute_until_takes_a_date_or_a_timestamp() {
        assert_eq!(parse_mute_until("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_mute_until("1970-01-01T01:00:00Z").unwrap(), 3_600_000);
        assert!(parse_mute_until("next week").unwrap_err().to_string().contains("--mute-until"));
    }

    #[test]
    fn an_override_needs_something_to_override_and_valid_values() {
        assert!(build(&request(None, None, None, false)).is_err());
        assert!(build(&request(Some(-1.0), None, None, false)).is_err());
        assert!(build(&request(None, Some(0.0), None, false)).is_err());
        assert!(build(&request(Some(3.0), None, None, true)).is_err());
        let (_, o) = build(&request(Some(3.0), Some(60.0), Some("2026-12-01"), false)).unwrap();
        assert_eq!((o.k, o.limit_ms), (Some(3.0), Some(60_000.0)));
        assert!(build(&request(None, None, None, true)).unwrap().1.is_empty());
        let silence = OverrideRequest { short_fraction: Some(0.0), ..request(None, None, None, false) };
        let (_, o) = build(&silence).unwrap();
        assert_eq!(describe(&o), "override set: no too-short notices");
        let bad = OverrideRequest { short_fraction: Some(1.5), ..request(None, None, None, false) };
        assert!(build(&bad).unwrap_err().to_string().contains("--short-fraction"));
    }
}
