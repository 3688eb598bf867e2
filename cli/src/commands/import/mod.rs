//! `overrun import`: a history from a source's own records (GitHub Actions' REST API, an
//! OpenLineage JSON-lines export), parsed by the same code as the HTTPS endpoint's events, and
//! written in the replay and backfill CSV format, so `overrun import … | overrun backfill -`
//! loads it directly.

pub mod github;
pub mod openlineage;
mod runs;

pub use runs::{ImportSummary, RunAssembler, write_csv};
