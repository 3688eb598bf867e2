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
//! In dependency order, each part using only those above it (no module imports one that imports
//! it back):
//! - [`defaults`]: every default of a deployment, plain constants importing nothing.
//! - [`time`], [`model`]: epoch milliseconds, days and ticks; runs, task types, run ids,
//!   statuses, alert levels ([`model::level`]) and a message's claim ([`model::claim`]).
//! - [`stats`]: exact moments and histograms of durations.
//! - [`limits`]: the nightly roll-up and its window, each method's baseline, the tailored sweep,
//!   each run's own limit from its recent runs.
//! - [`schedule`]: when a type's runs are due — learned from its starts, or declared — and
//!   which due times went without a start.
//! - [`detect`]: levels and thresholds, a running run's standing at a tick and the one
//!   [`Alert`](detect::check::Alert) type, overrides (valid by construction), cohorts,
//!   too-short runs.
//! - [`settings`]: the detection settings, validated once ([`settings::Detection`]) for the
//!   functions and the `overrun` command alike.
//! - [`notify`]: the messages, their dedupe keys, and why claims are leases.
//! - [`recording`]: the recording rule — what a start, a finish, a claim, a release and a
//!   delivery do to a stored run and its messages — applied by both stores.
//! - [`ports`]: every port the use cases and functions talk through (the stores, the notifier,
//!   the clock, secrets, the forwarder's HTTP), implemented in `overrun-aws`, the forwarder, and
//!   in memory in `overrun-app`; [`records`]: what operators' tools read back.
//!
//! What only the `overrun` command runs, apart in [`evaluation`] (its types are reached through
//! it, never from the crate root): the replay (the same decisions over a history), backtests,
//! the hindsight reference, comparisons and the seeded generator.

pub mod defaults;
pub mod detect;
pub mod evaluation;
pub mod limits;
pub mod model;
pub mod notify;
pub mod ports;
pub mod recording;
pub mod records;
pub mod schedule;
pub mod settings;
pub mod stats;
pub mod time;

pub use detect::levels::{DetectionConfig, DetectionError, Level, Thresholds};
pub use detect::short::{ShortFinish, ShortRule};
pub use limits::baseline::{Baseline, BaselinePolicy, Method, PolicyError};
pub use limits::recent::RecentRuns;
pub use model::{Attempt, CohortId, ModelError, Origin, Qualifier, Qualify, Run, RunId, RunStatus, TaskType};
pub use stats::moments::Moments;
pub use time::{EpochMs, TickInterval};
