//! Table layout (see docs/DATA-MODEL.md): key and attribute names, index names, and table
//! creation for local stacks and tests. infra/ declares the same tables for AWS.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use aws_sdk_dynamodb::operation::create_table::CreateTableError;

use crate::error::{AwsError, service};

/// Runs table: one item per run.
pub mod runs {
    pub const TASK_TYPE: &str = "task_type";
    /// The run's id, and for an attempt after the first, a unit separator (U+001F) and its
    /// number (`RunId::stored_key`).
    pub const RUN_ID: &str = "run_id";
    /// An attempt after the first: its number (also in its key; here for people reading items).
    pub const ATTEMPT: &str = "attempt";
    pub const START_MS: &str = "start_ms";
    pub const END_MS: &str = "end_ms";
    pub const STATUS: &str = "status";
    /// Present (value [`RUNNING_VALUE`]) exactly while the run is running: the sparse `running`
    /// index lists running runs without a Scan.
    pub const RUNNING: &str = "running";
    pub const RUNNING_VALUE: &str = "running";
    /// Set once a succeeded run is complete and counted for its day: the sparse `by-end-day`
    /// index lets the nightly job read each such run once.
    pub const END_DAY: &str = "end_day";
    /// Appended to `end_day` for a run the checker warned about while it ran: the nightly job
    /// reads those apart (two queries of the same index) for guarded exclusion.
    pub const WARNED_DAY_SUFFIX: &str = "#warned";
    pub const COUNTED: &str = "counted";
    pub const ALERT_WARNING: &str = "alert_warning";
    pub const ALERT_CRITICAL: &str = "alert_critical";
    /// Present while a "resolved" message is owed: the sparse `resolve` index.
    pub const RESOLVE: &str = "resolve";
    pub const RESOLVE_VALUE: &str = "pending";
    pub const RESOLVED_AT: &str = "resolved_at";
    /// The claim of the "resolved" message (a claim map, like `alert_warning` and
    /// `alert_critical`: owner, claimed_at, delivered_at, message).
    pub const RESOLUTION: &str = "resolution";
    /// The cohort the run's events named (absent: none).
    pub const COHORT: &str = "cohort";
    /// `end_ms` again, set with `counted`: the sparse `recent` index lists a type's succeeded
    /// runs by end, so a start can look up the runs that ended before it.
    pub const SUCCEEDED_END_MS: &str = "succeeded_end_ms";
    /// With recent runs: the durations of the latest succeeded runs of the type that had ended
    /// when the run started, newest first, fixed at its start.
    pub const RECENT_MS: &str = "recent_ms";
    /// With seasons: the task type and the season of the run's start (`etl`, U+001F,
    /// `weekend`), set with `counted`: the sparse `recent-season` index lists a type's succeeded
    /// runs of one season by end.
    pub const SEASON_TASK: &str = "season_task";
    pub const SEASON_TASK_SEPARATOR: char = '\u{1f}';
    /// With seasons: as `recent_ms`, of the runs of its own season.
    pub const SEASON_RECENT_MS: &str = "season_recent_ms";
    pub const EXPIRES_AT: &str = "expires_at";

    pub const RUNNING_INDEX: &str = "running";
    pub const END_DAY_INDEX: &str = "by-end-day";
    pub const RESOLVE_INDEX: &str = "resolve";
    pub const RECENT_INDEX: &str = "recent";
    pub const RECENT_SEASON_INDEX: &str = "recent-season";
}

