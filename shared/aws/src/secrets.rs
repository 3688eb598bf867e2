//! Secrets Manager behind a small port, and how long a read of a secret is trusted.

use overrun_core::EpochMs;
pub use overrun_core::ports::{SecretReadError, SecretSource};

/// A secret in AWS Secrets Manager (its ARN or name).
#[derive(Debug, Clone)]
pub struct SecretsManagerSource {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
}

impl SecretsManagerSource {
    pub fn new(sdk: &aws_config::SdkConfig, secret_id: impl Into<String>) -> Self {
        Self { client: aws_sdk_secretsmanager::Client::new(sdk), secret_id: secret_id.into() }
    }

    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }
}

impl SecretSource for SecretsManagerSource {
    async fn read(&self) -> Result<String, SecretReadError> {
        let output = self.client.get_secret_value().secret_id(&self.secret_id).send().await.map_err(|e| {
            let message = aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string();
            SecretReadError::Read { message, source: Some(Box::new(e)) }
        })?;
        output.secret_string.ok_or(SecretReadError::NotAString)
    }
}

/// How long a read of a secret is used before it is read again: a rotated or revoked secret
/// takes effect within minutes, without a deploy.
pub const SECRET_TTL_MS: i64 = 5 * 60 * 1000;

/// A secret as last read, re-read after [`SECRET_TTL_MS`]. A failed re-read keeps the last good
/// read (and is logged), so a Secrets Manager outage does not stop the function.
pub struct CachedSecret<S> {
    source: S,
    cached: tokio::sync::Mutex<Option<(EpochMs, std::sync::Arc<str>)>>,
}

impl<S: SecretSource> CachedSecret<S> {
    pub fn new(source: S) -> Self {
        Self { source, cached: tokio::sync::Mutex::new(None) }
    }

    pub fn source(&self) -> &S {
        &self.source
    }

    /// The secret's text at `now`; an error only when no read has succeeded yet.
    pub async fn get(&self, now: EpochMs) -> Result<std::sync::Arc<str>, SecretReadError> {
        let mut cached = self.cached.lock().await;
        if let Some((read_at, text)) = cached.as_ref()
            && now.saturating_sub(*read_at) < SECRET_TTL_MS
        {
            return Ok(text.clone());
        }
        match (self.source.read().await, cached.as_ref()) {
            (Ok(text), _) => {
                let text: std::sync::Arc<str> = text.into();
                *cached = Some((now, text.clone()));
                Ok(text)
            }
            (Err(error), Some((_, stale))) => {
                tracing::warn!(%error, "re-reading a secret failed; the last good read stays in use");
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

    #[tokio::test]
    async fn a_secret_is_reread_after_its_ttl_and_a_failed_reread_keeps_the_last_good_one() {
        let answers = vec![
            Ok("one".to_owned()),
            Err(SecretReadError::Read { message: "down".into(), source: None }),
            Ok("two".to_owned()),
        ];
        let cache = CachedSecret::new(Scripted {
            answers: std::sync::Mutex::new(answers),
            reads: AtomicUsize::new(0),
        });
        assert_eq!(&*cache.get(0).await.unwrap(), "one");
        assert_eq!(&*cache.get(SECRET_TTL_MS - 1).await.unwrap(), "one");
        assert_eq!(cache.source().reads.load(Ordering::SeqCst), 1, "within the TTL, no read");
        assert_eq!(&*cache.get(SECRET_TTL_MS).await.unwrap(), "one", "the read failed: the last good one");
        assert_eq!(&*cache.get(SECRET_TTL_MS + 1).await.unwrap(), "two", "rotated");
    }

    #[tokio::test]
    async fn without_a_good_read_the_error_is_returned() {
        let answers = vec![Err(SecretReadError::NotAString)];
        let cache = CachedSecret::new(Scripted {
            answers: std::sync::Mutex::new(answers),
            reads: AtomicUsize::new(0),
        });
        assert!(matches!(cache.get(0).await, Err(SecretReadError::NotAString)));
    }
}
