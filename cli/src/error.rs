//! What can go wrong in a command, and the exit code each maps to.

use std::io;

use thiserror::Error;

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
    #[error("AWS request failed: {0}")]
    Aws(String),
}

impl CliError {
    /// 2 for anything the user can fix in the input or the options, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Input(_) | CliError::BadRow { .. } | CliError::InvalidOption(_) => 2,
            CliError::Output(_) | CliError::Aws(_) => 1,
        }
    }

    pub fn invalid(error: impl std::fmt::Display) -> Self {
        CliError::InvalidOption(error.to_string())
    }
}
