//! Overrun's AWS side: the DynamoDB, SNS and Secrets Manager adapters behind the ports, configuration from
//! the environment, and metrics. SDK types stay in here.
//!
//! ## Layout
//! - [`runs`], [`outbox`], [`stats`]: the runs table, the messages' claims and the stats table,
//!   applying the core's recording rule (`overrun_core::recording`) through write conditions;
//!   [`schedules`] the starts the schedule learner reads and the schedules it learns;
//!   [`schema`] their keys and indexes, [`items`] and [`dynamo`] reading items and paging calls.
//! - [`error`]: every SDK failure classified once into the ports' typed errors (kind, service
//!   code, source).
//! - [`sns`], [`secrets`]: the notifier and the secrets port on SNS and Secrets Manager.
//! - [`config`]: the functions' settings from the environment, validated by the core's one
//!   validation (`overrun_core::settings`); [`sdk`] the bounded SDK calls.
//! - [`inspect`], [`counters`], [`metrics`]: what operators' tools read, request counts, metrics.

pub mod config;
pub mod counters;
pub mod dynamo;
pub mod error;
pub mod inspect;
pub mod items;
pub mod metrics;
pub mod outbox;
pub mod runs;
pub mod schedules;
pub mod schema;
pub mod sdk;
pub mod secrets;
pub mod sns;
pub mod stats;

use std::time::{SystemTime, UNIX_EPOCH};

pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use config::{Config, ConfigError};
pub use counters::{Counters, CountersSnapshot, SharedCounters};
pub use inspect::DynamoInspector;
pub use outbox::DynamoOutbox;
pub use runs::DynamoRunStore;
pub use sdk::{CallLimits, sdk_config};
pub use sns::SnsNotifier;
pub use stats::DynamoStatsStore;

use overrun_core::EpochMs;
use overrun_core::ports::Clock;

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> EpochMs {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as EpochMs).unwrap_or(0)
    }
}

/// The adapters a function needs, built once at cold start.
pub struct Adapters {
    pub runs: DynamoRunStore,
    pub stats: DynamoStatsStore,
    pub outbox: DynamoOutbox,
    pub counters: SharedCounters,
    pub sns: aws_sdk_sns::Client,
}

impl Adapters {
    pub fn new(sdk: &aws_config::SdkConfig, config: &Config) -> Self {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let counters = SharedCounters::default();
        Self {
            runs: DynamoRunStore::new(
                dynamodb.clone(),
                &config.runs_table,
                &config.stats_table,
                config.policy,
                config.retention_days,
                counters.clone(),
            )
            .with_recent_runs(config.recent.count)
            .with_day_retention(config.day_retention_days())
            .with_seasons(config.seasons),
            outbox: DynamoOutbox::new(
                dynamodb.clone(),
                &config.runs_table,
                &config.stats_table,
                config.retention_days,
                counters.clone(),
            ),
            stats: DynamoStatsStore::new(
                dynamodb,
                &config.stats_table,
                config.policy,
                config.day_retention_days(),
                counters.clone(),
            ),
            counters,
            sns: aws_sdk_sns::Client::new(sdk),
        }
    }
}
