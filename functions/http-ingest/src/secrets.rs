//! The sources' secrets as the endpoint uses them: the secret's text (cached and re-read by
//! `overrun_aws::secrets::CachedSecret`) parsed into the sources' credentials.

use overrun_aws::secrets::CachedSecret;
pub use overrun_aws::secrets::{SecretReadError, SecretSource, SecretsManagerSource};
use overrun_core::EpochMs;
use thiserror::Error;

use crate::auth::{SecretsError, SourceSecrets};

#[derive(Debug, Error)]
pub enum SecretSourceError {
    #[error(transparent)]
    Read(#[from] SecretReadError),
    #[error(transparent)]
    Malformed(#[from] SecretsError),
}

/// The sources' secret, read through a cache.
pub struct CachedSecrets<S> {
    secret: CachedSecret<S>,
}

impl<S: SecretSource> CachedSecrets<S> {
    pub fn new(source: S) -> Self {
        Self { secret: CachedSecret::new(source) }
    }

    /// The sources' credentials at `now`.
    pub async fn get(&self, now: EpochMs) -> Result<SourceSecrets, SecretSourceError> {
        let text = self.secret.get(now).await?;
        Ok(SourceSecrets::parse(&text)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);

    impl SecretSource for Fixed {
        async fn read(&self) -> Result<String, SecretReadError> {
            Ok(self.0.to_owned())
        }
    }

    #[tokio::test]
    async fn the_secret_is_parsed_into_the_sources_credentials_and_a_malformed_one_is_an_error() {
        let secrets = CachedSecrets::new(Fixed(r#"{"a": "token-a-0123456789abcdef"}"#)).get(0).await.unwrap();
        assert_eq!(secrets.source_of(Some("Bearer token-a-0123456789abcdef"), "/ping/x/start"), Ok("a"));
        let malformed = CachedSecrets::new(Fixed(r#"{"a": 1}"#)).get(0).await;
        assert!(matches!(malformed, Err(SecretSourceError::Malformed(_))));
    }
}
