//! The stats store on DynamoDB: per-day counters and per-task daily aggregates (exact moments),
//! and one limits item per task type holding its baseline and its operator override.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use futures_util::stream::{self, StreamExt, TryStreamExt};
use overrun_core::detect::check::TaskLimits;
use overrun_core::detect::cohort::FinishedMember;
use overrun_core::detect::overrides::{Override, OverrideParts};
use overrun_core::limits::nightly::{BaselineChange, DayAggregate, DayStatus, NightBaseline, SeasonDay};
use overrun_core::limits::season::{SeasonLimits, SeasonMode, SeasonalLimits};
use overrun_core::limits::window::{LONGEST_KEPT, Outlier};
use overrun_core::ports::{
    BaselineStore, CohortMembers, CohortStore, DayStore, LimitStore, Listing, OverrideStore, Partial,
    StoreError,
};
use overrun_core::stats::histogram::DurationHistogram;
use overrun_core::stats::moments::LogMoments;
use overrun_core::time::Day;
use overrun_core::{Baseline, BaselinePolicy, CohortId, EpochMs, Moments, RunId, TaskType};

use crate::counters::SharedCounters;
use crate::dynamo::{batch_get, batch_write, item, parse_all, query_all};
use crate::error::{AwsError, service};
use crate::items::{Item, ItemReader, exact_n, n, s};
use crate::runs::day_meta_key;
use crate::schema::stats as st;

/// Baseline writes in flight at once (one UpdateItem each, so that overrides on the same item
/// are never overwritten).
const WRITE_CONCURRENCY: usize = 16;

#[derive(Clone)]
pub struct DynamoStatsStore {
    pub(crate) client: Client,
    pub(crate) table: String,
    policy: BaselinePolicy,
    retention_ms: i64,
    pub(crate) counters: SharedCounters,
}

fn day_pk(day: Day) -> String {
    format!("{}{}", st::DAY_PREFIX, day.date())
}

fn cohort_key(cohort: &str) -> Item {
    item([(st::PK, s(format!("{}{cohort}", st::COHORT_PREFIX))), (st::SK, s(st::MEMBERS_SK))])
}

/// A cohort item's id and members; members whose attribute is malformed are reported apart.
fn parse_cohort_members(item: &Item) -> Result<(CohortId, Vec<FinishedMember>, Vec<StoreError>), StoreError> {
    let reader = ItemReader::new(item, &[st::PK, st::SK]);
    let pk = reader.string(st::PK)?;
    let cohort = pk.strip_prefix(st::COHORT_PREFIX).ok_or_else(|| reader.invalid("not a cohort item"))?;
    let cohort = CohortId::new(cohort).map_err(|e| reader.invalid(e))?;
    let mut members = Vec::new();
    let mut malformed = Vec::new();
    for name in item.keys().filter(|name| name.starts_with(st::MEMBER_PREFIX)) {
        match parse_member(&reader, name) {
            Ok(member) => members.push(member),
            Err(error) => malformed.push(error),
        }
    }
    Ok((cohort, members, malformed))
}

/// One `m␟<task type>␟<run id>` attribute of a cohort item.
fn parse_member(reader: &ItemReader<'_>, name: &str) -> Result<FinishedMember, StoreError> {
    let (task, _run) = name[st::MEMBER_PREFIX.len()..]
        .split_once(st::MEMBER_SEPARATOR)
        .ok_or_else(|| reader.invalid(format!("member attribute {name:?} has no run id")))?;
    let task_type = TaskType::new(task).map_err(|e| reader.invalid(e))?;
    Ok(FinishedMember { task_type, duration_ms: reader.number(name)? })
}

fn limits_key(task_type: &str) -> Item {
    item([(st::PK, s(st::LIMITS_PK)), (st::SK, s(task_type))])
}

