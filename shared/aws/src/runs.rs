//! The run store on DynamoDB: one item per run, with sparse indexes for the running runs, the
//! runs of each end day, and the runs owed a "resolved" message.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};
use overrun_core::detect::check::RunningRun;
use overrun_core::detect::levels::AlertedLevels;
use overrun_core::limits::nightly::FinishedRun;
use overrun_core::limits::season::{Season, SeasonRule};
use overrun_core::notify::message::Resolution;
use overrun_core::ports::{
    FinishedRuns, Listing, PendingResolution, Recorded, RunFinished, RunRecorder, RunStarted, RunningRuns,
    StoreError, StoreErrorKind,
};
use overrun_core::recording::{self, Counted, Placement, RunRecord};
use overrun_core::time::{Day, MS_PER_DAY};
use overrun_core::{Attempt, BaselinePolicy, CohortId, EpochMs, Level, RunId, RunStatus, TaskType};

use crate::counters::SharedCounters;
use crate::dynamo::{applied, batch_get, is_conditional_failure, item, parse_all, query_all};
use crate::error::service;
use crate::items::{Item, ItemReader, n, s};
use crate::outbox::{alert_attribute, claim_state, run_key, stored_run_key};
use crate::schema::{runs as r, stats as st};

#[derive(Clone)]
pub struct DynamoRunStore {
    client: Client,
    table: String,
    stats_table: String,
    policy: BaselinePolicy,
    retention_ms: i64,
    /// How long a day's counter is kept (as long as its aggregates).
    day_retention_ms: i64,
    counters: SharedCounters,
    /// How many recent runs a start records (0: none).
    recent_runs: usize,
    /// With seasons: counted runs are listed by season too, and starts also record their
    /// season's recent runs.
    seasons: Option<SeasonRule>,
}

/// TTL attributes are epoch seconds.
fn ttl_seconds(at: EpochMs) -> AttributeValue {
    n(at.div_euclid(1_000))
}

