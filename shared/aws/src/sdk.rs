//! How every SDK client calls AWS: each attempt and each operation bounded in time, so that a
//! call that hangs (a connection that never answers) fails in seconds, far inside the Lambda
//! timeout, and the work around it goes on.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};

/// Time limits and retries of SDK calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallLimits {
    pub connect: Duration,
    /// One HTTP attempt.
    pub attempt: Duration,
    /// The whole operation, retries included.
    pub operation: Duration,
    pub max_attempts: u32,
    /// The first retry's backoff (doubling, with jitter, after that).
    pub initial_backoff: Duration,
}

impl Default for CallLimits {
    /// A DynamoDB item write or an SNS publish answers in tens of milliseconds; five seconds is
    /// a hung attempt. Three attempts within fifteen seconds keep a whole checker tick (a few
    /// calls per message) well inside its 300-second Lambda timeout.
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(3),
            attempt: Duration::from_secs(5),
            operation: Duration::from_secs(15),
            max_attempts: 3,
            initial_backoff: Duration::from_millis(100),
        }
    }
}

impl CallLimits {
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    pub fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.max_attempts)
            .with_initial_backoff(self.initial_backoff)
    }

    /// An SDK configuration loader with these limits; region, credentials and endpoint come from
    /// the environment unless the caller sets them.
    pub fn loader(&self) -> aws_config::ConfigLoader {
        aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(self.timeout_config())
            .retry_config(self.retry_config())
    }
}

/// SDK configuration from the environment (region, credentials, and `AWS_ENDPOINT_URL`, which
/// points every client at a local endpoint in tests), with the default [`CallLimits`].
pub async fn sdk_config() -> SdkConfig {
    CallLimits::default().loader().load().await
}
