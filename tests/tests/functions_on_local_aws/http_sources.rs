//! The HTTPS endpoint's handler with the real adapters and the sources' secret in Secrets
//! Manager: OpenLineage, GitHub and check-in runs recorded, paged when overdue and resolved;
//! bad signatures and bodies refused with nothing written; redeliveries recorded once.

use hmac::{Hmac, Mac};
use overrun_http_ingest::request::{HttpContext, RequestContext};
use overrun_http_ingest::{CachedSecrets, Deps, HttpRequest, SecretsManagerSource, handle};
use overrun_integration_tests::{fixture, rfc3339};
use sha2::Sha256;

use super::*;

const WEBHOOK_SECRET: &str = "webhook-secret-0123456789abcdef";
const AIRFLOW_TOKEN: &str = "airflow-token-0123456789abcdef";
const CRON_TOKEN: &str = "cron-box-token-0123456789abcdef";

/// The endpoint as deployed: its secret created in Secrets Manager and read through the SDK.
struct Endpoint {
    secrets: CachedSecrets<SecretsManagerSource>,
    qualify: overrun_core::Qualify,
}

impl Endpoint {
    async fn new(stack: &Stack) -> Self {
        let secret = json!({"github": WEBHOOK_SECRET, "airflow-prod": AIRFLOW_TOKEN, "cron-box": CRON_TOKEN});
        Self::with_secret(stack, &secret).await
    }

    /// The endpoint reading `secret` from Secrets Manager.
    async fn with_secret(stack: &Stack, secret: &Value) -> Self {
        let name = overrun_integration_tests::unique("sources");
        aws_sdk_secretsmanager::Client::new(&stack.sdk)
            .create_secret()
            .name(&name)
            .secret_string(secret.to_string())
            .send()
            .await
            .unwrap();
        Self::reading(stack, &name)
    }

    fn reading(stack: &Stack, secret_name: &str) -> Self {
        Self {
            secrets: CachedSecrets::new(SecretsManagerSource::new(&stack.sdk, secret_name)),
            qualify: overrun_core::Qualify::None,
        }
    }

    /// Sends `request` at `now`: the status and the JSON body of the response.
    async fn send(&self, stack: &Stack, request: &HttpRequest, now: i64) -> (u16, Value) {
        self.send_through(stack, &stack.adapters, &stack.notifier(), request, now).await
    }

    /// The same, through `adapters` and `notifier` (a fault proxy's, say).
    async fn send_through(
        &self,
        stack: &Stack,
        adapters: &overrun_aws::Adapters,
        notifier: &overrun_aws::SnsNotifier,
        request: &HttpRequest,
        now: i64,
    ) -> (u16, Value) {
        let deps = Deps { adapters, notifier, secrets: &self.secrets, qualify: self.qualify };
        let settings = NoticeSettings {
            rule: stack.config.short,
            claim: "request",
            now,
            policy: &stack.config.policy,
            retention_ms: i64::from(stack.config.retention_days) * MS_PER_DAY,
            clock_skew_ms: stack.config.clock_skew_ms,
            seasons: None,
        };
        let response = handle(request, &deps, &settings).await.response();
        (response.status_code, serde_json::from_str(&response.body).unwrap())
    }

    async fn send_ok(&self, stack: &Stack, request: &HttpRequest, now: i64) -> Value {
        let (status, body) = self.send(stack, request, now).await;
        assert_eq!(status, 200, "{body}");
        body
    }
}

