//! The schedule learner's data on the stats table: every start, noted by its UTC date
//! (`STARTS#<date>` / `<task type>`, a number set, so a redelivered start adds nothing), and the
//! schedules the nightly job learns (`SCHEDULES` / `<task type>`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

use overrun_core::ports::{Listing, Partial, ScheduleStore, StoreError};
use overrun_core::schedule::declared::{Declared, Zone};
use overrun_core::schedule::watched::Declaration;
use overrun_core::schedule::{Schedule, ScheduleChange, Weekdays};
use overrun_core::time::{MS_PER_DAY, civil_date};
use overrun_core::{EpochMs, TaskType};

use crate::counters::SharedCounters;
use crate::dynamo::{batch_get, item, parse_all};
use crate::error::service;
use crate::items::{Item, ItemReader, n, s};
use crate::schema::stats as st;
use crate::stats::DynamoStatsStore;

/// How long a day's starts are kept after it: the learner's look-back and two days to spare.
const STARTS_KEPT_DAYS: i64 = 30;

fn starts_pk(date: i64) -> String {
    format!("{}{}", st::STARTS_PREFIX, civil_date(date))
}

/// Notes a start of `task_type` at `start` for the learner: one `UpdateItem`, `ADD` to the
/// day's set (a second note of the same start changes nothing).
pub(crate) async fn note_start(
    client: &Client,
    stats_table: &str,
    counters: &SharedCounters,
    task_type: &TaskType,
    start: EpochMs,
) -> Result<(), StoreError> {
    let date = start.div_euclid(MS_PER_DAY);
    let expires = (date + 1 + STARTS_KEPT_DAYS) * MS_PER_DAY / 1_000;
    counters.request();
    client
        .update_item()
        .table_name(stats_table)
        .set_key(Some(item([(st::PK, s(starts_pk(date))), (st::SK, s(task_type.as_str()))])))
        .update_expression("ADD #starts :start SET #expires = :expires")
        .expression_attribute_names("#starts", st::STARTS)
        .expression_attribute_names("#expires", st::EXPIRES_AT)
        .expression_attribute_values(":start", AttributeValue::Ns(vec![start.to_string()]))
        .expression_attribute_values(":expires", n(expires))
        .send()
        .await
        .map_err(|e| service("UpdateItem", e))?;
    Ok(())
}