impl DynamoRunStore {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        stats_table: impl Into<String>,
        policy: BaselinePolicy,
        retention_days: u32,
        counters: SharedCounters,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            stats_table: stats_table.into(),
            policy,
            retention_ms: i64::from(retention_days) * MS_PER_DAY,
            day_retention_ms: i64::from(retention_days) * MS_PER_DAY,
            counters,
            recent_runs: 0,
            seasons: None,
        }
    }

    /// Keeps each day's counter `days` past the day (the stats table's day aggregates' own
    /// retention), instead of the runs' retention.
    pub fn with_day_retention(mut self, days: u32) -> Self {
        self.day_retention_ms = i64::from(days) * MS_PER_DAY;
        self
    }

    /// Lists counted runs by the season of their start (weekends by `seasons`) and records each
    /// start's recent runs of its own season too.
    pub fn with_seasons(mut self, seasons: Option<SeasonRule>) -> Self {
        self.seasons = seasons;
        self
    }

    /// Starts record the durations of the latest `count` succeeded runs of their type that had
    /// ended by then (0: none), for each run's own limit.
    pub fn with_recent_runs(mut self, count: usize) -> Self {
        self.recent_runs = count;
        self
    }

    /// The durations of the latest [`Self::with_recent_runs`] succeeded runs of `task_type` that
    /// ended before `start`, newest first. A malformed index item is logged and left out.
    /// With `season`, of the runs that started in that season.
    async fn recent_durations(
        &self,
        task_type: &TaskType,
        season: Option<Season>,
        start: EpochMs,
    ) -> Result<Vec<u64>, StoreError> {
        if self.recent_runs == 0 {
            return Ok(Vec::new());
        }
        let (index, attribute, key) = match season {
            None => (r::RECENT_INDEX, r::TASK_TYPE, task_type.to_string()),
            Some(season) => (r::RECENT_SEASON_INDEX, r::SEASON_TASK, season_task(task_type.as_str(), season)),
        };
        self.counters.request();
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#task = :task AND #ended < :start")
            .expression_attribute_names("#task", attribute)
            .expression_attribute_names("#ended", r::SUCCEEDED_END_MS)
            .expression_attribute_values(":task", s(key))
            .expression_attribute_values(":start", n(start))
            .scan_index_forward(false)
            .limit(i32::try_from(self.recent_runs).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(|e| service("Query", e))?;
        let listing = parse_all(output.items(), parse_recent_duration);
        for error in &listing.malformed {
            tracing::error!(%error, "leaving a malformed run out of a start's recent runs");
        }
        Ok(listing.items)
    }

    /// After a write: applies what the recording rule says the run owes — its day's count
    /// (exactly once, in one transaction with the day's counter) and its "resolved".
    async fn settle(&self, after: &Item) -> Result<Recorded, StoreError> {
        let reader = ItemReader::new(after, &[r::TASK_TYPE, r::RUN_ID]);
        let task_type = reader.string(r::TASK_TYPE)?;
        let run_id = reader.string(r::RUN_ID)?;
        let settlement = recording::settle(&run_record(after)?);
        let mut recorded = Recorded { completed: settlement.completed, ..Recorded::default() };
        if let Some(Counted { end, warned }) = settlement.count {
            let start = settlement.completed.map(|(start, _)| start);
            recorded.counted = self.count_for_day(task_type, run_id, (start, end), warned).await?;
        }
        if settlement.flag_resolution {
            recorded.resolution_pending = self.flag_resolution(task_type, run_id).await?;
        }
        Ok(recorded)
    }

    async fn count_for_day(
        &self,
        task_type: &str,
        run_id: &str,
        (start, end): (Option<EpochMs>, EpochMs),
        warned: bool,
    ) -> Result<bool, StoreError> {
        let day = self.policy.bucket_of_end(end);
        let end_day = if warned { format!("{}{}", day.date(), r::WARNED_DAY_SUFFIX) } else { day.date() };
        let day_expires = self.policy.night_start(day + 1).saturating_add(self.day_retention_ms);
        let mut mark_run = Update::builder();
        let mut update = String::from("SET #counted = :true, #end_day = :day, #ended = :end");
        if let (Some(rule), Some(start)) = (self.seasons, start) {
            update.push_str(", #season_task = :season_task");
            mark_run = mark_run
                .expression_attribute_names("#season_task", r::SEASON_TASK)
                .expression_attribute_values(
                    ":season_task",
                    s(season_task(task_type, rule.season_of(start))),
                );
        }
        let mark_run = mark_run
            .table_name(&self.table)
            .set_key(Some(stored_run_key(task_type, run_id)))
            .update_expression(update)
            .condition_expression("attribute_not_exists(#counted)")
            .expression_attribute_names("#counted", r::COUNTED)
            .expression_attribute_names("#end_day", r::END_DAY)
            .expression_attribute_names("#ended", r::SUCCEEDED_END_MS)
            .expression_attribute_values(":true", AttributeValue::Bool(true))
            .expression_attribute_values(":day", s(end_day))
            .expression_attribute_values(":end", n(end))
            .build()
            .map_err(crate::error::AwsError::from)?;
        let count_day = Update::builder()
            .table_name(&self.stats_table)
            .set_key(Some(day_meta_key(day)))
            .update_expression("ADD #finished :one SET #expires = :expires")
            .expression_attribute_names("#finished", st::FINISHED)
            .expression_attribute_names("#expires", st::EXPIRES_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":expires", ttl_seconds(day_expires))
            .build()
            .map_err(crate::error::AwsError::from)?;
        self.counters.request();
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(mark_run).build())
            .transact_items(TransactWriteItem::builder().update(count_day).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => {
                let already_counted = matches!(
                    error.as_service_error(),
                    Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                        if cancelled.cancellation_reasons().iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                );
                if already_counted { Ok(false) } else { Err(service("TransactWriteItems", error).into()) }
            }
        }
    }

    async fn flag_resolution(&self, task_type: &str, run_id: &str) -> Result<bool, StoreError> {
        let result = self
            .update_run(task_type, run_id)
            .update_expression("SET #resolve = :pending")
            .condition_expression(
                "(attribute_exists(#warning) OR attribute_exists(#critical)) AND attribute_not_exists(#resolved)",
            )
            .expression_attribute_names("#resolve", r::RESOLVE)
            .expression_attribute_names("#warning", r::ALERT_WARNING)
            .expression_attribute_names("#critical", r::ALERT_CRITICAL)
            .expression_attribute_names("#resolved", r::RESOLVED_AT)
            .expression_attribute_values(":pending", s(r::RESOLVE_VALUE))
            .send()
            .await;
        applied("UpdateItem", result)
    }

    /// The run's recorded finish, which a contradicting finish left as it was.
    async fn conflicting_finish(&self, run_id: &RunId, event: &RunFinished) -> Result<Recorded, StoreError> {
        self.counters.request();
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(run_key(&event.task_type, run_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| service("GetItem", e))?;
        let item = output.item.unwrap_or_default();
        let kept = run_record(&item)?;
        match recording::finish(&kept, event.end, event.status) {
            Err(conflict) => {
                Ok(Recorded { attempt: run_id.attempt(), conflict: Some(conflict), ..Recorded::default() })
            }
            Ok(()) => {
                let reader = ItemReader::new(&item, &[r::TASK_TYPE, r::RUN_ID]);
                Err(reader
                    .invalid("the finish's condition failed, yet the run's finish does not contradict it"))
            }
        }
    }

    /// An `UpdateItem` on one run's item (its key attributes as stored), counted.
    fn update_run(&self, task_type: &str, stored_run_id: &str) -> UpdateItemFluentBuilder {
        self.counters.request();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(stored_run_key(task_type, stored_run_id)))
    }

    /// Every stored attempt of `run_id` (whatever attempt it names), read consistently.
    async fn attempts(
        &self,
        task_type: &TaskType,
        run_id: &RunId,
    ) -> Result<Vec<(Attempt, RunRecord)>, StoreError> {
        let items = attempt_items(&self.client, &self.table, &self.counters, task_type, run_id).await?;
        items
            .iter()
            .map(|found| {
                let reader = ItemReader::new(found, &[r::TASK_TYPE, r::RUN_ID]);
                let stored =
                    RunId::from_stored_key(reader.string(r::RUN_ID)?).map_err(|e| reader.invalid(e))?;
                Ok((stored.attempt(), run_record(found)?))
            })
            .collect()
    }

    /// Every item of a sparse index under its single key value.
    async fn query_sparse_index(
        &self,
        index: &str,
        attribute: &str,
        value: String,
    ) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#key = :value")
            .expression_attribute_names("#key", attribute)
            .expression_attribute_values(":value", s(value));
        Ok(query_all(query, &self.counters).await?)
    }
}