/// Stats table: day meta and daily aggregates (`pk = DAY#date`), limits (`pk = LIMITS`), the
/// succeeded members of each cohort (`pk = COHORT#id`).
pub mod stats {
    /// `STARTS#<UTC date>` / `<task type>`: every start of the type that day (`starts`, a number
    /// set of epoch ms), for the schedule learner.
    pub const STARTS_PREFIX: &str = "STARTS#";
    pub const STARTS: &str = "starts";
    /// `SCHEDULES` / `<task type>`: the schedule the nightly job learned.
    pub const SCHEDULES_PK: &str = "SCHEDULES";
    /// Missed-start incidents: `MISSED` / `<task type>` U+001F `<first due, ms>`, with the claims of
    /// their warning, critical and "resolved" (the runs' claim attribute names).
    pub const MISSED_PK: &str = "MISSED";
    /// Operators' declared schedules: `DECLARED` / `<task type>`.
    pub const DECLARED_PK: &str = "DECLARED";
    pub const EXPRESSION: &str = "expression";
    pub const TIMEZONE: &str = "timezone";
    pub const SINCE_MS: &str = "since_ms";
    pub const UNSCHEDULED: &str = "unscheduled";
    pub const MISSED_SEPARATOR: char = '\u{1f}';
    pub const FIRST_DUE_MS: &str = "first_due_ms";
    pub const PERIOD_MS: &str = "period_ms";
    pub const OFFSETS_MS: &str = "offsets_ms";
    pub const WEEKDAYS: &str = "weekdays";
    pub const GRACE_MS: &str = "grace_ms";
    pub const EARLY_MS: &str = "early_ms";
    pub const TYPICAL_LATENESS_MS: &str = "typical_lateness_ms";
    pub const LARGEST_LATENESS_MS: &str = "largest_lateness_ms";
    pub const EVIDENCE: &str = "evidence";
    pub const COHORT_PREFIX: &str = "COHORT#";
    pub const MEMBERS_SK: &str = "#MEMBERS";
    /// A member's attribute: `m␟<task type>␟<run id>` (␟ = U+001F, which names cannot contain),
    /// its duration in ms.
    pub const MEMBER_PREFIX: &str = "m\u{1f}";
    pub const MEMBER_SEPARATOR: char = '\u{1f}';
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const DAY_PREFIX: &str = "DAY#";
    pub const META_SK: &str = "#META";
    pub const TASK_PREFIX: &str = "TASK#";
    pub const LIMITS_PK: &str = "LIMITS";
    /// A task type's too-short notice of one day: `DAY#date` / `SHORT#<task type>`.
    pub const SHORT_NOTICE_PREFIX: &str = "SHORT#";
    /// Its claim map (owner, claimed_at, delivered_at, message), and its task type.
    pub const NOTICE: &str = "notice";
    /// A claim written before claims were leases (an invocation id): taken for good.
    pub const NOTICE_CLAIM: &str = "claim";

    pub const FINISHED: &str = "finished";
    pub const ROLLED_UP: &str = "rolled_up";
    pub const TASK_TYPE: &str = "task_type";
    pub const COUNT: &str = "count";
    pub const SUM_MS: &str = "sum_ms";
    pub const SUM_SQ_MS: &str = "sum_sq_ms";
    /// Durations of the day's warned runs, kept out of `count`/`sum_ms`/`sum_sq_ms` (absent: none).
    pub const WARNED_MS: &str = "warned_ms";
    /// The same runs' histogram (tailored method): bins (powers of 1.03 ms) and their counts, two
    /// lists of equal length. Absent on aggregates rolled up before histograms were kept.
    pub const HIST_BINS: &str = "hist_bins";
    pub const HIST_COUNTS: &str = "hist_counts";
    /// Both of them, for writing a histogram or removing it.
    pub const HISTOGRAM_ATTRIBUTES: [&str; 2] = [HIST_BINS, HIST_COUNTS];
    /// The exact durations of the same runs' longest two, longest first (the outlier rule).
    /// Absent on aggregates rolled up before they were kept.
    pub const LONGEST_MS: &str = "longest_ms";

    pub const N: &str = "n";
    pub const EXPECTED_MS: &str = "expected_ms";
    pub const SIGMA_MS: &str = "sigma_ms";
    pub const UPPER_MS: &str = "upper_ms";
    pub const COMPUTED_AT: &str = "computed_at";
    pub const METHOD: &str = "method";
    pub const OVERRIDE_K: &str = "override_k";
    pub const OVERRIDE_LIMIT_MS: &str = "override_limit_ms";
    pub const MUTE_UNTIL: &str = "mute_until";
    pub const OVERRIDE_SHORT_FRACTION: &str = "override_short_fraction";
    pub const EXPIRES_AT: &str = "expires_at";

    pub const BASELINE_ATTRIBUTES: [&str; 6] = [N, EXPECTED_MS, SIGMA_MS, UPPER_MS, COMPUTED_AT, METHOD];
    /// A baseline's lone outlier kept out of its window: its duration and the next longest run's
    /// (both absent: none).
    pub const OUTLIER_MS: &str = "outlier_ms";
    pub const OUTLIER_NEXT_MS: &str = "outlier_next_ms";
    pub const OUTLIER_ATTRIBUTES: [&str; 2] = [OUTLIER_MS, OUTLIER_NEXT_MS];
    /// With seasons: a day item's runs of each season, and a limits item's limits of each
    /// season, as maps of the same attributes, indexed by `Season::index` (weekday, weekend).
    pub const SEASON_PARTS: [&str; 2] = ["season_weekday", "season_weekend"];
    /// In a day item's season map: Σ ln d and Σ (ln d)² of its counted runs (micro-units).
    pub const LOG_SUM: &str = "log_sum";
    pub const LOG_SUM_SQ: &str = "log_sum_sq";
    /// On a limits item: how strongly its type's history shows a season (BIC).
    pub const SEASON_EVIDENCE: &str = "season_evidence";
    pub const SEASON_ATTRIBUTES: [&str; 3] = [SEASON_EVIDENCE, SEASON_PARTS[0], SEASON_PARTS[1]];
    /// An operator's `plain` or `seasonal`.
    pub const OVERRIDE_SEASONS: &str = "override_seasons";
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, AwsError> {
    AttributeDefinition::builder().attribute_name(name).attribute_type(kind).build().map_err(AwsError::from)
}

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, AwsError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(AwsError::from)
}

