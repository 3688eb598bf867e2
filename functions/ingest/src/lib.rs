//! The ingest function: task state-change events from EventBridge become runs in DynamoDB.

pub mod events;
pub mod handler;

pub use handler::{IngestError, IngestOutcome, NoticeSettings, ShortNotice, handle, handle_and_notify};