/// Sets `:cohort` (and names `#cohort`) when the event names a cohort.
trait SetCohort {
    fn set_cohort(self, cohort: Option<&CohortId>) -> Self;
}

impl SetCohort for UpdateItemFluentBuilder {
    fn set_cohort(self, cohort: Option<&CohortId>) -> Self {
        match cohort {
            Some(cohort) => self
                .expression_attribute_names("#cohort", r::COHORT)
                .expression_attribute_values(":cohort", s(cohort.as_str())),
            None => self,
        }
    }
}

/// What the recording rule reads of a run's item.
pub fn run_record(item: &Item) -> Result<RunRecord, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let status = match reader.optional_string(r::STATUS)? {
        Some(status) => Some(status.parse::<RunStatus>().map_err(|e| reader.invalid(e))?),
        None => None,
    };
    let warned = reader.has(r::ALERT_WARNING);
    Ok(RunRecord {
        start: reader.optional_number(r::START_MS)?,
        end: reader.optional_number(r::END_MS)?,
        status,
        counted: reader.has(r::COUNTED),
        warned,
        alerted: warned || reader.has(r::ALERT_CRITICAL),
        resolved: reader.has(r::RESOLVED_AT),
    })
}

/// The `season_task` of a run of `task_type` started in `season`.
fn season_task(task_type: &str, season: Season) -> String {
    format!("{task_type}{}{}", r::SEASON_TASK_SEPARATOR, season.as_str())
}

pub fn day_meta_key(day: Day) -> Item {
    item([(st::PK, s(format!("{}{}", st::DAY_PREFIX, day.date()))), (st::SK, s(st::META_SK))])
}

fn parse_running(item: &Item) -> Result<RunningRun, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let mut run = RunningRun {
        task_type: TaskType::new(reader.string(r::TASK_TYPE)?).map_err(|e| reader.invalid(e))?,
        run_id: RunId::from_stored_key(reader.string(r::RUN_ID)?).map_err(|e| reader.invalid(e))?,
        start: reader.number(r::START_MS)?,
        alerted: AlertedLevels::default(),
        undelivered: Vec::new(),
        cohort: None,
        recent_ms: Vec::new(),
        season_recent_ms: Vec::new(),
    };
    for level in Level::ALL {
        recording::note_alert_claim(&mut run, level, claim_state(item, alert_attribute(level))?);
    }
    Ok(run)
}