fn parse_baseline(reader: &ItemReader<'_>) -> Result<Option<Baseline>, StoreError> {
    if !reader.has(st::UPPER_MS) {
        return Ok(None);
    }
    Ok(Some(Baseline {
        n: reader.number(st::N)?,
        expected_ms: reader.number(st::EXPECTED_MS)?,
        sigma_ms: reader.number(st::SIGMA_MS)?,
        upper_ms: reader.number(st::UPPER_MS)?,
        computed_at: reader.number(st::COMPUTED_AT)?,
        outlier: parse_outlier(reader)?,
    }))
}

/// `outlier_ms` and `outlier_next_ms`, both or neither (baselines stored before the outlier rule
/// have neither).
fn parse_outlier(reader: &ItemReader<'_>) -> Result<Option<Outlier>, StoreError> {
    match (reader.optional_number(st::OUTLIER_MS)?, reader.optional_number(st::OUTLIER_NEXT_MS)?) {
        (None, None) => Ok(None),
        (Some(duration_ms), Some(next_longest_ms)) => Ok(Some(Outlier { duration_ms, next_longest_ms })),
        _ => Err(reader.invalid(format!("{} and {} go together", st::OUTLIER_MS, st::OUTLIER_NEXT_MS))),
    }
}

/// A limits item: the type's baseline and override, and the window histogram, which is read
/// apart: a malformed window is reported (the second error) and the type keeps its baseline.
pub(crate) fn parse_limits(item: &Item) -> Result<((TaskType, TaskLimits), Option<StoreError>), StoreError> {
    let reader = ItemReader::new(item, &[st::PK, st::SK]);
    let task = TaskType::new(reader.string(st::SK)?).map_err(|e| reader.invalid(e))?;
    // A mode this version does not know (a hand edit, a later version's) is left out like any
    // other part out of range: the rest of the item still applies.
    let seasons_mode = match reader.optional_string(st::OVERRIDE_SEASONS)? {
        Some(mode) => mode
            .parse::<SeasonMode>()
            .map(Some)
            .map_err(|e| reader.invalid(format!("its override, left out: {e}"))),
        None => Ok(None),
    };
    let parts = OverrideParts {
        k: reader.optional_number(st::OVERRIDE_K)?,
        limit_ms: reader.optional_number(st::OVERRIDE_LIMIT_MS)?,
        mute_until: reader.optional_number(st::MUTE_UNTIL)?,
        short_fraction: reader.optional_number(st::OVERRIDE_SHORT_FRACTION)?,
        seasons: seasons_mode.as_ref().ok().copied().flatten(),
    };
    // A part out of range (stored by a version that allowed it) is left out and reported; the
    // baseline and the rest of the override still apply.
    let (task_override, refused) = Override::keeping_what_is_valid(parts);
    let (window, window_error) = match parse_histogram(&reader) {
        Ok(window) => ((!window.bins().is_empty()).then_some(window), None),
        Err(error) => (None, Some(error)),
    };
    let override_error =
        refused.first().map(|error| reader.invalid(format!("its override, left out: {error}")));
    // Seasons that cannot be read are reported apart, like a window: the type keeps its own.
    let (seasons, seasons_error) = match parse_seasons(&reader) {
        Ok(seasons) => (seasons, None),
        Err(error) => (None, Some(error)),
    };
    let window_error = window_error.or(override_error).or(seasons_mode.err()).or(seasons_error);
    let limits = TaskLimits {
        baseline: parse_baseline(&reader)?,
        task_override: (!task_override.is_empty()).then_some(task_override),
        window,
        seasons,
    };
    Ok(((task, limits), window_error))
}

