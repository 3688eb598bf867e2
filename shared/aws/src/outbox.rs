//! The outbox on DynamoDB: each message's claim is a map attribute on the item it is about —
//! `alert_warning` / `alert_critical` / `resolution` on the run's item, `notice` on the day's
//! too-short item of the stats table — holding its owner, when it was claimed, when it was
//! delivered, and the message itself, so that whoever takes an undelivered claim over sends the
//! very same message.
//!
//! A claim whose answer was lost (the write applied, the connection reset, the SDK's retry
//! then failing its condition) is recognised by its owner and time, and won all the same.

use std::collections::HashMap;

use futures_util::{StreamExt, TryStreamExt};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use overrun_core::notify::delivery::{DeliveryState, Lease, MessageKey};
use overrun_core::notify::message::Notification;
use overrun_core::ports::{ClaimKind, Claimed, Listing, MissedIncident, Outbox, StoreError};
use overrun_core::recording;
use overrun_core::time::{Day, MS_PER_DAY};
use overrun_core::{EpochMs, Level, RunId, TaskType};

use crate::counters::SharedCounters;
use crate::dynamo::{is_conditional_failure, item, query_all};
use crate::error::service;
use crate::items::{Item, ItemReader, n, s};
use crate::schema::{runs as r, stats as st};

/// The claim map's fields.
const OWNER: &str = "owner";
const CLAIMED_AT: &str = "claimed_at";
pub const FIRST_CLAIMED_AT: &str = "first_claimed_at";
const DELIVERED_AT: &str = "delivered_at";
const MESSAGE: &str = "message";

#[derive(Clone)]
pub struct DynamoOutbox {
    client: Client,
    runs_table: String,
    stats_table: String,
    counters: SharedCounters,
    retention_ms: i64,
}

/// Where a message's claim lives and when a first claim may be taken.
struct Place {
    table: String,
    key: Item,
    attribute: &'static str,
    /// Besides "never claimed": the run still running (an alert), still owed its "resolved".
    fresh_condition: &'static str,
}

pub fn alert_attribute(level: Level) -> &'static str {
    match level {
        Level::Warning => r::ALERT_WARNING,
        Level::Critical => r::ALERT_CRITICAL,
    }
}

/// The key of a run's item: its attempt is in its sort key ([`RunId::stored_key`]).
pub fn run_key(task_type: &TaskType, run_id: &RunId) -> Item {
    stored_run_key(task_type.as_str(), &run_id.stored_key())
}

/// The key of a run's item from its key attributes as stored.
pub fn stored_run_key(task_type: &str, stored_run_id: &str) -> Item {
    item([(r::TASK_TYPE, s(task_type)), (r::RUN_ID, s(stored_run_id))])
}

/// The day's too-short notice of a task type: `DAY#date` / `SHORT#<task type>`.
pub fn short_notice_key(day: Day, task_type: &TaskType) -> Item {
    item([
        (st::PK, s(format!("{}{}", st::DAY_PREFIX, day.date()))),
        (st::SK, s(format!("{}{task_type}", st::SHORT_NOTICE_PREFIX))),
    ])
}

/// A missed-start incident's item: `MISSED` / `<task type>` U+001F `<first due>`.
pub fn missed_key(task_type: &TaskType, first_due: EpochMs) -> Item {
    item([(st::PK, s(st::MISSED_PK)), (st::SK, s(format!("{task_type}{}{first_due}", st::MISSED_SEPARATOR)))])
}

/// How long a resolved incident is kept: long enough that no tick that judged it open is still
/// running when it goes.
const RESOLVED_INCIDENT_KEPT_MS: i64 = 2 * MS_PER_DAY;

impl DynamoOutbox {
    pub fn new(
        client: Client,
        runs_table: impl Into<String>,
        stats_table: impl Into<String>,
        retention_days: u32,
        counters: SharedCounters,
    ) -> Self {
        Self {
            client,
            runs_table: runs_table.into(),
            stats_table: stats_table.into(),
            counters,
            retention_ms: i64::from(retention_days) * MS_PER_DAY,
        }
    }

