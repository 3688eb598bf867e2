//! Read-only views of what the deployed system believes, from its tables: `overrun status`,
//! `limits`, `alerts` and `explain`; and `overrun close`, for a run whose finish was lost.
//! Everything is judged by the same code the checker runs, with the settings read from the
//! environment as the functions read them.

pub mod alerts;
pub mod close;
pub mod explain;
pub mod explain_type;
pub mod limits;
pub mod schedules;
pub mod status;

use overrun_aws::{Config, DynamoInspector, DynamoOutbox, DynamoRunStore, DynamoStatsStore};
use overrun_core::detect::overrides::Override;
use overrun_core::limits::season::SeasonMode;
use overrun_core::limits::window::Outlier;
use overrun_core::notify::humanize::{duration, utc_minute};
use overrun_core::records::{ClaimRecord, RunRecord};
use overrun_core::{Attempt, EpochMs, Level, RunId, TaskType};

use crate::commands::aws::{AwsArgs, aws_sdk_dynamodb_client};
use crate::error::CliError;

/// The deployed tables, read through the functions' own adapters.
pub struct Tables {
    pub config: Config,
    pub runs: DynamoRunStore,
    pub stats: DynamoStatsStore,
    pub inspector: DynamoInspector,
    pub outbox: DynamoOutbox,
}

impl Tables {
    pub async fn open(aws: &AwsArgs) -> Result<Self, CliError> {
        let config = aws.config()?;
        let client = aws_sdk_dynamodb_client(aws).await;
        let runs = DynamoRunStore::new(
            client.clone(),
            &config.runs_table,
            &config.stats_table,
            config.policy,
            config.retention_days,
            Default::default(),
        )
        .with_day_retention(config.day_retention_days())
        .with_seasons(config.seasons);
        let stats = DynamoStatsStore::new(
            client.clone(),
            &config.stats_table,
            config.policy,
            config.day_retention_days(),
            Default::default(),
        );
        let outbox = DynamoOutbox::new(
            client.clone(),
            &config.runs_table,
            &config.stats_table,
            config.retention_days,
            Default::default(),
        );
        let inspector = DynamoInspector::new(client, &config.runs_table, &config.stats_table);
        Ok(Self { config, runs, stats, inspector, outbox })
    }
}

/// The run an operator names: the attempt asked for, or the id's latest; with how many attempts
/// the id has. `None` when the table has no attempt of the id at all.
pub async fn named_run(
    tables: &Tables,
    aws: &AwsArgs,
    task: &TaskType,
    run_id: &RunId,
    attempt: Option<Attempt>,
) -> Result<Option<(RunRecord, usize)>, CliError> {
    let mut attempts = tables.inspector.attempts(task, run_id).await.map_err(|e| aws.error(e))?;
    let count = attempts.len();
    let chosen = match attempt {
        None => attempts.pop(),
        Some(wanted) => match attempts.iter().position(|record| record.run_id.attempt() == wanted) {
            Some(found) => Some(attempts.swap_remove(found)),
            None if count == 0 => None,
            None => {
                let known: Vec<String> = attempts.iter().map(|r| r.run_id.attempt().to_string()).collect();
                return Err(CliError::NotFound(format!(
                    "run \"{}\" of task type \"{task}\" has no attempt {wanted}; its attempts: {}",
                    run_id.as_str(),
                    known.join(", ")
                )));
            }
        },
    };
    Ok(chosen.map(|record| (record, count)))
}

/// `12m 05s`, or `—` for a limit that is not there.
pub fn maybe_duration(ms: Option<f64>) -> String {
    ms.map(duration).unwrap_or_else(|| "—".to_owned())
}

/// A time as an RFC 3339 string for JSON.
pub fn rfc3339(at: EpochMs) -> String {
    let seconds = at.div_euclid(1_000);
    time::OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| at.to_string())
}

/// A message delivered this long after it was first claimed is said to be late.
const LATE_MS: EpochMs = 15 * 60 * 1_000;