/// (task type, run id) of a run item.
type RunKey<'a> = (&'a str, &'a str);

/// What the checker reads of a running run's item beyond the `running` index: its cohort and
/// its recent runs.
struct RunDetails {
    cohort: Option<CohortId>,
    recent_ms: Vec<u64>,
    season_recent_ms: Vec<u64>,
}

fn parse_details(item: &Item) -> Result<(RunKey<'_>, RunDetails), StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let cohort = match reader.optional_string(r::COHORT)? {
        Some(cohort) => Some(CohortId::new(cohort).map_err(|e| reader.invalid(e))?),
        None => None,
    };
    let recent_ms = reader.number_list(r::RECENT_MS)?;
    let season_recent_ms = reader.number_list(r::SEASON_RECENT_MS)?;
    let details = RunDetails { cohort, recent_ms, season_recent_ms };
    Ok(((reader.string(r::TASK_TYPE)?, reader.string(r::RUN_ID)?), details))
}

/// The duration of a run listed by the `recent` index.
fn parse_recent_duration(item: &Item) -> Result<u64, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let start: EpochMs = reader.number(r::START_MS)?;
    let end: EpochMs = reader.number(r::SUCCEEDED_END_MS)?;
    if end < start {
        return Err(reader.invalid(format!("{} {end} is before start_ms {start}", r::SUCCEEDED_END_MS)));
    }
    Ok(end.abs_diff(start))
}