    fn place(&self, key: &MessageKey) -> Place {
        match key {
            MessageKey::Alert { task_type, run_id, level } => Place {
                table: self.runs_table.clone(),
                key: run_key(task_type, run_id),
                attribute: alert_attribute(*level),
                fresh_condition: "attribute_exists(#running) AND attribute_not_exists(#claim)",
            },
            MessageKey::Resolved { task_type, run_id } => Place {
                table: self.runs_table.clone(),
                key: run_key(task_type, run_id),
                attribute: r::RESOLUTION,
                fresh_condition: "attribute_exists(#resolve) AND attribute_not_exists(#claim)",
            },
            MessageKey::TooShort { task_type, day } => Place {
                table: self.stats_table.clone(),
                key: short_notice_key(*day, task_type),
                attribute: st::NOTICE,
                // `claim`: a notice claimed by a version before leases, delivered or not.
                fresh_condition: "attribute_not_exists(#claim) AND attribute_not_exists(#legacy)",
            },
            MessageKey::Missed { task_type, first_due, level } => Place {
                table: self.stats_table.clone(),
                key: missed_key(task_type, *first_due),
                attribute: alert_attribute(*level),
                // Not after its incident's "resolved": a tick that judged before the start came.
                fresh_condition: "attribute_not_exists(#claim) AND attribute_not_exists(#resolution)",
            },
            MessageKey::Resumed { task_type, first_due } => Place {
                table: self.stats_table.clone(),
                key: missed_key(task_type, *first_due),
                attribute: r::RESOLUTION,
                fresh_condition: "attribute_not_exists(#claim) AND (attribute_exists(#warning) OR attribute_exists(#critical))",
            },
        }
    }

    fn update(&self, place: &Place) -> UpdateItemFluentBuilder {
        self.counters.request();
        self.client
            .update_item()
            .table_name(&place.table)
            .set_key(Some(place.key.clone()))
            .expression_attribute_names("#claim", place.attribute)
    }

