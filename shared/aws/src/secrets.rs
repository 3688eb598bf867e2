//! Secrets Manager behind a small port: a secret's text, read when asked (the functions decide
//! how long a read is trusted).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SecretReadError {
    #[error("reading the secret failed: {0}")]
    Read(String),
    #[error("the secret has no string value")]
    NotAString,
}

/// The port: the secret's text.
pub trait SecretSource {
    fn read(&self) -> impl Future<Output = Result<String, SecretReadError>> + Send;
}

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
        let output = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await
            .map_err(|e| SecretReadError::Read(aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string()))?;
        output.secret_string.ok_or(SecretReadError::NotAString)
    }
}
