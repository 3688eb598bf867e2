//! Shared helpers for the integration tests: a local AWS endpoint (moto, started by
//! `scripts/test.sh`), a fresh set of tables, topic and subscribed queue per test, and readers.
//!
//! Tests fail loudly when the endpoint is missing: they never skip.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use overrun_aws::schema::create_tables;
use overrun_aws::{Adapters, CallLimits, Config, SnsNotifier};
use serde_json::Value;

pub mod authenticating_endpoint;
pub mod fault_proxy;
pub mod recording_server;

pub const ENDPOINT_VARIABLE: &str = "OVERRUN_TEST_ENDPOINT";

/// The local AWS endpoint's URL.
pub fn endpoint() -> String {
    std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VARIABLE} is not set: these tests need a local AWS endpoint (moto). \
             Run ./scripts/test.sh, which starts one, or start `moto_server -H 127.0.0.1 -p PORT` and set \
             {ENDPOINT_VARIABLE}=http://127.0.0.1:PORT"
        )
    })
}

pub async fn sdk_config() -> SdkConfig {
    sdk_config_at(&endpoint(), CallLimits::default()).await
}

/// The SDK configuration of the functions (`limits`), pointed at `url`: the local endpoint, or
/// a fault-injecting proxy in front of it.
pub async fn sdk_config_at(url: &str, limits: CallLimits) -> SdkConfig {
    limits
        .loader()
        .endpoint_url(url)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "overrun-tests"))
        .load()
        .await
}

/// A name no other test in this run uses.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{}-{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Everything one test needs, isolated from the others.
pub struct Stack {
    pub sdk: SdkConfig,
    pub config: Config,
    pub adapters: Adapters,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub topic_arn: String,
    pub queue_url: String,
}

impl Stack {
    pub async fn new() -> Self {
        Self::with_env(&[]).await
    }

    /// `extra` are environment-style settings (`OVERRUN_K`, …) on top of the tables and topic.
    pub async fn with_env(extra: &[(&str, &str)]) -> Self {
        let sdk = sdk_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let sqs = aws_sdk_sqs::Client::new(&sdk);
        let runs_table = unique("runs");
        let stats_table = unique("stats");
        create_tables(&dynamodb, &runs_table, &stats_table)
            .await
            .expect("creating tables on the local endpoint");
        let topic_arn = sns.create_topic().name(unique("alerts")).send().await.unwrap().topic_arn.unwrap();
        let queue_url =
            sqs.create_queue().queue_name(unique("inbox")).send().await.unwrap().queue_url.unwrap();
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()
            .remove(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .unwrap();
        sns.subscribe().topic_arn(&topic_arn).protocol("sqs").endpoint(queue_arn).send().await.unwrap();

        let mut env: Vec<(String, String)> = vec![
            ("OVERRUN_RUNS_TABLE".into(), runs_table),
            ("OVERRUN_STATS_TABLE".into(), stats_table),
            ("OVERRUN_TOPIC_ARN".into(), topic_arn.clone()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let config = Config::from_lookup(|name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .expect("test configuration is valid");
        let adapters = Adapters::new(&sdk, &config);
        Self { sdk, config, adapters, dynamodb, sns, sqs, topic_arn, queue_url }
    }

    /// The functions' adapters and notifier as they would be deployed, but talking to `url` (a
    /// fault proxy in front of the local endpoint) with `limits`.
    pub async fn through(&self, url: &str, limits: CallLimits) -> (Adapters, SnsNotifier) {
        let sdk = sdk_config_at(url, limits).await;
        let adapters = Adapters::new(&sdk, &self.config);
        let notifier = SnsNotifier::new(adapters.sns.clone(), &self.topic_arn, adapters.counters.clone());
        (adapters, notifier)
    }

    pub fn notifier(&self) -> SnsNotifier {
        SnsNotifier::new(self.adapters.sns.clone(), &self.topic_arn, self.adapters.counters.clone())
    }

    /// A notifier whose every publish fails: a topic that does not exist.
    pub fn broken_notifier(&self) -> SnsNotifier {
        let missing = format!("{}-does-not-exist", self.topic_arn);
        SnsNotifier::new(self.adapters.sns.clone(), missing, self.adapters.counters.clone())
    }

    /// Every SNS notification delivered to the queue so far (the SNS envelopes, parsed).
    pub async fn received(&self) -> Vec<Value> {
        let mut envelopes = Vec::new();
        loop {
            let output = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("reading the subscribed queue");
            let messages = output.messages.unwrap_or_default();
            if messages.is_empty() {
                return envelopes;
            }
            for message in messages {
                let body = message.body.unwrap_or_default();
                envelopes.push(serde_json::from_str(&body).expect("SNS envelope is JSON"));
                if let Some(handle) = message.receipt_handle {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .unwrap();
                }
            }
        }
    }

    /// Every item of a table (a Scan: fine in a test, never in the product).
    pub async fn scan(
        &self,
        table: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page =
                self.dynamodb.scan().table_name(table).set_exclusive_start_key(start).send().await.unwrap();
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return items,
            }
        }
    }
}

/// The account and region the tests' events are put in ([`task_event`], the fixtures).
pub const HOME_ACCOUNT: &str = "123456789012";
pub const HOME_REGION: &str = "us-east-1";

/// A deployment in the tests' home account and region, its task types unqualified.
pub fn home() -> overrun_sources::Accounts {
    overrun_sources::Accounts {
        home: Some(overrun_core::Origin::new(HOME_ACCOUNT, HOME_REGION).expect("a valid origin")),
        qualify: overrun_core::Qualify::None,
    }
}

/// A custom "Task State Change" event.
pub fn task_event(task_type: &str, run_id: &str, state: &str, epoch_ms: i64) -> Value {
    serde_json::json!({
        "version": "0",
        "id": unique("event"),
        "detail-type": "Task State Change",
        "source": "acme.workflows",
        "account": "123456789012",
        "time": "2025-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"task_type": task_type, "run_id": run_id, "state": state, "time": epoch_ms as f64 / 1000.0}
    })
}

/// A real-shaped event from `shared/sources/fixtures/` (`name` without `.json`, such as
/// `github/workflow-job-completed`).
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/../shared/sources/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Epoch milliseconds as RFC 3339 text, as the sources write their times.
pub fn rfc3339(ms: i64) -> String {
    let at = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).expect("a time");
    at.format(&time::format_description::well_known::Rfc3339).expect("RFC 3339 formats every time")
}