/// A limits item's limits by season: the evidence and both seasons' maps, or none of them.
fn parse_seasons(reader: &ItemReader<'_>) -> Result<Option<SeasonalLimits>, StoreError> {
    let Some(evidence) = reader.optional_number::<f64>(st::SEASON_EVIDENCE)? else {
        return Ok(None);
    };
    if !evidence.is_finite() {
        return Err(reader.invalid(format!("{} {evidence} is not a finite number", st::SEASON_EVIDENCE)));
    }
    let part = |name: &str| -> Result<SeasonLimits, StoreError> {
        let map = reader.optional_map(name)?.ok_or_else(|| {
            reader.invalid(format!("{} goes with {name}, which is missing", st::SEASON_EVIDENCE))
        })?;
        let window = parse_histogram(&map)?;
        Ok(SeasonLimits {
            baseline: parse_baseline(&map)?,
            window: (!window.bins().is_empty()).then_some(window),
        })
    };
    Ok(Some(SeasonalLimits { evidence, seasons: [part(st::SEASON_PARTS[0])?, part(st::SEASON_PARTS[1])?] }))
}

/// A season's limits as a map of the limits item's own attribute names.
fn season_limits_attribute(limits: &SeasonLimits) -> AttributeValue {
    let mut map = Item::new();
    if let Some(b) = &limits.baseline {
        map.extend(
            [
                (st::N, n(b.n)),
                (st::EXPECTED_MS, n(b.expected_ms)),
                (st::SIGMA_MS, n(b.sigma_ms)),
                (st::UPPER_MS, n(b.upper_ms)),
                (st::COMPUTED_AT, n(b.computed_at)),
            ]
            .map(|(name, value)| (name.to_owned(), value)),
        );
        if let Some(outlier) = b.outlier {
            map.insert(st::OUTLIER_MS.to_owned(), n(outlier.duration_ms));
            map.insert(st::OUTLIER_NEXT_MS.to_owned(), n(outlier.next_longest_ms));
        }
    }
    if let Some(window) = limits.window.as_ref().filter(|w| !w.bins().is_empty()) {
        map.extend(histogram_attributes(window).map(|(name, value)| (name.to_owned(), value)));
    }
    AttributeValue::M(map)
}

/// `hist_bins` and `hist_counts`, two lists of equal length (both absent: an empty histogram).
fn parse_histogram(reader: &ItemReader<'_>) -> Result<DurationHistogram, StoreError> {
    let bins: Vec<i32> = reader.number_list(st::HIST_BINS)?;
    let counts: Vec<u64> = reader.number_list(st::HIST_COUNTS)?;
    if bins.len() != counts.len() {
        return Err(reader.invalid(format!(
            "{} has {} entries but {} has {}",
            st::HIST_BINS,
            bins.len(),
            st::HIST_COUNTS,
            counts.len()
        )));
    }
    DurationHistogram::from_bins(bins.into_iter().zip(counts))
        .ok_or_else(|| reader.invalid("the histogram has a bin twice or a count of zero"))
}