    /// The state of the claim after a write whose condition failed: from the item the error
    /// carries, or read again when it carries none.
    async fn current(&self, place: &Place, old: Option<Item>) -> Result<Item, StoreError> {
        if let Some(old) = old {
            return Ok(old);
        }
        self.counters.request();
        let output = self
            .client
            .get_item()
            .table_name(&place.table)
            .set_key(Some(place.key.clone()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service("GetItem", e))?;
        Ok(output.item.unwrap_or_default())
    }

    /// After a claim whose condition failed: won if the claim is ours (an earlier try of this very
    /// write applied and its answer was lost), else held.
    async fn settle_failed_claim(
        &self,
        place: &Place,
        lease: &Lease,
        old: Option<Item>,
    ) -> Result<Claimed, StoreError> {
        let current = self.current(place, old).await?;
        let state = claim_state(&current, place.attribute)?;
        if recording::is_ours(&state, lease) {
            return Ok(Claimed::Won(stored_message(&current, place.attribute)?));
        }
        Ok(Claimed::Held(state))
    }

    async fn claim_fresh(
        &self,
        place: &Place,
        key: &MessageKey,
        lease: &Lease,
        message: &Notification,
    ) -> Result<Claimed, StoreError> {
        let mut claim = claim_map(lease);
        claim.insert(MESSAGE.to_owned(), message_value(message));
        // Kept through take-overs: when the message became due, for how late it went out.
        claim.insert(FIRST_CLAIMED_AT.to_owned(), n(lease.claimed_at));
        let mut request = self
            .update(place)
            .condition_expression(place.fresh_condition)
            .expression_attribute_values(":claim", AttributeValue::M(claim))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        request = match key {
            MessageKey::Alert { .. } => request
                .update_expression("SET #claim = :claim")
                .expression_attribute_names("#running", r::RUNNING),
            MessageKey::Resolved { .. } => request
                .update_expression("SET #claim = :claim")
                .expression_attribute_names("#resolve", r::RESOLVE),
            MessageKey::Missed { task_type, first_due, .. } => request
                .update_expression("SET #claim = :claim, #task = :task, #due = :due")
                .expression_attribute_names("#resolution", r::RESOLUTION)
                .expression_attribute_names("#task", st::TASK_TYPE)
                .expression_attribute_names("#due", st::FIRST_DUE_MS)
                .expression_attribute_values(":task", s(task_type.as_str()))
                .expression_attribute_values(":due", n(*first_due)),
            MessageKey::Resumed { .. } => request
                .update_expression("SET #claim = :claim")
                .expression_attribute_names("#warning", r::ALERT_WARNING)
                .expression_attribute_names("#critical", r::ALERT_CRITICAL),
            MessageKey::TooShort { task_type, day } => {
                // Two days past the day, plus the runs' retention: past any redelivery of the
                // day's finishes (which are refused once older than the retention).
                let expires = (*day + 2)
                    .number()
                    .checked_mul(MS_PER_DAY)
                    .and_then(|end| end.checked_add(self.retention_ms))
                    .unwrap_or(EpochMs::MAX);
                request
                    .update_expression("SET #claim = :claim, #task = :task, #expires = :expires")
                    .expression_attribute_names("#legacy", st::NOTICE_CLAIM)
                    .expression_attribute_names("#task", st::TASK_TYPE)
                    .expression_attribute_names("#expires", st::EXPIRES_AT)
                    .expression_attribute_values(":task", s(task_type.as_str()))
                    .expression_attribute_values(":expires", n(expires.div_euclid(1_000)))
            }
        };
        match request.send().await {
            Ok(_) => Ok(Claimed::Won(message.clone())),
            Err(error) if is_conditional_failure(&error) => {
                self.settle_failed_claim(place, lease, old_item(&error)).await
            }
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }

    async fn take_over(&self, place: &Place, lease: &Lease, stale: &Lease) -> Result<Claimed, StoreError> {
        let result = self
            .update(place)
            .update_expression("SET #claim.#owner = :owner, #claim.#at = :at")
            .condition_expression(
                "#claim.#owner = :old_owner AND #claim.#at = :old_at AND attribute_not_exists(#claim.#delivered)",
            )
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#at", CLAIMED_AT)
            .expression_attribute_names("#delivered", DELIVERED_AT)
            .expression_attribute_values(":owner", s(&lease.owner))
            .expression_attribute_values(":at", n(lease.claimed_at))
            .expression_attribute_values(":old_owner", s(&stale.owner))
            .expression_attribute_values(":old_at", n(stale.claimed_at))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => {
                let after = output.attributes.unwrap_or_default();
                Ok(Claimed::Won(stored_message(&after, place.attribute)?))
            }
            Err(error) if is_conditional_failure(&error) => {
                self.settle_failed_claim(place, lease, old_item(&error)).await
            }
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }
}

fn old_item<R>(error: &aws_sdk_dynamodb::error::SdkError<UpdateItemError, R>) -> Option<Item> {
    match error.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed.item().cloned(),
        _ => None,
    }
}

fn claim_map(lease: &Lease) -> HashMap<String, AttributeValue> {
    HashMap::from([(OWNER.to_owned(), s(&lease.owner)), (CLAIMED_AT.to_owned(), n(lease.claimed_at))])
}

fn message_value(message: &Notification) -> AttributeValue {
    let mut fields = HashMap::from([
        ("subject".to_owned(), s(&message.subject)),
        ("default".to_owned(), s(&message.default)),
        ("email".to_owned(), s(&message.email)),
        ("sms".to_owned(), s(&message.sms)),
        ("severity".to_owned(), s(&message.severity)),
        ("kind".to_owned(), s(&message.kind)),
        ("task_type".to_owned(), s(&message.task_type)),
        ("alert_id".to_owned(), s(&message.alert_id)),
    ]);
    if let Some(account) = &message.account {
        fields.insert("account".to_owned(), s(account));
    }
    AttributeValue::M(fields)
}

/// Where the claim in `attribute` of `item` stands. A plain string is a claim written before
/// claims were leases: delivered (or given up on) then.
pub fn claim_state(item: &Item, attribute: &str) -> Result<DeliveryState, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID, st::PK, st::SK]);
    match item.get(attribute) {
        None => Ok(DeliveryState::Unclaimed),
        Some(AttributeValue::S(_)) => Ok(DeliveryState::Delivered),
        Some(AttributeValue::M(claim)) => {
            let field = |name: &str| format!("{attribute}.{name}");
            let claim_reader = ItemReader::new(claim, &[]);
            if claim_reader.has(DELIVERED_AT) {
                return Ok(DeliveryState::Delivered);
            }
            let owner = claim_reader
                .string(OWNER)
                .map_err(|_| reader.invalid(format!("{} is missing or not a string", field(OWNER))))?;
            let claimed_at = claim_reader
                .number(CLAIMED_AT)
                .map_err(|_| reader.invalid(format!("{} is missing or not a number", field(CLAIMED_AT))))?;
            Ok(DeliveryState::Pending(Lease { owner: owner.to_owned(), claimed_at }))
        }
        Some(other) => {
            Err(reader.invalid(format!("attribute {attribute} should be a claim map, found {other:?}")))
        }
    }
}

