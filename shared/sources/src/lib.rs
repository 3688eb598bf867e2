//! Every source's parser: what a scheduler or a job service sends, read into the core's
//! [`TaskEvent`](overrun_core::ports::TaskEvent) (a run's start or finish).
//!
//! Pure like the core: JSON or a path in, a checked event or an [`EventError`] naming the field
//! out. The ingest function, the HTTPS ingest function and the `overrun import` command all parse
//! with these, so a run reads the same whichever way it came.
//!
//! ## Layout
//! - [`events`]: EventBridge events — Overrun's own "Task State Change", Step Functions, Batch,
//!   and the AWS job services (Glue, ECS, CodeBuild, SageMaker); the field readers and the
//!   plausibility window ([`TimeWindow`]) every source shares.
//! - [`strict_json`]: JSON read as written — a body naming a field twice is refused, naming it.
//! - [`webhooks`]: what arrives over HTTPS — OpenLineage run events, GitHub `workflow_job`
//!   webhooks, check-in paths.
//!
//! Real-shaped examples of every source are in `fixtures/`, read by the tests here and by the
//! functions' tests on the local endpoint.

pub mod events;
pub mod strict_json;
pub mod webhooks;

pub use events::{Accounts, EventError, TimeWindow, parse, parse_live};
pub use strict_json::CheckedJson;