fn parse_pending_resolution(item: &Item) -> Result<PendingResolution, StoreError> {
    let alerts = Level::ALL
        .into_iter()
        .map(|level| Ok((level, claim_state(item, alert_attribute(level))?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(PendingResolution {
        resolution: parse_resolution(item)?,
        alerts,
        resolved: claim_state(item, r::RESOLUTION)?,
    })
}

fn parse_resolution(item: &Item) -> Result<Resolution, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let status: RunStatus = reader.string(r::STATUS)?.parse().map_err(|e| reader.invalid(e))?;
    Ok(Resolution {
        task_type: TaskType::new(reader.string(r::TASK_TYPE)?).map_err(|e| reader.invalid(e))?,
        run_id: RunId::from_stored_key(reader.string(r::RUN_ID)?).map_err(|e| reader.invalid(e))?,
        start: reader.number(r::START_MS)?,
        end: reader.number(r::END_MS)?,
        status,
    })
}

fn parse_day_run(item: &Item) -> Result<FinishedRun, StoreError> {
    let reader = ItemReader::new(item, &[r::TASK_TYPE, r::RUN_ID]);
    let warned = reader.string(r::END_DAY)?.ends_with(r::WARNED_DAY_SUFFIX);
    let start: EpochMs = reader.number(r::START_MS)?;
    let end: EpochMs = reader.number(r::END_MS)?;
    if end < start {
        return Err(reader.invalid(format!("end_ms {end} is before start_ms {start}")));
    }
    let task_type = TaskType::new(reader.string(r::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    Ok(FinishedRun { task_type, start, duration_ms: end.abs_diff(start), warned })
}

impl DynamoRunStore {
    /// Records `event`'s start on `run_id`'s item as a running run; `None` when the item has a
    /// finish (nothing written).
    async fn start_running(
        &self,
        run_id: &RunId,
        event: &RunStarted,
    ) -> Result<Option<Recorded>, StoreError> {
        let recent = self.recent_durations(&event.task_type, None, event.start).await?;
        let season_recent = match self.seasons {
            // The index is missing, or unreadable while DynamoDB builds it after an upgrade: the
            // run is recorded, and judged by its season's limits without its own. Any other
            // failure fails the start, which is retried.
            Some(rule) => match self
                .recent_durations(&event.task_type, Some(rule.season_of(event.start)), event.start)
                .await
            {
                Ok(recent) => recent,
                Err(error) if error.kind() != Some(StoreErrorKind::WrongTableShape) => return Err(error),
                Err(error) => {
                    tracing::warn!(%error, "recording a start without its season's recent runs");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let mut request = self.update_run(event.task_type.as_str(), &run_id.stored_key());
        let mut update = String::from(
            "SET #start = if_not_exists(#start, :start), #running = :running, #expires = :expires",
        );
        if event.cohort.is_some() {
            update.push_str(", #cohort = :cohort");
        }
        if !run_id.attempt().is_first() {
            update.push_str(", #attempt = :attempt");
            request = request
                .expression_attribute_names("#attempt", r::ATTEMPT)
                .expression_attribute_values(":attempt", n(run_id.attempt().get()));
        }
        if !recent.is_empty() {
            // A redelivered start keeps the recent runs its first delivery saw: a run's limit is
            // fixed when it starts.
            update.push_str(", #recent = if_not_exists(#recent, :recent)");
            request =
                request.expression_attribute_names("#recent", r::RECENT_MS).expression_attribute_values(
                    ":recent",
                    AttributeValue::L(recent.iter().map(|&ms| n(ms)).collect()),
                );
        }
        if !season_recent.is_empty() {
            update.push_str(", #season_recent = if_not_exists(#season_recent, :season_recent)");
            request = request
                .expression_attribute_names("#season_recent", r::SEASON_RECENT_MS)
                .expression_attribute_values(
                    ":season_recent",
                    AttributeValue::L(season_recent.iter().map(|&ms| n(ms)).collect()),
                );
        }
        let result = request
            .update_expression(update)
            .set_cohort(event.cohort.as_ref())
            .condition_expression("attribute_not_exists(#end)")
            .expression_attribute_names("#start", r::START_MS)
            .expression_attribute_names("#running", r::RUNNING)
            .expression_attribute_names("#expires", r::EXPIRES_AT)
            .expression_attribute_names("#end", r::END_MS)
            .expression_attribute_values(":start", n(event.start))
            .expression_attribute_values(":running", s(r::RUNNING_VALUE))
            .expression_attribute_values(
                ":expires",
                ttl_seconds(event.start.saturating_add(self.retention_ms)),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(Recorded { attempt: run_id.attempt(), ..Recorded::default() })),
            Err(error) if is_conditional_failure(&error) => Ok(None),
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }

    /// A start for `run_id`'s item whose finish came first: keeps the start, and the run may now
    /// be complete.
    async fn late_start(&self, run_id: &RunId, event: &RunStarted) -> Result<Recorded, StoreError> {
        let output = self
            .update_run(event.task_type.as_str(), &run_id.stored_key())
            .update_expression("SET #start = if_not_exists(#start, :start)")
            .expression_attribute_names("#start", r::START_MS)
            .expression_attribute_values(":start", n(event.start))
            .return_values(ReturnValue::AllNew)
            .send()
            .await
            .map_err(|e| service("UpdateItem", e))?;
        let mut recorded = self.settle(&output.attributes.unwrap_or_default()).await?;
        recorded.late_start = true;
        recorded.attempt = run_id.attempt();
        Ok(recorded)
    }

    /// Records `event`'s finish on `run_id`'s item: the first finish stands.
    async fn finish_on(&self, run_id: &RunId, event: &RunFinished) -> Result<Recorded, StoreError> {
        let mut update = String::from("SET #end = :end, #status = :status, #expires = :expires");
        if event.start.is_some() {
            update.push_str(", #start = if_not_exists(#start, :start)");
        }
        if event.cohort.is_some() {
            update.push_str(", #cohort = :cohort");
        }
        let mut request = self
            .update_run(event.task_type.as_str(), &run_id.stored_key())
            .expression_attribute_names("#end", r::END_MS)
            .expression_attribute_names("#status", r::STATUS)
            .expression_attribute_names("#expires", r::EXPIRES_AT)
            .expression_attribute_names("#running", r::RUNNING)
            .expression_attribute_values(":end", n(event.end))
            .expression_attribute_values(":status", s(event.status.as_str()))
            .expression_attribute_values(":expires", ttl_seconds(event.end.saturating_add(self.retention_ms)))
            .set_cohort(event.cohort.as_ref())
            // The item as it was: whether it had a start tells whether this finish brings the
            // run's first (then noted for the schedule learner, once per run).
            .return_values(ReturnValue::AllOld);
        if !run_id.attempt().is_first() {
            update.push_str(", #attempt = :attempt");
            request = request
                .expression_attribute_names("#attempt", r::ATTEMPT)
                .expression_attribute_values(":attempt", n(run_id.attempt().get()));
        }
        update.push_str(" REMOVE #running");
        if let Some(start) = event.start {
            request = request
                .expression_attribute_names("#start", r::START_MS)
                .expression_attribute_values(":start", n(start));
        }
        // First finish wins: a redelivery (same end and status) applies again, harmlessly; a
        // finish that contradicts the recorded one changes nothing.
        let result = request
            .update_expression(update)
            .condition_expression("attribute_not_exists(#end) OR (#end = :end AND #status = :status)")
            .send()
            .await;
        match result {
            Ok(output) => {
                let mut after = output.attributes.unwrap_or_default();
                let first_start = event.start.filter(|_| !after.contains_key(r::START_MS));
                applied_finish(&mut after, event, run_id);
                let recorded = self.settle(&after).await?;
                if let Some(start) = first_start {
                    crate::schedules::note_start(
                        &self.client,
                        &self.stats_table,
                        &self.counters,
                        &event.task_type,
                        start,
                    )
                    .await?;
                }
                Ok(Recorded { attempt: run_id.attempt(), ..recorded })
            }
            Err(error) if is_conditional_failure(&error) => self.conflicting_finish(run_id, event).await,
            Err(error) => Err(service("UpdateItem", error).into()),
        }
    }
}

/// The item a finish's write left, from the item before it (`ALL_OLD`; empty when it made the
/// item): what the recording rule settles.
fn applied_finish(item: &mut Item, event: &RunFinished, run_id: &RunId) {
    item.extend(stored_run_key(event.task_type.as_str(), &run_id.stored_key()));
    item.insert(r::END_MS.to_owned(), n(event.end));
    item.insert(r::STATUS.to_owned(), s(event.status.as_str()));
    if let Some(start) = event.start {
        item.entry(r::START_MS.to_owned()).or_insert_with(|| n(start));
    }
    item.remove(r::RUNNING);
}

/// Every item of `run_id`'s attempts: one consistent `Query` of the key range only its attempts'
/// keys lie in ([`RunId::stored_key_range`]).
pub async fn attempt_items(
    client: &Client,
    table: &str,
    counters: &SharedCounters,
    task_type: &TaskType,
    run_id: &RunId,
) -> Result<Vec<Item>, StoreError> {
    let (low, high) = run_id.stored_key_range();
    let query = client
        .query()
        .table_name(table)
        .consistent_read(true)
        .key_condition_expression("#task = :task AND #run BETWEEN :low AND :high")
        .expression_attribute_names("#task", r::TASK_TYPE)
        .expression_attribute_names("#run", r::RUN_ID)
        .expression_attribute_values(":task", s(task_type.as_str()))
        .expression_attribute_values(":low", s(low))
        .expression_attribute_values(":high", s(high));
    let items = query_all(query, counters).await?;
    // A home id spelling an origin (`123456789012.eu-west-1`) has that origin's runs in its
    // range: they sort between its first attempt and its later ones. An item whose key does not
    // parse is kept, for the caller to report.
    Ok(items
        .into_iter()
        .filter(|item| {
            let stored = item.get(r::RUN_ID).and_then(|value| value.as_s().ok());
            stored
                .and_then(|key| RunId::from_stored_key(key).ok())
                .is_none_or(|stored| stored.same_id(run_id))
        })
        .collect())
}

/// The recording rule's placement of a re-run (`recording::place_start`, `place_finish`): an
/// event whose source numbers its attempts goes to that attempt's item; any other goes first to
/// the first attempt's item, as before attempts were told apart — the one write nearly every
/// event needs — and only when that item has finished are the id's attempts read, once, to tell
/// a redelivery, a late start, a re-run and a conflict apart.
impl RunRecorder for DynamoRunStore {
    /// Records the start, then notes it for the schedule learner (one more write; a retry after
    /// a failure between the two records nothing twice and notes it then).
    async fn record_start(&self, event: &RunStarted) -> Result<Recorded, StoreError> {
        let recorded = self.place_start(event).await?;
        if recorded.refused.is_none() {
            crate::schedules::note_start(
                &self.client,
                &self.stats_table,
                &self.counters,
                &event.task_type,
                event.start,
            )
            .await?;
        }
        Ok(recorded)
    }

    async fn record_finish(&self, event: &RunFinished) -> Result<Recorded, StoreError> {
        self.place_finish(event).await
    }
}

impl DynamoRunStore {
    async fn place_start(&self, event: &RunStarted) -> Result<Recorded, StoreError> {
        if event.numbered {
            return match self.start_running(&event.run_id, event).await? {
                Some(recorded) => Ok(recorded),
                None => self.late_start(&event.run_id, event).await,
            };
        }
        let first = event.run_id.clone().at_attempt(Attempt::FIRST);
        if let Some(recorded) = self.start_running(&first, event).await? {
            return Ok(recorded);
        }
        let attempts = self.attempts(&event.task_type, &event.run_id).await?;
        let placement = match recording::place_start(&attempts, event.start) {
            Ok(placement) => placement,
            Err(refusal) => return Ok(Recorded { refused: Some(refusal), ..Recorded::default() }),
        };
        let run_id = event.run_id.clone().at_attempt(placement.attempt());
        let try_running = !matches!(placement, Placement::Existing(attempt) if attempt.is_first());
        if try_running && let Some(recorded) = self.start_running(&run_id, event).await? {
            return Ok(recorded);
        }
        self.late_start(&run_id, event).await
    }

    async fn place_finish(&self, event: &RunFinished) -> Result<Recorded, StoreError> {
        if event.numbered {
            return self.finish_on(&event.run_id, event).await;
        }
        let first = event.run_id.clone().at_attempt(Attempt::FIRST);
        let recorded = self.finish_on(&first, event).await?;
        if recorded.conflict.is_none() {
            return Ok(recorded);
        }
        let attempts = self.attempts(&event.task_type, &event.run_id).await?;
        match recording::place_finish(&attempts, event.start, event.end, event.status) {
            Placement::Existing(attempt) if attempt.is_first() => Ok(recorded),
            placement => self.finish_on(&event.run_id.clone().at_attempt(placement.attempt()), event).await,
        }
    }
}

impl RunningRuns for DynamoRunStore {
    async fn list_running(&self) -> Result<Listing<RunningRun>, StoreError> {
        let items =
            self.query_sparse_index(r::RUNNING_INDEX, r::RUNNING, r::RUNNING_VALUE.to_owned()).await?;
        Ok(parse_all(&items, parse_running))
    }

    async fn fill_details(&self, runs: &mut [RunningRun]) -> Result<Vec<StoreError>, StoreError> {
        if runs.is_empty() {
            return Ok(Vec::new());
        }
        let keys = runs.iter().map(|run| run_key(&run.task_type, &run.run_id)).collect();
        let items = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        let mut details = std::collections::HashMap::new();
        let mut malformed = Vec::new();
        for found in &items {
            match parse_details(found) {
                Ok(((task_type, stored_run_id), found)) => {
                    details.insert((task_type.to_owned(), stored_run_id.to_owned()), found);
                }
                Err(error) => malformed.push(error),
            }
        }
        for run in runs {
            let key = (run.task_type.as_str().to_owned(), run.run_id.stored_key().into_owned());
            if let Some(found) = details.remove(&key) {
                run.cohort = found.cohort;
                run.recent_ms = found.recent_ms;
                run.season_recent_ms = found.season_recent_ms;
            }
        }
        Ok(malformed)
    }

    async fn list_pending_resolutions(&self) -> Result<Listing<PendingResolution>, StoreError> {
        let listed =
            self.query_sparse_index(r::RESOLVE_INDEX, r::RESOLVE, r::RESOLVE_VALUE.to_owned()).await?;
        if listed.is_empty() {
            return Ok(Listing::default());
        }
        // The index carries the times; where the claims stand is on the items themselves.
        let keys = listed
            .iter()
            .map(|found| {
                let reader = ItemReader::new(found, &[r::TASK_TYPE, r::RUN_ID]);
                Ok(stored_run_key(reader.string(r::TASK_TYPE)?, reader.string(r::RUN_ID)?))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let items = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        Ok(parse_all(&items, parse_pending_resolution))
    }
}

impl FinishedRuns for DynamoRunStore {
    async fn finished_runs_of_day(&self, day: Day) -> Result<Listing<FinishedRun>, StoreError> {
        let mut items = self.query_sparse_index(r::END_DAY_INDEX, r::END_DAY, day.date()).await?;
        let warned = format!("{}{}", day.date(), r::WARNED_DAY_SUFFIX);
        items.extend(self.query_sparse_index(r::END_DAY_INDEX, r::END_DAY, warned).await?);
        self.counters.run_items_rolled_up.fetch_add(items.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(parse_all(&items, parse_day_run))
    }
}
