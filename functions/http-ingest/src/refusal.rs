//! A request refused: the HTTP status and the reason, sent back so the sender can fix it.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status}: {reason}")]
pub struct Refusal {
    pub status: u16,
    pub reason: String,
}

impl Refusal {
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self { status: 400, reason: reason.into() }
    }
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        Self { status: 401, reason: reason.into() }
    }
    pub fn forbidden(reason: impl Into<String>) -> Self {
        Self { status: 403, reason: reason.into() }
    }
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self { status: 404, reason: reason.into() }
    }
    pub fn method_not_allowed(method: &str) -> Self {
        Self { status: 405, reason: format!("method {method} is not allowed: send POST") }
    }
    pub fn conflict(reason: impl Into<String>) -> Self {
        Self { status: 409, reason: reason.into() }
    }
    pub fn too_large(bytes: usize, limit: usize) -> Self {
        Self { status: 413, reason: format!("the body is {bytes} bytes, the limit is {limit}") }
    }
    pub fn unsupported_media(reason: impl Into<String>) -> Self {
        Self { status: 415, reason: reason.into() }
    }
    /// Overrun could not record it now (a store or secret it needs did not answer): the sender
    /// should retry; nothing half-done is left behind.
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self { status: 503, reason: reason.into() }
    }
}
