//! What the AWS-facing commands share: the SDK configuration (with an optional local endpoint)
//! and Overrun's configuration with table names given on the command line.

use overrun_aws::Config;
use overrun_aws::config::valid_table_name;
use overrun_core::ports::StoreError;

use crate::aws_failure::{AwsFailure, AwsTarget, summarise};
use crate::error::CliError;

/// Table names and endpoint, from flags or the same environment variables the functions read.
#[derive(Debug, Clone, clap::Args)]
pub struct AwsArgs {
    /// The runs table.
    #[arg(long, env = "OVERRUN_RUNS_TABLE", value_parser = valid_table_name)]
    pub runs_table: Option<String>,
    /// The stats table (baselines, overrides).
    #[arg(long, env = "OVERRUN_STATS_TABLE", value_parser = valid_table_name)]
    pub stats_table: Option<String>,
    /// Talk to this endpoint instead of AWS (a local stack such as moto), e.g. http://127.0.0.1:5055.
    #[arg(long, value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
}

/// An endpoint URL with no `http://` or `https://` in front.
#[derive(Debug, thiserror::Error)]
#[error("{given:?} has no http:// or https:// in front: try --endpoint-url http://{rest}")]
pub struct NoScheme {
    given: String,
    rest: String,
}

/// An endpoint URL with its scheme: the SDK takes `localhost:5055` for a URL whose scheme is
/// `localhost` and fails to connect, which would be told as an endpoint that does not answer.
fn endpoint_url(text: &str) -> Result<String, NoScheme> {
    let scheme = text.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => Ok(text.to_owned()),
        _ => Err(NoScheme {
            given: text.to_owned(),
            rest: text.split_once("://").map_or(text, |(_, rest)| rest).to_owned(),
        }),
    }
}

impl AwsArgs {
    /// Overrun's configuration: table names from the flags, everything else (k, window, …) from
    /// the environment exactly as the functions read it.
    pub fn config(&self) -> Result<Config, CliError> {
        let runs = self.require_runs_table()?.to_owned();
        let stats = self.require_stats_table()?.to_owned();
        Config::from_lookup(|name| match name {
            overrun_aws::config::RUNS_TABLE => Some(runs.clone()),
            overrun_aws::config::STATS_TABLE => Some(stats.clone()),
            other => std::env::var(other).ok(),
        })
        .map_err(CliError::invalid)
    }

    pub fn require_runs_table(&self) -> Result<&str, CliError> {
        self.runs_table.as_deref().ok_or_else(|| {
            CliError::invalid("the runs table is required: pass --runs-table or set OVERRUN_RUNS_TABLE")
        })
    }

    pub fn require_stats_table(&self) -> Result<&str, CliError> {
        self.stats_table.as_deref().ok_or_else(|| {
            CliError::invalid("the stats table is required: pass --stats-table or set OVERRUN_STATS_TABLE")
        })
    }

    /// An AWS error summarised for a person: what failed, where, and what to do.
    pub fn error(&self, error: impl Into<StoreError>) -> CliError {
        CliError::Aws(self.failure(&error.into()))
    }

    /// The same, as a failure to report.
    pub fn failure(&self, error: &StoreError) -> AwsFailure {
        let target = AwsTarget {
            endpoint: self.endpoint_url.clone().or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
            region: std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).ok(),
            tables: self.runs_table.iter().chain(&self.stats_table).cloned().collect(),
        };
        summarise(error, &target)
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        let mut loader = overrun_aws::CallLimits::default().loader();
        if let Some(url) = &self.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        loader.load().await
    }
}

pub async fn aws_sdk_dynamodb_client(args: &AwsArgs) -> overrun_aws::DynamoClient {
    overrun_aws::DynamoClient::new(&args.sdk().await)
}

/// The stats table's store for what operators set (overrides, declared schedules); the policy
/// only shapes day-aggregate expiry, which these never write.
pub async fn stats_store(args: &AwsArgs) -> Result<overrun_aws::DynamoStatsStore, CliError> {
    let table = args.require_stats_table()?;
    let client = aws_sdk_dynamodb_client(args).await;
    Ok(overrun_aws::DynamoStatsStore::new(
        client,
        table,
        overrun_core::BaselinePolicy::default(),
        overrun_core::defaults::RETENTION_DAYS,
        Default::default(),
    ))
}

pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CliError::invalid(format!("cannot start the async runtime: {e}")))
}
