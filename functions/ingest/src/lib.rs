//! The ingest function: task state-change events from EventBridge, parsed here and recorded by
//! the use case in `overrun_app::ingest`; and the parsers of the sources the HTTPS endpoint
//! (`overrun-http-ingest`) takes, in `webhooks`.

pub mod events;
pub mod handler;
pub mod webhooks;

pub use events::{EventError, TimeWindow, parse, parse_live};
pub use handler::{IngestError, handle, handle_and_notify, record_and_notify};
pub use overrun_app::ingest::{IngestOutcome, NoticeSettings, ShortNotice};