/// The two attributes of a histogram.
fn histogram_attributes(histogram: &DurationHistogram) -> [(&'static str, AttributeValue); 2] {
    let (bins, counts) = histogram.bins().iter().map(|&(bin, count)| (n(bin), n(count))).unzip();
    [(st::HIST_BINS, AttributeValue::L(bins)), (st::HIST_COUNTS, AttributeValue::L(counts))]
}

fn parse_aggregate(item: &Item) -> Result<(TaskType, DayAggregate), StoreError> {
    let reader = ItemReader::new(item, &[st::PK, st::SK]);
    let task = TaskType::new(reader.string(st::TASK_TYPE)?).map_err(|e| reader.invalid(e))?;
    let mut aggregate = parse_day_runs(&reader)?;
    let parts = st::SEASON_PARTS.map(|name| reader.optional_map(name));
    aggregate.seasons = match parts {
        [Ok(None), Ok(None)] => None,
        [Ok(Some(weekday)), Ok(Some(weekend))] => {
            Some(Box::new([parse_season_day(&weekday)?, parse_season_day(&weekend)?]))
        }
        [Err(error), _] | [_, Err(error)] => return Err(error),
        _ => {
            return Err(reader.invalid(format!(
                "{} and {} go together",
                st::SEASON_PARTS[0],
                st::SEASON_PARTS[1]
            )));
        }
    };
    Ok((task, aggregate))
}

/// One season's part of a day item.
fn parse_season_day(reader: &ItemReader<'_>) -> Result<SeasonDay, StoreError> {
    let runs = parse_day_runs(reader)?;
    let log = LogMoments::from_parts(
        runs.moments.count(),
        reader.optional_number(st::LOG_SUM)?.unwrap_or(0),
        reader.optional_number(st::LOG_SUM_SQ)?.unwrap_or(0),
    )
    .ok_or_else(|| reader.invalid("count, log_sum and log_sum_sq cannot come from any set of durations"))?;
    Ok(SeasonDay { runs, log })
}

/// A day's runs (of a type, or of one of its seasons): moments, warned runs, histogram and
/// longest runs.
fn parse_day_runs(reader: &ItemReader<'_>) -> Result<DayAggregate, StoreError> {
    let count: u64 = reader.number(st::COUNT)?;
    let sum: u128 = reader.number(st::SUM_MS)?;
    let sum_sq: u128 = reader.number(st::SUM_SQ_MS)?;
    let moments = Moments::from_parts(count, sum, sum_sq)
        .ok_or_else(|| reader.invalid("count, sum_ms and sum_sq_ms cannot come from any set of durations"))?;
    let warned_ms = reader.number_list(st::WARNED_MS)?;
    let histogram = parse_histogram(reader)?;
    if histogram.count() > moments.count() {
        return Err(reader.invalid("the histogram holds more runs than count"));
    }
    let mut longest_ms: Vec<u64> = reader.number_list(st::LONGEST_MS)?;
    if longest_ms.len() > LONGEST_KEPT || longest_ms.len() as u64 > count {
        return Err(reader.invalid(format!(
            "{} lists {} runs, more than the {LONGEST_KEPT} longest of {count}",
            st::LONGEST_MS,
            longest_ms.len()
        )));
    }
    longest_ms.sort_unstable_by(|a, b| b.cmp(a));
    Ok(DayAggregate { moments, histogram, warned_ms, longest_ms, seasons: None })
}

/// The attributes of a day's runs, as [`parse_day_runs`] reads them; `key` names the item in
/// errors.
fn day_runs_attributes(aggregate: &DayAggregate, key: &str) -> Result<Item, StoreError> {
    let moments = &aggregate.moments;
    let mut attributes = item([
        (st::COUNT, n(moments.count())),
        (st::SUM_MS, exact_n(moments.sum(), key)?),
        (st::SUM_SQ_MS, exact_n(moments.sum_of_squares(), key)?),
    ]);
    if !aggregate.warned_ms.is_empty() {
        let warned = aggregate.warned_ms.iter().map(|&ms| n(ms)).collect();
        attributes.insert(st::WARNED_MS.to_owned(), AttributeValue::L(warned));
    }
    if !aggregate.histogram.bins().is_empty() {
        for (name, value) in histogram_attributes(&aggregate.histogram) {
            attributes.insert(name.to_owned(), value);
        }
    }
    if !aggregate.longest_ms.is_empty() {
        let longest = aggregate.longest_ms.iter().map(|&ms| n(ms)).collect();
        attributes.insert(st::LONGEST_MS.to_owned(), AttributeValue::L(longest));
    }
    Ok(attributes)
}

impl DynamoStatsStore {
    /// Every `LIMITS` item, unparsed.
    pub(crate) async fn limits_items(&self) -> Result<Vec<Item>, StoreError> {
        self.partition(st::LIMITS_PK).await
    }

    /// Every item under the partition key `pk`, unparsed.
    pub(crate) async fn partition(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", st::PK)
            .expression_attribute_values(":pk", s(pk));
        Ok(query_all(query, &self.counters).await?)
    }

    /// Every task type the table knows (a baseline, an override, or both), for operators' tools.
    pub async fn all_limits(&self) -> Result<Listing<(TaskType, TaskLimits)>, StoreError> {
        let items = self.limits_items().await?;
        let mut listing = Listing::default();
        for item in &items {
            match parse_limits(item) {
                Ok((limits, window_error)) => {
                    listing.items.push(limits);
                    listing.malformed.extend(window_error);
                }
                Err(error) => listing.malformed.push(error),
            }
        }
        Ok(listing)
    }

    pub fn new(
        client: Client,
        table: impl Into<String>,
        policy: BaselinePolicy,
        retention_days: u32,
        counters: SharedCounters,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            policy,
            retention_ms: i64::from(retention_days) * overrun_core::time::MS_PER_DAY,
            counters,
        }
    }

    async fn update_limits(
        &self,
        task_type: &str,
        set: Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
        remove: Vec<&'static str>,
    ) -> Result<(), StoreError> {
        let mut request =
            self.client.update_item().table_name(&self.table).set_key(Some(limits_key(task_type)));
        let mut clauses = Vec::new();
        if !set.is_empty() {
            let parts: Vec<String> = set.iter().enumerate().map(|(i, _)| format!("#s{i} = :s{i}")).collect();
            clauses.push(format!("SET {}", parts.join(", ")));
        }
        if !remove.is_empty() {
            let parts: Vec<String> = (0..remove.len()).map(|i| format!("#r{i}")).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        for (i, (name, value)) in set.into_iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#s{i}"), name)
                .expression_attribute_values(format!(":s{i}"), value);
        }
        for (i, name) in remove.into_iter().enumerate() {
            request = request.expression_attribute_names(format!("#r{i}"), name);
        }
        self.counters.request();
        request.update_expression(clauses.join(" ")).send().await.map_err(|e| service("UpdateItem", e))?;
        Ok(())
    }
}

