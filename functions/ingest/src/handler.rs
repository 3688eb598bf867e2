//! Ingest: one event in, one run recorded.

use overrun_core::ports::{Recorded, RunStore, StoreError};
use serde_json::Value;
use thiserror::Error;

use crate::events::{EventError, TaskEvent, parse};

#[derive(Debug, Error)]
pub enum IngestError {
    /// Fails the invocation so that the function's failure destination keeps the event.
    #[error("malformed event: {0}")]
    Malformed(#[from] EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum IngestOutcome {
    Started(Recorded),
    Finished(Recorded),
    Ignored(String),
}

pub async fn handle(event: &Value, store: &impl RunStore) -> Result<IngestOutcome, IngestError> {
    match parse(event)? {
        TaskEvent::Started(started) => Ok(IngestOutcome::Started(store.record_start(&started).await?)),
        TaskEvent::Finished(finished) => Ok(IngestOutcome::Finished(store.record_finish(&finished).await?)),
        TaskEvent::Ignored { reason } => Ok(IngestOutcome::Ignored(reason)),
    }
}