fn post(path: &str, headers: &[(&str, &str)], body: String) -> HttpRequest {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    HttpRequest {
        raw_path: path.to_owned(),
        raw_query_string: query.to_owned(),
        headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        request_context: RequestContext { http: HttpContext { method: "POST".to_owned() } },
        body: Some(body),
        is_base64_encoded: false,
    }
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One step of a run as a source reports it.
#[derive(Clone, Copy)]
enum Step<'a> {
    Start { run: &'a str, at: i64 },
    Finish { run: &'a str, start: i64, at: i64 },
}

fn openlineage(step: Step<'_>) -> (HttpRequest, i64) {
    let mut event = fixture("openlineage/airflow-start");
    let (run, at, kind) = match step {
        Step::Start { run, at } => (run, at, "START"),
        Step::Finish { run, at, .. } => (run, at, "COMPLETE"),
    };
    event["eventType"] = kind.into();
    event["eventTime"] = rfc3339(at).into();
    event["run"]["runId"] = run.into();
    let bearer = format!("Bearer {AIRFLOW_TOKEN}");
    (post("/api/v1/lineage", &[("authorization", &bearer)], event.to_string()), at + S)
}

fn github(step: Step<'_>) -> (HttpRequest, i64) {
    let (mut body, run, at) = match step {
        Step::Start { run, at } => {
            let mut body = fixture("github/workflow-job-in-progress");
            body["workflow_job"]["started_at"] = rfc3339(at).into();
            (body, run, at)
        }
        Step::Finish { run, start, at } => {
            let mut body = fixture("github/workflow-job-completed");
            body["workflow_job"]["started_at"] = rfc3339(start).into();
            body["workflow_job"]["completed_at"] = rfc3339(at).into();
            (body, run, at)
        }
    };
    body["workflow_job"]["id"] = run.parse::<u64>().unwrap().into();
    let body = body.to_string();
    let signature = sign(&body);
    let headers = [("x-github-event", "workflow_job"), ("x-hub-signature-256", signature.as_str())];
    (post("/github", &headers, body), at + S)
}

/// Check-ins carry no run id here: the start's is derived, the finish closes the open run.
fn check_in(step: Step<'_>) -> (HttpRequest, i64) {
    let (signal, at) = match step {
        Step::Start { at, .. } => ("start", at),
        Step::Finish { at, .. } => ("success", at),
    };
    let bearer = format!("Bearer {CRON_TOKEN}");
    (post(&format!("/ping/nightly%20backup/{signal}"), &[("authorization", &bearer)], String::new()), at)
}

/// Ten days of runs through the source, a nightly roll-up, then a run two hours long: paged at
/// noon, resolved when it finishes.
async fn a_source_run_is_paged_when_overdue_and_resolved(
    source: fn(Step<'_>) -> (HttpRequest, i64),
    task_type: &str,
) {
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    for (day, duration) in (1..=10).zip(etl_history_durations()) {
        let start = NIGHT - day * MS_PER_DAY + 2 * MS_PER_HOUR;
        let run = format!("{}", 1000 + day);
        let (request, now) = source(Step::Start { run: &run, at: start });
        endpoint.send_ok(&stack, &request, now).await;
        let (request, now) = source(Step::Finish { run: &run, start, at: start + duration as i64 });
        assert_eq!(endpoint.send_ok(&stack, &request, now).await["recorded"], "finish");
    }
    let report = nightly(&stack, NIGHT + MS_PER_HOUR).await;
    assert_eq!(report.baselines_written, 1, "{report:?}");

    let slow_start = NOON - 2 * MS_PER_HOUR;
    let (request, now) = source(Step::Start { run: "2000", at: slow_start });
    assert_eq!(endpoint.send_ok(&stack, &request, now).await["recorded"], "start");
    let report = check(&stack, NOON, "tick-1").await;
    assert_eq!(report.alerts_published, 2, "{report:?}");
    let received = stack.received().await;
    assert!(
        received.iter().all(|m| m["MessageAttributes"]["task_type"]["Value"] == task_type),
        "{received:?}"
    );

    let (request, now) = source(Step::Finish { run: "2000", start: slow_start, at: NOON + 300 * S });
    endpoint.send_ok(&stack, &request, now).await;
    let report = check(&stack, NOON + 600 * S, "tick-2").await;
    assert_eq!(report.resolved_published, 1, "{report:?}");
    let received = stack.received().await;
    assert_eq!(received[0]["MessageAttributes"]["kind"]["Value"], "resolved");
}

#[tokio::test]
async fn an_openlineage_run_is_recorded_paged_when_overdue_and_resolved() {
    a_source_run_is_paged_when_overdue_and_resolved(openlineage, "prod-airflow/orders_daily.load_orders")
        .await;
}

#[tokio::test]
async fn a_github_workflow_job_is_recorded_paged_when_overdue_and_resolved() {
    a_source_run_is_paged_when_overdue_and_resolved(github, "example-org/api/CI/integration-tests").await;
}

#[tokio::test]
async fn a_check_in_run_is_recorded_paged_when_overdue_and_resolved() {
    a_source_run_is_paged_when_overdue_and_resolved(check_in, "nightly backup").await;
}

#[tokio::test]
async fn bad_signatures_tokens_and_bodies_are_refused_with_a_reason_and_write_nothing() {
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let (signed, now) = github(Step::Start { run: "7", at: NOON });
    let mut tampered = signed.clone();
    tampered.body = tampered.body.map(|body| body.replace("integration-tests", "deploy"));
    let mut unsigned = signed.clone();
    unsigned.headers.remove("x-hub-signature-256");
    let (lineage, _) = openlineage(Step::Start { run: "r", at: NOON });
    let mut wrong_token = lineage.clone();
    wrong_token.headers.insert("authorization".into(), format!("Bearer {CRON_TOKEN}x"));
    let mut not_json = lineage.clone();
    not_json.body = Some("{\"eventType\": ".into());
    let mut no_run = lineage.clone();
    no_run.body = Some(
        json!({"eventType": "START", "eventTime": rfc3339(NOON), "job": {"namespace": "n", "name": "j"}})
            .to_string(),
    );
    let mut too_big = lineage.clone();
    too_big.body = Some(" ".repeat(overrun_http_ingest::request::MAX_BODY_BYTES + 1));
    // The last `eventType` would win in a plain JSON reader, turning a start into a finish.
    let mut twice = lineage.clone();
    twice.body = twice.body.map(|body| body.replacen('{', "{\"eventType\": \"COMPLETE\", ", 1));
    let repeated_run = post(
        "/ping/backup/start?run_id=a&run_id=b",
        &[("authorization", &format!("Bearer {CRON_TOKEN}"))],
        String::new(),
    );
    let bearer = format!("Bearer {CRON_TOKEN}");
    let bad_signal = post("/ping/backup/finished", &[("authorization", &bearer)], String::new());
    let cases = [
        (tampered, 401, "does not match"),
        (unsigned, 401, "X-Hub-Signature-256 is missing"),
        (wrong_token, 401, "not one of the sources' tokens"),
        (not_json, 400, "body: not JSON"),
        (no_run, 400, "run: is missing"),
        (too_big, 413, "the limit is"),
        (twice, 400, "eventType: appears twice"),
        (repeated_run, 400, "run_id: is given more than once"),
        (bad_signal, 400, "\"finished\" is not one of start, success, fail"),
    ];
    for (request, status, reason) in cases {
        let (got, body) = endpoint.send(&stack, &request, now).await;
        assert_eq!(got, status, "{body}");
        assert!(body["error"].as_str().unwrap().contains(reason), "{body} / {reason}");
    }
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "nothing written");
}

#[tokio::test]
async fn a_redelivered_webhook_and_a_retried_check_in_record_the_run_once() {
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let start = NIGHT - 5 * MS_PER_HOUR;
    let (started, now) = github(Step::Start { run: "42", at: start });
    let (finished, later) = github(Step::Finish { run: "42", start, at: start + 900 * S });
    for _ in 0..2 {
        endpoint.send_ok(&stack, &started, now).await;
        endpoint.send_ok(&stack, &finished, later).await;
    }
    let retried_start = post(
        "/ping/backup/start?run_id=b-1",
        &[("authorization", &format!("Bearer {CRON_TOKEN}"))],
        String::new(),
    );
    endpoint.send_ok(&stack, &retried_start, start).await;
    endpoint.send_ok(&stack, &retried_start, start + 5 * S).await;
    assert_eq!(stack.scan(&stack.config.runs_table).await.len(), 2, "one item per run");
    let day = stack.config.policy.bucket_of_end(start + 900 * S);
    assert_eq!(stack.adapters.stats.day_statuses(&[day]).await.unwrap()[0].finished, 1, "counted once");
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!((running.len(), running[0].start), (1, start), "the first start stands");
}

#[tokio::test]
async fn a_check_in_finish_with_no_open_run_is_refused_and_a_contradicting_finish_is_told() {
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let bearer = format!("Bearer {CRON_TOKEN}");
    let success = post("/ping/backup/success", &[("authorization", &bearer)], String::new());
    let (status, body) = endpoint.send(&stack, &success, NOON).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("ping /start first"), "{body}");
    assert!(stack.scan(&stack.config.runs_table).await.is_empty());

    let named = |signal: &str| {
        post(&format!("/ping/backup/{signal}?run_id=b-2"), &[("authorization", &bearer)], String::new())
    };
    endpoint.send_ok(&stack, &named("start"), NOON - 600 * S).await;
    endpoint.send_ok(&stack, &named("success"), NOON).await;
    let (status, body) = endpoint.send(&stack, &named("fail"), NOON + 60 * S).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("contradicts the run's first"), "{body}");
}

