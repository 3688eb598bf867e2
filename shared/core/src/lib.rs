//! Overrun's statistics core.
//!
//! Pure by design: data in, data out, `now` passed in. No AWS types, no async runtime, no clock
//! reads and no file or network I/O, so the Lambdas and the `overrun` command run the very same
//! code and a replay of history shows exactly what the deployed functions would have done.
//!
//! All times are integer milliseconds since the Unix epoch ([`EpochMs`]); durations are integer
//! milliseconds. Statistics are kept as exact integer moments ([`Moments`]) so that daily
//! aggregates merge without rounding drift.
//!
//! ## Map
//!
//! What runs in the deployed functions:
//! - [`defaults`]: every default of a deployment, in one place.
//! - [`model`], [`time`]: runs, task types, run ids, statuses; epoch milliseconds, days and ticks.
//! - [`stats`]: exact moments and histograms of durations.
//! - [`limits`]: the nightly roll-up and its window, each method's baseline, the tailored sweep,
//!   each run's own limit from its recent runs.
//! - [`detect`]: levels, a running run's standing at a tick, overrides, cohorts, too-short runs.
//! - [`notify`]: the messages and the rules of their delivery.
//! - [`ports`]: what the use cases need of storage and messaging (implemented in `overrun-aws` and
//!   in memory in `overrun-app`); [`records`]: what operators' tools read back.
//!
//! What only the `overrun` command runs, apart in [`evaluation`]: the replay (the same decisions
//! over a history), backtests, the hindsight reference, comparisons and the seeded generator.

pub mod defaults;
pub mod detect;
pub mod evaluation;
pub mod limits;
pub mod model;
pub mod notify;
pub mod ports;
pub mod recording;
pub mod records;
pub mod settings;
pub mod stats;
pub mod time;

pub use detect::levels::{DetectionConfig, DetectionError, Level, Thresholds};
pub use detect::short::{ShortFinish, ShortRule};
pub use limits::baseline::{Baseline, BaselinePolicy, Method, PolicyError};
pub use limits::recent::RecentRuns;
pub use model::{CohortId, ModelError, Run, RunId, RunStatus, TaskType};
pub use stats::moments::Moments;
pub use time::{EpochMs, TickInterval};
