//! `overrun alerts --since 24h`: every message claimed or delivered since then (warnings,
//! criticals, "resolved", too-short notices), with where its delivery stands, and every message
//! still owed whatever its age.

use overrun_core::EpochMs;
use overrun_core::notify::humanize::utc_minute;
use overrun_core::notify::message::JSON_VERSION;
use overrun_core::records::MessageRecord;
use serde_json::{Value, json};

use super::{Tables, delivery_words, rfc3339, table, warn_malformed};
use crate::commands::aws::{AwsArgs, runtime};
use crate::error::CliError;

pub struct AlertsRequest {
    pub aws: AwsArgs,
    pub now: EpochMs,
    pub since: std::time::Duration,
    pub json: bool,
}

pub fn run(request: &AlertsRequest, out: &mut impl std::io::Write) -> Result<(), CliError> {
    let aws = &request.aws;
    let since_ms = i64::try_from(request.since.as_millis()).unwrap_or(i64::MAX);
    let since = request.now.saturating_sub(since_ms);
    let listing = runtime()?.block_on(async {
        let tables = Tables::open(aws).await?;
        tables.inspector.messages_since(since, request.now).await.map_err(|e| aws.error(e))
    })?;
    warn_malformed(&listing.malformed);
    let written = if request.json {
        write_json(&listing.items, request.now, out)
    } else {
        write_human(&listing.items, since, request.now, out)
    };
    written.map_err(CliError::Output)
}

fn when(message: &MessageRecord) -> String {
    if message.claim.legacy || message.claim.claimed_at == 0 {
        "—".to_owned()
    } else {
        utc_minute(message.claim.claimed_at)
    }
}

fn write_human(
    messages: &[MessageRecord],
    since: EpochMs,
    now: EpochMs,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    if messages.is_empty() {
        return writeln!(out, "no messages since {}", utc_minute(since));
    }
    writeln!(out, "messages since {} (claimed at, oldest first):", utc_minute(since))?;
    let rows: Vec<Vec<String>> = messages
        .iter()
        .map(|m| {
            vec![
                when(m),
                m.kind.to_string(),
                m.task_type.to_string(),
                m.about.clone(),
                delivery_words(&m.claim, now),
                m.claim.subject.clone().unwrap_or_default(),
            ]
        })
        .collect();
    table(out, &["CLAIMED", "KIND", "TASK", "RUN / DAY", "DELIVERY", "SUBJECT"], &rows)
}

fn write_json(
    messages: &[MessageRecord],
    now: EpochMs,
    out: &mut impl std::io::Write,
) -> std::io::Result<()> {
    for m in messages {
        let value: Value = json!({
            "version": JSON_VERSION,
            "kind": m.kind.to_string(),
            "task_type": m.task_type.as_str(),
            "about": m.about,
            "claimed_at": (m.claim.claimed_at > 0).then(|| rfc3339(m.claim.claimed_at)),
            "delivered_at": m.claim.delivered_at.map(rfc3339),
            "first_claimed_at": m.claim.first_claimed_at.map(rfc3339),
            "late_s": m.claim.lateness().map(|late| late as f64 / 1_000.0),
            "delivery": m.claim.delivery(now).as_str(),
            "owner": m.claim.owner,
            "alert_id": m.claim.alert_id,
            "subject": m.claim.subject,
        });
        writeln!(out, "{value}")?;
    }
    Ok(())
}