#[tokio::test]
async fn without_its_sources_secret_the_endpoint_answers_503_and_writes_nothing() {
    let stack = Stack::new().await;
    let endpoint = Endpoint::reading(&stack, "no-such-secret");
    let (request, now) = openlineage(Step::Start { run: "r", at: NOON });
    let (status, body) = endpoint.send(&stack, &request, now).await;
    assert_eq!(status, 503, "{body}");
    assert!(stack.scan(&stack.config.runs_table).await.is_empty());
}

#[tokio::test]
async fn a_check_in_start_without_a_run_id_retried_within_two_minutes_is_one_run() {
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let bearer = format!("Bearer {CRON_TOKEN}");
    let start = post("/ping/backup/start", &[("authorization", &bearer)], String::new());
    endpoint.send_ok(&stack, &start, NOON).await;
    endpoint.send_ok(&stack, &start, NOON + 30 * S).await;
    assert_eq!(stack.scan(&stack.config.runs_table).await.len(), 1, "the retry is the same run");
    endpoint.send_ok(&stack, &start, NOON + 5 * 60 * S).await;
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    let mut ids: Vec<&str> = running.iter().map(|run| run.run_id.as_str()).collect();
    ids.sort();
    assert_eq!(ids, [format!("checkin-{NOON}"), format!("checkin-{}", NOON + 300 * S)]);
}

