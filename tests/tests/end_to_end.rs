//! End to end: the real function binaries under the Lambda runtime emulator (`cargo lambda
//! watch`), invoked with real-shaped events, talking to the local AWS endpoint, ending in an SNS
//! message read back through an SQS subscription.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use overrun_core::time::{MS_PER_DAY, MS_PER_HOUR};
use overrun_integration_tests::{Stack, endpoint, fixture, rfc3339, task_event};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `cargo lambda watch`, stopped (with the functions it started) when dropped.
struct Emulator {
    child: Child,
    port: u16,
}

impl Emulator {
    fn start(env: &[(String, String)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = Command::new("cargo");
        command
            .current_dir(workspace())
            .args(["lambda", "watch", "--invoke-address", "127.0.0.1", "--invoke-port", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.arg("--env-var").arg(format!("{key}={value}"));
        }
        // A session of its own: no controlling terminal to touch, and one process group to stop
        // (the emulator and every function it started), whatever runs this test.
        // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut command, || {
                if libc::setsid() == -1 { Err(std::io::Error::last_os_error()) } else { Ok(()) }
            });
        }
        let child = command.spawn().expect("cargo lambda is installed (scripts/test.sh installs it)");
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "cargo lambda watch did not listen on 127.0.0.1:{port}");
            std::thread::sleep(Duration::from_millis(200));
        }
        Self { child, port }
    }

    fn invoke(&self, function: &str, payload: &Value) -> Output {
        let dir = std::env::temp_dir().join(overrun_integration_tests::unique("payload"));
        std::fs::write(&dir, payload.to_string()).unwrap();
        let output = Command::new("cargo")
            .current_dir(workspace())
            .stdin(Stdio::null())
            .args(["lambda", "invoke", function, "--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(self.port.to_string())
            .arg("--data-file")
            .arg(&dir)
            .output()
            .expect("cargo lambda invoke runs");
        let _ = std::fs::remove_file(&dir);
        output
    }

    fn invoke_ok(&self, function: &str, payload: &Value) -> Value {
        let output = self.invoke(function, payload);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{function} failed: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap_or(Value::String(stdout.into_owned()))
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Signals go straight to the emulator's process group through kill(2): the `kill`
        // command of some procps releases reads `kill -TERM -PGID` as "every process" (-1).
        let Ok(group) = libc::pid_t::try_from(self.child.id()) else { return };
        if group > 1 {
            // SAFETY: plain system calls on the process group this test created.
            unsafe { libc::kill(-group, libc::SIGTERM) };
            std::thread::sleep(Duration::from_millis(500));
            unsafe { libc::kill(-group, libc::SIGKILL) };
        }
        let _ = self.child.wait();
    }
}

/// The functions' environment on `stack` and the local endpoint, with `extra`.
fn functions_env(stack: &Stack, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let endpoint = endpoint();
    let common = [
        ("OVERRUN_RUNS_TABLE", stack.config.runs_table.as_str()),
        ("OVERRUN_STATS_TABLE", stack.config.stats_table.as_str()),
        ("OVERRUN_TOPIC_ARN", stack.topic_arn.as_str()),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("OVERRUN_HOME_ACCOUNT", overrun_integration_tests::HOME_ACCOUNT),
        ("RUST_LOG", "info"),
    ];
    common.iter().chain(extra).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// The JSON document an alert carries to queue subscribers.
fn message(envelope: &Value) -> Value {
    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap()
}

fn scheduled_event() -> Value {
    json!({"version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa", "detail-type": "Scheduled Event",
           "source": "aws.events", "account": "123456789012", "time": "2025-01-01T00:00:00Z", "region": "us-east-1",
           "resources": ["arn:aws:events:us-east-1:123456789012:rule/overrun-checker"], "detail": {}})
}

#[tokio::test]
async fn events_in_baselines_overnight_and_an_alert_out_through_the_real_binaries() {
    let stack = Stack::new().await;
    let emulator = Emulator::start(&functions_env(&stack, &[]));

    // Six days of eleven-minute runs before last midnight (the functions read the real clock). At
    // least one check interval long: the tailored default gives a tight limit only to runs a
    // 10-minute check can catch slowed down.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let midnight = now - now.rem_euclid(MS_PER_DAY);
    for day in 1..=6 {
        let start = midnight - day * MS_PER_DAY + MS_PER_HOUR;
        let id = format!("export-{day}");
        emulator.invoke_ok("ingest", &task_event("nightly-export", &id, "STARTED", start));
        emulator.invoke_ok(
            "ingest",
            &task_event("nightly-export", &id, "SUCCEEDED", start + (650 + day) * 1_000),
        );
    }
    let nightly = emulator.invoke_ok("baseline", &scheduled_event());
    assert_eq!(nightly["baselines_written"], 1, "{nightly}");

    // A run that has been going for two hours.
    emulator
        .invoke_ok("ingest", &task_event("nightly-export", "export-stuck", "STARTED", now - 2 * MS_PER_HOUR));
    // Build 7: three exports that took 20 minutes instead of their usual eleven, and a fourth
    // running for 13 minutes, within its limit at the build's pace; an export outside any build,
    // running as long, is past it.
    let in_build_7 = |id: &str, state: &str, at: i64| {
        let mut event = task_event("nightly-export", id, state, at);
        event["detail"]["cohort"] = json!("build-7");
        event
    };
    for id in ["build-7-a", "build-7-b", "build-7-c"] {
        emulator.invoke_ok("ingest", &in_build_7(id, "STARTED", now - 25 * 60_000));
        emulator.invoke_ok("ingest", &in_build_7(id, "SUCCEEDED", now - 5 * 60_000));
    }
    emulator.invoke_ok("ingest", &in_build_7("build-7-d", "STARTED", now - 13 * 60_000));
    emulator.invoke_ok("ingest", &task_event("nightly-export", "export-alone", "STARTED", now - 13 * 60_000));
    // By default each start records its type's three latest runs through the `recent` index.
    let runs = stack.scan(&stack.config.runs_table).await;
    let alone = runs.iter().find(|i| i["run_id"].as_s().is_ok_and(|id| id == "export-alone")).unwrap();
    let recent: Vec<&str> =
        alone["recent_ms"].as_l().unwrap().iter().map(|n| n.as_n().unwrap().as_str()).collect();
    assert_eq!(recent, ["651000", "652000", "653000"], "the three latest exports, newest first");
    let checked = emulator.invoke_ok("checker", &scheduled_event());
    assert_eq!(checked["cohorts_stretched"], 1, "{checked}");
    // Every running export started after the history: each is judged by its own limit.
    assert_eq!(checked["own_limits"], checked["runs_checked"], "{checked}");

    let received = stack.received().await;
    let alerted: Vec<String> =
        received.iter().map(|e| message(e)["run_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(
        alerted.iter().filter(|id| *id == "export-stuck").count(),
        2,
        "warning and critical: {alerted:?}"
    );
    assert!(alerted.iter().any(|id| id == "export-alone"), "{alerted:?}");
    assert!(!alerted.iter().any(|id| id == "build-7-d"), "judged at its build's pace: {alerted:?}");
    assert_eq!(checked["alerts_published"], received.len(), "{checked}");
    let subjects: Vec<&str> = received.iter().map(|e| e["Subject"].as_str().unwrap()).collect();
    assert!(
        // "running 2h 00m", or a minute or two more when the emulator compiles the checker first.
        subjects.iter().any(|s| s.starts_with("[Overrun WARNING] nightly-export running 2h 0")),
        "{subjects:?}"
    );
    assert!(subjects.iter().any(|s| s.starts_with("[Overrun CRITICAL] nightly-export")), "{subjects:?}");

    // An export that succeeds in 20 seconds instead of eleven minutes: one info notice from ingest.
    let quick_start = now - 5 * 60_000;
    emulator.invoke_ok("ingest", &task_event("nightly-export", "export-empty", "STARTED", quick_start));
    let finished = task_event("nightly-export", "export-empty", "SUCCEEDED", quick_start + 20_000);
    let first = emulator.invoke_ok("ingest", &finished);
    assert_eq!(first["short_notice"], "Published", "{first}");
    let again = emulator.invoke_ok("ingest", &finished);
    assert_eq!(again["short_notice"], "AlreadyClaimed", "a redelivered finish sends nothing: {again}");
    let notices = stack.received().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0]["Subject"].as_str().unwrap().starts_with("[Overrun info] nightly-export finished in 20s"),
        "{notices:?}"
    );

    // A malformed event fails the invocation (so a failure destination keeps it), naming the field.
    let bad = emulator.invoke(
        "ingest",
        &json!({"detail-type": "Task State Change", "detail": {"run_id": "x", "state": "STARTED"}}),
    );
    assert!(!bad.status.success(), "a malformed event must fail the invocation");
    let said = format!("{}{}", String::from_utf8_lossy(&bad.stdout), String::from_utf8_lossy(&bad.stderr));
    assert!(said.contains("detail.task_type: is missing"), "{said}");
}

/// `curl` to the emulator's function URL of `http-ingest`: the status and the JSON body.
fn curl(port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{port}/lambda-url/http-ingest{path}");
    let mut command = Command::new("curl");
    command.args(["-sS", "-X", "POST", "-o", "-", "-w", "\n%{http_code}", "--data-binary", "@-", &url]);
    for (name, value) in headers {
        command.arg("-H").arg(format!("{name}: {value}"));
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("curl is installed");
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), body.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let (body, status) = text.trim_end().rsplit_once('\n').unwrap_or(("", text.trim()));
    (status.parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::String(body.to_owned())))
}

