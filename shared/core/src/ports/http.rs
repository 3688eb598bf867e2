//! The HTTP port of the forwarder: one POST of a JSON body to a destination (PagerDuty,
//! Slack), answered or not.

use thiserror::Error;

use super::ErrorSource;

/// What a destination answered: any status, with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

/// No answer at all: the connection failed, was reset or timed out.
#[derive(Debug, Error)]
#[error("no answer: {message}")]
pub struct PostError {
    pub message: String,
    #[source]
    pub source: Option<ErrorSource>,
}

impl PostError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), source: None }
    }
}

/// One HTTP POST of `body` (JSON text) to `url`, bounded in time.
pub trait Poster: Send + Sync {
    fn post(&self, url: &str, body: &str) -> Result<Answer, PostError>;
}
