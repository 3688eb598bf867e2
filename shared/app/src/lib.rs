//! Overrun's use cases, generic over the ports of `overrun_core::ports`, so that the Lambda
//! functions (on DynamoDB and SNS), the `overrun` command and the fast unit tests (on the
//! in-memory ports of [`memory`]) run the same code.
//!
//! Layout:
//! - [`ingest`]: one task event in, one run recorded, and the day's too-short notice;
//! - [`nightly`]: roll the finished days up and recompute every task type's limits;
//! - [`check`]: every running run past its limit is an alert; finished ones get "resolved";
//! - [`checkin`]: which open run a check-in without a run id closes;
//! - [`situation`]: the running runs and what they are judged by (the checker, `overrun status`);
//! - [`delivery`]: how every message is delivered at least once (claims are leases);
//! - [`memory`], [`memory_store`]: in-memory ports for tests (the outbox and notifier with faults
//!   on demand; the runs and stats tables, for the use cases end to end, with faults on demand too),
//!   applying the same recording rule (`overrun_core::recording`) as the DynamoDB adapters; the
//!   store contract suite (`tests/tests/store_contract.rs`) holds both to it.

pub mod check;
pub mod checkin;
pub mod delivery;
pub mod ingest;
pub mod memory;
pub mod memory_store;
pub mod missed;
pub mod nightly;
pub mod situation;

#[cfg(test)]
mod test_support;