impl DayStore for DynamoStatsStore {
    async fn day_statuses(&self, days: &[Day]) -> Result<Vec<DayStatus>, StoreError> {
        let keys = days.iter().map(|&day| day_meta_key(day)).collect();
        let found = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        let mut by_pk: HashMap<String, &Item> = HashMap::new();
        for item in &found {
            if let Some(pk) = item.get(st::PK).and_then(|v| v.as_s().ok()) {
                by_pk.insert(pk.clone(), item);
            }
        }
        days.iter()
            .map(|&day| match by_pk.get(&day_pk(day)) {
                None => Ok(DayStatus { day, finished: 0, rolled_up: None }),
                Some(item) => {
                    let reader = ItemReader::new(item, &[st::PK, st::SK]);
                    Ok(DayStatus {
                        day,
                        finished: reader.optional_number(st::FINISHED)?.unwrap_or(0),
                        rolled_up: reader.optional_number(st::ROLLED_UP)?,
                    })
                }
            })
            .collect()
    }

    async fn write_day(
        &self,
        day: Day,
        aggregates: &BTreeMap<TaskType, DayAggregate>,
        runs_included: u64,
    ) -> Result<(), StoreError> {
        let pk = day_pk(day);
        let expires = self.policy.night_start(day + 1).saturating_add(self.retention_ms).div_euclid(1_000);
        let mut requests = Vec::with_capacity(aggregates.len());
        for (task, aggregate) in aggregates {
            let sk = format!("{}{}", st::TASK_PREFIX, task);
            let key = format!("{pk}/{sk}");
            let mut attributes = day_runs_attributes(aggregate, &key)?;
            attributes.extend(
                [
                    (st::PK, s(&pk)),
                    (st::SK, s(sk)),
                    (st::TASK_TYPE, s(task.as_str())),
                    (st::EXPIRES_AT, n(expires)),
                ]
                .map(|(name, value)| (name.to_owned(), value)),
            );
            for (name, part) in
                st::SEASON_PARTS.iter().zip(aggregate.seasons.iter().flat_map(|parts| parts.iter()))
            {
                let mut map = day_runs_attributes(&part.runs, &key)?;
                let (log_sum, log_sum_sq) = part.log.sums();
                map.insert(st::LOG_SUM.to_owned(), n(log_sum));
                map.insert(st::LOG_SUM_SQ.to_owned(), n(log_sum_sq));
                attributes.insert((*name).to_owned(), AttributeValue::M(map));
            }
            let put = PutRequest::builder().set_item(Some(attributes)).build().map_err(AwsError::from)?;
            requests.push(WriteRequest::builder().put_request(put).build());
        }
        batch_write(&self.client, &self.table, requests, &self.counters).await?;
        // Marked last: a roll-up that dies half-way is redone next night.
        self.counters.request();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(day_meta_key(day)))
            .update_expression("SET #rolled = :rolled, #expires = :expires")
            .expression_attribute_names("#rolled", st::ROLLED_UP)
            .expression_attribute_names("#expires", st::EXPIRES_AT)
            .expression_attribute_values(":rolled", n(runs_included))
            .expression_attribute_values(":expires", n(expires))
            .send()
            .await
            .map_err(|e| service("UpdateItem", e))?;
        Ok(())
    }

    async fn read_day(&self, day: Day) -> Result<Listing<(TaskType, DayAggregate)>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :task)")
            .expression_attribute_names("#pk", st::PK)
            .expression_attribute_names("#sk", st::SK)
            .expression_attribute_values(":pk", s(day_pk(day)))
            .expression_attribute_values(":task", s(st::TASK_PREFIX));
        let items = query_all(query, &self.counters).await?;
        Ok(parse_all(&items, parse_aggregate))
    }
}