/// A day's starts of one type.
fn parse_starts(found: &Item) -> Result<(TaskType, Vec<EpochMs>), StoreError> {
    let reader = ItemReader::new(found, &[st::PK, st::SK]);
    let task_type = TaskType::new(reader.string(st::SK)?).map_err(|e| reader.invalid(e))?;
    let Some(AttributeValue::Ns(numbers)) = found.get(st::STARTS) else {
        return Err(reader.invalid(format!("{} is missing or not a number set", st::STARTS)));
    };
    let starts = numbers
        .iter()
        .map(|number| {
            number
                .parse::<EpochMs>()
                .map_err(|_| reader.invalid(format!("{}: {number:?} is not a time", st::STARTS)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((task_type, starts))
}

/// A learned schedule as stored, read back.
pub struct StoredSchedule(pub TaskType, pub Schedule);

impl TryFrom<&Item> for StoredSchedule {
    type Error = StoreError;

    fn try_from(found: &Item) -> Result<Self, StoreError> {
        let reader = ItemReader::new(found, &[st::PK, st::SK]);
        let task_type = TaskType::new(reader.string(st::SK)?).map_err(|e| reader.invalid(e))?;
        let period_ms: i64 = reader.number(st::PERIOD_MS)?;
        let offsets_ms: Vec<i64> = reader.number_list(st::OFFSETS_MS)?;
        if period_ms <= 0 || offsets_ms.is_empty() || offsets_ms.iter().any(|&o| !(0..period_ms).contains(&o))
        {
            return Err(reader.invalid(format!(
                "{} must be times within {} ({period_ms} ms), got {offsets_ms:?}",
                st::OFFSETS_MS,
                st::PERIOD_MS
            )));
        }
        let bits: u8 = reader.number(st::WEEKDAYS)?;
        let weekdays = Weekdays::from_bits(bits)
            .ok_or_else(|| reader.invalid(format!("{} {bits} names no day of the week", st::WEEKDAYS)))?;
        Ok(Self(
            task_type,
            Schedule {
                period_ms,
                offsets_ms,
                weekdays,
                grace_ms: reader.number(st::GRACE_MS)?,
                early_ms: reader.number(st::EARLY_MS)?,
                typical_lateness_ms: reader.number(st::TYPICAL_LATENESS_MS)?,
                largest_lateness_ms: reader.number(st::LARGEST_LATENESS_MS)?,
                evidence: reader.number(st::EVIDENCE)?,
            },
        ))
    }
}

/// A declaration as stored, read back and validated again (an item edited by hand, or written by
/// a version that read expressions differently, is reported, not trusted).
pub struct StoredDeclaration(pub TaskType, pub Declaration);

impl TryFrom<&Item> for StoredDeclaration {
    type Error = StoreError;

    fn try_from(found: &Item) -> Result<Self, StoreError> {
        let reader = ItemReader::new(found, &[st::PK, st::SK]);
        let task_type = TaskType::new(reader.string(st::SK)?).map_err(|e| reader.invalid(e))?;
        let since: EpochMs = reader.number(st::SINCE_MS)?;
        if matches!(found.get(st::UNSCHEDULED), Some(AttributeValue::Bool(true))) {
            return Ok(Self(task_type, Declaration::Unscheduled { since }));
        }
        let zone = Zone::named(reader.string(st::TIMEZONE)?).map_err(|e| reader.invalid(e))?;
        let declared =
            Declared::new(reader.string(st::EXPRESSION)?, zone, reader.number(st::GRACE_MS)?, since)
                .map_err(|e| reader.invalid(e))?;
        Ok(Self(task_type, Declaration::Scheduled(Box::new(declared))))
    }
}

fn declared_key(task_type: &TaskType) -> Item {
    item([(st::PK, s(st::DECLARED_PK)), (st::SK, s(task_type.as_str()))])
}

fn declared_item(task_type: &TaskType, declaration: &Declaration) -> Item {
    let mut stored = declared_key(task_type);
    stored.insert(st::SINCE_MS.to_owned(), n(declaration.since()));
    match declaration {
        Declaration::Unscheduled { .. } => {
            stored.insert(st::UNSCHEDULED.to_owned(), AttributeValue::Bool(true));
        }
        Declaration::Scheduled(declared) => {
            stored.insert(st::EXPRESSION.to_owned(), s(declared.expression()));
            stored.insert(st::TIMEZONE.to_owned(), s(declared.zone().name()));
            stored.insert(st::GRACE_MS.to_owned(), n(declared.grace_ms()));
        }
    }
    stored
}

fn schedule_key(task_type: &TaskType) -> Item {
    item([(st::PK, s(st::SCHEDULES_PK)), (st::SK, s(task_type.as_str()))])
}

fn schedule_item(task_type: &TaskType, schedule: &Schedule) -> Item {
    let mut stored = schedule_key(task_type);
    stored.extend(
        [
            (st::PERIOD_MS, n(schedule.period_ms)),
            (st::OFFSETS_MS, AttributeValue::L(schedule.offsets_ms.iter().map(|&o| n(o)).collect())),
            (st::WEEKDAYS, n(schedule.weekdays.bits())),
            (st::GRACE_MS, n(schedule.grace_ms)),
            (st::EARLY_MS, n(schedule.early_ms)),
            (st::TYPICAL_LATENESS_MS, n(schedule.typical_lateness_ms)),
            (st::LARGEST_LATENESS_MS, n(schedule.largest_lateness_ms)),
            (st::EVIDENCE, n(schedule.evidence)),
        ]
        .map(|(name, value)| (name.to_owned(), value)),
    );
    stored
}

impl ScheduleStore for DynamoStatsStore {
    async fn starts_on(&self, dates: &[i64]) -> Result<Listing<(TaskType, Vec<EpochMs>)>, StoreError> {
        let mut listing: Listing<(TaskType, Vec<EpochMs>)> = Listing::default();
        let mut by_type: std::collections::BTreeMap<TaskType, Vec<EpochMs>> = Default::default();
        for &date in dates {
            let found = self.partition(&starts_pk(date)).await?;
            let day = parse_all(&found, parse_starts);
            listing.malformed.extend(day.malformed);
            for (task_type, starts) in day.items {
                by_type.entry(task_type).or_default().extend(starts);
            }
        }
        listing.items = by_type.into_iter().collect();
        Ok(listing)
    }

    /// One `BatchGetItem` per 100 (type, date) pairs: only the types the checker judges.
    async fn starts_of(
        &self,
        task_types: &[TaskType],
        dates: &[i64],
    ) -> Result<Partial<HashMap<TaskType, Vec<EpochMs>>>, StoreError> {
        let keys = task_types
            .iter()
            .flat_map(|task| {
                dates
                    .iter()
                    .map(move |&date| item([(st::PK, s(starts_pk(date))), (st::SK, s(task.as_str()))]))
            })
            .collect();
        let found = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        let mut partial: Partial<HashMap<TaskType, Vec<EpochMs>>> = Partial::default();
        for item in &found {
            match parse_starts(item) {
                Ok((task_type, starts)) => partial.items.entry(task_type).or_default().extend(starts),
                Err(error) => partial.malformed.push(error),
            }
        }
        Ok(partial)
    }

    async fn stored_schedules(&self) -> Result<Listing<(TaskType, Schedule)>, StoreError> {
        let found = self.partition(st::SCHEDULES_PK).await?;
        Ok(parse_all(&found, |item| {
            StoredSchedule::try_from(item).map(|StoredSchedule(task, schedule)| (task, schedule))
        }))
    }

    async fn declared_schedules(&self) -> Result<Listing<(TaskType, Declaration)>, StoreError> {
        let found = self.partition(st::DECLARED_PK).await?;
        Ok(parse_all(&found, |item| {
            StoredDeclaration::try_from(item).map(|StoredDeclaration(task, declaration)| (task, declaration))
        }))
    }

    async fn declare_schedule(
        &self,
        task_type: &TaskType,
        declaration: Option<&Declaration>,
    ) -> Result<(), StoreError> {
        self.counters.request();
        match declaration {
            Some(declaration) => {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(declared_item(task_type, declaration)))
                    .send()
                    .await
                    .map_err(|e| service("PutItem", e))?;
            }
            None => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(declared_key(task_type)))
                    .send()
                    .await
                    .map_err(|e| service("DeleteItem", e))?;
            }
        }
        Ok(())
    }

    /// One write per changed schedule (a few a night: schedules change rarely).
    async fn apply_schedule_changes(&self, changes: &[ScheduleChange]) -> Result<(), StoreError> {
        for change in changes {
            self.counters.request();
            match change {
                ScheduleChange::Set(task_type, schedule) => {
                    self.client
                        .put_item()
                        .table_name(&self.table)
                        .set_item(Some(schedule_item(task_type, schedule)))
                        .send()
                        .await
                        .map_err(|e| service("PutItem", e))?;
                }
                ScheduleChange::Remove(task_type) => {
                    self.client
                        .delete_item()
                        .table_name(&self.table)
                        .set_key(Some(schedule_key(task_type)))
                        .send()
                        .await
                        .map_err(|e| service("DeleteItem", e))?;
                }
            }
        }
        Ok(())
    }
}
