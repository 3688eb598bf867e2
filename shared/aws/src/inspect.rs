//! Operators' reads of the deployed tables, for `overrun status`, `limits`, `alerts` and
//! `explain`: a run's item with its claims, every limits item with its method, and the messages
//! claimed or delivered since some time. Read-only. Listing messages Scans the runs table (the
//! one Scan in Overrun, and never in a function): an operator asks rarely, and an index kept
//! for it would cost a write on every claim.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use overrun_core::ports::{Listing, StoreError};
use overrun_core::records::{ClaimRecord, LimitsRecord, MessageKind, MessageRecord, RunRecord};
use overrun_core::time::{Day, MS_PER_DAY};
use overrun_core::{CohortId, EpochMs, Level, RunId, RunStatus, TaskType};

use crate::counters::SharedCounters;
use crate::dynamo::{item, query_all};
use crate::error::service;
use crate::items::{Item, ItemReader, s};
use crate::outbox::{alert_attribute, run_key};
use crate::schema::{runs as r, stats as st};
use crate::stats::{DynamoStatsStore, parse_limits};

#[derive(Clone)]
pub struct DynamoInspector {
    client: Client,
    runs_table: String,
    stats_table: String,
    counters: SharedCounters,
}

impl DynamoInspector {
    pub fn new(client: Client, runs_table: impl Into<String>, stats_table: impl Into<String>) -> Self {
        Self {
            client,
            runs_table: runs_table.into(),
            stats_table: stats_table.into(),
            counters: SharedCounters::default(),
        }
    }

    /// One run's item, read consistently; `None` when the table has no such run.
    pub async fn run(&self, task_type: &TaskType, run_id: &RunId) -> Result<Option<RunRecord>, StoreError> {
        self.counters.request();
        let output = self
            .client
            .get_item()
            .table_name(&self.runs_table)
            .set_key(Some(run_key(task_type, run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service("GetItem", e))?;
        output.item.as_ref().map(parse_run).transpose()
    }

    /// Every stored attempt of `run_id` (whatever attempt it names), first attempt first.
    pub async fn attempts(&self, task_type: &TaskType, run_id: &RunId) -> Result<Vec<RunRecord>, StoreError> {
        let items =
            crate::runs::attempt_items(&self.client, &self.runs_table, &self.counters, task_type, run_id)
                .await?;
        let mut records = items.iter().map(parse_run).collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|record| record.run_id.attempt());
        Ok(records)
    }

    /// Every task type's limits item, with the method of its baseline, by name.
    pub async fn limits(&self) -> Result<Listing<LimitsRecord>, StoreError> {
        let stats = DynamoStatsStore::new(
            self.client.clone(),
            &self.stats_table,
            Default::default(),
            0,
            self.counters.clone(),
        );
        let mut listing = Listing::default();
        for found in stats.limits_items().await? {
            match parse_limits(&found) {
                Ok(((task_type, limits), window_error)) => {
                    let method = found.get(st::METHOD).and_then(|v| v.as_s().ok()).cloned();
                    listing.items.push(LimitsRecord { task_type, limits, method });
                    listing.malformed.extend(window_error);
                }
                Err(error) => listing.malformed.push(error),
            }
        }
        listing.items.sort_by(|a, b| a.task_type.cmp(&b.task_type));
        Ok(listing)
    }

    /// Every message claimed, delivered, or still owed since `since` (an owed one whatever its
    /// age), oldest first: alerts and "resolved" from the runs table, too-short notices from the
    /// days between `since` and `now`.
    pub async fn messages_since(
        &self,
        since: EpochMs,
        now: EpochMs,
    ) -> Result<Listing<MessageRecord>, StoreError> {
        let mut listing = self.run_messages().await?;
        let first_day = since.div_euclid(MS_PER_DAY) - 1;
        let last_day = now.div_euclid(MS_PER_DAY) + 1;
        for day in first_day..=last_day {
            let notices = self.notices_of(Day::new(day)).await?;
            listing.items.extend(notices.items);
            listing.malformed.extend(notices.malformed);
        }
        listing.items.retain(|m| {
            m.claim.last_activity() >= since || m.claim.delivered_at.is_none() && !m.claim.legacy
        });
        listing.items.sort_by_key(|m| (m.claim.claimed_at, m.kind));
        Ok(listing)
    }

    /// The claims on every run item that has one.
    async fn run_messages(&self) -> Result<Listing<MessageRecord>, StoreError> {
        let mut listing = Listing::default();
        let mut start_key = None;
        loop {
            self.counters.request();
            let page = self
                .client
                .scan()
                .table_name(&self.runs_table)
                .filter_expression("attribute_exists(#w) OR attribute_exists(#c) OR attribute_exists(#r)")
                .projection_expression("#task, #run, #w, #c, #r")
                .expression_attribute_names("#task", r::TASK_TYPE)
                .expression_attribute_names("#run", r::RUN_ID)
                .expression_attribute_names("#w", r::ALERT_WARNING)
                .expression_attribute_names("#c", r::ALERT_CRITICAL)
                .expression_attribute_names("#r", r::RESOLUTION)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(|e| service("Scan", e))?;
            for found in page.items() {
                match run_messages_of(found) {
                    Ok(messages) => listing.items.extend(messages),
                    Err(error) => listing.malformed.push(error),
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => return Ok(listing),
            }
        }
    }

    /// The too-short notices filed under one day.
    async fn notices_of(&self, day: Day) -> Result<Listing<MessageRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.stats_table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :short)")
            .expression_attribute_names("#pk", st::PK)
            .expression_attribute_names("#sk", st::SK)
            .expression_attribute_values(":pk", s(format!("{}{}", st::DAY_PREFIX, day.date())))
            .expression_attribute_values(":short", s(st::SHORT_NOTICE_PREFIX));
        let items = query_all(query, &self.counters).await?;
        let mut listing = Listing::default();
        for found in &items {
            listing.push(parse_notice(found, day));
        }
        Ok(listing)
    }
}