impl BaselineStore for DynamoStatsStore {
    async fn stored_baselines(&self) -> Result<Listing<(TaskType, NightBaseline)>, StoreError> {
        let items = self.limits_items().await?;
        let mut listing = Listing::default();
        for item in &items {
            match parse_limits(item) {
                Ok(((task, TaskLimits { baseline: Some(baseline), window, seasons, .. }), window_error)) => {
                    listing.items.push((task, NightBaseline { baseline, window, seasons }));
                    // The nightly job rewrites a baseline whose window it could not read.
                    listing.malformed.extend(window_error);
                }
                Ok((_, window_error)) => listing.malformed.extend(window_error),
                Err(error) => listing.malformed.push(error),
            }
        }
        Ok(listing)
    }

    async fn apply_baseline_changes(
        &self,
        changes: &[BaselineChange],
        method: &str,
    ) -> Result<(), StoreError> {
        stream::iter(changes.iter().cloned())
            .map(|change| {
                let store = self.clone();
                let method = method.to_owned();
                async move {
                    match change {
                        BaselineChange::Set(task, NightBaseline { baseline: b, window, seasons }) => {
                            let mut set = vec![
                                (st::N, n(b.n)),
                                (st::EXPECTED_MS, n(b.expected_ms)),
                                (st::SIGMA_MS, n(b.sigma_ms)),
                                (st::UPPER_MS, n(b.upper_ms)),
                                (st::COMPUTED_AT, n(b.computed_at)),
                                (st::METHOD, s(method.as_str())),
                            ];
                            let mut remove = Vec::new();
                            match window.filter(|w| !w.bins().is_empty()) {
                                Some(window) => set.extend(histogram_attributes(&window)),
                                None => remove.extend(st::HISTOGRAM_ATTRIBUTES),
                            }
                            match b.outlier {
                                Some(outlier) => set.extend([
                                    (st::OUTLIER_MS, n(outlier.duration_ms)),
                                    (st::OUTLIER_NEXT_MS, n(outlier.next_longest_ms)),
                                ]),
                                None => remove.extend(st::OUTLIER_ATTRIBUTES),
                            }
                            match seasons {
                                Some(seasons) => {
                                    set.push((st::SEASON_EVIDENCE, n(seasons.evidence)));
                                    for (name, limits) in st::SEASON_PARTS.iter().zip(&seasons.seasons) {
                                        set.push((name, season_limits_attribute(limits)));
                                    }
                                }
                                None => remove.extend(st::SEASON_ATTRIBUTES),
                            }
                            store.update_limits(task.as_str(), set, remove).await
                        }
                        BaselineChange::Remove(task) => {
                            let mut remove = st::BASELINE_ATTRIBUTES.to_vec();
                            remove.extend(st::HISTOGRAM_ATTRIBUTES);
                            remove.extend(st::OUTLIER_ATTRIBUTES);
                            remove.extend(st::SEASON_ATTRIBUTES);
                            store.update_limits(task.as_str(), Vec::new(), remove).await
                        }
                    }
                }
            })
            .buffer_unordered(WRITE_CONCURRENCY)
            .try_collect::<Vec<()>>()
            .await?;
        Ok(())
    }
}

