//! Overrun's statistics core.
//!
//! Pure by design: data in, data out, `now` passed in. No AWS types, no async runtime, no clock
//! reads and no file or network I/O, so the Lambdas and the `overrun` command run the very same
//! code and a replay of history shows exactly what the deployed functions would have done.
//!
//! All times are integer milliseconds since the Unix epoch ([`EpochMs`]); durations are integer
//! milliseconds. Statistics are kept as exact integer moments ([`Moments`]) so that daily
//! aggregates merge without rounding drift.

pub mod backtest;
pub mod baseline;
pub mod check;
pub mod cohort;
pub mod compare;
pub mod delivery;
pub mod detect;
pub mod hindsight;
pub mod histogram;
pub mod humanize;
pub mod message;
pub mod model;
pub mod moments;
pub mod nightly;
pub mod overrides;
pub mod ports;
pub mod recent;
pub mod records;
pub mod replay;
pub mod rng;
pub mod short;
pub mod tailored;
pub mod time;

pub use baseline::{Baseline, BaselinePolicy, Method, PolicyError};
pub use detect::{DetectionConfig, DetectionError, Level, Thresholds};
pub use model::{CohortId, ModelError, Run, RunId, RunStatus, TaskType};
pub use moments::Moments;
pub use replay::{
    Alert, RecentRuns, ReplayConfig, ReplayError, ReplayOutcome, ReplaySummary, Replayer, RunInput,
};
pub use short::{ShortFinish, ShortRule};
pub use time::{EpochMs, TickInterval};
