//! How long a read of the sources' secrets (from Secrets Manager, behind a small port) is trusted: re-read every few minutes so a rotated or revoked token takes effect without
//! a deploy, and kept when a re-read fails so a Secrets Manager outage does not stop ingest.

use std::sync::Arc;

pub use overrun_aws::secrets::{SecretReadError, SecretSource, SecretsManagerSource};
use overrun_core::EpochMs;
use thiserror::Error;
use tokio::sync::Mutex;

use crate::auth::{SecretsError, SourceSecrets};

#[derive(Debug, Error)]
pub enum SecretSourceError {
    #[error(transparent)]
    Read(#[from] SecretReadError),
    #[error(transparent)]
    Malformed(#[from] SecretsError),
}

/// How long a read of the secret is used before it is read again.
pub const SECRETS_TTL_MS: i64 = 5 * 60 * 1000;

/// The secrets as last read, re-read after [`SECRETS_TTL_MS`].
pub struct CachedSecrets<S> {
    source: S,
    cached: Mutex<Option<(EpochMs, Arc<SourceSecrets>)>>,
}

impl<S: SecretSource> CachedSecrets<S> {
    pub fn new(source: S) -> Self {
        Self { source, cached: Mutex::new(None) }
    }

    /// The secrets at `now`. A failed re-read keeps the last good secrets (and is logged); with
    /// none yet, it is an error.
    pub async fn get(&self, now: EpochMs) -> Result<Arc<SourceSecrets>, SecretSourceError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, secrets)) = cached.as_ref()
            && now.saturating_sub(*read_at) < SECRETS_TTL_MS
        {
            return Ok(secrets.clone());
        }
        let fresh = match self.source.read().await {
            Ok(text) => SourceSecrets::parse(&text).map_err(SecretSourceError::from),
            Err(error) => Err(SecretSourceError::from(error)),
        };
        match (fresh, cached.as_ref()) {
            (Ok(secrets), _) => {
                let secrets = Arc::new(secrets);
                *cached = Some((now, secrets.clone()));
                Ok(secrets)
            }
            (Err(error), Some((_, stale))) => {
                tracing::warn!(%error, "re-reading the sources' secret failed; the last good read stays in use");
                Ok(stale.clone())
            }
            (Err(error), None) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Answers from a list, one read each, counting reads.
    struct Scripted {
        answers: std::sync::Mutex<Vec<Result<String, SecretReadError>>>,
        reads: AtomicUsize,
    }

    impl SecretSource for Scripted {
        async fn read(&self) -> Result<String, SecretReadError> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.answers.lock().unwrap().remove(0)
        }
    }

    fn scripted(answers: Vec<Result<String, SecretReadError>>) -> CachedSecrets<Scripted> {
        CachedSecrets::new(Scripted { answers: std::sync::Mutex::new(answers), reads: AtomicUsize::new(0) })
    }

    const ONE: &str = r#"{"a": "token-a-0123456789abcdef"}"#;
    const TWO: &str = r#"{"b": "token-b-0123456789abcdef"}"#;

    #[tokio::test]
    async fn secrets_are_reread_after_their_ttl_and_a_failed_reread_keeps_the_last_good_ones() {
        let cache =
            scripted(vec![Ok(ONE.into()), Err(SecretReadError::Read("down".into())), Ok(TWO.into())]);
        let first = cache.get(0).await.unwrap();
        assert_eq!(first.source_of(Some("Bearer token-a-0123456789abcdef")), Ok("a"));
        cache.get(SECRETS_TTL_MS - 1).await.unwrap();
        assert_eq!(cache.source.reads.load(Ordering::SeqCst), 1);
        let kept = cache.get(SECRETS_TTL_MS).await.unwrap();
        assert_eq!(kept.source_of(Some("Bearer token-a-0123456789abcdef")), Ok("a"));
        let rotated = cache.get(SECRETS_TTL_MS + 1).await.unwrap();
        assert_eq!(rotated.source_of(Some("Bearer token-b-0123456789abcdef")), Ok("b"));
        assert!(rotated.source_of(Some("Bearer token-a-0123456789abcdef")).is_err());
    }

    #[tokio::test]
    async fn without_a_good_read_the_secret_error_is_returned() {
        let cache = scripted(vec![Ok("{\"a\": 1}".into())]);
        assert!(matches!(cache.get(0).await, Err(SecretSourceError::Malformed(_))));
    }
}