impl LimitStore for DynamoStatsStore {
    async fn task_limits(
        &self,
        task_types: &[TaskType],
    ) -> Result<Partial<HashMap<TaskType, TaskLimits>>, StoreError> {
        let keys = task_types.iter().map(|t| limits_key(t.as_str())).collect();
        let found = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        let mut limits = HashMap::new();
        let mut malformed = Vec::new();
        for item in &found {
            match parse_limits(item) {
                Ok(((task, task_limits), window_error)) => {
                    limits.insert(task, task_limits);
                    malformed.extend(window_error);
                }
                Err(error) => malformed.push(error),
            }
        }
        Ok(Partial { items: limits, malformed })
    }
}

impl CohortStore for DynamoStatsStore {
    async fn add_cohort_member(
        &self,
        cohort: &CohortId,
        run_id: &RunId,
        member: &FinishedMember,
        expires_at_ms: EpochMs,
    ) -> Result<(), StoreError> {
        let attribute =
            format!("{}{}{}{}", st::MEMBER_PREFIX, member.task_type, st::MEMBER_SEPARATOR, run_id);
        self.counters.request();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(cohort_key(cohort.as_str())))
            .update_expression("SET #member = :duration, #expires = :expires")
            .expression_attribute_names("#member", attribute)
            .expression_attribute_names("#expires", st::EXPIRES_AT)
            .expression_attribute_values(":duration", n(member.duration_ms))
            .expression_attribute_values(":expires", n(expires_at_ms.div_euclid(1_000)))
            .send()
            .await
            .map_err(|e| service("UpdateItem", e))?;
        Ok(())
    }

    async fn cohort_members(&self, cohorts: &[CohortId]) -> Result<Partial<CohortMembers>, StoreError> {
        if cohorts.is_empty() {
            return Ok(Default::default());
        }
        let keys = cohorts.iter().map(|c| cohort_key(c.as_str())).collect();
        let found = batch_get(&self.client, &self.table, keys, &self.counters).await?;
        let cohorts = parse_all(&found, parse_cohort_members);
        let mut malformed = cohorts.malformed;
        let mut members = HashMap::new();
        for (cohort, finished, bad) in cohorts.items {
            members.insert(cohort, finished);
            malformed.extend(bad);
        }
        Ok(Partial { items: members, malformed })
    }
}

impl OverrideStore for DynamoStatsStore {
    async fn set_override(&self, task_type: &TaskType, task_override: &Override) -> Result<(), StoreError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        match task_override.k() {
            Some(k) => set.push((st::OVERRIDE_K, n(k))),
            None => remove.push(st::OVERRIDE_K),
        }
        match task_override.limit_ms() {
            Some(limit) => set.push((st::OVERRIDE_LIMIT_MS, n(limit))),
            None => remove.push(st::OVERRIDE_LIMIT_MS),
        }
        match task_override.mute_until() {
            Some(until) => set.push((st::MUTE_UNTIL, n(until))),
            None => remove.push(st::MUTE_UNTIL),
        }
        match task_override.short_fraction() {
            Some(fraction) => set.push((st::OVERRIDE_SHORT_FRACTION, n(fraction))),
            None => remove.push(st::OVERRIDE_SHORT_FRACTION),
        }
        match task_override.seasons() {
            Some(mode) => set.push((st::OVERRIDE_SEASONS, s(mode.as_str()))),
            None => remove.push(st::OVERRIDE_SEASONS),
        }
        self.update_limits(task_type.as_str(), set, remove).await
    }
}
