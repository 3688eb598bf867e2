//! The ingest function: task state-change events from EventBridge, parsed by
//! `overrun_sources::events` and recorded by the use case in `overrun_app::ingest`.

pub mod handler;

pub use handler::{IngestError, handle, handle_and_notify, handle_checked_and_notify};
pub use overrun_app::ingest::{IngestOutcome, NoticeSettings, ShortNotice};
