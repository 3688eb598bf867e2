//! The secrets port: a secret's text (Secrets Manager, in `overrun-aws`), for the HTTPS
//! endpoint's sources and the forwarder's destinations.

use std::future::Future;

use thiserror::Error;

use super::ErrorSource;

#[derive(Debug, Error)]
pub enum SecretReadError {
    #[error("reading the secret failed: {message}")]
    Read {
        message: String,
        #[source]
        source: Option<ErrorSource>,
    },
    #[error("the secret has no string value")]
    NotAString,
}

/// The secret's text.
pub trait SecretSource {
    fn read(&self) -> impl Future<Output = Result<String, SecretReadError>> + Send;
}