fn index(
    name: &str,
    hash: &str,
    range: Option<&str>,
    include: &[&str],
) -> Result<GlobalSecondaryIndex, AwsError> {
    let mut keys = vec![key(hash, KeyType::Hash)?];
    if let Some(range) = range {
        keys.push(key(range, KeyType::Range)?);
    }
    let projection = Projection::builder()
        .projection_type(ProjectionType::Include)
        .set_non_key_attributes(Some(include.iter().map(|s| s.to_string()).collect()))
        .build();
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(keys))
        .projection(projection)
        .build()
        .map_err(AwsError::from)
}

/// Which tables [`create_tables`] created (the others existed already).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreatedTables {
    pub runs: bool,
    pub stats: bool,
}

/// Whether a CreateTable failed because the table exists.
fn already_exists(
    result: Result<(), aws_sdk_dynamodb::error::SdkError<CreateTableError>>,
) -> Result<bool, AwsError> {
    match result {
        Ok(()) => Ok(true),
        Err(error)
            if matches!(error.as_service_error(), Some(CreateTableError::ResourceInUseException(_))) =>
        {
            Ok(false)
        }
        Err(error) => Err(service("CreateTable", error)),
    }
}

/// Creates both tables (on-demand, with TTL on `expires_at`), as infra/ does in AWS. A table
/// that exists already is left as it is: running it twice is harmless.
pub async fn create_tables(
    client: &Client,
    runs_table: &str,
    stats_table: &str,
) -> Result<CreatedTables, AwsError> {
    use runs as r;
    use stats as s;
    let runs_created = client
        .create_table()
        .table_name(runs_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(r::TASK_TYPE, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(r::RUN_ID, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(r::RUNNING, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(r::START_MS, ScalarAttributeType::N)?)
        .attribute_definitions(attribute(r::END_DAY, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(r::END_MS, ScalarAttributeType::N)?)
        .attribute_definitions(attribute(r::RESOLVE, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(r::SUCCEEDED_END_MS, ScalarAttributeType::N)?)
        .attribute_definitions(attribute(r::SEASON_TASK, ScalarAttributeType::S)?)
        .key_schema(key(r::TASK_TYPE, KeyType::Hash)?)
        .key_schema(key(r::RUN_ID, KeyType::Range)?)
        .global_secondary_indexes(index(
            r::RUNNING_INDEX,
            r::RUNNING,
            Some(r::START_MS),
            &[r::ALERT_WARNING, r::ALERT_CRITICAL],
        )?)
        .global_secondary_indexes(index(r::END_DAY_INDEX, r::END_DAY, Some(r::END_MS), &[r::START_MS])?)
        .global_secondary_indexes(index(
            r::RESOLVE_INDEX,
            r::RESOLVE,
            None,
            &[r::START_MS, r::END_MS, r::STATUS],
        )?)
        .global_secondary_indexes(index(
            r::RECENT_INDEX,
            r::TASK_TYPE,
            Some(r::SUCCEEDED_END_MS),
            &[r::START_MS],
        )?)
        .global_secondary_indexes(index(
            r::RECENT_SEASON_INDEX,
            r::SEASON_TASK,
            Some(r::SUCCEEDED_END_MS),
            &[r::START_MS],
        )?)
        .send()
        .await
        .map(|_| ());
    let runs_created = already_exists(runs_created)?;
    let stats_created = client
        .create_table()
        .table_name(stats_table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(s::PK, ScalarAttributeType::S)?)
        .attribute_definitions(attribute(s::SK, ScalarAttributeType::S)?)
        .key_schema(key(s::PK, KeyType::Hash)?)
        .key_schema(key(s::SK, KeyType::Range)?)
        .send()
        .await
        .map(|_| ());
    let stats_created = already_exists(stats_created)?;
    let created = [(runs_table, runs_created), (stats_table, stats_created)];
    for table in created.iter().filter(|(_, created)| *created).map(|(table, _)| *table) {
        let ttl = TimeToLiveSpecification::builder().enabled(true).attribute_name(r::EXPIRES_AT).build()?;
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| service("UpdateTimeToLive", e))?;
    }
    Ok(CreatedTables { runs: runs_created, stats: stats_created })
}