/// The message stored with the claim in `attribute`.
fn stored_message(item: &Item, attribute: &str) -> Result<Notification, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID, st::PK, st::SK]);
    let Some(AttributeValue::M(claim)) = item.get(attribute) else {
        return Err(reader.invalid(format!("attribute {attribute} holds no claim")));
    };
    let Some(AttributeValue::M(message)) = claim.get(MESSAGE) else {
        return Err(reader.invalid(format!("{attribute}.{MESSAGE} is missing")));
    };
    let text = |name: &str| match message.get(name) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(reader.invalid(format!("{attribute}.{MESSAGE}.{name} is missing or not a string"))),
    };
    Ok(Notification {
        subject: text("subject")?,
        default: text("default")?,
        email: text("email")?,
        sms: text("sms")?,
        severity: text("severity")?,
        kind: text("kind")?,
        task_type: text("task_type")?,
        alert_id: text("alert_id")?,
        // Messages claimed before accounts were told carry none.
        account: message.get("account").map(|_| text("account")).transpose()?,
    })
}

/// A missed-start incident's item.
fn parse_incident(item: &Item) -> Result<MissedIncident, StoreError> {
    let reader = ItemReader::new(item, &[st::PK, st::SK]);
    let task_type = TaskType::new(reader.string(st::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    Ok(MissedIncident {
        task_type,
        first_due: reader.number(st::FIRST_DUE_MS)?,
        warning: claim_state(item, r::ALERT_WARNING)?,
        critical: claim_state(item, r::ALERT_CRITICAL)?,
        resumed: claim_state(item, r::RESOLUTION)?,
    })
}

/// A too-short notice item listed as undelivered.
fn parse_notice(item: &Item, day: Day) -> Result<(MessageKey, Lease), StoreError> {
    let reader = ItemReader::new(item, &[st::PK, st::SK]);
    let task_type = TaskType::new(reader.string(st::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    match claim_state(item, st::NOTICE)? {
        DeliveryState::Pending(lease) => Ok((MessageKey::TooShort { task_type, day }, lease)),
        other => Err(reader.invalid(format!("listed as undelivered but {other:?}"))),
    }
}

impl Outbox for DynamoOutbox {
    async fn claim(
        &self,
        key: &MessageKey,
        lease: &Lease,
        how: ClaimKind<'_>,
    ) -> Result<Claimed, StoreError> {
        let place = self.place(key);
        match how {
            ClaimKind::Fresh(message) => self.claim_fresh(&place, key, lease, message).await,
            ClaimKind::TakeOver(stale) => self.take_over(&place, lease, stale).await,
        }
    }

    async fn mark_delivered(&self, key: &MessageKey, now: EpochMs) -> Result<(), StoreError> {
        let place = self.place(key);
        let mut request = self
            .update(&place)
            .condition_expression("attribute_exists(#claim)")
            .expression_attribute_names("#delivered", DELIVERED_AT)
            .expression_attribute_values(":now", n(now));
        request = match key {
            MessageKey::Resolved { .. } => request
                .update_expression("SET #claim.#delivered = :now, #resolved = :now REMOVE #resolve")
                .expression_attribute_names("#resolved", r::RESOLVED_AT)
                .expression_attribute_names("#resolve", r::RESOLVE),
            MessageKey::Resumed { .. } => request
                .update_expression("SET #claim.#delivered = :now, #expires = :expires")
                .expression_attribute_names("#expires", st::EXPIRES_AT)
                .expression_attribute_values(
                    ":expires",
                    n(now.saturating_add(RESOLVED_INCIDENT_KEPT_MS).div_euclid(1_000)),
                ),
            _ => request.update_expression("SET #claim.#delivered = :now"),
        };
        match request.send().await {
            Ok(_) => Ok(()),
            // The claim is gone (the item expired meanwhile): nothing is left to mark.
            Err(error) if is_conditional_failure(&error) => Ok(()),
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }

    async fn release(&self, key: &MessageKey, owner: &str) -> Result<(), StoreError> {
        let place = self.place(key);
        let result = self
            .update(&place)
            .update_expression("SET #claim.#at = :zero")
            .condition_expression("#claim.#owner = :owner AND attribute_not_exists(#claim.#delivered)")
            .expression_attribute_names("#owner", OWNER)
            .expression_attribute_names("#at", CLAIMED_AT)
            .expression_attribute_names("#delivered", DELIVERED_AT)
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":zero", n(Lease::RELEASED))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // No longer ours: nothing to give back.
            Err(error) if is_conditional_failure(&error) => Ok(()),
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }

    /// One query of the incidents' partition, leaving out those whose "resolved" went out.
    async fn missed_incidents(&self) -> Result<Listing<MissedIncident>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.stats_table)
            .key_condition_expression("#pk = :pk")
            .filter_expression("attribute_not_exists(#resolution.#delivered)")
            .expression_attribute_names("#pk", st::PK)
            .expression_attribute_names("#resolution", r::RESOLUTION)
            .expression_attribute_names("#delivered", DELIVERED_AT)
            .expression_attribute_values(":pk", s(st::MISSED_PK));
        let found = query_all(query, &self.counters).await?;
        let mut listing = Listing::default();
        for item in &found {
            listing.push(parse_incident(item));
        }
        Ok(listing)
    }

    async fn undelivered_notices(&self, days: &[Day]) -> Result<Listing<(MessageKey, Lease)>, StoreError> {
        // One small query a day (the day's notices share its partition), eight at a time: a
        // checker looking back over the whole retention stays well inside its tick.
        let queries: Vec<_> = days
            .iter()
            .copied()
            .map(|day| {
                let query = self
                    .client
                    .query()
                    .table_name(&self.stats_table)
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :short)")
                    .filter_expression(
                        "attribute_exists(#notice) AND attribute_not_exists(#notice.#delivered)",
                    )
                    .expression_attribute_names("#pk", st::PK)
                    .expression_attribute_names("#sk", st::SK)
                    .expression_attribute_names("#notice", st::NOTICE)
                    .expression_attribute_names("#delivered", DELIVERED_AT)
                    .expression_attribute_values(":pk", s(format!("{}{}", st::DAY_PREFIX, day.date())))
                    .expression_attribute_values(":short", s(st::SHORT_NOTICE_PREFIX));
                async move { query_all(query, &self.counters).await.map(|found| (day, found)) }
            })
            .collect();
        let found: Vec<(Day, Vec<Item>)> =
            futures_util::stream::iter(queries).buffered(8).try_collect().await?;
        let mut listing = Listing::default();
        for (day, items) in found {
            for item in &items {
                listing.push(parse_notice(item, day));
            }
        }
        Ok(listing)
    }
}
