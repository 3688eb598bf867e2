//! What can go wrong in a command, and the exit code each maps to.

use std::io;

use thiserror::Error;

use crate::aws_failure::AwsFailure;
use crate::input::InputError;
use crate::rows::BadRow;

#[derive(Debug, Error)]
pub enum CliError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{name}: {row}")]
    BadRow { name: String, row: BadRow },
    #[error("{0}")]
    InvalidOption(String),
    #[error("cannot write output: {0}")]
    Output(io::Error),
    #[error("{0}")]
    Aws(AwsFailure),
    /// A run or task type the tables do not hold.
    #[error("{0}")]
    NotFound(String),
    /// A remote API (GitHub's, for an import) refused or failed.
    #[error("{0}")]
    Remote(String),
}

impl CliError {
    /// 2 for anything the user can fix in the input or the options; 3 when AWS cannot be
    /// reached (no credentials, no region, an endpoint that does not answer); 4 when a table
    /// (or a run, or task type, asked about) does not exist; 1 otherwise (output that could not be written, a request AWS refused).
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) | CliError::BadRow { .. } | CliError::InvalidOption(_) => 2,
            CliError::Aws(failure) => crate::aws_failure::exit_code(failure.kind),
            CliError::NotFound(_) => 4,
            CliError::Output(_) | CliError::Remote(_) => 1,
        }
    }

    pub fn invalid(error: impl std::fmt::Display) -> Self {
        CliError::InvalidOption(error.to_string())
    }
}