fn parse_run(found: &Item) -> Result<RunRecord, StoreError> {
    let reader = ItemReader::new(found, &[r::TASK_TYPE, r::RUN_ID]);
    let status = match reader.optional_string(r::STATUS)? {
        Some(status) => Some(status.parse::<RunStatus>().map_err(|e| reader.invalid(e))?),
        None => None,
    };
    let cohort = match reader.optional_string(r::COHORT)? {
        Some(cohort) => Some(CohortId::new(cohort).map_err(|e| reader.invalid(e))?),
        None => None,
    };
    let mut alerts = Vec::new();
    for level in Level::ALL {
        if let Some(claim) = claim_record(found, alert_attribute(level))? {
            alerts.push((level, claim));
        }
    }
    Ok(RunRecord {
        task_type: TaskType::new(reader.string(r::TASK_TYPE)?).map_err(|e| reader.invalid(e))?,
        run_id: RunId::from_stored_key(reader.string(r::RUN_ID)?).map_err(|e| reader.invalid(e))?,
        start: reader.optional_number(r::START_MS)?,
        end: reader.optional_number(r::END_MS)?,
        status,
        cohort,
        recent_ms: reader.number_list(r::RECENT_MS)?,
        season_recent_ms: reader.number_list(r::SEASON_RECENT_MS)?,
        alerts,
        resolution: claim_record(found, r::RESOLUTION)?,
        expires_at: reader.optional_number(r::EXPIRES_AT)?,
    })
}

fn run_messages_of(found: &Item) -> Result<Vec<MessageRecord>, StoreError> {
    let reader = ItemReader::new(found, &[r::TASK_TYPE, r::RUN_ID]);
    let task_type = TaskType::new(reader.string(r::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    let about = RunId::from_stored_key(reader.string(r::RUN_ID)?).map_err(|e| reader.invalid(e))?.to_string();
    let kinds = [
        (MessageKind::Alert(Level::Warning), r::ALERT_WARNING),
        (MessageKind::Alert(Level::Critical), r::ALERT_CRITICAL),
        (MessageKind::Resolved, r::RESOLUTION),
    ];
    let mut messages = Vec::new();
    for (kind, attribute) in kinds {
        if let Some(claim) = claim_record(found, attribute)? {
            messages.push(MessageRecord { kind, task_type: task_type.clone(), about: about.clone(), claim });
        }
    }
    Ok(messages)
}

fn parse_notice(found: &Item, day: Day) -> Result<MessageRecord, StoreError> {
    let reader = ItemReader::new(found, &[st::PK, st::SK]);
    let task_type = TaskType::new(reader.string(st::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    let claim = match claim_record(found, st::NOTICE)? {
        Some(claim) => claim,
        // Notices from before leases: a bare claim id, taken as sent.
        None => legacy_claim(reader.string(st::NOTICE_CLAIM)?),
    };
    Ok(MessageRecord { kind: MessageKind::TooShort, task_type, about: day.date(), claim })
}

fn legacy_claim(owner: &str) -> ClaimRecord {
    ClaimRecord {
        owner: owner.to_owned(),
        claimed_at: 0,
        first_claimed_at: None,
        delivered_at: None,
        subject: None,
        alert_id: None,
        legacy: true,
    }
}

/// The claim map in `attribute` of `found`, as stored (`None`: never claimed).
pub fn claim_record(found: &Item, attribute: &str) -> Result<Option<ClaimRecord>, StoreError> {
    let reader = ItemReader::new(found, &[r::TASK_TYPE, r::RUN_ID, st::PK, st::SK]);
    let claim = match found.get(attribute) {
        None => return Ok(None),
        Some(AttributeValue::S(owner)) => return Ok(Some(legacy_claim(owner))),
        Some(AttributeValue::M(claim)) => claim,
        Some(other) => {
            return Err(
                reader.invalid(format!("attribute {attribute} should be a claim map, found {other:?}"))
            );
        }
    };
    let named = |problem: String| reader.invalid(format!("{attribute}.{problem}"));
    let fields = ItemReader::new(claim, &[]);
    let message = match claim.get("message") {
        Some(AttributeValue::M(message)) => message.clone(),
        _ => item([]),
    };
    let text = |name: &str| message.get(name).and_then(|v| v.as_s().ok()).cloned();
    Ok(Some(ClaimRecord {
        owner: fields
            .string("owner")
            .map_err(|_| named("owner is missing or not a string".into()))?
            .to_owned(),
        claimed_at: fields
            .number("claimed_at")
            .map_err(|_| named("claimed_at is missing or not a number".into()))?,
        first_claimed_at: fields
            .optional_number(crate::outbox::FIRST_CLAIMED_AT)
            .map_err(|_| named("first_claimed_at is not a number".into()))?,
        delivered_at: fields
            .optional_number("delivered_at")
            .map_err(|_| named("delivered_at is not a number".into()))?,
        subject: text("subject"),
        alert_id: text("alert_id"),
        legacy: false,
    }))
}