/// How a claim stands, in words: `delivered 10:02 UTC`, `sending (lease to …)`, `pending`.
pub fn delivery_words(claim: &ClaimRecord, now: EpochMs) -> String {
    use overrun_core::records::Delivery;
    match (claim.delivery(now), claim.delivered_at) {
        // Late by more than a check or two: an outage held it back.
        (Delivery::Delivered, Some(at)) => match claim.lateness() {
            Some(late) if late >= LATE_MS => {
                format!("delivered {}, {} late", utc_minute(at), duration(late as f64))
            }
            _ => format!("delivered {}", utc_minute(at)),
        },
        (Delivery::Delivered, None) => "delivered".to_owned(),
        (Delivery::Sending { lease_ends }, _) => format!("sending (lease until {})", utc_minute(lease_ends)),
        (Delivery::Overdue, _) => "pending: the next check sends it again".to_owned(),
    }
}

/// An override in words, as `override --list` says it.
pub fn override_words(o: &Override) -> String {
    let mut parts = Vec::new();
    if let Some(k) = o.k() {
        parts.push(format!("k = {k}"));
    }
    if let Some(limit) = o.limit_ms() {
        parts.push(format!("fixed limit {}", duration(limit)));
    }
    if let Some(until) = o.mute_until() {
        parts.push(format!("muted until {}", utc_minute(until)));
    }
    match o.short_fraction() {
        Some(fraction) if fraction > 0.0 => {
            parts.push(format!("too-short notices below {fraction} × expected"))
        }
        Some(_) => parts.push("no too-short notices".to_owned()),
        None => {}
    }
    match o.seasons() {
        Some(SeasonMode::Seasonal) => parts.push("judged by season".to_owned()),
        Some(SeasonMode::Plain) => parts.push("never judged by season".to_owned()),
        None => {}
    }
    parts.join(", ")
}

/// A learned schedule for `--json`, as `limits` and `schedule list` give it: seconds.
pub fn schedule_json(schedule: &overrun_core::schedule::Schedule) -> serde_json::Value {
    serde_json::json!({
        "pattern": schedule.to_string(),
        "period_s": schedule.period_ms / 1_000,
        "due_s": schedule.offsets_ms.iter().map(|o| o / 1_000).collect::<Vec<_>>(),
        "weekdays": schedule.weekdays.to_string(),
        "grace_s": schedule.grace_ms / 1_000,
        "largest_lateness_s": schedule.largest_lateness_ms / 1_000,
        "typical_lateness_s": schedule.typical_lateness_ms / 1_000,
        "evidence": schedule.evidence,
    })
}

/// A baseline's lone outlier in words, as `limits` and `explain` say it.
pub fn outlier_words(outlier: &Outlier) -> String {
    let times = outlier.times_next_longest();
    let times = if times.is_finite() { format!("{times:.0}×") } else { "infinitely many times".to_owned() };
    format!(
        "kept out one run of {} as an outlier ({times} the next longest, {}): alone that long, it is taken for bad data, not a new normal",
        duration(outlier.duration_ms as f64),
        duration(outlier.next_longest_ms as f64)
    )
}

/// The same for `--json`: seconds.
pub fn outlier_json(outlier: &Outlier) -> serde_json::Value {
    serde_json::json!({
        "duration_s": outlier.duration_ms as f64 / 1_000.0,
        "next_longest_s": outlier.next_longest_ms as f64 / 1_000.0,
    })
}

pub fn level_words(level: Option<Level>) -> &'static str {
    level.map(Level::as_str).unwrap_or("within")
}

/// Writes `rows` as left-aligned columns under `header`.
pub fn table(out: &mut impl std::io::Write, header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> =
            cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// Items the tables hold that could not be read: said on stderr, never silently dropped.
pub fn warn_malformed(errors: &[overrun_core::ports::StoreError]) {
    for error in errors {
        eprintln!("overrun: warning: skipping an item that cannot be read: {error}");
    }
}