/// A `workflow_job` delivery, signed with `secret`.
fn workflow_job(secret: &str, job_id: u64, started: i64, completed: Option<i64>) -> (String, String) {
    let name = if completed.is_some() { "workflow-job-completed" } else { "workflow-job-in-progress" };
    let mut body = fixture(&format!("github/{name}"));
    body["workflow_job"]["id"] = job_id.into();
    body["workflow_job"]["started_at"] = rfc3339(started).into();
    if let Some(completed) = completed {
        body["workflow_job"]["completed_at"] = rfc3339(completed).into();
    }
    let body = body.to_string();
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(secret.as_bytes()).unwrap();
    hmac::Mac::update(&mut mac, body.as_bytes());
    let signature = format!("sha256={}", hex::encode(hmac::Mac::finalize(mac).into_bytes()));
    (body, signature)
}

#[tokio::test]
async fn webhooks_and_check_ins_through_the_function_url_are_recorded_paged_and_resolved() {
    let stack = Stack::new().await;
    let (webhook_secret, cron_token) = ("webhook-secret-0123456789abcdef", "cron-box-token-0123456789abcdef");
    let secret_name = overrun_integration_tests::unique("sources");
    aws_sdk_secretsmanager::Client::new(&stack.sdk)
        .create_secret()
        .name(&secret_name)
        .secret_string(json!({"github": webhook_secret, "cron-box": cron_token}).to_string())
        .send()
        .await
        .unwrap();
    let emulator =
        Emulator::start(&functions_env(&stack, &[("OVERRUN_SOURCES_SECRET", secret_name.as_str())]));
    let port = emulator.port;

    // Six days of eleven-minute CI jobs, delivered as GitHub delivers them.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let midnight = now - now.rem_euclid(MS_PER_DAY);
    for day in 1..=6u64 {
        let start = midnight - day as i64 * MS_PER_DAY + MS_PER_HOUR;
        for completed in [None, Some(start + (650 + day as i64) * 1_000)] {
            let (body, signature) = workflow_job(webhook_secret, 900 + day, start, completed);
            let headers = [("X-GitHub-Event", "workflow_job"), ("X-Hub-Signature-256", signature.as_str())];
            let (status, answer) = curl(port, "/github", &headers, &body);
            assert_eq!(status, 200, "{answer}");
        }
    }
    let nightly = emulator.invoke_ok("baseline", &scheduled_event());
    assert_eq!(nightly["baselines_written"], 1, "{nightly}");

    // A job running for two hours is paged; a tampered delivery is refused and writes nothing.
    let stuck_start = now - 2 * MS_PER_HOUR;
    let (body, signature) = workflow_job(webhook_secret, 999, stuck_start, None);
    let tampered = body.replace("integration-tests", "deploy");
    let headers = [("X-GitHub-Event", "workflow_job"), ("X-Hub-Signature-256", signature.as_str())];
    let (status, answer) = curl(port, "/github", &headers, &tampered);
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = curl(port, "/github", &headers, &body);
    assert_eq!((status, answer["recorded"].as_str()), (200, Some("start")), "{answer}");
    let checked = emulator.invoke_ok("checker", &scheduled_event());
    assert_eq!(checked["alerts_published"], 2, "{checked}");
    let received = stack.received().await;
    assert!(received.iter().all(|e| message(e)["run_id"] == "999"), "{received:?}");
    assert!(
        received
            .iter()
            .all(|e| e["MessageAttributes"]["task_type"]["Value"] == "example-org/api/CI/integration-tests"),
        "{received:?}"
    );

    // It finishes: resolved.
    let (body, signature) = workflow_job(webhook_secret, 999, stuck_start, Some(now - 60_000));
    let headers = [("X-GitHub-Event", "workflow_job"), ("X-Hub-Signature-256", signature.as_str())];
    assert_eq!(curl(port, "/github", &headers, &body).0, 200);
    let checked = emulator.invoke_ok("checker", &scheduled_event());
    assert_eq!(checked["resolved_published"], 1, "{checked}");
    assert_eq!(stack.received().await[0]["MessageAttributes"]["kind"]["Value"], "resolved");

    // A cron job checks in with curl: start, then success closes the run it opened.
    let bearer = format!("Bearer {cron_token}");
    let (status, answer) = curl(port, "/ping/nightly-backup/start", &[("Authorization", &bearer)], "");
    assert_eq!((status, answer["recorded"].as_str()), (200, Some("start")), "{answer}");
    let (status, answer) = curl(port, "/ping/nightly-backup/success", &[("Authorization", &bearer)], "");
    assert_eq!((status, answer["recorded"].as_str()), (200, Some("finish")), "{answer}");
    let (status, answer) = curl(port, "/ping/nightly-backup/start", &[("Authorization", "Bearer wrong")], "");
    assert_eq!(status, 401, "{answer}");
    let runs = stack.scan(&stack.config.runs_table).await;
    let backups: Vec<_> =
        runs.iter().filter(|item| item["task_type"].as_s().is_ok_and(|t| t == "nightly-backup")).collect();
    assert_eq!(backups.len(), 1, "one check-in run: {backups:?}");
    assert_eq!(backups[0]["status"].as_s().unwrap(), "succeeded", "{backups:?}");

    // The README's examples, run as written against this endpoint.
    let url = format!("http://127.0.0.1:{port}/lambda-url/http-ingest/");
    let lineage = readme_block("A test event, as a transport would send it:");
    let said = bash(&lineage, &[("URL", &url), ("TOKEN", cron_token)]);
    assert!(said.contains(r#"{"attempt":1,"recorded":"start"}"#), "{said}");
    let cron = readme_block("Anything that can run `curl` can check in")
        .replace("/usr/local/bin/backup.sh", "sleep 1");
    bash(&cron, &[("OVERRUN_URL", url.trim_end_matches('/')), ("OVERRUN_TOKEN", cron_token)]);
    let runs = stack.scan(&stack.config.runs_table).await;
    assert_eq!(
        runs.iter().filter(|item| item["task_type"].as_s().is_ok_and(|t| t == "nightly-backup")).count(),
        2,
        "the README's cron script recorded a second backup run"
    );
}

/// The first `sh` code block after `marker` in the README.
fn readme_block(marker: &str) -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let after = &readme[readme.find(marker).unwrap_or_else(|| panic!("README has no {marker:?}"))..];
    let start = after.find("```sh\n").unwrap() + "```sh\n".len();
    let end = after[start..].find("```").unwrap();
    after[start..start + end].to_owned()
}

/// Runs `script` with bash, with `env`; fails the test if it fails; returns what it printed.
fn bash(script: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let said =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{script}\n{said}");
    said
}