#[tokio::test]
async fn a_finish_whose_answers_are_lost_is_refused_with_503_and_its_retry_counts_it_once() {
    use overrun_integration_tests::fault_proxy::{Fault, FaultProxy, Rule};
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let start = NIGHT - 5 * MS_PER_HOUR;
    let (started, now) = github(Step::Start { run: "77", at: start });
    endpoint.send_ok(&stack, &started, now).await;

    // Every write of the finish goes through and its answer is lost, attempt after attempt.
    let proxy = FaultProxy::start(&overrun_integration_tests::endpoint()).await;
    let (adapters, notifier) = stack.through(&proxy.url, super::crash_windows::fast_limits()).await;
    for operation in ["UpdateItem", "TransactWriteItems"] {
        proxy.add(Rule::new(operation, Fault::ResetAfter).times(100));
    }
    let (finished, later) = github(Step::Finish { run: "77", start, at: start + 900 * S });
    let (status, body) = endpoint.send_through(&stack, &adapters, &notifier, &finished, later).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
    assert!(
        proxy.count("UpdateItem", Fault::ResetAfter, &[])
            + proxy.count("TransactWriteItems", Fault::ResetAfter, &[])
            > 0
    );

    // GitHub's redelivery (or the sender's retry) records it, counted once.
    proxy.heal();
    let (status, body) = endpoint.send_through(&stack, &adapters, &notifier, &finished, later).await;
    assert_eq!(status, 200, "{body}");
    endpoint.send_ok(&stack, &finished, later).await;
    let day = stack.config.policy.bucket_of_end(start + 900 * S);
    assert_eq!(stack.adapters.stats.day_statuses(&[day]).await.unwrap()[0].finished, 1, "counted once");
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty());
}

