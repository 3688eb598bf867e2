//! Errors of the adapters, converted to the core's port errors at the boundary.

use std::error::Error as StdError;

use aws_sdk_dynamodb::error::{BuildError, DisplayErrorContext};
use overrun_core::ports::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AwsError {
    #[error("{operation} failed: {message}")]
    Service { operation: &'static str, message: String },
    #[error("building a request failed: {0}")]
    Build(#[from] BuildError),
}

/// An SDK error with its whole chain of causes, which the SDK's own Display leaves out.
pub fn service(operation: &'static str, error: impl StdError + 'static) -> AwsError {
    AwsError::Service { operation, message: DisplayErrorContext(error).to_string() }
}

impl From<AwsError> for StoreError {
    fn from(error: AwsError) -> Self {
        match error {
            AwsError::Service { operation, message } => StoreError::Service { operation, message },
            AwsError::Build(build) => {
                StoreError::Service { operation: "request", message: build.to_string() }
            }
        }
    }
}