#[tokio::test]
async fn a_token_bound_to_its_routes_is_refused_elsewhere_with_403_and_nothing_written() {
    let stack = Stack::new().await;
    let bound = json!({"cron-box": {"token": CRON_TOKEN, "routes": ["/ping/backup/"]}, "airflow-prod": AIRFLOW_TOKEN});
    let endpoint = Endpoint::with_secret(&stack, &bound).await;
    let bearer = format!("Bearer {CRON_TOKEN}");
    let foreign = post("/ping/billing/start?run_id=b1", &[("authorization", &bearer)], String::new());
    let (status, body) = endpoint.send(&stack, &foreign, NOON).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("may not use /ping/billing/start"), "{body}");
    let (lineage, _) = openlineage(Step::Start { run: "r", at: NOON });
    let mut lineage_with_cron_token = lineage.clone();
    lineage_with_cron_token.headers.insert("authorization".into(), bearer.clone());
    assert_eq!(endpoint.send(&stack, &lineage_with_cron_token, NOON).await.0, 403);
    assert!(stack.scan(&stack.config.runs_table).await.is_empty(), "nothing written");
    let own = post("/ping/backup/start?run_id=k1", &[("authorization", &bearer)], String::new());
    endpoint.send_ok(&stack, &own, NOON).await;
    endpoint.send_ok(&stack, &lineage, NOON).await;
    assert_eq!(stack.scan(&stack.config.runs_table).await.len(), 2, "its own route and the unbound token's");
}

#[tokio::test]
async fn a_check_in_run_id_used_again_is_a_new_attempt_and_a_start_inside_a_finished_run_is_refused_with_409()
{
    let stack = Stack::new().await;
    let endpoint = Endpoint::new(&stack).await;
    let bearer = format!("Bearer {CRON_TOKEN}");
    let named = |signal: &str| {
        post(
            &format!("/ping/backup/{signal}?run_id=backup-2024-10-04"),
            &[("authorization", &bearer)],
            String::new(),
        )
    };
    endpoint.send_ok(&stack, &named("start"), NOON - 3_600 * S).await;
    endpoint.send_ok(&stack, &named("fail"), NOON - 3_000 * S).await;
    // The cron job run again by hand, under its date-named id: a run of its own, running.
    let body = endpoint.send_ok(&stack, &named("start"), NOON - 2_000 * S).await;
    assert_eq!((body["recorded"].as_str(), body["attempt"].as_u64()), (Some("start"), Some(2)), "{body}");
    let running = stack.adapters.runs.list_running().await.unwrap().items;
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].run_id.to_string(), "backup-2024-10-04 (attempt 2)");
    endpoint.send_ok(&stack, &named("success"), NOON).await;
    assert!(stack.adapters.runs.list_running().await.unwrap().items.is_empty(), "the finish is the re-run's");

    // An OpenLineage START inside its run's recorded span, not its start: neither a redelivery
    // nor a re-run.
    let start = NOON - 3_600 * S;
    let (request, now) = openlineage(Step::Start { run: "ol-run-1", at: start });
    endpoint.send_ok(&stack, &request, now).await;
    let (request, now) = openlineage(Step::Finish { run: "ol-run-1", start, at: start + 600 * S });
    endpoint.send_ok(&stack, &request, now).await;
    let before = stack.scan(&stack.config.runs_table).await;
    let (request, _) = openlineage(Step::Start { run: "ol-run-1", at: start + 300 * S });
    let (status, body) = endpoint.send(&stack, &request, NOON).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("run_id \"ol-run-1\""), "{body}");
    assert_eq!(stack.scan(&stack.config.runs_table).await, before, "nothing written");
}

#[tokio::test]
async fn with_task_types_qualified_each_https_sources_types_carry_its_name() {
    let stack = Stack::new().await;
    let mut endpoint = Endpoint::new(&stack).await;
    endpoint.qualify = overrun_core::Qualify::Account;
    let at = NOON - MS_PER_HOUR;
    for source in [openlineage, github, check_in] {
        let (request, now) = source(Step::Start { run: "3001", at });
        endpoint.send_ok(&stack, &request, now).await;
    }
    // A check-in finish finds its open run under the qualified name.
    let (request, now) = check_in(Step::Finish { run: "3001", start: at, at: at + 60 * S });
    assert_eq!(endpoint.send_ok(&stack, &request, now).await["recorded"], "finish");
    let mut types: Vec<String> = stack
        .scan(&stack.config.runs_table)
        .await
        .iter()
        .filter_map(|item| item.get("task_type").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            "example-org/api/CI/integration-tests@github",
            "nightly backup@cron-box",
            "prod-airflow/orders_daily.load_orders@airflow-prod"
        ]
    );
}
